package netstack

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/miekg/dns"
)

func TestDHCPAndPing(t *testing.T) {
	h := newHarness(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := h.guest.DHCP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ack.YourIPAddr.String() != guestIP.String() {
		t.Errorf("yiaddr %s, want %s", ack.YourIPAddr, guestIP)
	}
	if r := dhcpv4.GetIP(dhcpv4.OptionRouter, ack.Options); r.String() != "10.99.0.1" {
		t.Errorf("router %v, want 10.99.0.1", r)
	}
	if mtu, err := dhcpv4.GetUint16(dhcpv4.OptionInterfaceMTU, ack.Options); err != nil || mtu != 65520 {
		t.Errorf("MTU option %d (%v), want 65520", mtu, err)
	}
	if len(h.nat.Leases()) != 1 {
		t.Errorf("leases %v, want one", h.nat.Leases())
	}
	if err := h.guest.Ping(ctx, h.nat.Gateway()); err != nil {
		t.Fatalf("ping gateway: %v", err)
	}
}

func TestDNSResolvesVMName(t *testing.T) {
	h := newHarness(t, nil)
	h.lease(t)
	c, err := h.guest.DialUDP(netip.AddrPortFrom(h.nat.Gateway(), 53))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, name := range []string{"r1.", "r1.nemo."} {
		q := new(dns.Msg)
		q.SetQuestion(name, dns.TypeA)
		b, _ := q.Pack()
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		nr, err := c.Read(buf)
		if err != nil {
			t.Fatalf("DNS %s: %v", name, err)
		}
		var m dns.Msg
		if err := m.Unpack(buf[:nr]); err != nil {
			t.Fatal(err)
		}
		if len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != guestIP.String() {
			t.Fatalf("DNS %s answered %v, want %s", name, m.Answer, guestIP)
		}
	}
}

// TestDialTCPEchoHalfClose dials into the guest, sends data, half-closes, and checks both directions.
func TestDialTCPEchoHalfClose(t *testing.T) {
	h := newHarness(t, nil)
	h.lease(t)
	l, err := h.guest.Listen(22)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	serverGot := make(chan []byte, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			serverGot <- nil
			return
		}
		defer c.Close()
		got, _ := io.ReadAll(c) // ends at the NAT side's CloseWrite
		serverGot <- got
		_, _ = c.Write([]byte("reply after your FIN"))
		_ = c.(interface{ CloseWrite() error }).CloseWrite()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := h.dial(ctx, 22)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(payload); err != nil {
		t.Fatal(err)
	}
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	back, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read after half-close: %v", err)
	}
	if string(back) != "reply after your FIN" {
		t.Errorf("got %q back", back)
	}
	if got := <-serverGot; !bytes.Equal(got, payload) {
		t.Errorf("guest got %d bytes, want %d", len(got), len(payload))
	}
}

// TestDialTCPErrors: a dial fails the way a host connect does: a closed port at once with ECONNREFUSED,
// a closed NAT with net.ErrClosed.
func TestDialTCPErrors(t *testing.T) {
	h := newHarness(t, nil)
	h.lease(t)
	start := time.Now()
	_, err := h.dial(context.Background(), 2222)
	var oe *net.OpError
	if !errors.Is(err, syscall.ECONNREFUSED) || !errors.As(err, &oe) {
		t.Errorf("closed port: error %v, want a *net.OpError wrapping ECONNREFUSED", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("closed port: refused after %v, want < 1s", took)
	}
	_ = h.nat.Close()
	if _, err := h.dial(context.Background(), 22); !errors.Is(err, net.ErrClosed) {
		t.Errorf("dial on a closed NAT: %v, want net.ErrClosed", err)
	}
}

// TestDialTCPTimeout: the VM holds a lease but its NIC is gone (unplugged guest): the dial must stop at
// the context's deadline with ETIMEDOUT.
func TestDialTCPTimeout(t *testing.T) {
	h := newHarness(t, nil)
	h.lease(t)
	h.guest.EP.SetPort(nil) // the guest goes silent
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := h.dial(ctx, 22)
	if !errors.Is(err, syscall.ETIMEDOUT) {
		t.Fatalf("error %v, want ETIMEDOUT", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("timeout took %v", d)
	}
}

// echoServer listens on 127.0.0.1 and echoes each connection until EOF, then half-closes.
func echoServer(t *testing.T) *net.TCPListener {
	t.Helper()
	l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.AcceptTCP()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
				_ = c.CloseWrite()
			}()
		}
	}()
	return l
}

func TestEgressHostLoopback(t *testing.T) {
	l := echoServer(t)
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	for _, allow := range []bool{true, false} {
		h := newHarness(t, func(c *Config) { c.AllowHostLoopback = allow })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		start := time.Now()
		c, err := h.guest.Dial(ctx, netip.AddrPortFrom(h.nat.HostAlias(), port))
		cancel()
		if !allow {
			if err == nil {
				c.Close()
				t.Fatal("host loopback reachable with allow_host_loopback off")
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("refusal took %v, want a fast RST", d)
			}
			continue
		}
		if err != nil {
			t.Fatalf("dial host alias: %v", err)
		}
		msg := []byte("hello host")
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		_ = c.CloseWrite()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo through NAT: %q, %v", got, err)
		}
	}
}

func TestEgressUDPHostLoopback(t *testing.T) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(bytes.ToUpper(buf[:n]), from)
		}
	}()
	h := newHarness(t, func(c *Config) { c.AllowHostLoopback = true })
	c, err := h.guest.DialUDP(netip.AddrPortFrom(h.nat.HostAlias(), uint16(pc.LocalAddr().(*net.UDPAddr).Port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 100)
	for i := 0; i < 5; i++ { // the first datagram may race the guest's ARP for the alias
		_, _ = c.Write([]byte("ping"))
		_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if n, err := c.Read(buf); err == nil {
			if string(buf[:n]) != "PING" {
				t.Fatalf("got %q", buf[:n])
			}
			return
		}
	}
	t.Fatal("no UDP reply through the NAT")
}

// TestFlowLimits: a guest opening many more UDP flows and SYNs than allowed is capped, and the NAT's
// goroutines stay bounded.
func TestFlowLimits(t *testing.T) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	const maxFlows = 20
	h := newHarness(t, func(c *Config) { c.AllowHostLoopback = true; c.MaxFlows = maxFlows; c.MaxDials = 8 })
	before := runtime.NumGoroutine()
	port := uint16(pc.LocalAddr().(*net.UDPAddr).Port)
	for i := 0; i < 200; i++ {
		c, err := h.guest.DialUDP(netip.AddrPortFrom(h.nat.HostAlias(), port))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte("x"))
		defer c.Close()
	}
	time.Sleep(500 * time.Millisecond)
	st := h.nat.Stats()
	if st.ActiveFlows > maxFlows || st.EgressUDP > maxFlows {
		t.Errorf("active flows %d, opened %d, want <= %d", st.ActiveFlows, st.EgressUDP, maxFlows)
	}
	if st.FlowLimitDrops == 0 {
		t.Errorf("no flow-limit drops counted: %+v", st)
	}
	if g := runtime.NumGoroutine() - before; g > 3*maxFlows+20 {
		t.Errorf("%d new goroutines for %d allowed flows", g, maxFlows)
	}
}

func TestConfigErrors(t *testing.T) {
	bad := []Config{
		{},
		{Lab: "x", Subnet: netip.MustParsePrefix("10.0.0.0/30")},
		{Lab: "x", Gateway: netip.MustParseAddr("192.168.1.1")},
		{Lab: "x", MTU: 100},
	}
	for _, c := range bad {
		_, err := New(c)
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("New(%+v) = %v, want a one-line error", c, err)
		}
	}
}
