package netstack

import (
	"context"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/lan"
	"github.com/cloonix-go/cloonix/netstack/dhcp"
	"github.com/cloonix-go/cloonix/netstack/fakeguest"
	"github.com/cloonix-go/cloonix/netstack/internal/link"
)

var (
	guestMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x10}
	guestIP  = netip.MustParseAddr("10.99.0.10")
)

// socketPair returns the two ends of a UNIX stream socketpair, like qemu's stream netdev socket.
func socketPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]net.Conn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	return conns[0], conns[1]
}

type harness struct {
	nat   *NAT
	guest *fakeguest.Guest
	sw    *lan.Switch
}

// newHarness connects a NAT and a fake guest (10.99.0.10, reserved for guestMAC) over a stream socket.
// The NAT side plays the LAN switch's role: batched writes out, batched frames in.
func newHarness(t testing.TB, mutate func(*Config)) *harness {
	t.Helper()
	cfg := Config{
		Lab:          "nemo",
		Reservations: []dhcp.Reservation{{MAC: guestMAC, IP: guestIP, Hostname: "r1"}},
		DialTimeout:  3 * time.Second,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	a, b := socketPair(t)
	port := link.NewStreamPort(a)
	n.SetPort(port)
	go func() { _ = link.ReadStream(a, func(f [][]byte) { _ = n.WriteFrames(f) }) }()
	g, err := fakeguest.New(guestMAC, netip.PrefixFrom(guestIP, 24), n.Gateway(), n.cfg.MTU)
	if err != nil {
		t.Fatal(err)
	}
	g.AttachStream(b)
	t.Cleanup(func() {
		cancel()
		_ = n.Close()
		port.Close()
		_ = b.Close()
		g.Close()
	})
	return &harness{nat: n, guest: g}
}

// dial opens TCP from the NAT to port on the fake guest.
func (h *harness) dial(ctx context.Context, port uint16) (net.Conn, error) {
	return h.nat.DialTCP(ctx, netip.AddrPortFrom(guestIP, port))
}

// lease runs DHCP from the fake guest and checks the answer.
func (h *harness) lease(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := h.guest.DHCP(ctx)
	if err != nil {
		t.Fatalf("DHCP from the fake guest: %v", err)
	}
	if got := ack.YourIPAddr.String(); got != guestIP.String() {
		t.Fatalf("DHCP gave %s, want the reservation %s", got, guestIP)
	}
}
