package netstack

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/cloonix-go/cloonix/relay"
)

// ErrBusy is why a DialTCP gave up while waiting for one of Config.MaxDials connection attempts.
var ErrBusy = errors.New("too many connections being opened")

// DialTCP opens a TCP connection from the NAT's gateway address to addr on its LAN, the way
// net.Dialer.DialContext opens one on the host (and wireguard-go's tun/netstack inside its stack). Without a
// deadline on ctx it gives up after Config.DialTimeout. A failure is a *net.OpError wrapping what a host
// connect would give: syscall.ECONNREFUSED (refused or reset), syscall.ETIMEDOUT (no answer in time),
// syscall.EHOSTUNREACH (no ARP reply), context.Canceled, net.ErrClosed once the NAT is closed, or ErrBusy.
// The returned conn supports CloseWrite (half-close).
func (n *NAT) DialTCP(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
	if n.ctx.Err() != nil {
		return nil, opError(addr, net.ErrClosed)
	}
	if !addr.Addr().Is4() {
		return nil, opError(addr, syscall.EAFNOSUPPORT)
	}
	if _, has := ctx.Deadline(); !has {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.cfg.DialTimeout)
		defer cancel()
	}
	select {
	case n.dials <- struct{}{}:
		defer func() { <-n.dials }()
	case <-ctx.Done():
		return nil, opError(addr, ErrBusy)
	}
	// Connect sends the SYN on this goroutine, through gVisor's whole send path: grow its stack once
	// now rather than frame by frame down there (relay.GrowStack has the figures).
	relay.GrowStack()
	var wq waiter.Queue
	ep, terr := n.st.NewEndpoint(tcp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
	if terr != nil {
		return nil, opError(addr, errnoOf(terr))
	}
	entry, ch := waiter.NewChannelEntry(waiter.WritableEvents | waiter.EventHUp | waiter.EventErr)
	wq.EventRegister(&entry)
	defer wq.EventUnregister(&entry)
	// gonet.DialContextTCP would do, but it flattens gVisor's typed error, and a RST must differ from a timeout.
	terr = ep.Connect(tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(addr.Addr().As4()), Port: addr.Port()})
	if _, started := terr.(*tcpip.ErrConnectStarted); started {
		select {
		case <-ctx.Done():
			ep.Close()
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil, opError(addr, context.Canceled)
			}
			return nil, opError(addr, syscall.ETIMEDOUT)
		case <-ch:
		}
		terr = ep.LastError()
	}
	if terr != nil {
		ep.Close()
		return nil, opError(addr, errnoOf(terr))
	}
	return gonet.NewTCPConn(&wq, ep), nil
}

func opError(addr netip.AddrPort, err error) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(addr), Err: err}
}

// errnoOf is the errno a host connect gives for gVisor's connect error e.
func errnoOf(e tcpip.Error) error {
	switch e.(type) {
	case *tcpip.ErrConnectionRefused, *tcpip.ErrConnectionReset:
		return syscall.ECONNREFUSED
	case *tcpip.ErrTimeout:
		return syscall.ETIMEDOUT
	case *tcpip.ErrHostUnreachable, *tcpip.ErrNetworkUnreachable, *tcpip.ErrHostDown:
		return syscall.EHOSTUNREACH
	}
	return errors.New(e.String())
}
