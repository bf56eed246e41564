package wire

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

var (
	macA = net.HardwareAddr{0x0e, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{0x0e, 0, 0, 0, 0, 2}
)

func serialize(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func ipv4(proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 1, Protocol: proto, SrcIP: net.IP{10, 0, 12, 1}, DstIP: net.IP{224, 0, 0, 5}}
}

func eth(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: t}
}

func TestFilters(t *testing.T) {
	ospf := serialize(t, eth(layers.EthernetTypeIPv4), ipv4(89), gopacket.Payload(make([]byte, 44)))
	ip := ipv4(layers.IPProtocolTCP)
	tcpEst := &layers.TCP{SrcPort: 40000, DstPort: 179, ACK: true, PSH: true}
	tcpEst.SetNetworkLayerForChecksum(ip)
	bgp := serialize(t, eth(layers.EthernetTypeIPv4), ip, tcpEst, gopacket.Payload([]byte("keepalive")))
	ip2 := ipv4(layers.IPProtocolTCP)
	syn := &layers.TCP{SrcPort: 40000, DstPort: 179, SYN: true}
	syn.SetNetworkLayerForChecksum(ip2)
	bgpSyn := serialize(t, eth(layers.EthernetTypeIPv4), ip2, syn)
	arp := serialize(t, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: 1, SourceHwAddress: macA, SourceProtAddress: []byte{10, 0, 0, 1},
		DstHwAddress: make([]byte, 6), DstProtAddress: []byte{10, 0, 0, 2}})
	isis := serialize(t, eth(layers.EthernetTypeLLC), &layers.LLC{DSAP: 0xfe, SSAP: 0xfe, Control: 3}, gopacket.Payload(make([]byte, 30)))
	vlanOSPF := serialize(t, eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 10, Type: layers.EthernetTypeIPv4}, ipv4(89),
		gopacket.Payload(make([]byte, 44)))

	cases := []struct {
		filter string
		frame  []byte
		want   bool
	}{
		{"ospf", ospf, true}, {"ospf", bgp, false}, {"ospf", vlanOSPF, true},
		{"bgp", bgp, true}, {"tcp/179", bgp, true}, {"tcp/180", bgp, false}, {"udp/179", bgp, false},
		{"arp", arp, true}, {"arp", ospf, false}, {"ip", arp, false}, {"ip", ospf, true},
		{"isis", isis, true}, {"isis", ospf, false}, {"stp", isis, false}, {"any", isis, true},
		{"ipv4", ospf, true}, {"ipv6", ospf, false}, {"TCP", bgp, true},
		{"net:10.0.12.0/24", ospf, true}, {"net:224.0.0.0/4", ospf, true}, {"net:192.168.0.0/16", ospf, false},
		{"net:10.0.12.7/24", bgp, true}, {"net:10.0.0.0/8", arp, false},
	}
	for _, c := range cases {
		f, err := ParseFilter(c.filter)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Match(Decode(c.frame)); got != c.want {
			t.Errorf("%s on %v = %v, want %v", c.filter, Decode(c.frame), got, c.want)
		}
	}
	if !Decode(bgp).Established() || Decode(bgpSyn).Established() || Decode(ospf).Established() {
		t.Error("Established: want true only for the ACK segment")
	}
	if fr := Decode(ospf); fr.Src.String() != macA.String() || fr.SrcIP.String() != "10.0.12.1" {
		t.Errorf("Decode(ospf) = %+v", fr)
	}
	for _, bad := range []string{"", "tcp/", "tcp/0", "tcp/70000", "sctp/5", "osfp", "net:", "net:10.0.0.0", "net:x/8"} {
		if _, err := ParseFilter(bad); err == nil {
			t.Errorf("ParseFilter(%q) accepted", bad)
		}
	}
	if Decode([]byte{1, 2, 3}).IPProto != -1 {
		t.Error("a truncated frame must decode as no IP")
	}
}

func TestReadNamesInterfaces(t *testing.T) {
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "lan12", LinkType: layers.LinkTypeEthernet},
		pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := w.AddInterface(pcapgo.NgInterface{Name: "r1:eth1", LinkType: layers.LinkTypeEthernet})
	if err != nil {
		t.Fatal(err)
	}
	frame := serialize(t, eth(layers.EthernetTypeIPv4), ipv4(89), gopacket.Payload(make([]byte, 10)))
	now := time.Now()
	for i, idx := range []int{0, id, 0} {
		ci := gopacket.CaptureInfo{Timestamp: now.Add(time.Duration(i) * time.Second), CaptureLength: len(frame), Length: len(frame), InterfaceIndex: idx}
		if err := w.WritePacket(ci, frame); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	var names []string
	err = Read(&buf, func(iface string, ts time.Time, data []byte) bool {
		names = append(names, iface)
		return len(names) < 2
	})
	if err != nil || len(names) != 2 || names[0] != "lan12" || names[1] != "r1:eth1" {
		t.Fatalf("Read = %v, %v", names, err)
	}
	if err := Read(bytes.NewReader(nil), func(string, time.Time, []byte) bool { return true }); err != nil {
		t.Fatalf("an empty stream: %v", err)
	}
}
