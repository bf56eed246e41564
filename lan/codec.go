package lan

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxFrameSize is the largest Ethernet frame (without FCS) that qemu's stream netdev accepts.
const MaxFrameSize = 69632

// HeaderSize is the size of the big-endian length prefix in front of each frame on a stream socket.
const HeaderSize = 4

// MinFrameSize is the smallest frame the switch forwards: an Ethernet header (two MACs and a type).
const MinFrameSize = 14

// ErrFrameTooBig reports a length prefix above MaxFrameSize. The stream is out of sync after it.
var ErrFrameTooBig = errors.New("lan: frame longer than 69632 bytes")

// ErrEmptyFrame reports a length prefix of zero. The header has been consumed, so the stream is
// still in sync and the caller may go on reading.
var ErrEmptyFrame = errors.New("lan: zero-length frame")

// ReadFrame reads one length-prefixed frame from r into buf and returns buf[:n]. buf must hold
// MaxFrameSize bytes, or at least the frame. A truncated frame gives io.ErrUnexpectedEOF; a clean
// end of stream before a header gives io.EOF.
func ReadFrame(r *bufio.Reader, buf []byte) ([]byte, error) {
	n, err := readHeader(r)
	if err != nil {
		return nil, err
	}
	if n > len(buf) {
		return nil, fmt.Errorf("lan: read frame of %d bytes into a %d-byte buffer: %w", n, len(buf), io.ErrShortBuffer)
	}
	if _, err := io.ReadFull(r, buf[:n]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("lan: read frame body: %w", err)
	}
	return buf[:n], nil
}

// readHeader reads and checks one length prefix.
func readHeader(r *bufio.Reader) (int, error) {
	hdr, err := r.Peek(HeaderSize)
	if err != nil {
		if err == io.EOF && len(hdr) > 0 {
			err = io.ErrUnexpectedEOF
		}
		if err == io.EOF {
			return 0, io.EOF
		}
		return 0, fmt.Errorf("lan: read frame header: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr)
	if n > MaxFrameSize {
		return 0, fmt.Errorf("lan: frame header says %d bytes: %w", n, ErrFrameTooBig)
	}
	_, _ = r.Discard(HeaderSize) // cannot fail: the bytes are buffered
	if n == 0 {
		return 0, ErrEmptyFrame
	}
	return int(n), nil
}

// AppendFrame appends frame with its length prefix to dst. It fails only when frame is longer than
// MaxFrameSize.
func AppendFrame(dst, frame []byte) ([]byte, error) {
	if len(frame) > MaxFrameSize {
		return dst, fmt.Errorf("lan: append frame of %d bytes: %w", len(frame), ErrFrameTooBig)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(frame)))
	return append(dst, frame...), nil
}

// Decoder reads length-prefixed frames from a stream without copying them when it can.
// The zero value is not usable; make one with NewDecoder.
type Decoder struct {
	r       *bufio.Reader
	pending int    // bytes of the last frame still to discard
	spill   []byte // for frames that do not fit the reader's buffer
}

// NewDecoder returns a Decoder over r with a read buffer of size bytes (at least
// HeaderSize+MaxFrameSize, so every frame is returned without a copy).
func NewDecoder(r io.Reader, size int) *Decoder {
	if size < HeaderSize+MaxFrameSize {
		size = HeaderSize + MaxFrameSize
	}
	return &Decoder{r: bufio.NewReaderSize(r, size)}
}

// Reset makes d read from r, dropping anything buffered.
func (d *Decoder) Reset(r io.Reader) {
	d.r.Reset(r)
	d.pending = 0
}

// Next returns the next frame. The slice is valid only until the next call to Next or Reset.
// Errors are as for ReadFrame; after ErrEmptyFrame the caller may call Next again.
func (d *Decoder) Next() ([]byte, error) {
	if d.pending > 0 {
		_, _ = d.r.Discard(d.pending)
		d.pending = 0
	}
	n, err := readHeader(d.r)
	if err != nil {
		return nil, err
	}
	if n <= d.r.Size() {
		frame, err := d.r.Peek(n)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("lan: read frame body: %w", err)
		}
		d.pending = n
		return frame, nil
	}
	if d.spill == nil {
		d.spill = make([]byte, MaxFrameSize)
	}
	if _, err := io.ReadFull(d.r, d.spill[:n]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("lan: read frame body: %w", err)
	}
	return d.spill[:n], nil
}
