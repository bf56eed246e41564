package dnsserver

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// upstream is a miekg/dns server on 127.0.0.1 (UDP and TCP, same port).
type upstream struct {
	addr    string
	queries atomic.Int64
}

const upstreamMarker = "from-test-upstream"

// startUpstream answers example.test. A 198.18.0.42 (plus a TXT marker),
// big.test. with 40 A records (truncated over UDP), and NXDOMAIN otherwise.
func startUpstream(tb testing.TB) *upstream {
	tb.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		tb.Skipf("cannot bind TCP on the UDP port: %v", err) // port race; rare
	}
	u := &upstream{addr: pc.LocalAddr().String()}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		u.queries.Add(1)
		m := new(dns.Msg).SetReply(r)
		name := strings.ToLower(r.Question[0].Name)
		switch name {
		case "example.test.":
			m.Answer = append(m.Answer,
				&dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: net.IPv4(198, 18, 0, 42)},
				&dns.TXT{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 5}, Txt: []string{upstreamMarker}})
		case "big.test.":
			for i := range 40 {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: net.IPv4(198, 18, 1, byte(i))})
			}
		default:
			m.Rcode = dns.RcodeNameError
		}
		if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
			size := dns.MinMsgSize
			if o := r.IsEdns0(); o != nil {
				size = int(o.UDPSize())
			}
			m.Truncate(size)
		}
		_ = w.WriteMsg(m)
	})
	us := &dns.Server{PacketConn: pc, Handler: h}
	ts := &dns.Server{Listener: ln, Handler: h}
	go func() { _ = us.ActivateAndServe() }()
	go func() { _ = ts.ActivateAndServe() }()
	tb.Cleanup(func() { _ = us.Shutdown(); _ = ts.Shutdown() })
	return u
}

// deadUDPAddr returns a loopback UDP address nobody listens on.
func deadUDPAddr(tb testing.TB) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	a := pc.LocalAddr().String()
	pc.Close()
	return a
}

// blackhole reads queries and never answers; it counts them.
func blackhole(tb testing.TB) (string, *atomic.Int64) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var n atomic.Int64
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			n.Add(1)
		}
	}()
	tb.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String(), &n
}

var leases = map[string]netip.Addr{
	"r1": netip.MustParseAddr("10.0.2.15"),
	"r2": netip.MustParseAddr("10.0.2.16"),
}

func testConfig(up ...string) Config {
	return Config{
		Domain: "nemo",
		Lookup: func(n string) (netip.Addr, bool) { a, ok := leases[n]; return a, ok },
		Reverse: func(ip netip.Addr) (string, bool) {
			for n, a := range leases {
				if a == ip {
					return n, true
				}
			}
			return "", false
		},
		Upstream: up,
		Timeout:  2 * time.Second,
	}
}

func query(tb testing.TB, name string, t uint16, edns uint16) []byte {
	tb.Helper()
	m := new(dns.Msg).SetQuestion(name, t)
	if edns != 0 {
		m.SetEdns0(edns, false)
	}
	b, err := m.Pack()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// ask runs a query and decodes the reply.
func ask(tb testing.TB, s *Server, name string, t uint16, edns uint16) (*dns.Msg, []byte) {
	tb.Helper()
	req := query(tb, name, t, edns)
	b, err := s.HandlePacket(context.Background(), req)
	if err != nil {
		tb.Fatalf("HandlePacket(%s): %v", name, err)
	}
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		tb.Fatalf("reply to %s does not parse: %v", name, err)
	}
	if m.Id != idOf(req) {
		tb.Fatalf("reply id %d, want %d", m.Id, idOf(req))
	}
	return m, b
}

func idOf(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }
