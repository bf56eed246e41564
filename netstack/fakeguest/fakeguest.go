// Package fakeguest is a VM stand-in for tests and benchmarks: a gVisor stack with a static address on
// one Ethernet NIC that speaks qemu's stream framing, so the NAT (or gvproxy) sees what a qemu guest
// would put on the wire.
package fakeguest

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"

	"github.com/cloonix-go/cloonix/netstack/internal/link"
)

// Guest is a fake VM.
type Guest struct {
	Stack *stack.Stack
	EP    *link.Endpoint
	Addr  netip.Prefix
	MAC   net.HardwareAddr
}

// New builds a guest with address addr (e.g. 10.99.0.10/24), default route via gw, NIC MTU mtu. Like a
// virtio-net guest without a vnet header, it gets no offloads and computes every checksum.
func New(mac net.HardwareAddr, addr netip.Prefix, gw netip.Addr, mtu int) (*Guest, error) {
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4},
	})
	// Buffers large enough not to be the bottleneck of a throughput benchmark.
	sack := tcpip.TCPSACKEnabled(true)
	_ = s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack)
	_ = s.SetTransportProtocolOption(tcp.ProtocolNumber, &tcpip.TCPReceiveBufferSizeRangeOption{Min: 4096, Default: 4 << 20, Max: 8 << 20})
	_ = s.SetTransportProtocolOption(tcp.ProtocolNumber, &tcpip.TCPSendBufferSizeRangeOption{Min: 4096, Default: 4 << 20, Max: 8 << 20})
	tw := tcpip.TCPTimeWaitTimeoutOption(1)
	_ = s.SetTransportProtocolOption(tcp.ProtocolNumber, &tw)
	ep := link.New(uint32(mtu), tcpip.LinkAddress(mac), stack.CapabilityResolutionRequired, stack.GVisorGSOMaxSize)
	if err := s.CreateNIC(1, ep); err != nil {
		return nil, fmt.Errorf("fake guest NIC: %s", err)
	}
	if err := s.AddProtocolAddress(1, tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(addr.Addr().As4()), PrefixLen: addr.Bits()},
	}, stack.AddressProperties{}); err != nil {
		return nil, fmt.Errorf("fake guest address: %s", err)
	}
	sub, _ := tcpip.NewSubnet(tcpip.AddrFrom4(addr.Masked().Addr().As4()), tcpip.MaskFromBytes(net.CIDRMask(addr.Bits(), 32)))
	s.SetRouteTable([]tcpip.Route{
		{Destination: sub, NIC: 1},
		{Destination: header0(), Gateway: tcpip.AddrFrom4(gw.As4()), NIC: 1},
	})
	return &Guest{Stack: s, EP: ep, Addr: addr, MAC: mac}, nil
}

func header0() tcpip.Subnet {
	s, _ := tcpip.NewSubnet(tcpip.AddrFrom4([4]byte{}), tcpip.MaskFromBytes(make([]byte, 4)))
	return s
}

// AttachStream attaches the guest to a stream socket (qemu framing) at once and serves it on a goroutine
// until the socket fails; done then receives the error.
func (g *Guest) AttachStream(conn net.Conn) (done <-chan error) {
	p := link.NewStreamPort(conn)
	g.EP.SetPort(p)
	ch := make(chan error, 1)
	go func() {
		defer p.Close()
		ch <- link.ReadStream(conn, g.EP.Deliver)
	}()
	return ch
}

// Listen listens for TCP on the guest's address.
func (g *Guest) Listen(port uint16) (*gonet.TCPListener, error) {
	return gonet.ListenTCP(g.Stack, tcpip.FullAddress{NIC: 1, Addr: tcpip.AddrFrom4(g.Addr.Addr().As4()), Port: port}, ipv4.ProtocolNumber)
}

// Dial opens TCP from the guest to dst.
func (g *Guest) Dial(ctx context.Context, dst netip.AddrPort) (*gonet.TCPConn, error) {
	return gonet.DialContextTCP(ctx, g.Stack, tcpip.FullAddress{NIC: 1, Addr: tcpip.AddrFrom4(dst.Addr().As4()), Port: dst.Port()}, ipv4.ProtocolNumber)
}

// DialUDP opens a connected UDP socket from the guest to dst.
func (g *Guest) DialUDP(dst netip.AddrPort) (*gonet.UDPConn, error) {
	return gonet.DialUDP(g.Stack, nil, &tcpip.FullAddress{NIC: 1, Addr: tcpip.AddrFrom4(dst.Addr().As4()), Port: dst.Port()}, ipv4.ProtocolNumber)
}

// Close stops the guest's stack.
func (g *Guest) Close() {
	g.Stack.Close()
	g.Stack.Wait()
}
