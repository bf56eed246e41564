package netstack

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/miekg/dns"
)

// bigUpstream starts a resolver on loopback that answers big.example. with n A records, over UDP and TCP
// (its UDP answers are truncated to the client's size, as any resolver's), and returns its address.
func bigUpstream(t *testing.T, n int) string {
	t.Helper()
	h := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		if q.Question[0].Name == "big.example." {
			for i := 0; i < n; i++ {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: "big.example.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
					A: net.IPv4(198, 18, byte(i>>8), byte(i))})
			}
		} else {
			m.Rcode = dns.RcodeNameError
		}
		if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
			m.Truncate(dns.MinMsgSize)
		}
		_ = w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	udpSrv := &dns.Server{PacketConn: pc, Handler: h}
	tcpSrv := &dns.Server{Listener: l, Handler: h}
	go func() { _ = udpSrv.ActivateAndServe() }()
	go func() { _ = tcpSrv.ActivateAndServe() }()
	t.Cleanup(func() { _ = udpSrv.Shutdown(); _ = tcpSrv.Shutdown() })
	return addr
}

// TestDNSOverTCPIsNotTruncated: an answer too big for UDP comes back whole over TCP (it used to be cut to
// the UDP size, 30 of 40 records with TC set).
func TestDNSOverTCPIsNotTruncated(t *testing.T) {
	up := bigUpstream(t, 40)
	h := newHarness(t, func(c *Config) { c.DNSUpstream = []string{up} })
	h.lease(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := h.guest.Dial(ctx, netip.AddrPortFrom(h.nat.Gateway(), 53))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	q := new(dns.Msg)
	q.SetQuestion("big.example.", dns.TypeA)
	b, _ := q.Pack()
	msg := binary.BigEndian.AppendUint16(nil, uint16(len(b)))
	if _, err := c.Write(append(msg, b...)); err != nil {
		t.Fatal(err)
	}
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		t.Fatalf("DNS over TCP: %v", err)
	}
	resp := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	if _, err := io.ReadFull(c, resp); err != nil {
		t.Fatal(err)
	}
	var m dns.Msg
	if err := m.Unpack(resp); err != nil {
		t.Fatal(err)
	}
	if len(m.Answer) != 40 || m.Truncated {
		t.Fatalf("DNS over TCP gave %d records (TC %v), want all 40 untruncated", len(m.Answer), m.Truncated)
	}
}

// TestDHCPHostnameDoesNotResolve: a guest that calls itself "wpad" in its DHCP request does not make "wpad"
// resolve to it for every guest; only the lab file's VM names resolve.
func TestDHCPHostnameDoesNotResolve(t *testing.T) {
	h := newHarness(t, nil)
	h.lease(t)
	if _, ok := h.nat.lookupName("r1"); !ok {
		t.Fatal("the lab's VM r1 does not resolve")
	}
	m := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x77}
	disc, err := dhcpv4.NewDiscovery(m, dhcpv4.WithOption(dhcpv4.OptHostName("wpad")))
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.nat.dhcp.HandlePacket(disc.ToBytes())
	if err != nil {
		t.Fatalf("DHCP discover: %v", err)
	}
	offer, err := dhcpv4.FromBytes(b)
	if err != nil {
		t.Fatalf("DHCP offer: %v", err)
	}
	req, err := dhcpv4.NewRequestFromOffer(offer, dhcpv4.WithOption(dhcpv4.OptHostName("wpad")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.nat.dhcp.HandlePacket(req.ToBytes()); err != nil {
		t.Fatalf("DHCP request: %v", err)
	}
	found := false
	for _, l := range h.nat.dhcp.Leases() {
		found = found || l.Hostname == "wpad"
	}
	if !found {
		t.Fatalf("set-up: no lease with hostname wpad: %v", h.nat.dhcp.Leases())
	}
	if ip, ok := h.nat.lookupName("wpad"); ok {
		t.Fatalf("wpad resolves to %s: a guest's DHCP hostname answers for every guest", ip)
	}
}
