package dhcp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Defaults applied by NewServer to zero Config fields.
const (
	// DefaultMTU is sent in option 26. 65520 fits under qemu's stream frame cap
	// and gives virtio-net without offloads its best throughput.
	DefaultMTU = 65520
	// DefaultLeaseTime is sent in option 51.
	DefaultLeaseTime = 12 * time.Hour
	// DefaultMaxLeases bounds the lease table (reservations do not count).
	DefaultMaxLeases = 1024
	// ReservedHosts is how many host addresses at the start of the subnet are
	// kept out of the dynamic pool.
	ReservedHosts = 9
	// offerHold is how long an offered address is held for the MAC that was
	// offered it before the table may reuse the slot.
	offerHold = 60 * time.Second
)

// Reservation pins an address (and optionally a hostname, sent in option 12)
// to a MAC.
type Reservation struct {
	MAC      net.HardwareAddr
	IP       netip.Addr
	Hostname string
}

// Config configures a Server. Zero values get the defaults above.
type Config struct {
	ServerIP     netip.Addr   // our address: option 54, must be inside Subnet
	Subnet       netip.Prefix // the NAT LAN, IPv4, at most /28
	Router       netip.Addr   // option 3; zero = ServerIP
	DNS          []netip.Addr // option 6; empty = ServerIP
	MTU          int          // option 26; 0 = DefaultMTU; 68..65535
	LeaseTime    time.Duration
	DomainName   string // option 15, usually the lab name
	Reservations []Reservation
	// LeaseFile is a JSON file, written atomically on every change and read by
	// NewServer. "" keeps leases in memory only.
	LeaseFile string
	// Now is the clock; nil = time.Now.
	Now func() time.Time
	// MaxLeases bounds the number of non-reserved leases and offers;
	// 0 = DefaultMaxLeases.
	MaxLeases int
	// OnBind, if set, is told of each lease the server acknowledges (new or renewed). It runs on the
	// server's goroutine with its lock held: it must not block or call back into the server.
	OnBind func(Lease)
}

// withDefaults validates cfg and returns a copy with defaults applied.
func (cfg Config) withDefaults() (Config, error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if !cfg.Subnet.IsValid() || !cfg.Subnet.Addr().Is4() {
		return cfg, fmt.Errorf("dhcp: subnet %q is not an IPv4 prefix; set it like 10.0.2.0/24", cfg.Subnet)
	}
	cfg.Subnet = cfg.Subnet.Masked()
	if cfg.Subnet.Bits() > 28 {
		return cfg, fmt.Errorf("dhcp: subnet %s is too small: the first %d host addresses are reserved; use /28 or larger", cfg.Subnet, ReservedHosts)
	}
	if cfg.Subnet.Bits() < 8 {
		return cfg, fmt.Errorf("dhcp: subnet %s is too large; use /8 to /28", cfg.Subnet)
	}
	inHosts := func(a netip.Addr) bool {
		return a.Is4() && cfg.Subnet.Contains(a) && a != cfg.Subnet.Addr() && a != broadcast(cfg.Subnet)
	}
	if !inHosts(cfg.ServerIP) {
		bad("dhcp: server address %s is not a host address of subnet %s; pick one inside it", cfg.ServerIP, cfg.Subnet)
	}
	if !cfg.Router.IsValid() {
		cfg.Router = cfg.ServerIP
	} else if !inHosts(cfg.Router) {
		bad("dhcp: router %s is not a host address of subnet %s; pick one inside it", cfg.Router, cfg.Subnet)
	}
	if len(cfg.DNS) == 0 {
		cfg.DNS = []netip.Addr{cfg.ServerIP}
	}
	for _, d := range cfg.DNS {
		if !d.Is4() {
			bad("dhcp: DNS server %s is not an IPv4 address", d)
		}
	}
	switch {
	case cfg.MTU == 0:
		cfg.MTU = DefaultMTU
	case cfg.MTU < 68 || cfg.MTU > 65535:
		bad("dhcp: MTU %d is out of range; use 68 to 65535", cfg.MTU)
	}
	switch {
	case cfg.LeaseTime == 0:
		cfg.LeaseTime = DefaultLeaseTime
	case cfg.LeaseTime < 10*time.Second || cfg.LeaseTime > 365*24*time.Hour:
		bad("dhcp: lease time %s is out of range; use 10s to 8760h", cfg.LeaseTime)
	}
	switch {
	case cfg.MaxLeases == 0:
		cfg.MaxLeases = DefaultMaxLeases
	case cfg.MaxLeases < 0:
		bad("dhcp: MaxLeases %d is negative; use 0 for the default %d", cfg.MaxLeases, DefaultMaxLeases)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(cfg.DomainName) > 253 {
		bad("dhcp: domain name is %d bytes long; the limit is 253", len(cfg.DomainName))
	}
	res, rerrs := validateReservations(cfg, cfg.Reservations)
	errs = append(errs, rerrs...)
	cfg.Reservations = res
	if len(errs) > 0 {
		return cfg, errors.Join(errs...)
	}
	return cfg, nil
}

// validateReservations returns the valid reservations (copied) and one error
// per invalid one.
func validateReservations(cfg Config, in []Reservation) ([]Reservation, []error) {
	var errs []error
	out := make([]Reservation, 0, len(in))
	byMAC := map[string]bool{}
	byIP := map[netip.Addr]string{}
	for _, r := range in {
		switch {
		case len(r.MAC) != 6:
			errs = append(errs, fmt.Errorf("dhcp: reservation for %s: MAC %q is not a 6-byte Ethernet address", r.IP, r.MAC))
			continue
		case !r.IP.Is4() || !cfg.Subnet.Contains(r.IP) || r.IP == cfg.Subnet.Addr() || r.IP == broadcast(cfg.Subnet):
			errs = append(errs, fmt.Errorf("dhcp: reservation for %s: %s is not a host address of subnet %s; pick one inside it", r.MAC, r.IP, cfg.Subnet))
			continue
		case isService(cfg, r.IP):
			errs = append(errs, fmt.Errorf("dhcp: reservation for %s: %s is the server, router or DNS address; pick another", r.MAC, r.IP))
			continue
		case byMAC[r.MAC.String()]:
			errs = append(errs, fmt.Errorf("dhcp: duplicate reservation for MAC %s; keep one", r.MAC))
			continue
		}
		if other, dup := byIP[r.IP]; dup {
			errs = append(errs, fmt.Errorf("dhcp: address %s is reserved for both %s and %s; give each MAC its own address", r.IP, other, r.MAC))
			continue
		}
		byMAC[r.MAC.String()] = true
		byIP[r.IP] = r.MAC.String()
		out = append(out, Reservation{MAC: cloneMAC(r.MAC), IP: r.IP, Hostname: sanitizeHostname(r.Hostname)})
	}
	return out, errs
}

// isService reports whether a is the server, router or a DNS address.
func isService(cfg Config, a netip.Addr) bool {
	if a == cfg.ServerIP || a == cfg.Router {
		return true
	}
	for _, d := range cfg.DNS {
		if a == d {
			return true
		}
	}
	return false
}

func cloneMAC(m net.HardwareAddr) net.HardwareAddr {
	return append(net.HardwareAddr(nil), m...)
}
