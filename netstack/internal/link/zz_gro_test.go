package link

import (
	"testing"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

type cnt struct {
	stack.NetworkDispatcher
	n     int
	sizes []int
}

func (c *cnt) DeliverNetworkPacket(p tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	c.n++
	c.sizes = append(c.sizes, pkt.Data().Size())
}
func (c *cnt) DeliverLinkPacket(tcpip.NetworkProtocolNumber, *stack.PacketBuffer) {}

func mkFrame(dstMAC tcpip.LinkAddress, seq uint32, payload int) []byte {
	f := make([]byte, 14+20+20+payload)
	eth := header.Ethernet(f)
	eth.Encode(&header.EthernetFields{SrcAddr: "\x02\x00\x00\x00\x00\x01", DstAddr: dstMAC, Type: header.IPv4ProtocolNumber})
	ip := header.IPv4(f[14:])
	src, dst := tcpip.AddrFrom4([4]byte{10, 0, 0, 1}), tcpip.AddrFrom4([4]byte{10, 0, 0, 2})
	ip.Encode(&header.IPv4Fields{TotalLength: uint16(20 + 20 + payload), TTL: 64, Protocol: uint8(header.TCPProtocolNumber), SrcAddr: src, DstAddr: dst})
	ip.SetChecksum(^ip.CalculateChecksum())
	tcp := header.TCP(ip[20:])
	tcp.Encode(&header.TCPFields{SrcPort: 1, DstPort: 2, SeqNum: seq, AckNum: 5, DataOffset: 20, Flags: header.TCPFlagAck | header.TCPFlagPsh, WindowSize: 1000})
	xsum := header.PseudoHeaderChecksum(header.TCPProtocolNumber, src, dst, uint16(20+payload))
	xsum = checksum.Checksum(tcp[20:], xsum)
	tcp.SetChecksum(^tcp.CalculateChecksum(xsum))
	clearPush(f, payload)
	return f
}

func TestZZGRO(t *testing.T) {
	mac := tcpip.LinkAddress("\x02\x00\x00\x00\x00\x02")
	e := New(1500, mac, stack.CapabilityResolutionRequired, 0, true)
	c := &cnt{}
	e.Attach(c)
	var frames [][]byte
	for i := 0; i < 10; i++ {
		frames = append(frames, mkFrame(mac, uint32(100+i*1000), 1000))
	}
	e.Deliver(frames)
	t.Logf("delivered %d sizes %v", c.n, c.sizes)
}

func TestZZCsum(t *testing.T) {
	f := mkFrame("\x02\x00\x00\x00\x00\x02", 100, 1000)
	ip := header.IPv4(f[14:])
	tcp := header.TCP(ip[20:])
	t.Logf("ip valid %v csum %v", ip.IsValid(len(ip)), ip.IsChecksumValid())
	pc := checksum.Checksum(tcp[20:], 0)
	t.Logf("tcp valid %v", tcp[:20].IsChecksumValid(ip.SourceAddress(), ip.DestinationAddress(), pc, 1000))
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: bufferMake(f)})
	pkt.LinkHeader().Consume(14)
	t.Logf("pc %x via pkt %x", pc, pkt.Data().ChecksumAtOffset(40))
}

func bufferMake(f []byte) buffer.Buffer { return buffer.MakeWithData(f) }
