package netstack

import (
	"net"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

type discardPort struct{}

func (discardPort) Input([]byte) {}

// FuzzWriteFrames feeds arbitrary bytes from the "guest" as Ethernet frames; nothing may panic.
func FuzzWriteFrames(f *testing.F) {
	n, err := New(Config{Lab: "fuzz", AllowHostLoopback: false})
	if err != nil {
		f.Fatal(err)
	}
	n.SetPort(discardPort{})
	f.Cleanup(func() { _ = n.Close() })
	mac := n.MAC()
	eth := func(dst net.HardwareAddr, typ tcpip.NetworkProtocolNumber, payload []byte) []byte {
		b := make([]byte, header.EthernetMinimumSize+len(payload))
		header.Ethernet(b).Encode(&header.EthernetFields{SrcAddr: tcpip.LinkAddress(guestMAC), DstAddr: tcpip.LinkAddress(dst), Type: typ})
		copy(b[header.EthernetMinimumSize:], payload)
		return b
	}
	bcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	arp := make([]byte, header.ARPSize)
	a := header.ARP(arp)
	a.SetIPv4OverEthernet()
	a.SetOp(header.ARPRequest)
	copy(a.HardwareAddressSender(), guestMAC)
	copy(a.ProtocolAddressSender(), guestIP.AsSlice())
	copy(a.ProtocolAddressTarget(), n.Gateway().AsSlice())
	f.Add(eth(bcast, header.ARPProtocolNumber, arp))
	disc, _ := dhcpv4.NewDiscovery(guestMAC)
	f.Add(eth(bcast, header.IPv4ProtocolNumber, ipUDP(guestIP.As4(), [4]byte{255, 255, 255, 255}, 68, 67, disc.ToBytes())))
	f.Add(eth(mac, header.IPv4ProtocolNumber, ipUDP(guestIP.As4(), n.Gateway().As4(), 5353, 53, []byte{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0})))
	f.Add(eth(mac, header.IPv4ProtocolNumber, []byte{0x45, 0, 0, 20}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, frame []byte) {
		_ = n.WriteFrames([][]byte{frame})
	})
}

func ipUDP(src, dst [4]byte, sport, dport uint16, payload []byte) []byte {
	b := make([]byte, header.IPv4MinimumSize+header.UDPMinimumSize+len(payload))
	ip := header.IPv4(b)
	ip.Encode(&header.IPv4Fields{TotalLength: uint16(len(b)), TTL: 64, Protocol: uint8(header.UDPProtocolNumber),
		SrcAddr: tcpip.AddrFrom4(src), DstAddr: tcpip.AddrFrom4(dst)})
	ip.SetChecksum(^ip.CalculateChecksum())
	u := header.UDP(b[header.IPv4MinimumSize:])
	u.Encode(&header.UDPFields{SrcPort: sport, DstPort: dport, Length: uint16(len(u))})
	copy(u[header.UDPMinimumSize:], payload)
	return b
}
