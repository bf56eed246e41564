package dhcp

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var (
	testSubnet = netip.MustParsePrefix("10.0.2.0/24")
	testServer = netip.MustParseAddr("10.0.2.1")
	testDNS    = netip.MustParseAddr("10.0.2.3")
)

func testConfig(clk *fakeClock) Config {
	return Config{
		ServerIP:   testServer,
		Subnet:     testSubnet,
		DNS:        []netip.Addr{testDNS},
		LeaseTime:  time.Hour,
		DomainName: "nemo",
		Now:        clk.Now,
	}
}

func newTestServer(t testing.TB, edit func(*Config)) (*Server, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	cfg := testConfig(clk)
	if edit != nil {
		edit(&cfg)
	}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	return s, clk
}

func mac(t *testing.T, s string) net.HardwareAddr {
	t.Helper()
	m, err := net.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// roundTrip sends req through HandlePacket (so encoding is exercised) and
// decodes the reply; nil when the server sent nothing.
func roundTrip(t *testing.T, s *Server, req *dhcpv4.DHCPv4) *dhcpv4.DHCPv4 {
	t.Helper()
	b, err := s.HandlePacket(req.ToBytes())
	if err != nil {
		t.Fatalf("HandlePacket(%s): %v", req.MessageType(), err)
	}
	if b == nil {
		return nil
	}
	resp, err := dhcpv4.FromBytes(b)
	if err != nil {
		t.Fatalf("reply does not parse: %v", err)
	}
	return resp
}

func discoverPkt(t testing.TB, m net.HardwareAddr, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	d, err := dhcpv4.NewDiscovery(m, mods...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// dora runs DISCOVER, REQUEST and returns OFFER and ACK (either may be nil).
func dora(t *testing.T, s *Server, m net.HardwareAddr, mods ...dhcpv4.Modifier) (offer, ack *dhcpv4.DHCPv4) {
	t.Helper()
	offer = roundTrip(t, s, discoverPkt(t, m, mods...))
	if offer == nil {
		return nil, nil
	}
	req, err := dhcpv4.NewRequestFromOffer(offer, mods...)
	if err != nil {
		t.Fatal(err)
	}
	return offer, roundTrip(t, s, req)
}

func yiaddr(p *dhcpv4.DHCPv4) netip.Addr {
	a, _ := netip.AddrFromSlice(p.YourIPAddr.To4())
	return a
}
