package netstack

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestGuestQuotas(t *testing.T) {
	q := newGuestQuotas(netip.MustParsePrefix("10.99.0.0/24"), 2, 1, slog.Default())
	a, b := netip.MustParseAddr("10.99.0.10"), netip.MustParseAddr("10.99.0.11")
	r1, ok1 := q.take(a, false)
	_, ok2 := q.take(a, false)
	if _, ok := q.take(a, false); !ok1 || !ok2 || ok {
		t.Fatalf("a: flows %v %v, third %v; want two then a refusal", ok1, ok2, ok)
	}
	if _, ok := q.take(b, false); !ok {
		t.Fatal("b refused because a is at its limit")
	}
	if _, ok := q.take(a, true); !ok {
		t.Fatal("a's pending share is separate from its flows")
	}
	if _, ok := q.take(a, true); ok {
		t.Fatal("a's second pending dial allowed with a limit of 1")
	}
	r1()
	r1() // idempotent
	if _, ok := q.take(a, false); !ok {
		t.Fatal("a released a flow and still cannot open one")
	}
	if _, ok := q.take(a, false); ok {
		t.Fatal("a double release freed two slots")
	}
	if d := q.drops(); d[a] != 3 || d[b] != 0 {
		t.Errorf("drops = %v, want a:3", d)
	}
	if _, ok := q.take(netip.MustParseAddr("192.0.2.1"), false); ok {
		t.Error("a source outside the subnet got a flow")
	}
}

// TestGuestFlowLimit: a guest holding its share of egress flows has its next connections refused (and
// counted for it) while the NAT as a whole has room.
func TestGuestFlowLimit(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var held []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // keep every flow open
		}
	}()
	const share = 4
	h := newHarness(t, func(c *Config) {
		c.AllowHostLoopback = true
		c.MaxFlows, c.MaxFlowsPerGuest = 64, share
	})
	h.lease(t)
	dst := netip.AddrPortFrom(h.nat.cfg.HostAlias, uint16(l.Addr().(*net.TCPAddr).Port))
	var ok, refused int
	for i := 0; i < share+3; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		c, err := h.guest.Dial(ctx, dst)
		cancel()
		if err != nil {
			refused++
			continue
		}
		defer c.Close()
		ok++
	}
	if ok != share || refused != 3 {
		t.Fatalf("%d flows opened, %d refused; want %d and 3", ok, refused, share)
	}
	if d := h.nat.GuestDrops()[guestIP]; d != 3 {
		t.Errorf("drops for the guest = %d, want 3 (%v)", d, h.nat.GuestDrops())
	}
}
