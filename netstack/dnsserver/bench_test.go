package dnsserver

import (
	"context"
	"testing"

	"github.com/miekg/dns"
)

// BenchmarkLocalA measures answering "r1.nemo. A" from the leases.
func BenchmarkLocalA(b *testing.B) {
	s := New(testConfig(deadUDPAddr(b)))
	q := query(b, "r1.nemo.", dns.TypeA, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.HandlePacket(context.Background(), q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkForward measures a forwarded query to a resolver on 127.0.0.1.
func BenchmarkForward(b *testing.B) {
	up := startUpstream(b)
	s := New(testConfig(up.addr))
	q := query(b, "example.test.", dns.TypeA, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.HandlePacket(context.Background(), q); err != nil {
			b.Fatal(err)
		}
	}
}
