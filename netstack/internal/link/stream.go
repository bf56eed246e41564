package link

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
)

// This file speaks qemu's -netdev stream framing (a 4-byte big-endian length, then the frame) for the
// fake test guest and the NAT's test and benchmark harness. Production LAN ports are lan.RunQemuPort.

const maxPending = 8 << 20 // bytes queued toward a slow stream peer before frames are dropped

// StreamPort is a FramePort that writes to a stream socket in batches: Input appends the framed frame to
// a pending buffer, and one writer goroutine writes everything pending with one Write call.
type StreamPort struct {
	conn    net.Conn
	mu      sync.Mutex
	cond    *sync.Cond
	pending []byte
	closed  bool
	done    chan struct{}
	Drops   uint64 // frames dropped because the peer is too slow (read under no lock; for tests)
}

// NewStreamPort starts the writer goroutine for conn.
func NewStreamPort(conn net.Conn) *StreamPort {
	p := &StreamPort{conn: conn, done: make(chan struct{}), pending: make([]byte, 0, 1<<20)}
	p.cond = sync.NewCond(&p.mu)
	go p.writer()
	return p
}

// Input implements FramePort.
func (p *StreamPort) Input(frame []byte) {
	p.mu.Lock()
	if p.closed || len(p.pending)+4+len(frame) > maxPending {
		p.Drops++
		p.mu.Unlock()
		return
	}
	wake := len(p.pending) == 0 // the writer sleeps only on an empty buffer: wake it once per batch
	p.pending = binary.BigEndian.AppendUint32(p.pending, uint32(len(frame)))
	p.pending = append(p.pending, frame...)
	p.mu.Unlock()
	if wake {
		p.cond.Signal()
	}
}

func (p *StreamPort) writer() {
	defer close(p.done)
	spare := make([]byte, 0, 1<<20)
	for {
		p.mu.Lock()
		for len(p.pending) == 0 && !p.closed {
			p.cond.Wait()
		}
		if p.closed {
			p.mu.Unlock()
			return
		}
		buf := p.pending
		p.pending = spare[:0]
		p.mu.Unlock()
		if _, err := p.conn.Write(buf); err != nil {
			p.Close()
			return
		}
		spare = buf
	}
}

// Close stops the writer and closes the connection.
func (p *StreamPort) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	p.cond.Broadcast()
	_ = p.conn.Close()
}

// ReadStream reads framed frames from r and hands them to deliver in batches (every frame already
// buffered goes into one batch) until r fails. The frames are valid only during deliver.
func ReadStream(r io.Reader, deliver func(frames [][]byte)) error {
	br := bufio.NewReaderSize(r, 512<<10)
	arena := make([]byte, 0, 1<<20)
	frames := make([][]byte, 0, 64)
	var hdr [4]byte
	for {
		arena, frames = arena[:0], frames[:0]
		for {
			if _, err := io.ReadFull(br, hdr[:]); err != nil {
				return err
			}
			n := int(binary.BigEndian.Uint32(hdr[:]))
			if n == 0 || n > MaxFrame {
				return fmt.Errorf("stream frame of %d bytes: not 1..%d", n, MaxFrame)
			}
			if cap(arena)-len(arena) < n {
				if len(frames) > 0 {
					deliver(frames)
					arena, frames = arena[:0], frames[:0]
				}
				if cap(arena) < n {
					arena = make([]byte, 0, n)
				}
			}
			start := len(arena)
			arena = arena[:start+n]
			if _, err := io.ReadFull(br, arena[start:]); err != nil {
				return err
			}
			frames = append(frames, arena[start:start+n])
			if br.Buffered() < 4 || len(frames) == cap(frames) {
				break
			}
		}
		deliver(frames)
	}
}
