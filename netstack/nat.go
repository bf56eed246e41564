package netstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"

	"github.com/cloonix-go/cloonix/netstack/dhcp"
	"github.com/cloonix-go/cloonix/netstack/internal/link"
)

// FramePort takes Ethernet frames from the NAT toward the LAN. lan.Port implements it: Input copies the
// frame before it returns, so the NAT reuses one buffer for every frame. Input is never called
// concurrently.
type FramePort = link.FramePort

// NAT is one lab NAT: a gVisor stack with one NIC on a LAN. Build it with New, connect it with SetPort
// and WriteFrames, run it with Start, stop it with Close.
type NAT struct {
	cfg  Config
	log  *slog.Logger
	st   *stack.Stack
	ep   *link.Endpoint
	dhcp *dhcp.Server

	host  hostAddrs     // this host's interface addresses, refused to egress
	quota *guestQuotas  // each guest's share of flows and pending dials
	dials chan struct{} // semaphore: concurrent connection attempts
	flows chan struct{} // semaphore: concurrent egress flows

	mu      sync.Mutex
	closers map[io.Closer]struct{} // live flows and service sockets, closed by Close
	closed  bool
	started bool
	ctx     context.Context // cancelled by Close
	stop    context.CancelFunc
	wg      sync.WaitGroup

	stats Stats
}

// Stats counts what the NAT did; read it with NAT.Stats.
type Stats struct {
	EgressTCP, EgressUDP   atomic.Uint64 // flows opened
	EgressRefused          atomic.Uint64 // flows refused by policy or a failed host dial
	FlowLimitDrops         atomic.Uint64 // new flows dropped because MaxFlows were open
	ActiveFlows            atomic.Int64
	DNSQueries, DHCPPacket atomic.Uint64
}

// StatsSnapshot is a copy of the NAT's counters.
type StatsSnapshot struct {
	RxFrames, RxDropped, TxFrames, TxDropped uint64
	EgressTCP, EgressUDP, EgressRefused      uint64
	FlowLimitDrops                           uint64
	ActiveFlows                              int64
	DNSQueries, DHCPPackets                  uint64
}

const nicID tcpip.NICID = 1

// New builds a NAT from cfg (see Config for defaults).
func New(cfg Config) (*NAT, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	srv, err := dhcp.NewServer(dhcp.Config{
		ServerIP:     cfg.Gateway,
		Subnet:       cfg.Subnet,
		Router:       cfg.Gateway,
		DNS:          []netip.Addr{cfg.Gateway},
		MTU:          cfg.MTU,
		LeaseTime:    cfg.LeaseTime,
		DomainName:   cfg.Lab,
		Reservations: cfg.Reservations,
		LeaseFile:    cfg.leaseFile(),
		OnBind:       cfg.OnLease,
	})
	if err != nil {
		return nil, fmt.Errorf("nat %s: DHCP server: %w", cfg.Name, err)
	}
	n := &NAT{
		cfg:     cfg,
		log:     cfg.Log,
		dhcp:    srv,
		dials:   make(chan struct{}, cfg.MaxDials),
		flows:   make(chan struct{}, cfg.MaxFlows),
		quota:   newGuestQuotas(cfg.Subnet, cfg.MaxFlowsPerGuest, cfg.MaxDialsPerGuest, cfg.Log),
		closers: map[io.Closer]struct{}{},
	}
	n.ctx, n.stop = context.WithCancel(context.Background())
	if err := n.buildStack(); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *NAT) buildStack() error {
	n.st = stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4},
	})
	if err := tuneStack(n.st); err != nil {
		return fmt.Errorf("nat %s: %w", n.cfg.Name, err)
	}
	n.ep = link.New(uint32(n.cfg.MTU), tcpip.LinkAddress(n.cfg.MAC), linkCapabilities, gsoMaxSize)
	if err := n.st.CreateNIC(nicID, n.ep); err != nil {
		return fmt.Errorf("nat %s: create NIC: %s", n.cfg.Name, err)
	}
	if err := tuneNIC(n.st, nicID); err != nil {
		return fmt.Errorf("nat %s: %w", n.cfg.Name, err)
	}
	// The gateway first: it is the NIC's primary address, the source of DHCP replies.
	for _, a := range []netip.Addr{n.cfg.Gateway, n.cfg.HostAlias} {
		pa := tcpip.ProtocolAddress{
			Protocol:          ipv4.ProtocolNumber,
			AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(a.As4()), PrefixLen: n.cfg.Subnet.Bits()},
		}
		if err := n.st.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); err != nil {
			return fmt.Errorf("nat %s: add address %s: %s", n.cfg.Name, a, err)
		}
	}
	sub, err := tcpip.NewSubnet(tcpip.AddrFrom4(n.cfg.Subnet.Addr().As4()), tcpip.MaskFromBytes(net.CIDRMask(n.cfg.Subnet.Bits(), 32)))
	if err != nil {
		return fmt.Errorf("nat %s: subnet: %w", n.cfg.Name, err)
	}
	n.st.SetRouteTable([]tcpip.Route{{Destination: sub, NIC: nicID}})
	n.installForwarders()
	return nil
}

// SetPort connects the NAT's output to the LAN: every frame the stack sends goes to p.Input. With a
// lan.Switch: n.SetPort(sw.Attach(name, n)).
func (n *NAT) SetPort(p FramePort) { n.ep.SetPort(p) }

// WriteFrames delivers Ethernet frames from the LAN into the stack (it implements lan.FrameWriter).
// The frames are copied; they may be reused after the call. Malformed frames are dropped and counted.
func (n *NAT) WriteFrames(frames [][]byte) error {
	n.deliverFiltered(frames)
	return nil
}

// Start serves DHCP and DNS on the gateway until ctx is done or Close is called.
func (n *NAT) Start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return fmt.Errorf("nat %s: %w", n.cfg.Name, net.ErrClosed)
	}
	if n.started {
		return fmt.Errorf("nat %s: already started", n.cfg.Name)
	}
	n.started = true
	if err := n.startServices(); err != nil {
		return err
	}
	go func() {
		select {
		case <-ctx.Done():
			_ = n.Close()
		case <-n.ctx.Done():
		}
	}()
	return nil
}

// Close stops the services, closes every flow and the stack. It is safe to call more than once.
func (n *NAT) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.stop()
	cs := make([]io.Closer, 0, len(n.closers))
	for c := range n.closers {
		cs = append(cs, c)
	}
	n.closers = nil
	n.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
	}
	n.wg.Wait()
	if err := n.dhcp.Close(); err != nil { // writes the leases still waiting in the batch
		n.log.Warn("dhcp leases not saved", "err", err)
	}
	n.st.Close()
	n.st.Wait()
	return nil
}

// track registers c to be closed by Close; it returns false (and closes c) if the NAT is closed.
func (n *NAT) track(c io.Closer) bool {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		_ = c.Close()
		return false
	}
	n.closers[c] = struct{}{}
	n.mu.Unlock()
	return true
}

func (n *NAT) untrack(c io.Closer) {
	n.mu.Lock()
	if n.closers != nil {
		delete(n.closers, c)
	}
	n.mu.Unlock()
}

// Leases returns the DHCP leases.
func (n *NAT) Leases() []dhcp.Lease { return n.dhcp.Leases() }

// LeaseFor returns the address leased to mac, if it holds a bound, unexpired lease.
func (n *NAT) LeaseFor(mac net.HardwareAddr) (netip.Addr, bool) {
	l, ok := n.dhcp.LeaseFor(mac)
	return l.IP, ok && l.IP.IsValid()
}

// Gateway returns the NAT's own address (router, DHCP and DNS server).
func (n *NAT) Gateway() netip.Addr { return n.cfg.Gateway }

// HostAlias returns the address that maps to the host's loopback when allowed.
func (n *NAT) HostAlias() netip.Addr { return n.cfg.HostAlias }

// MAC returns the NAT's MAC address.
func (n *NAT) MAC() net.HardwareAddr { return n.cfg.MAC }

// GuestDrops returns, per guest address, how many of its new egress connections were dropped because it
// held its share of flows or pending dials; `status` shows them per VM.
func (n *NAT) GuestDrops() map[netip.Addr]uint64 { return n.quota.drops() }

// Stats returns a snapshot of the NAT's counters.
func (n *NAT) Stats() StatsSnapshot {
	rx, rxd, tx, txd := n.ep.Counters()
	return StatsSnapshot{
		RxFrames: rx, RxDropped: rxd, TxFrames: tx, TxDropped: txd,
		EgressTCP: n.stats.EgressTCP.Load(), EgressUDP: n.stats.EgressUDP.Load(),
		EgressRefused: n.stats.EgressRefused.Load(), FlowLimitDrops: n.stats.FlowLimitDrops.Load(),
		ActiveFlows: n.stats.ActiveFlows.Load(),
		DNSQueries:  n.stats.DNSQueries.Load(), DHCPPackets: n.stats.DHCPPacket.Load(),
	}
}
