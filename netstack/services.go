package netstack

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/cloonix-go/cloonix/netstack/dnsserver"
)

const (
	dnsWorkers    = 64               // concurrent DNS queries being answered (UDP and TCP together)
	dnsTimeout    = 5 * time.Second  // per query, including upstream forwarding
	dnsTCPIdle    = 10 * time.Second // a DNS-over-TCP connection closes after this long idle
	dnsTCPMaxConn = 16               // concurrent DNS-over-TCP connections
	// dnsTCPLifetime bounds a DNS-over-TCP connection however busy it is.
	dnsTCPLifetime = 30 * time.Second
)

// startServices binds DHCP (UDP 67, any address, broadcast allowed) and DNS (UDP and TCP 53 on the
// gateway) and serves them until Close.
func (n *NAT) startServices() error {
	dhcpConn, err := n.listenDHCP()
	if err != nil {
		return err
	}
	gw := tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(n.cfg.Gateway.As4()), Port: 53}
	dnsUDP, err := gonet.DialUDP(n.st, &gw, nil, ipv4.ProtocolNumber)
	if err != nil {
		_ = dhcpConn.Close()
		return fmt.Errorf("nat %s: DNS on %s:53/udp: %w", n.cfg.Name, n.cfg.Gateway, err)
	}
	dnsTCP, err := gonet.ListenTCP(n.st, gw, ipv4.ProtocolNumber)
	if err != nil {
		_ = dhcpConn.Close()
		_ = dnsUDP.Close()
		return fmt.Errorf("nat %s: DNS on %s:53/tcp: %w", n.cfg.Name, n.cfg.Gateway, err)
	}
	dns := dnsserver.New(dnsserver.Config{
		Domain:   n.cfg.Lab,
		Lookup:   n.lookupName,
		Upstream: n.cfg.DNSUpstream,
		Timeout:  dnsTimeout,
	})
	workers := make(chan struct{}, dnsWorkers)
	n.closers[dhcpConn] = struct{}{}
	n.closers[dnsUDP] = struct{}{}
	n.closers[dnsTCP] = struct{}{}
	n.wg.Add(3)
	go n.serveDHCP(dhcpConn)
	go n.serveDNSUDP(dnsUDP, dns, workers)
	go n.serveDNSTCP(dnsTCP, dns, workers)
	return nil
}

func (n *NAT) listenDHCP() (*gonet.UDPConn, error) {
	var wq waiter.Queue
	ep, terr := n.st.NewEndpoint(udp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
	if terr != nil {
		return nil, fmt.Errorf("nat %s: DHCP endpoint: %s", n.cfg.Name, terr)
	}
	ep.SocketOptions().SetBroadcast(true)
	if terr := ep.Bind(tcpip.FullAddress{NIC: nicID, Port: 67}); terr != nil {
		ep.Close()
		return nil, fmt.Errorf("nat %s: DHCP on UDP 67: %s", n.cfg.Name, terr)
	}
	return gonet.NewUDPConn(&wq, ep), nil
}

// serveDHCP answers DHCP one packet at a time (a flood is serialised, not multiplied). Replies go to the
// client's ciaddr when it has one and did not ask for broadcast (renewals), else to 255.255.255.255:68
// (RFC 2131 4.1; every client accepts a broadcast reply).
func (n *NAT) serveDHCP(c *gonet.UDPConn) {
	defer n.wg.Done()
	buf := make([]byte, 65536)
	for {
		nr, _, err := c.ReadFrom(buf)
		if err != nil {
			return
		}
		n.stats.DHCPPacket.Add(1)
		req := buf[:nr]
		reply, err := n.dhcp.HandlePacket(req)
		if err != nil {
			n.log.Debug("DHCP packet ignored", "err", err)
			continue
		}
		if len(reply) == 0 {
			continue
		}
		dst := &net.UDPAddr{IP: net.IPv4bcast, Port: 68}
		if len(req) >= 16 && req[10]&0x80 == 0 {
			if ci := netip.AddrFrom4([4]byte(req[12:16])); !ci.IsUnspecified() && n.cfg.Subnet.Contains(ci) {
				dst = &net.UDPAddr{IP: ci.AsSlice(), Port: 68}
			}
		}
		if _, err := c.WriteTo(reply, dst); err != nil {
			n.log.Debug("DHCP reply not sent", "dst", dst, "err", err)
		}
	}
}

func (n *NAT) serveDNSUDP(c *gonet.UDPConn, dns *dnsserver.Server, workers chan struct{}) {
	defer n.wg.Done()
	buf := make([]byte, 65536)
	for {
		nr, from, err := c.ReadFrom(buf)
		if err != nil {
			return
		}
		n.stats.DNSQueries.Add(1)
		select {
		case workers <- struct{}{}:
		default:
			continue // overloaded: drop, the client retries
		}
		q := append([]byte(nil), buf[:nr]...)
		go func() {
			defer func() { <-workers }()
			ctx, cancel := context.WithTimeout(n.ctx, dnsTimeout)
			defer cancel()
			resp, err := dns.HandlePacket(ctx, q)
			if err != nil || len(resp) == 0 {
				return
			}
			_, _ = c.WriteTo(resp, from)
		}()
	}
}

func (n *NAT) serveDNSTCP(l *gonet.TCPListener, dns *dnsserver.Server, workers chan struct{}) {
	defer n.wg.Done()
	conns := make(chan struct{}, dnsTCPMaxConn)
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		select {
		case conns <- struct{}{}:
		default:
			_ = c.Close()
			continue
		}
		if !n.track(c) {
			<-conns
			return
		}
		go func() {
			defer func() { <-conns }()
			defer n.untrack(c)
			defer c.Close()
			var hdr [2]byte
			// A connection lives at most dnsTCPLifetime, however busy, so that no guest can keep all
			// dnsTCPMaxConn slots by sending a query just before each idle timeout.
			end := time.Now().Add(dnsTCPLifetime)
			for {
				deadline := time.Now().Add(dnsTCPIdle)
				if end.Before(deadline) {
					deadline = end
				}
				_ = c.SetDeadline(deadline)
				if _, err := io.ReadFull(c, hdr[:]); err != nil {
					return
				}
				q := make([]byte, binary.BigEndian.Uint16(hdr[:]))
				if _, err := io.ReadFull(c, q); err != nil {
					return
				}
				n.stats.DNSQueries.Add(1)
				workers <- struct{}{}
				ctx, cancel := context.WithTimeout(n.ctx, dnsTimeout)
				resp, err := dns.HandleTCPMessage(ctx, q) // no UDP truncation over TCP
				cancel()
				<-workers
				if err != nil || len(resp) == 0 || len(resp) > 65535 {
					return
				}
				out := make([]byte, 2+len(resp))
				binary.BigEndian.PutUint16(out, uint16(len(resp)))
				copy(out[2:], resp)
				if _, err := c.Write(out); err != nil {
					return
				}
			}
		}()
	}
}

// lookupName resolves a VM name of the lab file to its lease for DNS: the hostname of a reservation (labd
// reserves an address for each VM NIC on the LAN, named after the VM). Only those names resolve: the
// hostname a DHCP client announces does not, or one guest calling itself "wpad" or "proxy" would answer
// those names for every guest.
func (n *NAT) lookupName(name string) (netip.Addr, bool) {
	for _, r := range n.cfg.Reservations {
		if r.Hostname == name {
			if ip, ok := n.LeaseFor(r.MAC); ok {
				return ip, true
			}
		}
	}
	return netip.Addr{}, false
}
