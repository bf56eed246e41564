package lan

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReadFrame checks that ReadFrame and Decoder agree on any input, never return a frame longer
// than MaxFrameSize, and that re-encoding what they decoded reproduces the input's prefix.
func FuzzReadFrame(f *testing.F) {
	good, _ := AppendFrame(nil, frame(macB, macA, 60, 1))
	good, _ = AppendFrame(good, frame(macBcast, macA, 14, 2))
	f.Add(good)
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0, 1, 0x10, 0})
	f.Add([]byte{0, 0, 0, 5, 1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		d := NewDecoder(bytes.NewReader(data), 0)
		buf := make([]byte, MaxFrameSize)
		var re []byte
		for {
			a, errA := ReadFrame(r, buf)
			b, errB := d.Next()
			if (errA == nil) != (errB == nil) || !bytes.Equal(a, b) {
				t.Fatalf("ReadFrame = %d bytes, %v; Decoder = %d bytes, %v", len(a), errA, len(b), errB)
			}
			if errA != nil {
				if errors.Is(errA, ErrEmptyFrame) {
					re = append(re, 0, 0, 0, 0)
					continue
				}
				if errA != io.EOF && !errors.Is(errA, io.ErrUnexpectedEOF) && !errors.Is(errA, ErrFrameTooBig) {
					t.Fatalf("unexpected error %v", errA)
				}
				break
			}
			if len(a) == 0 || len(a) > MaxFrameSize {
				t.Fatalf("decoded a frame of %d bytes", len(a))
			}
			var err error
			if re, err = AppendFrame(re, a); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.HasPrefix(data, re) {
			t.Fatalf("re-encoded frames are not a prefix of the input")
		}
	})
}

// FuzzSwitchInput feeds arbitrary frames into a switch and checks that it neither panics nor
// forwards anything that is not a valid-size frame.
func FuzzSwitchInput(f *testing.F) {
	f.Add(frame(macBcast, macA, 60, 1), frame(macA, macB, 60, 2))
	f.Add([]byte{1, 2, 3}, frame(macMcast, macMcast, 14, 0))
	f.Fuzz(func(t *testing.T, f1, f2 []byte) {
		sw := New(Config{MTU: 1500}, nil)
		defer sw.Close()
		ra, rb := newRecorder(), newRecorder()
		a, b := sw.Attach("a", ra), sw.Attach("b", rb)
		a.Input(f1)
		b.Input(f2)
		a.Input(f2)
		sa, sb := a.Stats(), b.Stats()
		if sa.RxFrames+sa.DropsRunt+sa.DropsTooBig != 2 || sb.RxFrames+sb.DropsRunt+sb.DropsTooBig != 1 {
			t.Fatalf("frames unaccounted for: a=%+v b=%+v", sa, sb)
		}
	})
}
