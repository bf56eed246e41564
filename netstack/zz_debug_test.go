package netstack

import (
	"context"
	"io"
	"testing"
	"time"

)

func TestZZDebugDrops(t *testing.T) {
	h := newLANHarness(t, 1500)
	l, _ := h.guest.Listen(5001)
	defer l.Close()
	done := make(chan int64, 1)
	go func() {
		c, _ := l.Accept()
		n, _ := io.CopyBuffer(io.Discard, struct{ io.Reader }{c}, make([]byte, 256<<10))
		c.Close()
		done <- n
	}()
	c, err := h.nat.DialVM(context.Background(), "r1", 5001)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256<<10)
	start := time.Now()
	for i := 0; i < 4096; i++ {
		c.Write(buf)
	}
	c.(interface{ CloseWrite() error }).CloseWrite()
	n := <-done
	el := time.Since(start)

	t.Logf("%.2f Gbit/s", float64(n)*8/el.Seconds()/1e9)
	s := h.nat.st.Stats().TCP
	t.Logf("NAT retrans %d fastretrans %d timeouts %d sackrecov %d", s.Retransmits.Value(), s.FastRetransmit.Value(), s.Timeouts.Value(), s.SACKRecovery.Value())
	t.Logf("NAT ep %+v", h.nat.Stats())
	gs := h.guest.Stack.Stats().TCP
	t.Logf("guest retrans %d segsent %d segrecv %d", gs.Retransmits.Value(), gs.SegmentsSent.Value(), gs.ValidSegmentsReceived.Value())
	for _, p := range h.sw.Ports() {
		t.Logf("port %s %+v", p.Name(), p.Stats())
	}
	t.Logf("guest ep counters %v", fmtc(h.guest.EP.Counters()))
}

func fmtc(a, b, c, d uint64) []uint64 { return []uint64{a, b, c, d} }

func init() { _ = 0 }
