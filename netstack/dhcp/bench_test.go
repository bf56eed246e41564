package dhcp

import (
	"net"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// BenchmarkDiscover measures one DISCOVER→OFFER through HandlePacket for a
// known MAC (the steady state: renewals and reboots).
func BenchmarkDiscover(b *testing.B) {
	s, _ := newTestServer(b, nil)
	pkt := discoverPkt(b, net.HardwareAddr{0x52, 0x54, 0, 1, 2, 3}).ToBytes()
	b.ReportAllocs()
	for b.Loop() {
		if out, err := s.HandlePacket(pkt); err != nil || out == nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloodFullTable measures a DISCOVER from a new MAC when the table
// is full (the cost a flooding guest imposes per packet).
func BenchmarkFloodFullTable(b *testing.B) {
	s, _ := newTestServer(b, func(c *Config) {
		c.Subnet = netip.MustParsePrefix("10.0.0.0/16") // the pool must outlast the table
		c.ServerIP = netip.MustParseAddr("10.0.0.1")
		c.DNS = nil
	})
	for i := range DefaultMaxLeases {
		d, _ := dhcpv4.NewDiscovery(net.HardwareAddr{2, 0, 0, 0, byte(i >> 8), byte(i)})
		if out, _ := s.HandlePacket(d.ToBytes()); out == nil {
			b.Fatalf("offer %d missing", i)
		}
	}
	d, _ := dhcpv4.NewDiscovery(net.HardwareAddr{2, 0, 0, 1, 0, 0})
	pkt := d.ToBytes()
	b.ReportAllocs()
	for b.Loop() {
		if out, _ := s.HandlePacket(pkt); out != nil {
			b.Fatal("offered from a full table")
		}
	}
}
