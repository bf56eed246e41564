package netstack

import (
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/cloonix-go/cloonix/lograte"
)

// maxQuotaEntries bounds the per-guest table: a guest that forges source addresses across a large subnet
// cannot grow it without end. Past it, a new source address is refused.
const maxQuotaEntries = 4096

// guestQuotas shares the NAT's egress limits fairly: each guest (by source address, which must be in the
// NAT's subnet) may hold at most maxFlows egress flows and maxPending connection attempts, so one guest
// cannot take every flow or every pending dial from the others. Drops are counted per guest and logged at
// most every 10 s.
type guestQuotas struct {
	subnet               netip.Prefix
	maxFlows, maxPending int
	log                  *slog.Logger
	limited              lograte.Limiter

	mu sync.Mutex
	m  map[netip.Addr]*guestUse
}

// guestUse is what one guest holds and what it was refused.
type guestUse struct {
	flows, pending int
	drops          uint64
}

func newGuestQuotas(subnet netip.Prefix, maxFlows, maxPending int, log *slog.Logger) *guestQuotas {
	return &guestQuotas{subnet: subnet, maxFlows: maxFlows, maxPending: maxPending, log: log,
		limited: lograte.Limiter{Every: 10 * time.Second}, m: map[netip.Addr]*guestUse{}}
}

// take reserves a flow (pending false) or a connection attempt (pending true) for the guest at src. The
// returned release is idempotent.
func (q *guestQuotas) take(src netip.Addr, pending bool) (release func(), ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.subnet.Contains(src) {
		return nil, false // a forged source: nobody's quota, never dialled
	}
	u := q.m[src]
	if u == nil {
		if len(q.m) >= maxQuotaEntries {
			return nil, false
		}
		u = &guestUse{}
		q.m[src] = u
	}
	count, limit, what := &u.flows, q.maxFlows, "flows"
	if pending {
		count, limit, what = &u.pending, q.maxPending, "pending connections"
	}
	if *count >= limit {
		u.drops++
		if ok, held := q.limited.Allow(time.Now()); ok {
			q.log.Warn("a guest is at its NAT limit; dropping its new connections", "guest", src, "limit", limit,
				"of", what, "dropped_so_far", u.drops, "suppressed", held)
		}
		return nil, false
	}
	*count++
	var once sync.Once
	return func() {
		once.Do(func() {
			q.mu.Lock()
			defer q.mu.Unlock()
			*count--
			if u.flows == 0 && u.pending == 0 && u.drops == 0 {
				delete(q.m, src)
			}
		})
	}, true
}

// drops returns the guests with refused connections and how many each had.
func (q *guestQuotas) drops() map[netip.Addr]uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := map[netip.Addr]uint64{}
	for a, u := range q.m {
		if u.drops > 0 {
			out[a] = u.drops
		}
	}
	return out
}
