// Package wire reads what a lab's switch saw: it decodes the Ethernet frames of a capture stream (pcapng from
// labd, decoded with gopacket) and matches them against protocol filters ("ospf", "tcp/179", "arp"…), for
// validate's checks from the wire, which need no agent in any guest.
package wire

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Frame is what a filter looks at in one Ethernet frame.
type Frame struct {
	Src, Dst  net.HardwareAddr
	EtherType layers.EthernetType // after any 802.1Q tags; 0 for an 802.3 frame with an LLC header
	LLCDSAP   byte                // the LLC destination SAP of an 802.3 frame (0xfe IS-IS, 0x42 STP)
	IPProto   int                 // the IP protocol (89 OSPF, 6 TCP), -1 when the frame carries no IP
	SrcIP     netip.Addr
	DstIP     netip.Addr
	SrcPort   uint16 // TCP or UDP
	DstPort   uint16
	TCP       TCPFlags
}

// TCPFlags are the flags of a TCP segment that tell a connection's phase.
type TCPFlags struct{ SYN, ACK, FIN, RST bool }

// Decode decodes an Ethernet frame as far as filters need. A truncated or odd frame decodes to what could be
// read.
func Decode(data []byte) Frame {
	f := Frame{IPProto: -1}
	pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	if eth, ok := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); ok {
		f.Src, f.Dst = eth.SrcMAC, eth.DstMAC
		f.EtherType = eth.EthernetType
		if eth.EthernetType == layers.EthernetTypeLLC {
			f.EtherType = 0
		}
	}
	for _, l := range pkt.Layers() {
		switch l := l.(type) {
		case *layers.Dot1Q:
			f.EtherType = l.Type
		case *layers.LLC:
			f.LLCDSAP = l.DSAP
		case *layers.IPv4:
			f.IPProto = int(l.Protocol)
			f.SrcIP, _ = netip.AddrFromSlice(l.SrcIP.To4())
			f.DstIP, _ = netip.AddrFromSlice(l.DstIP.To4())
		case *layers.IPv6:
			f.IPProto = int(l.NextHeader)
			f.SrcIP, _ = netip.AddrFromSlice(l.SrcIP)
			f.DstIP, _ = netip.AddrFromSlice(l.DstIP)
		case *layers.TCP:
			f.IPProto = int(layers.IPProtocolTCP)
			f.SrcPort, f.DstPort = uint16(l.SrcPort), uint16(l.DstPort)
			f.TCP = TCPFlags{SYN: l.SYN, ACK: l.ACK, FIN: l.FIN, RST: l.RST}
		case *layers.UDP:
			f.IPProto = int(layers.IPProtocolUDP)
			f.SrcPort, f.DstPort = uint16(l.SrcPort), uint16(l.DstPort)
		}
	}
	return f
}

// Established tells whether the frame is a TCP segment of an established connection: ACK set, and none of
// SYN, FIN and RST.
func (f Frame) Established() bool {
	return f.IPProto == int(layers.IPProtocolTCP) && f.TCP.ACK && !f.TCP.SYN && !f.TCP.FIN && !f.TCP.RST
}

// Filter is a protocol filter: a word such as "ospf" or "tcp/179".
type Filter struct {
	word  string
	match func(Frame) bool
}

// Filters are the filter words ParseFilter knows besides tcp/PORT and udp/PORT, for help texts.
var Filters = []string{"any", "arp", "ip", "ipv4", "ipv6", "icmp", "icmpv6", "ospf", "bgp", "bfd", "vrrp", "isis",
	"stp", "lldp", "dhcp", "dns", "tcp", "udp"}

// ParseFilter parses a filter word: one of Filters, tcp/PORT, udp/PORT, or net:PREFIX (an IP packet from or
// to an address in PREFIX, such as net:192.168.0.0/16).
func ParseFilter(s string) (Filter, error) {
	w := strings.ToLower(strings.TrimSpace(s))
	ip := func(p layers.IPProtocol) func(Frame) bool {
		return func(f Frame) bool { return f.IPProto == int(p) }
	}
	port := func(p layers.IPProtocol, ports ...uint16) func(Frame) bool {
		return func(f Frame) bool {
			if f.IPProto != int(p) {
				return false
			}
			for _, n := range ports {
				if f.SrcPort == n || f.DstPort == n {
					return true
				}
			}
			return false
		}
	}
	var m func(Frame) bool
	switch w {
	case "any":
		m = func(Frame) bool { return true }
	case "arp":
		m = func(f Frame) bool { return f.EtherType == layers.EthernetTypeARP }
	case "ip":
		m = func(f Frame) bool { return f.IPProto >= 0 }
	case "ipv4":
		m = func(f Frame) bool { return f.EtherType == layers.EthernetTypeIPv4 }
	case "ipv6":
		m = func(f Frame) bool { return f.EtherType == layers.EthernetTypeIPv6 }
	case "icmp":
		m = ip(layers.IPProtocolICMPv4)
	case "icmpv6":
		m = ip(layers.IPProtocolICMPv6)
	case "ospf":
		m = ip(89)
	case "vrrp":
		m = ip(112)
	case "bgp":
		m = port(layers.IPProtocolTCP, 179)
	case "bfd":
		m = port(layers.IPProtocolUDP, 3784, 4784)
	case "dhcp":
		m = port(layers.IPProtocolUDP, 67, 68, 546, 547)
	case "dns":
		m = func(f Frame) bool {
			return port(layers.IPProtocolUDP, 53)(f) || port(layers.IPProtocolTCP, 53)(f)
		}
	case "tcp":
		m = ip(layers.IPProtocolTCP)
	case "udp":
		m = ip(layers.IPProtocolUDP)
	case "isis":
		m = func(f Frame) bool { return f.EtherType == 0 && f.LLCDSAP == 0xfe }
	case "stp":
		m = func(f Frame) bool { return f.EtherType == 0 && f.LLCDSAP == 0x42 }
	case "lldp":
		m = func(f Frame) bool { return f.EtherType == layers.EthernetTypeLinkLayerDiscovery }
	default:
		if pfx, ok := strings.CutPrefix(w, "net:"); ok {
			p, err := netip.ParsePrefix(pfx)
			if err != nil {
				return Filter{}, fmt.Errorf("filter %q: %q is not a prefix (net:192.168.0.0/16)", s, pfx)
			}
			p = p.Masked()
			m = func(f Frame) bool { return f.SrcIP.IsValid() && (p.Contains(f.SrcIP) || p.Contains(f.DstIP)) }
			break
		}
		proto, num, ok := strings.Cut(w, "/")
		n, err := strconv.ParseUint(num, 10, 16)
		if !ok || err != nil || n == 0 || (proto != "tcp" && proto != "udp") {
			return Filter{}, fmt.Errorf("unknown filter %q: use one of %s, tcp/PORT, udp/PORT or net:PREFIX", s, strings.Join(Filters, ", "))
		}
		p := layers.IPProtocolTCP
		if proto == "udp" {
			p = layers.IPProtocolUDP
		}
		m = port(p, uint16(n))
	}
	return Filter{word: w, match: m}, nil
}

// Match tells whether the frame passes the filter.
func (f Filter) Match(fr Frame) bool { return f.match != nil && f.match(fr) }

// String is the filter's word.
func (f Filter) String() string { return f.word }

// Read reads a pcapng stream and calls fn with each packet's interface name (the capture target), time and
// data, until the stream ends (nil), fails, or fn returns false (nil).
func Read(r io.Reader, fn func(iface string, ts time.Time, data []byte) bool) error {
	ng, err := pcapgo.NewNgReader(r, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return fmt.Errorf("read the capture: %w", err)
	}
	for {
		data, ci, err := ng.ReadPacketData()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the capture: %w", err)
		}
		name := ""
		if intf, err := ng.Interface(ci.InterfaceIndex); err == nil {
			name = intf.Name
		}
		if !fn(name, ci.Timestamp, data) {
			return nil
		}
	}
}
