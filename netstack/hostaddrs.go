package netstack

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// hostAddrsTTL is how long a read of the host's interface addresses is trusted: an address added to an
// interface is refused to guests within this time. Reading them costs tens of microseconds, and only a new
// egress flow asks.
const hostAddrsTTL = time.Second

// linkLocal4 is 169.254.0.0/16: link-local addresses, among them cloud metadata services (169.254.169.254),
// which a guest must never reach through the host.
var linkLocal4 = netip.MustParsePrefix("169.254.0.0/16")

// hostAddrs knows the addresses of this host's interfaces, so egress can refuse them: a guest reaches host
// services only through the host alias and only when the lab file allows it.
type hostAddrs struct {
	mu    sync.Mutex
	read  time.Time
	addrs map[netip.Addr]bool
	// list reads the interface addresses; net.InterfaceAddrs unless a test replaces it.
	list func() ([]net.Addr, error)
}

// has reports whether a is an address of one of this host's interfaces. If they cannot be read, it says yes:
// refusing is the safe answer.
func (h *hostAddrs) has(a netip.Addr) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.addrs == nil || time.Since(h.read) > hostAddrsTTL {
		list := h.list
		if list == nil {
			list = net.InterfaceAddrs
		}
		ifas, err := list()
		if err != nil {
			return true
		}
		m := make(map[netip.Addr]bool, len(ifas))
		for _, ifa := range ifas {
			if p, err := netip.ParsePrefix(ifa.String()); err == nil {
				m[p.Addr().Unmap()] = true
			}
		}
		h.addrs, h.read = m, time.Now()
	}
	return h.addrs[a.Unmap()]
}
