package lan

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestCodecRoundTrip(t *testing.T) {
	in := [][]byte{frame(macB, macA, 14, 0), frame(macB, macA, 1514, 1), frame(macBcast, macA, MaxFrameSize, 2)}
	var wire []byte
	for _, f := range in {
		var err error
		if wire, err = AppendFrame(wire, f); err != nil {
			t.Fatal(err)
		}
	}
	if want := 3*HeaderSize + 14 + 1514 + MaxFrameSize; len(wire) != want {
		t.Fatalf("encoded %d bytes, want %d", len(wire), want)
	}
	r := bufio.NewReader(bytes.NewReader(wire))
	buf := make([]byte, MaxFrameSize)
	for i, want := range in {
		got, err := ReadFrame(r, buf)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("ReadFrame #%d = %d bytes, %v", i, len(got), err)
		}
	}
	if _, err := ReadFrame(r, buf); err != io.EOF {
		t.Fatalf("ReadFrame at end = %v, want io.EOF", err)
	}
	// The decoder with a small buffer takes the copying path for the jumbo frame.
	for _, size := range []int{0, 1 << 20} {
		d := NewDecoder(bytes.NewReader(wire), size)
		for i, want := range in {
			got, err := d.Next()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("Decoder(%d).Next #%d = %d bytes, %v", size, i, len(got), err)
			}
		}
		if _, err := d.Next(); err != io.EOF {
			t.Fatalf("Decoder.Next at end = %v, want io.EOF", err)
		}
	}
}

func TestCodecErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		wire []byte
		want error
	}{
		{"short header", []byte{0, 0}, io.ErrUnexpectedEOF},
		{"short body", []byte{0, 0, 0, 20, 1, 2, 3}, io.ErrUnexpectedEOF},
		{"too big", []byte{0, 1, 0x10, 1, 0}, ErrFrameTooBig},
		{"huge", []byte{0xff, 0xff, 0xff, 0xff}, ErrFrameTooBig},
		{"zero length", []byte{0, 0, 0, 0}, ErrEmptyFrame},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadFrame(bufio.NewReader(bytes.NewReader(tc.wire)), make([]byte, MaxFrameSize))
			if !errors.Is(err, tc.want) {
				t.Errorf("ReadFrame = %v, want %v", err, tc.want)
			}
			_, err = NewDecoder(bytes.NewReader(tc.wire), 0).Next()
			if !errors.Is(err, tc.want) {
				t.Errorf("Decoder.Next = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := AppendFrame(nil, make([]byte, MaxFrameSize+1)); !errors.Is(err, ErrFrameTooBig) {
		t.Errorf("AppendFrame(too big) = %v", err)
	}
	wire, _ := AppendFrame(nil, make([]byte, 100))
	if _, err := ReadFrame(bufio.NewReader(bytes.NewReader(wire)), make([]byte, 50)); !errors.Is(err, io.ErrShortBuffer) {
		t.Errorf("ReadFrame into small buffer = %v, want io.ErrShortBuffer", err)
	}
}

func TestDecoderContinuesAfterEmptyFrame(t *testing.T) {
	wire := []byte{0, 0, 0, 0}
	wire, _ = AppendFrame(wire, frame(macB, macA, 60, 7))
	d := NewDecoder(bytes.NewReader(wire), 0)
	if _, err := d.Next(); !errors.Is(err, ErrEmptyFrame) {
		t.Fatalf("first Next = %v, want ErrEmptyFrame", err)
	}
	f, err := d.Next()
	if err != nil || len(f) != 60 || f[14] != 7 {
		t.Fatalf("second Next = %d bytes, %v", len(f), err)
	}
}

func TestDecoderDoesNotAllocate(t *testing.T) {
	var wire []byte
	for range 64 {
		wire, _ = AppendFrame(wire, frame(macB, macA, 1500, 1))
	}
	rd := bytes.NewReader(wire)
	d := NewDecoder(rd, 0)
	allocs := testing.AllocsPerRun(100, func() {
		rd.Reset(wire)
		d.Reset(rd)
		for {
			if _, err := d.Next(); err != nil {
				break
			}
		}
	})
	if allocs != 0 {
		t.Errorf("decoding 64 frames allocated %v times", allocs)
	}
}
