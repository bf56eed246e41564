package netstack

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/cloonix-go/cloonix/netstack/dhcp"
)

// Config describes one NAT. The zero value of every field but Lab has a working default.
type Config struct {
	Name              string             // entity name, "nat" by default
	Lab               string             // lab name: the DNS domain and the prefix of error messages
	Subnet            netip.Prefix       // IPv4 subnet of the NAT's LAN, 10.99.0.0/24 by default
	Gateway           netip.Addr         // the NAT's own address: first host of Subnet by default
	HostAlias         netip.Addr         // the address that maps to the host's 127.0.0.1: second host by default
	MAC               net.HardwareAddr   // the NAT's MAC; derived from Lab and Name by default
	MTU               int                // IP MTU announced by DHCP and used by the NIC, 65520 by default
	AllowHostLoopback bool               // let guests reach the host's 127.0.0.1 through HostAlias
	DNSUpstream       []string           // host:port resolvers for non-lab names; empty: /etc/resolv.conf
	StateDir          string             // where leases-<Name>.json lives; "" keeps leases in memory
	Reservations      []dhcp.Reservation // fixed addresses; DNS resolves each Hostname (a VM name) to its lease
	LeaseTime         time.Duration      // DHCP lease time, 1 hour by default
	OnLease           func(dhcp.Lease)   // told of each lease acknowledged; must not block (dhcp.Config.OnBind)
	DialTimeout       time.Duration      // DialTCP and egress connect timeout when ctx has none, 10 s by default
	UDPIdleTimeout    time.Duration      // an egress UDP flow closes after this long idle, 60 s by default
	MaxFlows          int                // concurrent egress TCP+UDP flows, 1024 by default
	MaxDials          int                // concurrent connection attempts (egress and DialTCP), 128 by default
	MaxFlowsPerGuest  int                // egress flows one guest may hold, a quarter of MaxFlows by default
	MaxDialsPerGuest  int                // egress connection attempts one guest may have pending, a quarter of MaxDials by default
	Log               *slog.Logger
}

const (
	defaultMTU = 65520
	minMTU     = 576
)

func (c *Config) setDefaults() error {
	if c.Name == "" {
		c.Name = "nat"
	}
	if c.Lab == "" {
		return errors.New("netstack: config has no lab name; set Config.Lab")
	}
	if !c.Subnet.IsValid() {
		c.Subnet = netip.MustParsePrefix("10.99.0.0/24")
	}
	c.Subnet = c.Subnet.Masked()
	if !c.Subnet.Addr().Is4() || c.Subnet.Bits() > 28 {
		return fmt.Errorf("nat %s: subnet %s must be IPv4 and /28 or larger; use e.g. 10.99.0.0/24", c.Name, c.Subnet)
	}
	if !c.Gateway.IsValid() {
		c.Gateway = c.Subnet.Addr().Next()
	}
	if !c.HostAlias.IsValid() {
		c.HostAlias = c.Gateway.Next()
	}
	for _, a := range []struct {
		what string
		ip   netip.Addr
	}{{"gateway", c.Gateway}, {"host alias", c.HostAlias}} {
		if !c.Subnet.Contains(a.ip) || a.ip == c.Subnet.Addr() || a.ip == lastAddr(c.Subnet) {
			return fmt.Errorf("nat %s: %s %s is not a host address of %s; pick one inside the subnet", c.Name, a.what, a.ip, c.Subnet)
		}
	}
	if c.Gateway == c.HostAlias {
		return fmt.Errorf("nat %s: gateway and host alias are both %s; give them different addresses", c.Name, c.Gateway)
	}
	if c.MTU == 0 {
		c.MTU = defaultMTU
	}
	if c.MTU < minMTU || c.MTU > defaultMTU {
		return fmt.Errorf("nat %s: MTU %d out of range; use %d..%d", c.Name, c.MTU, minMTU, defaultMTU)
	}
	if c.MAC == nil {
		h := sha256.Sum256([]byte("cloonix-nat\x00" + c.Lab + "\x00" + c.Name))
		c.MAC = net.HardwareAddr{0x02, h[0], h[1], h[2], h[3], h[4]}
	}
	if len(c.MAC) != 6 || c.MAC[0]&1 != 0 {
		return fmt.Errorf("nat %s: MAC %s must be a 6-byte unicast address", c.Name, c.MAC)
	}
	if c.LeaseTime == 0 {
		c.LeaseTime = time.Hour
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 10 * time.Second
	}
	if c.UDPIdleTimeout == 0 {
		c.UDPIdleTimeout = 60 * time.Second
	}
	if c.MaxFlows <= 0 {
		c.MaxFlows = 1024
	}
	if c.MaxDials <= 0 {
		c.MaxDials = 128
	}
	if c.MaxFlowsPerGuest <= 0 {
		c.MaxFlowsPerGuest = max(c.MaxFlows/4, 1)
	}
	if c.MaxDialsPerGuest <= 0 {
		c.MaxDialsPerGuest = max(c.MaxDials/4, 1)
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	c.Log = c.Log.With("lab", c.Lab, "nat", c.Name)
	return nil
}

func (c *Config) leaseFile() string {
	if c.StateDir == "" {
		return ""
	}
	return filepath.Join(c.StateDir, "leases-"+c.Name+".json")
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
