package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Server answers DNS queries for one lab. It is safe for concurrent use.
type Server struct {
	cfg       Config
	domain    string // lower-case FQDN of Config.Domain, or ""
	upstreams []string
	upErr     error // why there are no upstreams
	sem       chan struct{}
	udp, tcp  *dns.Client
	log       *slog.Logger
}

// New makes a Server. When Config.Upstream is empty it reads /etc/resolv.conf;
// if that fails, forwarded queries get SERVFAIL and the reason is logged.
func New(cfg Config) *Server {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxInflight <= 0 {
		cfg.MaxInflight = DefaultMaxInflight
	}
	s := &Server{
		cfg: cfg,
		sem: make(chan struct{}, cfg.MaxInflight),
		udp: &dns.Client{Net: "udp"},
		tcp: &dns.Client{Net: "tcp"},
		log: slog.Default().With("component", "dns", "domain", cfg.Domain),
	}
	if d := strings.Trim(cfg.Domain, "."); d != "" {
		s.domain = strings.ToLower(dns.Fqdn(d))
	}
	up := cfg.Upstream
	if len(up) == 0 {
		cc, err := dns.ClientConfigFromFile(ResolvConf)
		switch {
		case err != nil:
			s.upErr = fmt.Errorf("dns: no upstream configured and %s is unreadable: %w", ResolvConf, err)
		case len(cc.Servers) == 0:
			s.upErr = fmt.Errorf("dns: no upstream configured and %s lists no nameserver", ResolvConf)
		default:
			for _, h := range cc.Servers {
				up = append(up, withPort(h))
			}
		}
	}
	for _, u := range up {
		s.upstreams = append(s.upstreams, withPort(u))
	}
	if s.upErr != nil {
		s.log.Warn("DNS forwarding disabled", "err", s.upErr)
	}
	return s
}

// HandlePacket answers one query received over UDP and returns the reply,
// truncated to the client's advertised UDP size (512 without EDNS). A query
// that does not parse gets FORMERR; a packet too short for a header, or a
// response, gives an error and no reply.
func (s *Server) HandlePacket(ctx context.Context, req []byte) ([]byte, error) {
	return s.handle(ctx, req, true)
}

// HandleTCPMessage answers one query received over TCP (without the 2-byte
// length prefix); the reply is not truncated.
func (s *Server) HandleTCPMessage(ctx context.Context, req []byte) ([]byte, error) {
	return s.handle(ctx, req, false)
}

func (s *Server) handle(ctx context.Context, req []byte, udp bool) ([]byte, error) {
	if len(req) < 12 {
		return nil, fmt.Errorf("dns: packet of %d bytes is shorter than a DNS header", len(req))
	}
	if req[2]&0x80 != 0 {
		return nil, errors.New("dns: packet is a response, not a query")
	}
	q := new(dns.Msg)
	if err := q.Unpack(req); err != nil {
		return formErr(req), nil
	}
	resp := s.answer(ctx, q)
	return pack(q, resp, udp)
}

// answer returns the reply to a parsed query.
func (s *Server) answer(ctx context.Context, q *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	switch {
	case q.Opcode != dns.OpcodeQuery:
		return m.SetRcode(q, dns.RcodeNotImplemented)
	case len(q.Question) != 1:
		m.SetRcode(q, dns.RcodeFormatError)
		m.Question = nil
		return m
	}
	if r, ok := s.local(q); ok {
		return r
	}
	return s.forward(ctx, q)
}

// local answers names that belong to the lab; ok=false means forward.
func (s *Server) local(q *dns.Msg) (*dns.Msg, bool) {
	qn := q.Question[0]
	name := strings.ToLower(dns.Fqdn(qn.Name))
	if qn.Qtype == dns.TypePTR && s.cfg.Reverse != nil {
		if ip, ok := parseReverse(name); ok {
			if vm, ok := s.cfg.Reverse(ip); ok {
				m := s.reply(q)
				target := vm + "."
				if s.domain != "" {
					target = vm + "." + s.domain
				}
				m.Answer = append(m.Answer, &dns.PTR{Hdr: rrHeader(qn.Name, dns.TypePTR), Ptr: dns.Fqdn(target)})
				return m, true
			}
		}
		return nil, false
	}
	labels := dns.SplitDomainName(name)
	var vm string
	switch {
	case s.domain != "" && dns.IsSubDomain(s.domain, name):
		rel := len(labels) - dns.CountLabel(s.domain)
		if rel == 0 {
			return s.reply(q), true // the lab apex itself: exists, no data
		}
		if rel != 1 {
			return s.nxdomain(q), true
		}
		vm = labels[0]
		ip, ok := s.lookup(vm)
		if !ok {
			return s.nxdomain(q), true
		}
		return s.addrAnswer(q, ip), true
	case len(labels) == 1:
		ip, ok := s.lookup(labels[0])
		if !ok {
			return nil, false // not a VM: the host's resolver decides
		}
		return s.addrAnswer(q, ip), true
	}
	return nil, false
}

func (s *Server) lookup(vm string) (netip.Addr, bool) {
	if s.cfg.Lookup == nil {
		return netip.Addr{}, false
	}
	ip, ok := s.cfg.Lookup(vm)
	return ip, ok && ip.IsValid()
}

// addrAnswer answers A (or ANY) with ip; other types get an empty NOERROR.
func (s *Server) addrAnswer(q *dns.Msg, ip netip.Addr) *dns.Msg {
	m := s.reply(q)
	qn := q.Question[0]
	if qn.Qclass != dns.ClassINET && qn.Qclass != dns.ClassANY {
		return m
	}
	ip = ip.Unmap()
	switch {
	case ip.Is4() && (qn.Qtype == dns.TypeA || qn.Qtype == dns.TypeANY):
		m.Answer = append(m.Answer, &dns.A{Hdr: rrHeader(qn.Name, dns.TypeA), A: ip.AsSlice()})
	case ip.Is6() && (qn.Qtype == dns.TypeAAAA || qn.Qtype == dns.TypeANY):
		m.Answer = append(m.Answer, &dns.AAAA{Hdr: rrHeader(qn.Name, dns.TypeAAAA), AAAA: ip.AsSlice()})
	}
	return m
}

func (s *Server) reply(q *dns.Msg) *dns.Msg {
	m := new(dns.Msg).SetReply(q)
	m.Authoritative = true
	m.RecursionAvailable = true
	return m
}

func (s *Server) nxdomain(q *dns.Msg) *dns.Msg {
	m := s.reply(q)
	m.Rcode = dns.RcodeNameError
	return m
}

// forward sends q to the upstreams in order and returns the first answer, or
// SERVFAIL when they all fail, Timeout passes, or MaxInflight forwards are
// already running.
func (s *Server) forward(ctx context.Context, q *dns.Msg) *dns.Msg {
	servfail := func(reason string, err error) *dns.Msg {
		s.log.Debug("SERVFAIL", "name", q.Question[0].Name, "reason", reason, "err", err)
		m := new(dns.Msg).SetRcode(q, dns.RcodeServerFailure)
		m.RecursionAvailable = true
		return m
	}
	if len(s.upstreams) == 0 {
		return servfail("no upstream", s.upErr)
	}
	// Never wait for a slot: a caller running one goroutine per packet then
	// holds at most MaxInflight goroutines in forwarding, whatever the load.
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	default:
		return servfail("too many queries in flight", nil)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	// Forward only what a resolver needs: the question, the flags that ask
	// for recursion or DNSSEC behaviour, and EDNS. A fresh ID makes replies
	// hard to spoof.
	out := &dns.Msg{MsgHdr: dns.MsgHdr{
		Id:                dns.Id(),
		RecursionDesired:  q.RecursionDesired,
		CheckingDisabled:  q.CheckingDisabled,
		AuthenticatedData: q.AuthenticatedData,
	}, Question: q.Question}
	if opt := q.IsEdns0(); opt != nil {
		out.Extra = []dns.RR{opt}
	}
	per := s.cfg.Timeout / time.Duration(len(s.upstreams))
	var lastErr error
	for _, up := range s.upstreams {
		if ctx.Err() != nil {
			break
		}
		r, err := s.exchange(ctx, per, out, up)
		if err != nil {
			lastErr = err
			continue
		}
		r.Id = q.Id
		return r
	}
	return servfail("all upstreams failed", lastErr)
}

// exchange asks one upstream, retrying over TCP when the UDP answer is
// truncated.
func (s *Server) exchange(ctx context.Context, per time.Duration, q *dns.Msg, up string) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, per)
	defer cancel()
	r, _, err := s.udp.ExchangeContext(ctx, q, up)
	if err != nil {
		return nil, fmt.Errorf("dns: forward to %s over UDP: %w", up, err)
	}
	if r.Truncated {
		rt, _, err := s.tcp.ExchangeContext(ctx, q, up)
		if err == nil {
			return rt, nil
		}
		s.log.Debug("TCP retry failed, returning truncated answer", "upstream", up, "err", err)
	}
	return r, nil
}

// pack encodes resp; over UDP it fits it into the client's size.
func pack(q, resp *dns.Msg, udp bool) ([]byte, error) {
	if opt := q.IsEdns0(); opt != nil && resp.IsEdns0() == nil && resp.Rcode <= 0xF {
		resp.SetEdns0(ednsSize, false)
	}
	resp.Compress = true
	if udp {
		size := dns.MinMsgSize
		if opt := q.IsEdns0(); opt != nil && int(opt.UDPSize()) > size {
			size = int(opt.UDPSize())
		}
		resp.Truncate(size)
	}
	b, err := resp.Pack()
	if err != nil {
		// A reply we cannot encode (an odd upstream record): tell the client.
		m := new(dns.Msg).SetRcode(q, dns.RcodeServerFailure)
		if b, err2 := m.Pack(); err2 == nil {
			return b, nil
		}
		return nil, fmt.Errorf("dns: pack reply: %w", err)
	}
	return b, nil
}

// formErr builds a FORMERR reply from the raw header of an unparsable query.
func formErr(req []byte) []byte {
	b := make([]byte, 12)
	copy(b[0:2], req[0:2])               // ID
	b[2] = 0x80 | req[2]&0x78 | req[2]&1 // QR, opcode, RD
	b[3] = dns.RcodeFormatError
	return b
}

func rrHeader(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: TTL}
}

// parseReverse turns "4.3.2.10.in-addr.arpa." into 10.2.3.4.
func parseReverse(name string) (netip.Addr, bool) {
	rest, ok := strings.CutSuffix(name, ".in-addr.arpa.")
	if !ok {
		return netip.Addr{}, false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 4 {
		return netip.Addr{}, false
	}
	var b [4]byte
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || v > 255 || strconv.Itoa(v) != p {
			return netip.Addr{}, false
		}
		b[3-i] = byte(v)
	}
	return netip.AddrFrom4(b), true
}
