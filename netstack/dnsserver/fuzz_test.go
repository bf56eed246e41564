package dnsserver

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// FuzzDNSHandlePacket feeds arbitrary bytes to a server whose upstream is a
// test resolver on 127.0.0.1. It checks that the server never panics, that
// every reply parses, answers with the query's ID and fits 512 bytes when the
// query had no EDNS. Seeds: testdata/fuzz/FuzzDNSHandlePacket.
func FuzzDNSHandlePacket(f *testing.F) {
	up := startUpstream(f)
	cfg := testConfig(up.addr)
	cfg.Timeout = 500 * time.Millisecond
	s := New(cfg)
	for _, p := range seedQueries(f) {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// The fuzzer has no hang detection: a watchdog turns a stuck input
		// into a crash, which the fuzzer saves under testdata.
		watchdog := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("HandlePacket hung on %x", b)) })
		defer watchdog.Stop()
		out, err := s.HandlePacket(context.Background(), b)
		if err != nil {
			if out != nil {
				t.Fatalf("error %v with a reply", err)
			}
			return
		}
		m := new(dns.Msg)
		if err := m.Unpack(out); err != nil {
			t.Fatalf("our reply does not parse: %v", err)
		}
		if !m.Response || m.Id != idOf(b) {
			t.Fatalf("reply QR=%v id=%d, want id %d", m.Response, m.Id, idOf(b))
		}
		q := new(dns.Msg)
		if q.Unpack(b) == nil && q.IsEdns0() == nil && len(out) > dns.MinMsgSize {
			t.Fatalf("%d-byte reply to a query without EDNS", len(out))
		}
	})
}

// seedQueries builds real queries covering local, reverse, forwarded,
// truncated and malformed cases.
func seedQueries(tb testing.TB) [][]byte {
	two := new(dns.Msg).SetQuestion("r1.", dns.TypeA)
	two.Question = append(two.Question, dns.Question{Name: "r2.nemo.", Qtype: dns.TypeA, Qclass: dns.ClassINET})
	tb2, err := two.Pack()
	if err != nil {
		tb.Fatal(err)
	}
	notify, err := new(dns.Msg).SetNotify("nemo.").Pack()
	if err != nil {
		tb.Fatal(err)
	}
	return [][]byte{
		query(tb, "r1.", dns.TypeA, 0),
		query(tb, "R1.NEMO.", dns.TypeA, 0),
		query(tb, "r1.nemo.", dns.TypeAAAA, 1232),
		query(tb, "ghost.nemo.", dns.TypeA, 0),
		query(tb, "15.2.0.10.in-addr.arpa.", dns.TypePTR, 0),
		query(tb, "example.test.", dns.TypeA, 0),
		query(tb, "big.test.", dns.TypeA, 0),
		query(tb, "big.test.", dns.TypeA, 4096),
		tb2,
		notify,
		{0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7},
	}
}
