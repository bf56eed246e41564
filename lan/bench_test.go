package lan

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// countingWriter discards frames and counts them.
type countingWriter struct{ frames atomic.Uint64 }

func (w *countingWriter) WriteFrames(frames [][]byte) error {
	w.frames.Add(uint64(len(frames)))
	return nil
}

// report adds frames/s, Gbit/s (Ethernet bytes) and the drop rate to b.
func report(b *testing.B, delivered, dropped uint64, size int) {
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(delivered)/s, "frames/s")
	b.ReportMetric(float64(delivered)*float64(size)*8/s/1e9, "Gbit/s")
	b.ReportMetric(100*float64(dropped)/float64(b.N), "drop%")
}

func benchSwitch(b *testing.B, size int) {
	sw := New(Config{}, nil)
	defer sw.Close()
	wa, wb := &countingWriter{}, &countingWriter{}
	pa, pb := sw.Attach("a", wa), sw.Attach("b", wb)
	pb.Input(frame(macBcast, macB, 60, 0)) // learn B
	for wa.frames.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	f := frame(macB, macA, size, 1)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		pa.Input(f)
	}
	for wb.frames.Load()+pb.Stats().Drops < uint64(b.N) {
		time.Sleep(50 * time.Microsecond)
	}
	b.StopTimer()
	report(b, wb.frames.Load(), pb.Stats().Drops, size)
}

// BenchmarkSwitch64 forwards 64-byte frames between two in-process ports (one op = one frame).
func BenchmarkSwitch64(b *testing.B) { benchSwitch(b, 64) }

// BenchmarkSwitch1500 forwards 1500-byte frames between two in-process ports.
func BenchmarkSwitch1500(b *testing.B) { benchSwitch(b, 1500) }

// countFrames reads a length-prefixed stream from c and counts whole frames until stop says so.
func countFrames(c *net.UnixConn, count *atomic.Uint64, stop func() bool) {
	buf := make([]byte, 1<<20)
	need := 0 // bytes of the current frame body still to come; -k means k header bytes seen
	var hdr [4]byte
	for !stop() {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		n, err := c.Read(buf)
		p := buf[:n]
		for len(p) > 0 {
			if need > 0 {
				k := min(need, len(p))
				need -= k
				p = p[k:]
				if need == 0 {
					count.Add(1)
				}
				continue
			}
			hdr[-need] = p[0]
			p = p[1:]
			need--
			if need == -4 {
				need = int(binary.BigEndian.Uint32(hdr[:]))
			}
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
	}
}

func benchStreamPorts(b *testing.B, size int) {
	dir := b.TempDir()
	qa := newFakeQemu(b, filepath.Join(dir, "a.sock"))
	qb := newFakeQemu(b, filepath.Join(dir, "b.sock"))
	sw := New(Config{}, nil)
	defer sw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go RunQemuPort(ctx, sw, "a", filepath.Join(dir, "a.sock"), nil)
	go RunQemuPort(ctx, sw, "b", filepath.Join(dir, "b.sock"), nil)
	ca, cb := qa.accept(b), qb.accept(b)
	waitFor(b, "both ports connected", func() bool {
		a, bp := sw.Port("a"), sw.Port("b")
		return a != nil && bp != nil && a.Carrier() && bp.Carrier()
	})
	pb := sw.Port("b")
	sendFrame(b, cb, frame(macBcast, macB, 60, 0)) // learn B
	waitFor(b, "learning frame", func() bool { return sw.Port("a").Stats().TxFrames == 1 })

	const chunkFrames = 256
	var chunk []byte
	for range chunkFrames {
		chunk, _ = AppendFrame(chunk, frame(macB, macA, size, 1))
	}
	var got atomic.Uint64
	n := uint64(b.N)
	finished := func() bool { st := pb.Stats(); return got.Load()+st.Drops+st.TxErrors >= n }
	recvDone := make(chan struct{})
	go func() { defer close(recvDone); countFrames(cb, &got, finished) }()

	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for left := b.N; left > 0; left -= chunkFrames {
		k := min(left, chunkFrames)
		if _, err := ca.Write(chunk[:k*(HeaderSize+size)]); err != nil {
			b.Fatalf("write: %v", err)
		}
	}
	<-recvDone
	b.StopTimer()
	st := pb.Stats()
	report(b, got.Load(), st.Drops+st.TxErrors, size)
}

// BenchmarkStreamPorts64 sends 64-byte frames from one fake qemu through two stream ports to
// another fake qemu over UNIX sockets (one op = one frame).
func BenchmarkStreamPorts64(b *testing.B) { benchStreamPorts(b, 64) }

// BenchmarkStreamPorts1500 is BenchmarkStreamPorts64 with 1500-byte frames.
func BenchmarkStreamPorts1500(b *testing.B) { benchStreamPorts(b, 1500) }
