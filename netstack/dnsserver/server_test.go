package dnsserver

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestLocalNames(t *testing.T) {
	s := New(testConfig(deadUDPAddr(t))) // local names must never need upstream
	tests := []struct {
		name   string
		qtype  uint16
		rcode  int
		answer string // "" = no answer records
	}{
		{"r1.", dns.TypeA, dns.RcodeSuccess, "10.0.2.15"},
		{"r1.nemo.", dns.TypeA, dns.RcodeSuccess, "10.0.2.15"},
		{"R2.NeMo.", dns.TypeA, dns.RcodeSuccess, "10.0.2.16"},
		{"r1.nemo.", dns.TypeANY, dns.RcodeSuccess, "10.0.2.15"},
		{"r1.nemo.", dns.TypeAAAA, dns.RcodeSuccess, ""},
		{"r1.", dns.TypeAAAA, dns.RcodeSuccess, ""},
		{"r1.nemo.", dns.TypeMX, dns.RcodeSuccess, ""},
		{"ghost.nemo.", dns.TypeA, dns.RcodeNameError, ""},
		{"ghost.nemo.", dns.TypeAAAA, dns.RcodeNameError, ""},
		{"a.r1.nemo.", dns.TypeA, dns.RcodeNameError, ""},
		{"nemo.", dns.TypeA, dns.RcodeSuccess, ""},
		{"15.2.0.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, "r1.nemo."},
	}
	for _, tc := range tests {
		t.Run(tc.name+dns.TypeToString[tc.qtype], func(t *testing.T) {
			m, _ := ask(t, s, tc.name, tc.qtype, 0)
			if m.Rcode != tc.rcode {
				t.Fatalf("rcode %s, want %s", dns.RcodeToString[m.Rcode], dns.RcodeToString[tc.rcode])
			}
			if !m.Authoritative || !m.Response || len(m.Question) != 1 || m.Question[0].Name != tc.name {
				t.Errorf("header/question wrong: %v", m)
			}
			switch {
			case tc.answer == "" && len(m.Answer) != 0:
				t.Fatalf("unexpected answers %v", m.Answer)
			case tc.answer == "":
			case len(m.Answer) != 1:
				t.Fatalf("answers %v, want one", m.Answer)
			default:
				var got string
				switch rr := m.Answer[0].(type) {
				case *dns.A:
					got = rr.A.String()
				case *dns.PTR:
					got = rr.Ptr
				}
				if got != tc.answer || m.Answer[0].Header().Name != tc.name || m.Answer[0].Header().Ttl != TTL {
					t.Fatalf("answer %v, want %s", m.Answer[0], tc.answer)
				}
			}
		})
	}
}

func TestForwarding(t *testing.T) {
	up := startUpstream(t)
	s := New(testConfig(up.addr))

	m, _ := ask(t, s, "example.test.", dns.TypeA, 0)
	if m.Rcode != dns.RcodeSuccess || len(m.Answer) != 2 {
		t.Fatalf("forwarded answer: %v", m)
	}
	if a, ok := m.Answer[0].(*dns.A); !ok || a.A.String() != "198.18.0.42" {
		t.Errorf("A = %v", m.Answer[0])
	}
	if txt, ok := m.Answer[1].(*dns.TXT); !ok || txt.Txt[0] != upstreamMarker {
		t.Errorf("answer did not come from the test upstream: %v", m.Answer[1])
	}
	if up.queries.Load() != 1 {
		t.Errorf("upstream saw %d queries, want 1", up.queries.Load())
	}

	// An unknown single-label name is the upstream's business.
	m, _ = ask(t, s, "ghost.", dns.TypeA, 0)
	if m.Rcode != dns.RcodeNameError || up.queries.Load() != 2 {
		t.Errorf("ghost.: rcode %d, upstream queries %d", m.Rcode, up.queries.Load())
	}
	// An unknown PTR is forwarded too.
	m, _ = ask(t, s, "99.2.0.10.in-addr.arpa.", dns.TypePTR, 0)
	if m.Rcode != dns.RcodeNameError || up.queries.Load() != 3 {
		t.Errorf("PTR: rcode %d, upstream queries %d", m.Rcode, up.queries.Load())
	}
}

func TestTruncationRetriesTCP(t *testing.T) {
	up := startUpstream(t)
	s := New(testConfig(up.addr))
	// 40 A records need ~660 bytes: over UDP without EDNS the upstream truncates;
	// the server retries over TCP. A client with EDNS 4096 gets all of them.
	m, b := ask(t, s, "big.test.", dns.TypeA, 4096)
	if m.Truncated || len(m.Answer) != 40 {
		t.Fatalf("EDNS 4096 client: TC=%v, %d answers (%d bytes)", m.Truncated, len(m.Answer), len(b))
	}
	// A client without EDNS gets at most 512 bytes and TC.
	m, b = ask(t, s, "big.test.", dns.TypeA, 0)
	if len(b) > 512 || !m.Truncated {
		t.Fatalf("plain client: %d bytes, TC=%v", len(b), m.Truncated)
	}
	// Over TCP the full answer is returned.
	out, err := s.HandleTCPMessage(context.Background(), query(t, "big.test.", dns.TypeA, 0))
	if err != nil {
		t.Fatal(err)
	}
	full := new(dns.Msg)
	if err := full.Unpack(out); err != nil || len(full.Answer) != 40 {
		t.Fatalf("TCP: %v, %d answers", err, len(full.Answer))
	}
}

func TestUpstreamDown(t *testing.T) {
	dead := deadUDPAddr(t)
	hole, _ := blackhole(t)
	tests := []struct {
		name    string
		up      []string
		timeout time.Duration
		max     time.Duration
	}{
		{"port closed", []string{dead}, 2 * time.Second, 500 * time.Millisecond},
		{"no answer", []string{hole}, 300 * time.Millisecond, time.Second},
		{"first silent, second closed", []string{hole, dead}, 600 * time.Millisecond, time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(tc.up...)
			cfg.Timeout = tc.timeout
			s := New(cfg)
			start := time.Now()
			m, _ := ask(t, s, "example.test.", dns.TypeA, 0)
			if el := time.Since(start); el > tc.max {
				t.Errorf("SERVFAIL took %s, want under %s", el, tc.max)
			}
			if m.Rcode != dns.RcodeServerFailure {
				t.Fatalf("rcode %s, want SERVFAIL", dns.RcodeToString[m.Rcode])
			}
		})
	}
}

func TestForwardFallsBackToSecondUpstream(t *testing.T) {
	up := startUpstream(t)
	s := New(testConfig(deadUDPAddr(t), up.addr))
	if m, _ := ask(t, s, "example.test.", dns.TypeA, 0); m.Rcode != dns.RcodeSuccess || len(m.Answer) == 0 {
		t.Fatalf("no fallback: %v", m)
	}
}

func TestInflightBound(t *testing.T) {
	hole, received := blackhole(t)
	cfg := testConfig(hole)
	cfg.Timeout = 500 * time.Millisecond
	cfg.MaxInflight = 2
	s := New(cfg)
	var wg sync.WaitGroup
	var fast atomic.Int64
	start := make(chan struct{})
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t0 := time.Now()
			b, err := s.HandlePacket(context.Background(), query(t, "example.test.", dns.TypeA, 0))
			if time.Since(t0) < 250*time.Millisecond {
				fast.Add(1)
			}
			m := new(dns.Msg)
			if err != nil || m.Unpack(b) != nil || m.Rcode != dns.RcodeServerFailure {
				t.Errorf("want SERVFAIL, got %v %v", m, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	time.Sleep(50 * time.Millisecond)
	if n := received.Load(); n < 1 || n > 2 {
		t.Fatalf("upstream saw %d queries from 10 clients with MaxInflight=2", n)
	}
	if f := fast.Load(); f < 8 {
		t.Fatalf("only %d of the 8 queries over the limit were refused at once", f)
	}
}

func TestMalformed(t *testing.T) {
	s := New(testConfig(deadUDPAddr(t)))
	ctx := context.Background()
	for _, b := range [][]byte{nil, {1, 2, 3}, make([]byte, 11)} {
		if _, err := s.HandlePacket(ctx, b); err == nil {
			t.Errorf("%d-byte packet accepted", len(b))
		}
	}
	resp := query(t, "r1.", dns.TypeA, 0)
	resp[2] |= 0x80
	if _, err := s.HandlePacket(ctx, resp); err == nil {
		t.Errorf("a response was answered")
	}
	// Header says one question, body is missing: FORMERR with the same ID.
	bad := []byte{0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7}
	out, err := s.HandlePacket(ctx, bad)
	m := new(dns.Msg)
	if err != nil || m.Unpack(out) != nil || m.Rcode != dns.RcodeFormatError || m.Id != 0xbeef || !m.Response || !m.RecursionDesired {
		t.Errorf("truncated query: %v %v", m, err)
	}
	two := new(dns.Msg).SetQuestion("r1.", dns.TypeA)
	two.Question = append(two.Question, dns.Question{Name: "r2.", Qtype: dns.TypeA, Qclass: dns.ClassINET})
	b, _ := two.Pack()
	if m, _ := unpack(s, b); m == nil || m.Rcode != dns.RcodeFormatError {
		t.Errorf("two questions: %v", m)
	}
	notify := new(dns.Msg).SetNotify("nemo.")
	b, _ = notify.Pack()
	if m, _ := unpack(s, b); m == nil || m.Rcode != dns.RcodeNotImplemented {
		t.Errorf("NOTIFY: %v", m)
	}
}

func unpack(s *Server, b []byte) (*dns.Msg, error) {
	out, err := s.HandlePacket(context.Background(), b)
	if err != nil {
		return nil, err
	}
	m := new(dns.Msg)
	return m, m.Unpack(out)
}

func TestEDNSEchoed(t *testing.T) {
	s := New(testConfig(deadUDPAddr(t)))
	m, _ := ask(t, s, "r1.nemo.", dns.TypeA, 1400)
	if m.IsEdns0() == nil {
		t.Errorf("EDNS query answered without OPT")
	}
}

func TestResolvConfUpstream(t *testing.T) {
	cfg := testConfig()
	s := New(cfg)
	if len(s.upstreams) == 0 && s.upErr == nil {
		t.Fatalf("no upstreams and no reason")
	}
	for _, u := range s.upstreams {
		if _, _, err := net.SplitHostPort(u); err != nil || !strings.Contains(u, ":") {
			t.Errorf("upstream %q has no port", u)
		}
	}
	if got := withPort("192.0.2.1"); got != "192.0.2.1:53" {
		t.Errorf("withPort = %q", got)
	}
	if got := withPort("[::1]:5353"); got != "[::1]:5353" {
		t.Errorf("withPort = %q", got)
	}
}

func TestForwardSanitizes(t *testing.T) {
	up := startUpstream(t)
	s := New(testConfig(up.addr))
	q := new(dns.Msg).SetQuestion("example.test.", dns.TypeA)
	// Junk a guest might send; the test upstream (miekg defaults) answers FORMERR to
	// queries with several answer records, so the junk must not be forwarded.
	for range 3 {
		q.Answer = append(q.Answer, &dns.A{Hdr: dns.RR_Header{Name: "x.", Rrtype: dns.TypeA, Class: dns.ClassINET}, A: net.IPv4(1, 2, 3, 4)})
	}
	b, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unpack(s, b)
	if err != nil || m.Rcode != dns.RcodeSuccess || len(m.Answer) != 2 || m.Id != q.Id || !m.RecursionDesired {
		t.Fatalf("sanitized forward: %v %v", m, err)
	}
}
