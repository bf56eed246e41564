package dnsserver

import (
	"net"
	"net/netip"
	"time"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultTimeout     = 2 * time.Second
	DefaultMaxInflight = 128
	// TTL is the TTL of local answers. Leases are stable, but short TTLs make
	// a VM that comes back with a new NIC visible quickly.
	TTL = 30
	// ResolvConf is read when Config.Upstream is empty.
	ResolvConf = "/etc/resolv.conf"
	// ednsSize is the UDP payload size we advertise in answers we make.
	ednsSize = 1232
)

// Config configures a Server.
type Config struct {
	// Domain is the lab name: "r1.<Domain>" and "r1" are local names.
	Domain string
	// Lookup maps a VM name (lower case, no dots) to its lease address.
	Lookup func(name string) (netip.Addr, bool)
	// Reverse, if set, maps a lease address to its VM name for PTR queries.
	Reverse func(ip netip.Addr) (string, bool)
	// Upstream resolvers as "host:port" ("host" alone means port 53); empty
	// means the nameservers of /etc/resolv.conf.
	Upstream []string
	// Timeout bounds one forwarded query over all upstreams; 0 = DefaultTimeout.
	Timeout time.Duration
	// MaxInflight bounds concurrent forwarded queries; a query beyond it gets
	// SERVFAIL at once. 0 = DefaultMaxInflight.
	MaxInflight int
}

// withPort adds port 53 to an upstream given without one.
func withPort(s string) string {
	if _, _, err := net.SplitHostPort(s); err == nil {
		return s
	}
	return net.JoinHostPort(s, "53")
}
