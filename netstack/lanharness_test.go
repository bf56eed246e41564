package netstack

import (
	"context"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/lan"
	"github.com/cloonix-go/cloonix/netstack/dhcp"
	"github.com/cloonix-go/cloonix/netstack/fakeguest"
)

// newLANHarness builds the production dial-in path: the NAT is a port of a lan.Switch, and the fake
// guest is reached through lan.RunQemuPort over a qemu stream unix socket on which the guest listens as
// qemu would ("-netdev stream,server=on"). The guest takes its DHCP lease before it returns.
func newLANHarness(t testing.TB, mtu int) *harness {
	t.Helper()
	n, err := New(Config{
		Lab:          "nemo",
		MTU:          mtu,
		Reservations: []dhcp.Reservation{{MAC: guestMAC, IP: guestIP, Hostname: "r1"}},
		DialTimeout:  3 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sw := lan.New(lan.Config{Name: "bench", MTU: mtu}, nil)
	n.SetPort(sw.Attach("nat", n))
	g, err := fakeguest.New(guestMAC, netip.PrefixFrom(guestIP, 24), n.Gateway(), mtu)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "r1.sock")
	ready := make(chan struct{})
	done := make(chan struct{}, 2)
	go func() { _ = g.ServeQemuServer(ctx, sock, ready); done <- struct{}{} }()
	<-ready
	go func() { _ = lan.RunQemuPort(ctx, sw, "r1", sock, nil); done <- struct{}{} }()
	for p := sw.Port("r1"); p == nil || !p.Carrier(); p = sw.Port("r1") {
		time.Sleep(time.Millisecond)
	}
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
		_ = n.Close()
		sw.Close()
		g.Close()
	})
	h := &harness{nat: n, guest: g, sw: sw}
	h.lease(t)
	return h
}
