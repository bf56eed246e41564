package dhcp

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// FuzzDHCPHandlePacket feeds arbitrary bytes to one long-lived server (so the
// table fills, expires and is reclaimed) and checks that it never panics, that
// every reply parses and gives an address inside the subnet, and that the
// table stays bounded. Seeds: testdata/fuzz/FuzzDHCPHandlePacket.
func FuzzDHCPHandlePacket(f *testing.F) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg := testConfig(clk)
	cfg.MaxLeases = 8
	cfg.Reservations = []Reservation{{MAC: net.HardwareAddr{0x52, 0x54, 0, 0, 0, 1}, IP: netip.MustParseAddr("10.0.2.20"), Hostname: "r1"}}
	s, err := NewServer(cfg)
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range seedPackets(f) {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		clk.Advance(7 * time.Second)
		out, err := s.HandlePacket(b)
		if err != nil {
			if out != nil {
				t.Fatalf("error %v with a reply", err)
			}
			return
		}
		if out == nil {
			return
		}
		resp, err := dhcpv4.FromBytes(out)
		if err != nil {
			t.Fatalf("our reply does not parse: %v", err)
		}
		if y := yiaddr(resp); y.IsValid() && !y.IsUnspecified() && !testSubnet.Contains(y) {
			t.Fatalf("offered %s outside %s", y, testSubnet)
		}
		s.mu.Lock()
		n := len(s.byMAC)
		s.mu.Unlock()
		if n > cfg.MaxLeases+len(cfg.Reservations) {
			t.Fatalf("table grew to %d rows", n)
		}
		_ = s.Leases()
	})
}

// seedPackets builds real client packets: each message type, IOS-XE
// client-ids, a renewal and a release.
func seedPackets(tb testing.TB) [][]byte {
	m := net.HardwareAddr{0x52, 0x54, 0, 0x12, 0x34, 0x56}
	must := func(p *dhcpv4.DHCPv4, err error) []byte {
		if err != nil {
			tb.Fatal(err)
		}
		return p.ToBytes()
	}
	ip := net.IPv4(10, 0, 2, 77)
	sid := dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(10, 0, 2, 1)))
	return [][]byte{
		must(dhcpv4.NewDiscovery(m, dhcpv4.WithOption(dhcpv4.OptHostName("vm1")))),
		must(dhcpv4.NewDiscovery(m, dhcpv4.WithOption(dhcpv4.OptClientIdentifier(append([]byte{1}, m...))))),
		must(dhcpv4.NewDiscovery(m, dhcpv4.WithOption(dhcpv4.OptClientIdentifier(append([]byte{0}, "cisco-5254.0012.3456-Gi1"...))))),
		must(dhcpv4.New(dhcpv4.WithHwAddr(m), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest), sid,
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ip)))),
		must(dhcpv4.New(dhcpv4.WithHwAddr(m), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest), dhcpv4.WithClientIP(ip))),
		must(dhcpv4.New(dhcpv4.WithHwAddr(m), dhcpv4.WithMessageType(dhcpv4.MessageTypeRelease), sid, dhcpv4.WithClientIP(ip))),
		must(dhcpv4.New(dhcpv4.WithHwAddr(m), dhcpv4.WithMessageType(dhcpv4.MessageTypeDecline), sid,
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ip)))),
		must(dhcpv4.NewInform(m, ip)),
		must(dhcpv4.NewDiscovery(net.HardwareAddr{0x52, 0x54, 0, 0, 0, 1})),
	}
}
