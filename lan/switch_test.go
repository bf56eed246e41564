package lan

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

type lanFixture struct {
	sw      *Switch
	a, b, c *Port
	ra, rb  *recorder
	rc      *recorder
}

func newFixture(t *testing.T, cfg Config) *lanFixture {
	t.Helper()
	f := &lanFixture{sw: New(cfg, nil), ra: newRecorder(), rb: newRecorder(), rc: newRecorder()}
	f.a = f.sw.Attach("a", f.ra)
	f.b = f.sw.Attach("b", f.rb)
	f.c = f.sw.Attach("c", f.rc)
	t.Cleanup(f.sw.Close)
	return f
}

func TestFloodsBroadcastMulticastUnknownUnicast(t *testing.T) {
	for _, tc := range []struct {
		name string
		dst  []byte
	}{{"broadcast", macBcast}, {"multicast", macMcast}, {"unknown unicast", macX}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Config{})
			in := frame(tc.dst, macA, 60, 1)
			f.a.Input(in)
			f.rb.waitCount(t, 1)
			f.rc.waitCount(t, 1)
			settle()
			if n := f.ra.count(); n != 0 {
				t.Errorf("source port got %d frames back, want 0", n)
			}
			if got := f.rb.get()[0]; !bytes.Equal(got, in) {
				t.Errorf("b got %x, want %x", got, in)
			}
		})
	}
}

func TestLearnsAndForwardsUnicast(t *testing.T) {
	f := newFixture(t, Config{})
	f.a.Input(frame(macBcast, macA, 60, 1)) // learn A
	f.rb.waitCount(t, 1)
	f.rc.waitCount(t, 1)
	f.b.Input(frame(macA, macB, 60, 2)) // A is known: only A; learns B
	f.ra.waitCount(t, 1)
	f.a.Input(frame(macB, macA, 60, 3)) // B is known: only B
	f.rb.waitCount(t, 2)
	settle()
	if n := f.rc.count(); n != 1 {
		t.Errorf("c got %d frames, want only the first broadcast", n)
	}
	if n := f.ra.count(); n != 1 {
		t.Errorf("a got %d frames, want 1", n)
	}
	if got := f.rb.get()[1][14]; got != 3 {
		t.Errorf("b's second frame has tag %d, want 3", got)
	}
	st := f.b.Stats()
	if st.TxFrames != 2 || st.TxBytes != 120 || st.RxFrames != 1 || st.RxBytes != 60 {
		t.Errorf("b stats = %+v", st)
	}
}

func TestNoEchoToSourcePort(t *testing.T) {
	f := newFixture(t, Config{})
	f.a.Input(frame(macBcast, macA, 60, 1))
	f.rb.waitCount(t, 1)
	f.a.Input(frame(macA, macA, 60, 2)) // destination behind the source port
	settle()
	if f.ra.count() != 0 || f.rb.count() != 1 || f.rc.count() != 1 {
		t.Errorf("counts a=%d b=%d c=%d, want 0 1 1", f.ra.count(), f.rb.count(), f.rc.count())
	}
}

func TestMACMovesBetweenPorts(t *testing.T) {
	f := newFixture(t, Config{})
	f.a.Input(frame(macBcast, macX, 60, 1)) // X on A
	f.rc.waitCount(t, 1)
	f.c.Input(frame(macBcast, macX, 60, 2)) // X moves to C
	f.ra.waitCount(t, 1)
	f.b.Input(frame(macX, macB, 60, 3))
	f.rc.waitCount(t, 2)
	settle()
	if n := f.ra.count(); n != 1 {
		t.Errorf("a got %d frames, want 1 (the broadcast, not the unicast to X)", n)
	}
}

func TestAging(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1000, 0)}
	f := newFixture(t, Config{AgeTime: 10 * time.Second, Now: clk.Now})
	f.a.Input(frame(macBcast, macA, 60, 1))
	f.rc.waitCount(t, 1)
	clk.Advance(9 * time.Second)
	f.b.Input(frame(macA, macB, 60, 2)) // still known: only A
	f.ra.waitCount(t, 1)
	settle()
	if n := f.rc.count(); n != 1 {
		t.Fatalf("c got %d frames before aging, want 1", n)
	}
	clk.Advance(2 * time.Second) // A last heard 11 s ago
	f.b.Input(frame(macA, macB, 60, 3))
	f.ra.waitCount(t, 2)
	f.rc.waitCount(t, 2) // flooded again
	// Hearing A again refreshes the entry.
	f.a.Input(frame(macB, macA, 60, 4))
	f.rb.waitCount(t, 1)
	clk.Advance(5 * time.Second)
	f.b.Input(frame(macA, macB, 60, 5))
	f.ra.waitCount(t, 3)
	settle()
	if n := f.rc.count(); n != 2 {
		t.Errorf("c got %d frames after refresh, want 2", n)
	}
}

// blockingWriter never returns from WriteFrames until released.
type blockingWriter struct{ release chan struct{} }

func (w *blockingWriter) WriteFrames([][]byte) error { <-w.release; return nil }

func TestStuckPortDoesNotStallOthers(t *testing.T) {
	const queueLen, n = 16, 2000
	sw := New(Config{QueueLen: queueLen}, nil)
	defer sw.Close()
	rb := newRecorder()
	stuck := &blockingWriter{release: make(chan struct{})}
	defer close(stuck.release)
	a := sw.Attach("a", newRecorder())
	sw.Attach("b", rb)
	c := sw.Attach("stuck", stuck)
	start := time.Now()
	for i := range n {
		a.Input(frame(macBcast, macA, 60, byte(i)))
		if i%queueLen == queueLen-1 {
			rb.waitCount(t, i+1) // keep b's own queue from overflowing
		}
	}
	rb.waitCount(t, n)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to pass %d frames beside a stuck port", d, n)
	}
	st := c.Stats()
	if min := uint64(n - queueLen - maxBatch); st.Drops < min || st.Drops > n {
		t.Errorf("stuck port dropped %d frames, want between %d and %d", st.Drops, min, n)
	}
	if st.TxFrames != 0 {
		t.Errorf("stuck port sent %d frames", st.TxFrames)
	}
}

func TestLinkDownDropsBothWays(t *testing.T) {
	f := newFixture(t, Config{})
	f.b.SetLinkUp(false)
	if f.b.LinkUp() {
		t.Fatal("LinkUp() = true after SetLinkUp(false)")
	}
	f.a.Input(frame(macBcast, macA, 60, 1))
	f.rc.waitCount(t, 1)
	f.b.Input(frame(macBcast, macB, 60, 2))
	settle()
	if f.rb.count() != 0 || f.ra.count() != 0 || f.rc.count() != 1 {
		t.Fatalf("counts a=%d b=%d c=%d, want 0 0 1", f.ra.count(), f.rb.count(), f.rc.count())
	}
	if st := f.b.Stats(); st.DropsLinkDown != 2 || st.RxFrames != 0 {
		t.Errorf("b stats = %+v, want 2 link-down drops and no rx", st)
	}
	f.b.SetLinkUp(true)
	f.a.Input(frame(macBcast, macA, 60, 3))
	f.rb.waitCount(t, 1)
	f.b.Input(frame(macA, macB, 60, 4))
	f.ra.waitCount(t, 1)
}

func TestLinkDownForgetsMACs(t *testing.T) {
	f := newFixture(t, Config{})
	f.b.Input(frame(macBcast, macB, 60, 1))
	f.rc.waitCount(t, 1)
	f.b.SetLinkUp(false)
	f.b.SetLinkUp(true)
	f.a.Input(frame(macB, macA, 60, 2)) // B unknown again: flooded
	f.rb.waitCount(t, 1)
	f.rc.waitCount(t, 2)
}

func TestFrameSizeLimits(t *testing.T) {
	f := newFixture(t, Config{MTU: 1500})
	f.a.Input(frame(macBcast, macA, 1518, 1)) // 1500 + 14 + 4: fits
	f.rb.waitCount(t, 1)
	f.a.Input(frame(macBcast, macA, 1519, 2))
	f.a.Input(make([]byte, 13))
	f.a.Input(nil)
	settle()
	st := f.a.Stats()
	if st.DropsTooBig != 1 || st.DropsRunt != 2 || st.RxFrames != 1 {
		t.Errorf("a stats = %+v, want 1 too big, 2 runts, 1 rx", st)
	}
	if f.rb.count() != 1 {
		t.Errorf("b got %d frames, want 1", f.rb.count())
	}
}

func TestJumboFramesWithoutMTU(t *testing.T) {
	f := newFixture(t, Config{})
	in := frame(macBcast, macA, MaxFrameSize, 1)
	f.a.Input(in)
	f.rb.waitCount(t, 1)
	if !bytes.Equal(f.rb.get()[0], in) {
		t.Error("jumbo frame changed in transit")
	}
	f.a.Input(make([]byte, MaxFrameSize+1))
	if st := f.a.Stats(); st.DropsTooBig != 1 {
		t.Errorf("DropsTooBig = %d, want 1", st.DropsTooBig)
	}
}

func TestDetach(t *testing.T) {
	f := newFixture(t, Config{})
	f.b.Input(frame(macBcast, macB, 60, 1))
	f.ra.waitCount(t, 1)
	f.b.Detach()
	f.b.Detach() // twice is fine
	if ps := f.sw.Ports(); len(ps) != 2 || ps[0] != f.a || ps[1] != f.c {
		t.Fatalf("Ports() = %v, want [a c]", ps)
	}
	if f.sw.Port("b") != nil || f.sw.Port("c") != f.c {
		t.Error("Port(name) lookup wrong after detach")
	}
	f.a.Input(frame(macB, macA, 60, 2)) // B forgotten: flood to c only
	f.rc.waitCount(t, 2)
	f.b.Input(frame(macBcast, macB, 60, 3))
	settle()
	if f.rb.count() != 0 || f.ra.count() != 1 {
		t.Errorf("counts a=%d b=%d, want 1 0", f.ra.count(), f.rb.count())
	}
	// A new port gets a fresh id and is reachable.
	rd := newRecorder()
	d := f.sw.Attach("d", rd)
	d.Input(frame(macA, macC, 60, 4))
	f.ra.waitCount(t, 2)
}

func TestCloseDetachesAll(t *testing.T) {
	sw := New(Config{}, nil)
	sw.Attach("a", newRecorder())
	sw.Close()
	if n := len(sw.Ports()); n != 0 {
		t.Fatalf("%d ports after Close", n)
	}
	p := sw.Attach("late", newRecorder())
	p.Input(frame(macBcast, macA, 60, 1)) // no panic, no effect
	if len(sw.Ports()) != 0 {
		t.Error("Attach after Close added a port")
	}
}

func TestTapSeesAcceptedFrames(t *testing.T) {
	f := newFixture(t, Config{MTU: 1500})
	var seen []string
	f.sw.SetTap(func(in, _ *Port, fr []byte) { seen = append(seen, in.Name()) })
	f.a.Input(frame(macBcast, macA, 60, 1))
	f.b.Input(frame(macBcast, macB, 2000, 2)) // too big: not tapped
	f.sw.SetTap(nil)
	f.c.Input(frame(macBcast, macC, 60, 3))
	if len(seen) != 1 || seen[0] != "a" {
		t.Errorf("tap saw %v, want [a]", seen)
	}
}

// TestTapSeesWhereFramesGo: the tap is told the one port a unicast frame goes to, the source port itself
// when the switch filters the frame, and nil for a flood.
func TestTapSeesWhereFramesGo(t *testing.T) {
	f := newFixture(t, Config{MTU: 1500})
	var got []string
	f.sw.SetTap(func(in, dst *Port, fr []byte) {
		d := "flood"
		if dst != nil {
			d = dst.Name()
		}
		got = append(got, in.Name()+">"+d)
	})
	f.a.Input(frame(macBcast, macA, 60, 1))                      // a learned
	f.b.Input(frame(macA, macB, 60, 2))                          // to a; b learned
	f.a.Input(frame(macA, macA, 60, 3))                          // a's own MAC behind a: filtered
	f.c.Input(frame([]byte{0x02, 0, 0, 0, 0, 0xd}, macC, 60, 4)) // unknown unicast: flood
	want := "a>flood b>a a>a c>flood"
	if strings.Join(got, " ") != want {
		t.Errorf("tap saw %q, want %q", strings.Join(got, " "), want)
	}
}

type failingWriter struct{}

func (failingWriter) WriteFrames([][]byte) error { return errTest }

func TestWriteErrorsCounted(t *testing.T) {
	sw := New(Config{}, nil)
	defer sw.Close()
	a := sw.Attach("a", newRecorder())
	bad := sw.Attach("bad", failingWriter{})
	a.Input(frame(macBcast, macA, 60, 1))
	waitFor(t, "tx error", func() bool { return bad.Stats().TxErrors == 1 })
}
