package netstack

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestEgressPolicy(t *testing.T) {
	h := newHarness(t, nil)
	h.nat.host.list = func() ([]net.Addr, error) {
		return []net.Addr{&net.IPNet{IP: net.IPv4(198, 18, 9, 1), Mask: net.CIDRMask(24, 32)}}, nil
	}
	for dst, want := range map[string]bool{
		"198.51.100.7":    true,  // outside
		"198.18.9.1":      false, // an address of this host
		"169.254.169.254": false, // cloud metadata
		"169.254.1.1":     false,
		"127.0.0.1":       false,
		"10.99.0.1":       false, // the gateway
		"224.0.0.5":       false,
	} {
		if _, ok := h.nat.egressTarget(netip.MustParseAddr(dst)); ok != want {
			t.Errorf("egress to %s allowed = %v, want %v", dst, ok, want)
		}
	}
	h.nat.cfg.AllowHostLoopback = true
	if _, ok := h.nat.egressTarget(netip.MustParseAddr("198.18.9.1")); !ok {
		t.Error("with allow_host_loopback the host's own address is still refused")
	}
	if _, ok := h.nat.egressTarget(netip.MustParseAddr("169.254.169.254")); ok {
		t.Error("with allow_host_loopback cloud metadata is reachable")
	}
	h.nat.host = hostAddrs{list: func() ([]net.Addr, error) { return nil, fmt.Errorf("no netlink") }}
	h.nat.cfg.AllowHostLoopback = false
	if _, ok := h.nat.egressTarget(netip.MustParseAddr("198.51.100.7")); ok {
		t.Error("when the host's addresses cannot be read, egress must be refused")
	}
}

// vethHost gives this host an address of its own: the host end of a veth pair (the other end in a network
// namespace the test makes), with addr/30. It checks that the address really is on the host, so a failed
// set-up never sends a connection off the machine.
func vethHost(t *testing.T, addr string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test puts a test address on a veth pair (ip link add) and needs root; CI runs as root")
	}
	id := os.Getpid() % 10000
	ns, outer, inner := fmt.Sprintf("cloonixnat%d", id), fmt.Sprintf("clxt%dh", id), fmt.Sprintf("clxt%dn", id)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	_ = exec.Command("ip", "link", "del", outer).Run()
	_ = exec.Command("ip", "netns", "del", ns).Run()
	run("netns", "add", ns)
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", outer).Run()
		_ = exec.Command("ip", "netns", "del", ns).Run()
	})
	run("link", "add", outer, "type", "veth", "peer", "name", inner)
	run("link", "set", inner, "netns", ns)
	run("addr", "add", addr+"/30", "dev", outer)
	run("link", "set", outer, "up")
	ifas, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifa := range ifas {
		if p, err := netip.ParsePrefix(ifa.String()); err == nil && p.Addr().String() == addr {
			return
		}
	}
	t.Fatalf("set-up: %s is not on this host after ip addr add", addr)
}

// TestEgressRefusesHostAddress: a host service listening on 0.0.0.0 is not reachable from a guest at one of
// the host's own (non-loopback) addresses, unless the lab allows host services.
func TestEgressRefusesHostAddress(t *testing.T) {
	const addr = "198.18.7.1"
	vethHost(t, addr)
	l, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("host service\n"))
			c.Close()
		}
	}()
	dst := netip.AddrPortFrom(netip.MustParseAddr(addr), uint16(l.Addr().(*net.TCPAddr).Port))
	for _, allow := range []bool{false, true} {
		h := newHarness(t, func(c *Config) { c.AllowHostLoopback = allow })
		h.lease(t)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := h.guest.Dial(ctx, dst)
		cancel()
		if allow {
			if err != nil {
				t.Fatalf("with allow_host_loopback the guest cannot reach %s (the set-up is wrong): %v", dst, err)
			}
			buf := make([]byte, 64)
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
			n, _ := c.Read(buf)
			if string(buf[:n]) != "host service\n" {
				t.Errorf("read %q from the host service", buf[:n])
			}
			c.Close()
			continue
		}
		if err == nil {
			c.Close()
			t.Fatalf("a guest reached the host service at the host's address %s", dst)
		}
		if got := h.nat.Stats().EgressRefused; got == 0 {
			t.Errorf("the refusal was not counted")
		}
	}
}
