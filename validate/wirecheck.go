package validate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/wire"
)

// WireCheck watches a LAN through the lab's switch for Window. Mode is "seen" (a frame matching Filter from
// each of Nodes, known by their NICs' MACs wherever they are, or from anyone when Nodes is empty), "none" (no frame matching Filter), "established" (TCP
// segments of an established connection matching Filter both ways between the two Nodes) or "drops" (at
// most MaxDrops frames dropped by the switch's ports on the LAN).
type WireCheck struct {
	LAN    string
	Window time.Duration
	// Last also counts the frames of the LAN's flight recorder from this long before the window (0: the
	// window only): traffic that came and went, such as the pings of the tests before.
	Last     time.Duration
	Mode     string
	Filter   wire.Filter
	Nodes    []string
	MaxDrops uint64
}

// Name implements Check.
func (*WireCheck) Name() string { return "wire" }

// Run implements Check; node is "".
func (c *WireCheck) Run(ctx context.Context, env Env, _ string) Outcome {
	links, err := env.Links(ctx)
	if err != nil {
		return broken(err, "")
	}
	// Senders are known by their NICs' MACs anywhere in the lab: a frame of h1 bridged onto another LAN
	// (EVPN, a bridge in a router) is still h1's.
	ports := map[string]string{} // MAC → VM
	var onLAN []api.LinkStatus
	for _, l := range links {
		ports[strings.ToLower(l.MAC)] = l.VM
		if l.LAN == c.LAN {
			onLAN = append(onLAN, l)
		}
	}
	for _, n := range c.Nodes {
		found := false
		for _, l := range links {
			found = found || l.VM == n && (c.Mode != "established" || l.LAN == c.LAN)
		}
		switch {
		case !found && c.Mode == "established":
			return fail("", "%s has no NIC on %s", n, c.LAN)
		case !found:
			return fail("", "%s has no NIC in the lab", n)
		}
	}
	if c.Mode == "drops" {
		return c.drops(ctx, env, onLAN)
	}
	wctx, cancel := context.WithTimeout(ctx, c.Window)
	defer cancel()
	stream, err := env.Capture(wctx, []string{c.LAN}, c.Last)
	if err != nil {
		if ctx.Err() != nil {
			return broken(ctx.Err(), "")
		}
		return broken(fmt.Errorf("capture %s: %w", c.LAN, err), "")
	}
	defer stream.Close()
	go func() { <-wctx.Done(); stream.Close() }()
	from := map[string]int{}     // sender → frames matching
	pairs := map[[2]string]int{} // established segments by (from, to)
	total := 0
	decided := false // the frames decided before the window ended
	started := time.Now()
	err = wire.Read(stream, func(_ string, _ time.Time, data []byte) bool {
		f := wire.Decode(data)
		if !c.Filter.Match(f) {
			return true
		}
		total++
		sender := ports[f.Src.String()]
		if sender == "" {
			sender = f.Src.String()
		}
		from[sender]++
		switch c.Mode {
		case "seen":
			decided = c.seenAll(from, total)
		case "established":
			if f.Established() {
				pairs[[2]string{sender, ports[f.Dst.String()]}]++
			}
			decided = pairs[[2]string{c.Nodes[0], c.Nodes[1]}] > 0 && pairs[[2]string{c.Nodes[1], c.Nodes[0]}] > 0
		case "none":
			decided = true
		}
		return !decided
	})
	if ctx.Err() != nil {
		return broken(ctx.Err(), "")
	}
	if !decided && wctx.Err() == nil {
		// The stream ended before the window did: what it did not show proves nothing.
		why := "the capture of " + c.LAN + " ended after " + time.Since(started).Round(time.Millisecond).String() + ", before its window"
		if err != nil {
			why += ": " + err.Error()
		}
		return broken(errors.New(why+" (is the lab's daemon still up?)"), "")
	}
	observed := describe(c.Filter.String(), from, total)
	switch c.Mode {
	case "seen":
		if c.seenAll(from, total) {
			return Outcome{Pass: true, Observed: observed}
		}
		var missing []string
		for _, n := range c.Nodes {
			if from[n] == 0 {
				missing = append(missing, n)
			}
		}
		if total == 0 {
			return fail(observed, "no %s frame on %s %s", c.Filter, c.LAN, c.span())
		}
		if len(missing) == len(c.Nodes) {
			return fail(observed, "no %s frame from %s %s", c.Filter, strings.Join(missing, " or "), c.span())
		}
		return fail(observed, "no %s frame from %s %s (one direction only)", c.Filter, strings.Join(missing, ", "), c.span())
	case "none":
		if total == 0 {
			return Outcome{Pass: true, Observed: fmt.Sprintf("no %s frame on %s %s", c.Filter, c.LAN, c.span())}
		}
		return fail(observed, "%s frames on %s %s, want none", c.Filter, c.LAN, c.span())
	case "established":
		a, b := c.Nodes[0], c.Nodes[1]
		ab, ba := pairs[[2]string{a, b}], pairs[[2]string{b, a}]
		obs := fmt.Sprintf("%s established segments %s→%s %d, %s→%s %d", c.Filter, a, b, ab, b, a, ba)
		if ab > 0 && ba > 0 {
			return Outcome{Pass: true, Observed: obs}
		}
		return fail(obs+"; "+observed, "no established %s session between %s and %s %s", c.Filter, a, b, c.span())
	}
	return fail("", "unknown wire check %q", c.Mode)
}

// span says how long the check watched: "in 5s", or with the recorder's history "in the 1m0s before and 5s".
func (c *WireCheck) span() string {
	if c.Last > 0 {
		return fmt.Sprintf("in the %v before and %v", c.Last, c.Window)
	}
	return "in " + c.Window.String()
}

func (c *WireCheck) seenAll(from map[string]int, total int) bool {
	if len(c.Nodes) == 0 {
		return total > 0
	}
	for _, n := range c.Nodes {
		if from[n] == 0 {
			return false
		}
	}
	return true
}

// describe says how many frames came from whom: "ospf from r1 3, r2 2".
func describe(filter string, from map[string]int, total int) string {
	if total == 0 {
		return "no " + filter + " frame"
	}
	names := make([]string, 0, len(from))
	for n := range from {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, from[n])
	}
	return filter + " from " + strings.Join(parts, ", ")
}

// drops compares the switch's drop counters of the LAN's ports before and after the window.
func (c *WireCheck) drops(ctx context.Context, env Env, before []api.LinkStatus) Outcome {
	t := time.NewTimer(c.Window)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return broken(ctx.Err(), "")
	case <-t.C:
	}
	links, err := env.Links(ctx)
	if err != nil {
		return broken(err, "")
	}
	was := map[string]api.LinkStatus{}
	for _, l := range before {
		was[l.VM+":"+l.NIC] = l
	}
	var total uint64
	var parts []string
	for _, l := range links {
		if l.LAN != c.LAN {
			continue
		}
		b := was[l.VM+":"+l.NIC]
		n := sub(l.Drops, b.Drops) + sub(l.DropsLinkDown, b.DropsLinkDown)
		total += n
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s:%s %d", l.VM, l.NIC, n))
		}
	}
	obs := fmt.Sprintf("%d frames dropped on %s %s", total, c.LAN, c.span())
	if len(parts) > 0 {
		obs += " (" + strings.Join(parts, ", ") + ")"
	}
	if total <= c.MaxDrops {
		return Outcome{Pass: true, Observed: obs}
	}
	return fail(obs, "%d frames dropped, want at most %d", total, c.MaxDrops)
}

// sub is a-b for counters, 0 when the counter restarted (a daemon restart).
func sub(a, b uint64) uint64 {
	if a < b {
		return a
	}
	return a - b
}
