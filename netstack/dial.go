package netstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// DialVM opens a TCP connection from the NAT's gateway address to port on the VM's leased address. It
// fails fast with a *DialError (errors.Is-able against ErrUnknownVM, ErrNotRunning, ErrNoLease,
// ErrRefused, ErrTimeout) whose text is one line for the user. Without a deadline on ctx, the connect
// gives up after Config.DialTimeout. The returned conn supports CloseWrite (half-close).
func (n *NAT) DialVM(ctx context.Context, vm string, port uint16) (net.Conn, error) {
	if n.ctx.Err() != nil {
		return nil, n.fail(ErrClosed, "NAT %s is closed", n.cfg.Name)
	}
	info, err := n.vms.LookupVM(vm)
	if err != nil {
		msg := err.Error()
		if !strings.HasPrefix(msg, "lab ") {
			msg = fmt.Sprintf("lab %s: %s", n.cfg.Lab, msg)
		}
		return nil, &DialError{Kind: ErrUnknownVM, Msg: msg}
	}
	state := info.State
	if state == "" {
		state = "unknown"
	}
	if !info.Running {
		return nil, n.fail(ErrNotRunning, "%s is not running (state: %s)", vm, state)
	}
	if len(info.MACs) == 0 {
		return nil, n.fail(ErrUnknownVM, "%s has no NIC on the LAN of %s", vm, n.cfg.Name)
	}
	ip, ok := n.leaseIP(info)
	if !ok {
		return nil, n.fail(ErrNoLease, "%s has no DHCP lease yet (state: %s)", vm, state)
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
		return nil, n.fail(ErrTimeout, "%s:%d: too many connections being opened, timed out waiting", vm, port)
	}
	c, err := n.dialTCP(ctx, ip, port)
	if err != nil {
		return nil, n.dialFailure(ctx, err, vm, ip, port)
	}
	return c, nil
}

func (n *NAT) fail(kind error, format string, a ...any) *DialError {
	return &DialError{Kind: kind, Msg: fmt.Sprintf("lab %s: ", n.cfg.Lab) + fmt.Sprintf(format, a...)}
}

// leaseIP returns the address leased to one of the VM's NICs.
func (n *NAT) leaseIP(info VMInfo) (netip.Addr, bool) {
	for _, mac := range info.MACs {
		if l, ok := n.dhcp.LeaseFor(mac); ok && l.IP.IsValid() {
			return l.IP, true
		}
	}
	return netip.Addr{}, false
}

// errCanceled marks a dial that stopped because its context was cancelled (not timed out).
var errCanceled = errors.New("dial canceled")

// dialTCP is gonet.DialContextTCP keeping gVisor's typed error, so that a RST and a timeout differ.
func (n *NAT) dialTCP(ctx context.Context, ip netip.Addr, port uint16) (*gonet.TCPConn, error) {
	var wq waiter.Queue
	ep, terr := n.st.NewEndpoint(tcp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
	if terr != nil {
		return nil, tcpipError{terr}
	}
	entry, ch := waiter.NewChannelEntry(waiter.WritableEvents | waiter.EventHUp | waiter.EventErr)
	wq.EventRegister(&entry)
	defer wq.EventUnregister(&entry)
	terr = ep.Connect(tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(ip.As4()), Port: port})
	if _, started := terr.(*tcpip.ErrConnectStarted); started {
		select {
		case <-ctx.Done():
			ep.Close()
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil, errCanceled
			}
			return nil, tcpipError{&tcpip.ErrTimeout{}}
		case <-ch:
		}
		terr = ep.LastError()
	}
	if terr != nil {
		ep.Close()
		return nil, tcpipError{terr}
	}
	return gonet.NewTCPConn(&wq, ep), nil
}

type tcpipError struct{ e tcpip.Error }

func (t tcpipError) Error() string { return t.e.String() }

func (n *NAT) dialFailure(ctx context.Context, err error, vm string, ip netip.Addr, port uint16) error {
	if errors.Is(err, errCanceled) {
		return fmt.Errorf("lab %s: dial %s:%d: %w", n.cfg.Lab, vm, port, context.Canceled)
	}
	var te tcpipError
	if errors.As(err, &te) {
		switch te.e.(type) {
		case *tcpip.ErrConnectionRefused, *tcpip.ErrConnectionReset:
			return n.fail(ErrRefused, "%s (%s) refused a connection to port %d", vm, ip, port)
		case *tcpip.ErrTimeout:
			return n.fail(ErrTimeout, "%s (%s) did not answer on port %d in time", vm, ip, port)
		case *tcpip.ErrHostUnreachable, *tcpip.ErrNetworkUnreachable, *tcpip.ErrHostDown:
			return n.fail(ErrTimeout, "%s (%s) is not reachable on the LAN (no ARP reply)", vm, ip)
		}
	}
	return n.fail(ErrTimeout, "%s (%s) port %d: connect failed: %v", vm, ip, port, err)
}
