package lan

import (
	"bufio"
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// fakeQemu plays qemu's side of "-netdev stream,server=on": it listens and accepts one client at
// a time.
type fakeQemu struct {
	ln *net.UnixListener
}

func newFakeQemu(t testing.TB, path string) *fakeQemu {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatalf("listen on %s: %v", path, err)
	}
	t.Cleanup(func() { ln.Close() })
	return &fakeQemu{ln: ln}
}

func (q *fakeQemu) accept(t testing.TB) *net.UnixConn {
	t.Helper()
	_ = q.ln.SetDeadline(time.Now().Add(10 * time.Second))
	c, err := q.ln.AcceptUnix()
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func sendFrame(t testing.TB, c net.Conn, f []byte) {
	t.Helper()
	wire, err := AppendFrame(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(wire); err != nil {
		t.Fatalf("fake qemu write: %v", err)
	}
}

func recvFrame(t testing.TB, r *bufio.Reader, c net.Conn) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := ReadFrame(r, make([]byte, MaxFrameSize))
	if err != nil {
		t.Fatalf("fake qemu read: %v", err)
	}
	return f
}

func TestQemuPortReconnects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vm1-eth0.sock")
	sw := New(Config{Name: "lan0"}, nil)
	defer sw.Close()
	local := newRecorder()
	lp := sw.Attach("nat", local)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunQemuPort(ctx, sw, "vm1", path, nil) }()
	time.Sleep(50 * time.Millisecond) // RunQemuPort must survive a socket that is not there yet

	for round := range 3 {
		q := newFakeQemu(t, path) // a new qemu process listens again
		c := q.accept(t)
		r := bufio.NewReader(c)
		qp := sw.Port("vm1")
		waitFor(t, "carrier", func() bool { return qp != nil && qp.Carrier() })
		// qemu → switch → local port
		sendFrame(t, c, frame(macBcast, macA, 60, byte(round)))
		local.waitCount(t, round+1)
		if got := local.get()[round][14]; got != byte(round) {
			t.Fatalf("round %d: local got tag %d", round, got)
		}
		// local port → switch → qemu, several frames batched
		for i := range 10 {
			lp.Input(frame(macA, macB, 100+i, byte(i)))
		}
		for i := range 10 {
			f := recvFrame(t, r, c)
			if len(f) != 100+i || f[14] != byte(i) {
				t.Fatalf("round %d: qemu got frame %d of %d bytes tag %d", round, i, len(f), f[14])
			}
		}
		q.ln.Close() // qemu exits
		c.Close()
		waitFor(t, "carrier loss", func() bool { return !qp.Carrier() })
		lp.Input(frame(macA, macB, 60, 0xee)) // dropped while unplugged
		waitFor(t, "link-down drop", func() bool { return qp.Stats().DropsLinkDown > uint64(round) })
	}
	if st := sw.Port("vm1").Stats(); st.RxFrames != 3 || st.TxFrames != 30 {
		t.Errorf("vm1 stats = %+v, want 3 rx and 30 tx frames", st)
	}
	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Errorf("RunQemuPort = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunQemuPort did not return after cancel")
	}
	if sw.Port("vm1") != nil {
		t.Error("port still attached after RunQemuPort returned")
	}
}

func TestQemuPortDropsConnOnBadFrame(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.sock")
	q := newFakeQemu(t, path)
	sw := New(Config{}, nil)
	defer sw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go RunQemuPort(ctx, sw, "vm", path, nil)
	c := q.accept(t)
	if _, err := c.Write([]byte{0, 0, 0, 0}); err != nil { // empty frame: counted, stream continues
		t.Fatal(err)
	}
	waitFor(t, "runt", func() bool { p := sw.Port("vm"); return p != nil && p.Stats().DropsRunt == 1 })
	if _, err := c.Write([]byte{0xff, 0xff, 0, 0}); err != nil { // too big: connection dropped
		t.Fatal(err)
	}
	c2 := q.accept(t) // it reconnects
	sendFrame(t, c2, frame(macBcast, macA, 60, 1))
	waitFor(t, "rx after reconnect", func() bool { return sw.Port("vm").Stats().RxFrames == 1 })
}
