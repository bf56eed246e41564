package dhcp

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/cloonix-go/cloonix/lograte"
)

// Server answers DHCPv4 requests for one subnet. It is safe for concurrent use.
type Server struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	byMAC    map[string]*entry // key: MAC.String()
	byIP     map[netip.Addr]*entry
	res      map[string]Reservation // key: MAC.String()
	resIP    map[netip.Addr]string  // reserved IP → MAC.String()
	declined map[netip.Addr]time.Time
	// Warnings a guest can trigger at packet rate are logged at most every logEvery.
	full, declineLog lograte.Limiter
	// nextExpiry is at or before the earliest Expiry in the table (zero =
	// unknown), so a full table is only scanned when something may expire.
	nextExpiry time.Time
	// lease file writing (wall clock, not Config.Now)
	dirty      bool
	closed     bool
	lastSave   time.Time
	flushTimer *time.Timer
}

// saveInterval is the minimum time between two lease file writes.
const saveInterval = time.Second

// entry is one row of the lease table: an offer (bound=false) or a lease.
type entry struct {
	lease Lease
	bound bool
}

// NewServer validates cfg, applies defaults and loads cfg.LeaseFile. Leases in
// the file that no longer fit the configuration are dropped.
func NewServer(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		log:      slog.Default().With("component", "dhcp", "subnet", cfg.Subnet.String()),
		byMAC:    map[string]*entry{},
		byIP:     map[netip.Addr]*entry{},
		declined: map[netip.Addr]time.Time{},
	}
	s.full.Every, s.declineLog.Every = logEvery, logEvery
	s.setReservationsLocked(cfg.Reservations)
	if cfg.LeaseFile != "" {
		leases, err := loadLeases(cfg.LeaseFile)
		if err != nil {
			return nil, err
		}
		for _, l := range leases {
			if len(l.MAC) != 6 || !s.usable(l.IP) || s.byIP[l.IP] != nil || s.byMAC[l.MAC.String()] != nil || s.conflictsWithReservation(l.MAC, l.IP) {
				s.log.Info("dropping stale lease from file", "mac", l.MAC.String(), "ip", l.IP)
				continue
			}
			s.put(&entry{lease: l, bound: true})
		}
	}
	return s, nil
}

// SetReservations replaces the reservations. Invalid ones are logged and
// ignored. Leases that contradict the new reservations are removed, so the
// affected clients get a NAK on renewal and then their reserved address.
func (s *Server) SetReservations(rs []Reservation) {
	valid, errs := validateReservations(s.cfg, rs)
	for _, err := range errs {
		s.log.Warn("ignoring reservation", "err", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setReservationsLocked(valid)
	changed := false
	for _, e := range s.byMAC {
		if s.conflictsWithReservation(e.lease.MAC, e.lease.IP) {
			changed = changed || e.bound
			s.remove(e)
		}
	}
	if changed {
		s.persistLocked()
	}
}

func (s *Server) setReservationsLocked(rs []Reservation) {
	s.res = make(map[string]Reservation, len(rs))
	s.resIP = make(map[netip.Addr]string, len(rs))
	for _, r := range rs {
		s.res[r.MAC.String()] = r
		s.resIP[r.IP] = r.MAC.String()
	}
}

// Leases returns the bound, unexpired leases sorted by IP.
func (s *Server) Leases() []Lease {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leasesLocked(s.cfg.Now())
}

func (s *Server) leasesLocked(now time.Time) []Lease {
	out := make([]Lease, 0, len(s.byMAC))
	for _, e := range s.byMAC {
		if e.bound && now.Before(e.lease.Expiry) {
			out = append(out, copyLease(e.lease))
		}
	}
	slices.SortFunc(out, func(a, b Lease) int { return a.IP.Compare(b.IP) })
	return out
}

// LeaseFor returns the bound, unexpired lease of mac.
func (s *Server) LeaseFor(mac net.HardwareAddr) (Lease, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.byMAC[mac.String()]
	if e == nil || !e.bound || !s.cfg.Now().Before(e.lease.Expiry) {
		return Lease{}, false
	}
	return copyLease(e.lease), true
}

// HandlePacket parses a DHCPv4 packet, handles it and returns the encoded
// reply, or nil when there is nothing to send. Garbage gives an error.
func (s *Server) HandlePacket(b []byte) ([]byte, error) {
	req, err := dhcpv4.FromBytes(b)
	if err != nil {
		return nil, fmt.Errorf("dhcp: parse packet: %w", err)
	}
	reply, err := s.Handle(req)
	if err != nil || reply == nil {
		return nil, err
	}
	return reply.ToBytes(), nil
}

// Handle answers one request: DISCOVER→OFFER, REQUEST→ACK or NAK,
// INFORM→ACK; RELEASE and DECLINE update the table and get no reply. A nil
// reply with a nil error means "send nothing" (not for us, not a client
// message, or the pool is exhausted).
func (s *Server) Handle(req *dhcpv4.DHCPv4) (*dhcpv4.DHCPv4, error) {
	if req == nil {
		return nil, fmt.Errorf("dhcp: nil request")
	}
	if req.OpCode != dhcpv4.OpcodeBootRequest || req.HWType != iana.HWTypeEthernet || len(req.ClientHWAddr) != 6 {
		return nil, nil
	}
	mac := req.ClientHWAddr
	if mac[0]&1 != 0 || isZeroMAC(mac) {
		return nil, nil // a multicast or zero chaddr is never a real client
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	switch req.MessageType() {
	case dhcpv4.MessageTypeDiscover:
		return s.discover(req, now)
	case dhcpv4.MessageTypeRequest:
		return s.request(req, now)
	case dhcpv4.MessageTypeRelease:
		s.release(req)
		return nil, nil
	case dhcpv4.MessageTypeDecline:
		s.decline(req, now)
		return nil, nil
	case dhcpv4.MessageTypeInform:
		return s.inform(req)
	default:
		return nil, nil
	}
}

// chooseAddr picks the address for mac: reservation, existing row, hash.
func (s *Server) chooseAddr(mac net.HardwareAddr, now time.Time) netip.Addr {
	if r, ok := s.res[mac.String()]; ok {
		return r.IP
	}
	taken := s.takenBy(mac, now)
	if e := s.byMAC[mac.String()]; e != nil && !taken(e.lease.IP) {
		return e.lease.IP
	}
	return DeterministicIP(s.cfg.Subnet, mac, taken)
}

// takenBy returns whether an address is unavailable to mac.
func (s *Server) takenBy(mac net.HardwareAddr, now time.Time) func(netip.Addr) bool {
	key := mac.String()
	return func(a netip.Addr) bool {
		if !s.usable(a) {
			return true
		}
		if owner, ok := s.resIP[a]; ok && owner != key {
			return true
		}
		if e := s.byIP[a]; e != nil && e.lease.MAC.String() != key && now.Before(e.lease.Expiry) {
			return true
		}
		if until, ok := s.declined[a]; ok && now.Before(until) {
			return true
		}
		return false
	}
}

// usable reports whether a is a host address of the subnet other than the
// server, router and DNS addresses.
func (s *Server) usable(a netip.Addr) bool {
	return a.Is4() && s.cfg.Subnet.Contains(a) && a != s.cfg.Subnet.Addr() && a != broadcast(s.cfg.Subnet) && !isService(s.cfg, a)
}

func (s *Server) conflictsWithReservation(mac net.HardwareAddr, ip netip.Addr) bool {
	if r, ok := s.res[mac.String()]; ok && r.IP != ip {
		return true
	}
	owner, ok := s.resIP[ip]
	return ok && owner != mac.String()
}

// makeRoom reports whether a row for a new mac fits. Reserved MACs always
// fit; the others share MaxLeases rows. When the table is full, expired rows
// are dropped first.
func (s *Server) makeRoom(mac net.HardwareAddr, now time.Time) bool {
	if _, ok := s.res[mac.String()]; ok {
		return true
	}
	if s.dynamicRows() < s.cfg.MaxLeases {
		return true
	}
	if now.Before(s.nextExpiry) {
		return false // nothing can have expired: skip the scan (flood case)
	}
	changed := false
	s.nextExpiry = time.Time{}
	for _, e := range s.byMAC {
		if !now.Before(e.lease.Expiry) {
			changed = changed || e.bound
			s.remove(e)
		} else if s.nextExpiry.IsZero() || e.lease.Expiry.Before(s.nextExpiry) {
			s.nextExpiry = e.lease.Expiry
		}
	}
	if changed {
		s.persistLocked()
	}
	return s.dynamicRows() < s.cfg.MaxLeases
}

// dynamicRows counts the rows of MACs without a reservation.
func (s *Server) dynamicRows() int {
	n := len(s.byMAC)
	for k := range s.res {
		if s.byMAC[k] != nil {
			n--
		}
	}
	return n
}

// logEvery is the shortest interval between two warnings of one kind that a guest's packets trigger.
const logEvery = 10 * time.Second

// logFull logs pool or table exhaustion, rate-limited.
func (s *Server) logFull(now time.Time, mac net.HardwareAddr) {
	if ok, held := s.full.Allow(now); ok {
		s.log.Warn("no address to offer: lease table or pool exhausted", "mac", mac.String(), "leases", len(s.byMAC),
			"max", s.cfg.MaxLeases, "suppressed", held)
	}
}

func (s *Server) hostnameFor(mac net.HardwareAddr, req *dhcpv4.DHCPv4) string {
	if r, ok := s.res[mac.String()]; ok && r.Hostname != "" {
		return r.Hostname
	}
	return sanitizeHostname(req.HostName())
}

// put inserts e, replacing any row with the same MAC.
func (s *Server) put(e *entry) {
	if old := s.byMAC[e.lease.MAC.String()]; old != nil {
		s.remove(old)
	}
	if old := s.byIP[e.lease.IP]; old != nil {
		s.remove(old)
	}
	s.byMAC[e.lease.MAC.String()] = e
	s.byIP[e.lease.IP] = e
	if s.nextExpiry.IsZero() || e.lease.Expiry.Before(s.nextExpiry) {
		s.nextExpiry = e.lease.Expiry
	}
}

func (s *Server) remove(e *entry) {
	if s.byMAC[e.lease.MAC.String()] == e {
		delete(s.byMAC, e.lease.MAC.String())
	}
	if s.byIP[e.lease.IP] == e {
		delete(s.byIP, e.lease.IP)
	}
}

func copyLease(l Lease) Lease {
	l.MAC = cloneMAC(l.MAC)
	return l
}

func ipFrom(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	a = a.Unmap()
	if a.IsUnspecified() {
		return netip.Addr{}
	}
	return a
}

func isZeroMAC(m net.HardwareAddr) bool {
	for _, b := range m {
		if b != 0 {
			return false
		}
	}
	return true
}
