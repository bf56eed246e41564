package capture

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket/pcapgo"

	"github.com/cloonix-go/cloonix/lan"
)

type discard struct{}

func (discard) WriteFrames([][]byte) error { return nil }

func eth(dst, src byte, size int, tag byte) []byte {
	f := make([]byte, size)
	copy(f, []byte{0x02, 0, 0, 0, 0, dst})
	if dst == 0xff {
		copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	}
	copy(f[6:], []byte{0x02, 0, 0, 0, 0, src})
	f[12], f[13] = 0x88, 0xb5
	f[14] = tag
	return f
}

func TestRingKeepsTheNewestWithinItsSize(t *testing.T) {
	r := ring{size: 1000}
	for i := 0; i < 100; i++ {
		r.add(int64(i), 0, 0, bytes.Repeat([]byte{byte(i)}, 60+i%7*10))
	}
	total, last := 0, int64(-1)
	r.since(0, func(rec record, f []byte) {
		total += len(f)
		if rec.t <= last {
			t.Fatalf("out of order: %d after %d", rec.t, last)
		}
		last = rec.t
		for _, b := range f {
			if b != byte(rec.t) {
				t.Fatalf("frame %d overwritten", rec.t)
			}
		}
	})
	if last != 99 || total > 1000 || total < 1000-130-120 {
		t.Errorf("kept %d bytes up to frame %d; want the newest, close to 1000 bytes", total, last)
	}
	n := 0
	r.since(95, func(record, []byte) { n++ })
	if n != 5 {
		t.Errorf("since(95) gave %d frames, want 5", n)
	}
	r.add(100, 0, 0, make([]byte, 1001)) // larger than the ring: not kept, nothing lost
	if r.len() == 0 {
		t.Error("a too-large frame emptied the ring")
	}
}

// lanFixture is a switch with ports a, b and c, and its capture LAN.
type lanFixture struct {
	sw      *lan.Switch
	a, b, c *lan.Port
	l       *LAN
}

func newLANFixture(t *testing.T, recorder int) lanFixture {
	sw := lan.New(lan.Config{Name: "lan1"}, nil)
	t.Cleanup(sw.Close)
	f := lanFixture{sw: sw, a: sw.Attach("a", discard{}), b: sw.Attach("b", discard{}), c: sw.Attach("c", discard{})}
	f.l = NewLAN("lan1", sw, recorder)
	return f
}

// read parses a pcapng stream into frames per interface name, and the last drop count per interface.
func read(t *testing.T, data []byte) (frames map[string][][]byte, dropped map[string]uint64) {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatalf("pcapng: %v", err)
	}
	frames = map[string][][]byte{}
	for {
		d, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("pcapng packet: %v", err)
		}
		intf, err := r.Interface(ci.InterfaceIndex)
		if err != nil {
			t.Fatal(err)
		}
		frames[intf.Name] = append(frames[intf.Name], d)
	}
	dropped = map[string]uint64{}
	for i := 0; i < r.NInterfaces(); i++ {
		intf, _ := r.Interface(i)
		dropped[intf.Name] = intf.Statistics.PacketsDropped
	}
	return frames, dropped
}

// capture runs a session on targets while traffic() runs, and returns its output.
func capture(t *testing.T, targets []Target, last time.Duration, traffic func()) []byte {
	t.Helper()
	s, err := Start(targets, last)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.WriteTo(ctx, &out) }()
	traffic()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestCaptureLANAndNIC(t *testing.T) {
	f := newLANFixture(t, 0)
	out := capture(t, []Target{{Name: "lan1", LAN: f.l}, {Name: "b:eth0", LAN: f.l, Port: f.b}}, 0, func() {
		f.a.Input(eth(0xff, 0xa, 60, 1)) // flood: b sees it
		f.b.Input(eth(0xa, 0xb, 60, 2))  // from b
		f.c.Input(eth(0xa, 0xc, 60, 3))  // c to a: not through b
		f.a.Input(eth(0xb, 0xa, 60, 4))  // to b
	})
	frames, _ := read(t, out)
	if n := len(frames["lan1"]); n != 4 {
		t.Errorf("lan1 has %d frames, want 4", n)
	}
	var tags []byte
	for _, fr := range frames["b:eth0"] {
		tags = append(tags, fr[14])
	}
	if string(tags) != "\x01\x02\x04" {
		t.Errorf("b:eth0 has frames %v, want 1 2 4", tags)
	}
	if f.sw.Ports()[0].Stats().RxFrames != 2 {
		t.Error("the switch did not forward as usual")
	}
}

func TestCaptureLastStartsInThePast(t *testing.T) {
	f := newLANFixture(t, 1<<20)
	f.a.Input(eth(0xff, 0xa, 60, 1))
	time.Sleep(20 * time.Millisecond)
	f.a.Input(eth(0xff, 0xa, 60, 2))
	out := capture(t, []Target{{Name: "lan1", LAN: f.l}}, 10*time.Millisecond, func() {
		f.a.Input(eth(0xff, 0xa, 60, 3))
	})
	frames, _ := read(t, out)
	var tags []byte
	for _, fr := range frames["lan1"] {
		tags = append(tags, fr[14])
	}
	if string(tags) != "\x02\x03" {
		t.Errorf("--last 10ms gave frames %v, want 2 (recorded) then 3 (live)", tags)
	}
	if n, _ := f.l.Recorded(); n != 3 {
		t.Errorf("recorder holds %d frames, want 3", n)
	}
}

// blockedWriter never returns from Write until released: a reader that stopped reading.
type blockedWriter struct{ release chan struct{} }

func (w blockedWriter) Write(p []byte) (int, error) { <-w.release; return len(p), nil }

func TestSlowReaderLosesFramesNotTheLAN(t *testing.T) {
	f := newLANFixture(t, 0)
	s, err := Start([]Target{{Name: "lan1", LAN: f.l}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	w := blockedWriter{release: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.WriteTo(ctx, w) }()
	const n = 3 * queueFrames
	start := time.Now()
	for i := 0; i < n; i++ {
		f.a.Input(eth(0xff, 0xa, 60, byte(i)))
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("%d frames took %v with a stalled capture reader", n, el)
	}
	if got := f.a.Stats().RxFrames; got != n {
		t.Errorf("the LAN took %d frames, want %d", got, n)
	}
	st := s.Stats()[0]
	if st.Frames != n || st.Dropped < n-queueFrames-1 {
		t.Errorf("stats %+v: want %d seen, at least %d dropped", st, n, n-queueFrames-1)
	}
	cancel()
	close(w.release)
	wg.Wait()
	if len(f.l.subs) != 0 {
		t.Error("the session is still subscribed after it ended")
	}
}

func TestDropsReachTheOutput(t *testing.T) {
	f := newLANFixture(t, 0)
	s, _ := Start([]Target{{Name: "lan1", LAN: f.l}}, 0)
	for i := 0; i < queueFrames+10; i++ { // before the writer runs: the queue overflows
		f.a.Input(eth(0xff, 0xa, 60, byte(i)))
	}
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.WriteTo(ctx, &out); err != nil {
		t.Fatal(err)
	}
	frames, dropped := read(t, out.Bytes())
	if len(frames["lan1"]) != queueFrames || dropped["lan1"] != 10 {
		t.Errorf("%d frames, %d dropped; want %d and 10", len(frames["lan1"]), dropped["lan1"], queueFrames)
	}
}

func TestNoTapWithoutRecorderOrCapture(t *testing.T) {
	f := newLANFixture(t, 0)
	s, _ := Start([]Target{{Name: "lan1", LAN: f.l}}, 0)
	s.Stop()
	f.a.Input(eth(0xff, 0xa, 60, 1))
	if st := s.Stats()[0]; st.Frames != 0 {
		t.Errorf("a stopped session still sees frames: %+v", st)
	}
}

// stalled is a reader that never reads.
type stalled struct{ ch chan struct{} }

func (s stalled) Write(p []byte) (int, error) { <-s.ch; return len(p), nil }

// BenchmarkTap forwards frames from port a to port b (one op = one frame, 64 or 1500 bytes) with the
// LAN's capture side off, with the flight recorder on, with a live capture whose reader keeps up, and with
// one whose reader never reads.
func BenchmarkTap(b *testing.B) {
	for _, size := range []int{64, 1500} {
		for _, c := range []struct {
			name     string
			recorder int
			reader   string
		}{{"off", 0, ""}, {"recorder", DefaultRecorderBytes, ""}, {"capture", DefaultRecorderBytes, "fast"}, {"stalled", DefaultRecorderBytes, "stalled"}} {
			b.Run(fmt.Sprintf("%s/%d", c.name, size), func(b *testing.B) {
				sw := lan.New(lan.Config{Name: "lan1"}, nil)
				defer sw.Close()
				a := sw.Attach("a", discard{})
				bp := sw.Attach("b", discard{})
				l := NewLAN("lan1", sw, c.recorder)
				if c.reader != "" {
					s, _ := Start([]Target{{Name: "lan1", LAN: l}}, 0)
					ctx, cancel := context.WithCancel(context.Background())
					var w io.Writer = io.Discard
					if c.reader == "stalled" {
						st := stalled{make(chan struct{})}
						defer close(st.ch)
						w = st
					}
					defer cancel()
					go s.WriteTo(ctx, w)
				}
				fr := eth(0xb, 0xa, size, 1)
				bp.Input(eth(0xff, 0xb, 60, 0))
				b.SetBytes(int64(len(fr)))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					a.Input(fr)
				}
			})
		}
	}
}
