package netstack

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/cloonix-go/cloonix/relay"
)

// installForwarders sends every TCP SYN and UDP datagram that no local endpoint takes (everything not for
// the gateway's own services) to the egress handlers. The TCP forwarder's in-flight limit bounds the
// concurrent host dials: past MaxDials, further SYNs are dropped and the guest retransmits.
func (n *NAT) installForwarders() {
	tf := tcp.NewForwarder(n.st, 0, n.cfg.MaxDials, n.handleTCP)
	n.st.SetTransportProtocolHandler(tcp.ProtocolNumber, tf.HandlePacket)
	uf := udp.NewForwarder(n.st, n.handleUDP)
	n.st.SetTransportProtocolHandler(udp.ProtocolNumber, uf.HandlePacket)
}

var hostLoopback = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// egressTarget maps the destination a guest used to the address the host dials, or reports false when the
// policy refuses it: the host alias maps to 127.0.0.1 only with AllowHostLoopback, and so do this host's own
// addresses (a service listening on 0.0.0.0 is a host service too); the gateway, the rest of the NAT's
// subnet, loopback, link-local (cloud metadata), multicast, broadcast and unspecified addresses are never
// dialled.
func (n *NAT) egressTarget(dst netip.Addr) (netip.Addr, bool) {
	switch {
	case dst == n.cfg.HostAlias:
		return hostLoopback, n.cfg.AllowHostLoopback
	case !dst.Is4(), n.cfg.Subnet.Contains(dst), dst.IsLoopback(), dst.IsMulticast(), dst.IsUnspecified(),
		linkLocal4.Contains(dst), dst == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return netip.Addr{}, false
	case n.host.has(dst):
		return dst, n.cfg.AllowHostLoopback
	}
	return dst, true
}

func toAddr(a tcpip.Address) netip.Addr {
	if a.Len() != 4 {
		return netip.Addr{}
	}
	return netip.AddrFrom4(a.As4())
}

// takeFlow reserves a flow slot for the guest at src, in its own share and in the NAT's total, without
// waiting; the returned release is idempotent.
func (n *NAT) takeFlow(src netip.Addr) (release func(), ok bool) {
	mine, ok := n.quota.take(src, false)
	if !ok {
		n.stats.FlowLimitDrops.Add(1)
		return nil, false
	}
	select {
	case n.flows <- struct{}{}:
	default:
		mine()
		n.stats.FlowLimitDrops.Add(1)
		return nil, false
	}
	n.stats.ActiveFlows.Add(1)
	var once sync.Once
	return func() {
		once.Do(func() {
			n.stats.ActiveFlows.Add(-1)
			<-n.flows
			mine()
		})
	}, true
}

// handleTCP runs on its own goroutine per SYN. It dials the host first and answers the guest's SYN only
// when that worked; a refused or failed host dial becomes a RST for the guest.
func (n *NAT) handleTCP(r *tcp.ForwarderRequest) {
	id := r.ID()
	target, ok := n.egressTarget(toAddr(id.LocalAddress))
	if !ok {
		n.stats.EgressRefused.Add(1)
		r.Complete(true)
		return
	}
	src := toAddr(id.RemoteAddress)
	// The forwarder holds the SYN in flight (of MaxDials in all) until Complete: a guest may hold only its
	// share of them, so one guest dialling a black hole cannot stall everyone's new connections.
	pending, ok := n.quota.take(src, true)
	if !ok {
		n.stats.FlowLimitDrops.Add(1)
		r.Complete(true)
		return
	}
	release, ok := n.takeFlow(src)
	if !ok {
		pending()
		r.Complete(true)
		return
	}
	defer release()
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.DialTimeout)
	var d net.Dialer
	hc, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(target, id.LocalPort).String())
	cancel()
	pending()
	if err != nil {
		n.stats.EgressRefused.Add(1)
		n.log.Debug("egress TCP dial failed", "dst", netip.AddrPortFrom(target, id.LocalPort), "err", err)
		r.Complete(true)
		return
	}
	var wq waiter.Queue
	ep, terr := r.CreateEndpoint(&wq)
	r.Complete(false)
	if terr != nil {
		_ = hc.Close()
		return
	}
	boundEgressBuffers(ep)
	gc := gonet.NewTCPConn(&wq, ep)
	n.stats.EgressTCP.Add(1)
	if !n.track(gc) {
		_ = hc.Close()
		return
	}
	if !n.track(hc) {
		n.untrack(gc)
		_ = gc.Close()
		return
	}
	relay.Both(gc, hc)
	n.untrack(gc)
	n.untrack(hc)
}

// handleUDP runs inline in the packet path, so it only creates the guest-side endpoint and hands the
// flow to a goroutine. Returning false makes gVisor answer ICMP port unreachable.
func (n *NAT) handleUDP(r *udp.ForwarderRequest) bool {
	id := r.ID()
	target, ok := n.egressTarget(toAddr(id.LocalAddress))
	if !ok {
		n.stats.EgressRefused.Add(1)
		return false
	}
	release, ok := n.takeFlow(toAddr(id.RemoteAddress))
	if !ok {
		return true // dropped silently: the guest retries or gives up
	}
	var wq waiter.Queue
	ep, terr := r.CreateEndpoint(&wq)
	if terr != nil {
		release()
		return true
	}
	gc := gonet.NewUDPConn(&wq, ep)
	n.stats.EgressUDP.Add(1)
	go n.udpFlow(gc, netip.AddrPortFrom(target, id.LocalPort), release)
	return true
}

// udpFlow relays one guest UDP flow through a connected host socket until it is idle for
// UDPIdleTimeout or the NAT closes.
func (n *NAT) udpFlow(gc *gonet.UDPConn, dst netip.AddrPort, release func()) {
	defer release()
	hc, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
	if err != nil {
		n.stats.EgressRefused.Add(1)
		_ = gc.Close()
		return
	}
	if !n.track(gc) {
		_ = hc.Close()
		return
	}
	if !n.track(hc) {
		n.untrack(gc)
		_ = gc.Close()
		return
	}
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	idle := n.cfg.UDPIdleTimeout
	var wg sync.WaitGroup
	forward := func(dst, src net.Conn) {
		defer wg.Done()
		buf := make([]byte, 65535)
		for {
			_ = src.SetReadDeadline(time.Now().Add(idle))
			nr, err := src.Read(buf)
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err) {
					if time.Since(time.Unix(0, last.Load())) < idle {
						continue
					}
				}
				_ = gc.Close()
				_ = hc.Close()
				return
			}
			last.Store(time.Now().UnixNano())
			_, _ = dst.Write(buf[:nr])
		}
	}
	wg.Add(2)
	go forward(hc, gc)
	forward(gc, hc)
	wg.Wait()
	n.untrack(gc)
	n.untrack(hc)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
