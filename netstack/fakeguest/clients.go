package fakeguest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// Ping sends one ICMP echo request to dst and waits for the reply.
func (g *Guest) Ping(ctx context.Context, dst netip.Addr) error {
	var wq waiter.Queue
	ep, terr := g.Stack.NewEndpoint(icmp.ProtocolNumber4, ipv4.ProtocolNumber, &wq)
	if terr != nil {
		return fmt.Errorf("ping endpoint: %s", terr)
	}
	defer ep.Close()
	entry, ch := waiter.NewChannelEntry(waiter.ReadableEvents)
	wq.EventRegister(&entry)
	defer wq.EventUnregister(&entry)
	req := make([]byte, header.ICMPv4MinimumSize+8)
	h := header.ICMPv4(req)
	h.SetType(header.ICMPv4Echo)
	copy(req[header.ICMPv4MinimumSize:], "cloonix!")
	var r bytes.Reader
	r.Reset(req)
	if _, terr := ep.Write(&r, tcpip.WriteOptions{To: &tcpip.FullAddress{NIC: 1, Addr: tcpip.AddrFrom4(dst.As4())}}); terr != nil {
		return fmt.Errorf("ping write: %s", terr)
	}
	for {
		var b bytes.Buffer
		_, terr := ep.Read(&b, tcpip.ReadOptions{})
		if _, wouldBlock := terr.(*tcpip.ErrWouldBlock); wouldBlock {
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return fmt.Errorf("ping %s: %w", dst, ctx.Err())
			}
		}
		if terr != nil {
			return fmt.Errorf("ping read: %s", terr)
		}
		if rep := header.ICMPv4(b.Bytes()); len(rep) >= header.ICMPv4MinimumSize && rep.Type() == header.ICMPv4EchoReply {
			return nil
		}
	}
}

// DHCP runs DISCOVER/OFFER/REQUEST/ACK against the LAN's server from port 68 (the guest keeps its static
// address; the test compares it with what the server hands out) and returns the ACK.
func (g *Guest) DHCP(ctx context.Context) (*dhcpv4.DHCPv4, error) {
	var wq waiter.Queue
	ep, terr := g.Stack.NewEndpoint(udp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
	if terr != nil {
		return nil, fmt.Errorf("dhcp endpoint: %s", terr)
	}
	ep.SocketOptions().SetBroadcast(true)
	if terr := ep.Bind(tcpip.FullAddress{NIC: 1, Port: 68}); terr != nil {
		ep.Close()
		return nil, fmt.Errorf("dhcp bind: %s", terr)
	}
	c := gonet.NewUDPConn(&wq, ep)
	defer c.Close()
	end, ok := ctx.Deadline()
	if !ok {
		end = time.Now().Add(5 * time.Second)
	}
	bcast := &net.UDPAddr{IP: net.IPv4bcast, Port: 67}
	// Like a real client, resend every 500 ms until the deadline: the first packets may go out before
	// the link is up.
	exchange := func(m *dhcpv4.DHCPv4, want dhcpv4.MessageType) (*dhcpv4.DHCPv4, error) {
		buf := make([]byte, 65536)
		for {
			if _, err := c.WriteTo(m.ToBytes(), bcast); err != nil {
				return nil, fmt.Errorf("dhcp send: %w", err)
			}
			dl := time.Now().Add(500 * time.Millisecond)
			if dl.After(end) {
				dl = end
			}
			_ = c.SetReadDeadline(dl)
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() && time.Now().Before(end) {
					continue
				}
				return nil, fmt.Errorf("dhcp wait for %s: %w", want, err)
			}
			rep, err := dhcpv4.FromBytes(buf[:n])
			if err != nil || rep.TransactionID != m.TransactionID {
				continue
			}
			if rep.MessageType() != want {
				return rep, fmt.Errorf("dhcp: got %s, want %s", rep.MessageType(), want)
			}
			return rep, nil
		}
	}
	disc, err := dhcpv4.NewDiscovery(g.MAC, dhcpv4.WithOption(dhcpv4.OptHostName("fake")))
	if err != nil {
		return nil, err
	}
	offer, err := exchange(disc, dhcpv4.MessageTypeOffer)
	if err != nil {
		return nil, err
	}
	req, err := dhcpv4.NewRequestFromOffer(offer)
	if err != nil {
		return nil, err
	}
	return exchange(req, dhcpv4.MessageTypeAck)
}
