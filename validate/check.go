package validate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/iosxeshow"
	"github.com/cloonix-go/cloonix/kind"
)

// Env is the lab a suite runs against.
type Env interface {
	// Run runs command on vm over ssh as user ("" for the kind's SSHUser) and returns its output.
	Run(ctx context.Context, vm, user, command string) (string, error)
	// Kind is the kind of the VM.
	Kind(ctx context.Context, vm string) (*kind.Kind, error)
	// Links are the lab's VM NICs with their LANs, MACs and switch counters.
	Links(ctx context.Context) ([]api.LinkStatus, error)
	// Capture streams pcapng of the targets (LANs or VM:NIC), from last ago (their flight recorders; 0: from
	// now), until ctx ends.
	Capture(ctx context.Context, targets []string, last time.Duration) (io.ReadCloser, error)
}

// Check is one kind of check. Run makes one try on node ("" for a wire check).
type Check interface {
	Name() string // "ospf", "route"…: the key that names it in a tests file
	Run(ctx context.Context, env Env, node string) Outcome
}

// Outcome is what one try of a check found.
type Outcome struct {
	Pass     bool
	Observed string // what the node or the wire showed, for the result line
	Reason   string // why it failed
	// Skip, when set, says why the node cannot run the check (its kind has no way to): no retry, no failure.
	Skip string
	// Output is the raw output the check read (a demo step prints it).
	Output string
}

func fail(observed, format string, a ...any) Outcome {
	return Outcome{Observed: observed, Reason: fmt.Sprintf(format, a...)}
}

// broken is an outcome of a try that could not read the node's state at all.
func broken(err error, out string) Outcome {
	return Outcome{Reason: oneLine(err.Error()), Output: out}
}

// nodeKind is the node's kind, or an outcome saying why it is not known.
func nodeKind(ctx context.Context, env Env, node string) (*kind.Kind, *Outcome) {
	k, err := env.Kind(ctx, node)
	if err != nil {
		o := broken(err, "")
		return nil, &o
	}
	return k, nil
}

func unsupported(k *kind.Kind, what string) Outcome {
	return Outcome{Skip: fmt.Sprintf("a %s node has no %s", k.Name, what)}
}

// shell runs a Linux command as the kind's shell user.
func shell(ctx context.Context, env Env, k *kind.Kind, node, cmd string) (string, error) {
	user := k.ShellUser
	if user == k.SSHUser {
		user = ""
	}
	return env.Run(ctx, node, user, cmd)
}

// OSPFCheck checks one OSPF neighbor of the node: present in State (as printed before the slash, "full"), or
// absent when Present is false.
type OSPFCheck struct {
	Neighbor string // router ID
	State    string
	Present  bool
}

// Name implements Check.
func (*OSPFCheck) Name() string { return "ospf" }

type ospfNeighbor struct{ id, state string }

// Run implements Check.
func (c *OSPFCheck) Run(ctx context.Context, env Env, node string) Outcome {
	k, o := nodeKind(ctx, env, node)
	if o != nil {
		return *o
	}
	var nbrs []ospfNeighbor
	var out string
	var err error
	switch k.Show {
	case kind.ShowFRR:
		out, err = env.Run(ctx, node, "", "show ip ospf neighbor json")
		if err == nil {
			nbrs, err = frrOSPFNeighbors(out)
		}
	case kind.ShowIOSXE:
		out, err = env.Run(ctx, node, "", "show ip ospf neighbor")
		if err == nil {
			var rows []iosxeshow.OSPFNeighbor
			rows, err = iosxeshow.ParseOSPFNeighbors(out)
			for _, r := range rows {
				st := r.State
				if r.Role != "" {
					st += "/" + r.Role
				}
				nbrs = append(nbrs, ospfNeighbor{r.NeighborID, st})
			}
		}
	default:
		return unsupported(k, "OSPF")
	}
	if err != nil {
		return broken(err, out)
	}
	var seen []string
	var mine *ospfNeighbor
	for i, n := range nbrs {
		seen = append(seen, n.id+" "+n.state)
		if n.id == c.Neighbor {
			mine = &nbrs[i]
		}
	}
	observed := strings.Join(seen, ", ")
	if observed == "" {
		observed = "no neighbor"
	}
	o = &Outcome{Output: out, Observed: observed}
	switch {
	case !c.Present && mine == nil:
		o.Pass, o.Observed = true, "no neighbor "+c.Neighbor+" ("+observed+")"
	case !c.Present:
		o.Reason = fmt.Sprintf("neighbor %s is %s, want none", c.Neighbor, mine.state)
	case mine == nil:
		o.Reason = fmt.Sprintf("no neighbor %s", c.Neighbor)
	case !strings.EqualFold(before(mine.state, "/"), c.State):
		o.Reason = fmt.Sprintf("neighbor %s is %s, want %s", c.Neighbor, mine.state, c.State)
	default:
		o.Pass, o.Observed = true, "neighbor "+mine.id+" "+mine.state
	}
	return *o
}

func before(s, sep string) string {
	s, _, _ = strings.Cut(s, sep)
	return s
}

// frrOSPFNeighbors reads `show ip ospf neighbor json` (FRR 8: "state", later "nbrState": "Full/DR").
func frrOSPFNeighbors(out string) ([]ospfNeighbor, error) {
	var v struct {
		Neighbors map[string][]struct {
			State    string `json:"state"`
			NbrState string `json:"nbrState"`
		} `json:"neighbors"`
	}
	if err := decodeJSON(out, &v); err != nil {
		return nil, err
	}
	var nbrs []ospfNeighbor
	for id, list := range v.Neighbors {
		for _, n := range list {
			st := n.NbrState
			if st == "" {
				st = n.State
			}
			nbrs = append(nbrs, ospfNeighbor{id, st})
		}
	}
	sortBy(nbrs, func(n ospfNeighbor) string { return n.id })
	return nbrs, nil
}

// decodeJSON decodes a show command's JSON output, saying what came instead when it is not JSON.
func decodeJSON(out string, v any) error {
	if err := json.Unmarshal([]byte(out), v); err != nil {
		return fmt.Errorf("the output is not the JSON expected (%v): %q", err, clip(out, 120))
	}
	return nil
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// BGPCheck checks one BGP session of the node: in State ("established"), with at least MinPrefixes
// prefixes received (-1: not checked), or absent when Present is false.
type BGPCheck struct {
	Neighbor    string
	State       string
	MinPrefixes int
	Present     bool
}

// Name implements Check.
func (*BGPCheck) Name() string { return "bgp" }

type bgpPeer struct {
	addr, state string
	prefixes    int // -1 unknown
}

// Run implements Check.
func (c *BGPCheck) Run(ctx context.Context, env Env, node string) Outcome {
	k, o := nodeKind(ctx, env, node)
	if o != nil {
		return *o
	}
	var peers []bgpPeer
	var out string
	var err error
	switch k.Show {
	case kind.ShowFRR:
		out, err = env.Run(ctx, node, "", "show bgp summary json")
		if err == nil {
			peers, err = frrBGPPeers(out)
		}
	case kind.ShowIOSXE:
		out, err = env.Run(ctx, node, "", "show ip bgp summary")
		if err == nil {
			var s iosxeshow.BGPSummary
			s, err = iosxeshow.ParseBGPSummary(out)
			for _, n := range s.Neighbors {
				peers = append(peers, bgpPeer{n.Neighbor, n.State, n.PrefixesReceived})
			}
		}
	default:
		return unsupported(k, "BGP")
	}
	if err != nil {
		return broken(err, out)
	}
	var seen []string
	var mine *bgpPeer
	for i, p := range peers {
		s := p.addr + " " + p.state
		if p.prefixes >= 0 {
			s += fmt.Sprintf(" (%d prefixes)", p.prefixes)
		}
		seen = append(seen, s)
		if p.addr == c.Neighbor {
			mine = &peers[i]
		}
	}
	observed := strings.Join(seen, ", ")
	if observed == "" {
		observed = "no BGP neighbor"
	}
	res := Outcome{Output: out, Observed: observed}
	switch {
	case !c.Present && mine == nil:
		res.Pass = true
	case !c.Present:
		res.Reason = fmt.Sprintf("neighbor %s is configured (%s), want none", c.Neighbor, mine.state)
	case mine == nil:
		res.Reason = fmt.Sprintf("no BGP neighbor %s", c.Neighbor)
	case !strings.EqualFold(mine.state, c.State):
		res.Reason = fmt.Sprintf("session with %s is %s, want %s", c.Neighbor, mine.state, c.State)
	case c.MinPrefixes >= 0 && mine.prefixes < c.MinPrefixes:
		res.Reason = fmt.Sprintf("%d prefixes received from %s, want at least %d", max(mine.prefixes, 0), c.Neighbor, c.MinPrefixes)
	default:
		res.Pass = true
		res.Observed = fmt.Sprintf("%s %s", mine.addr, mine.state)
		if mine.prefixes >= 0 {
			res.Observed += fmt.Sprintf(", %d prefixes received", mine.prefixes)
		}
	}
	return res
}

// frrBGPPeers reads `show bgp summary json`: per address family {"peers": {ADDR: {"state", "pfxRcd"}}}.
func frrBGPPeers(out string) ([]bgpPeer, error) {
	type peer struct {
		State  string `json:"state"`
		PfxRcd *int   `json:"pfxRcd"`
	}
	var afs map[string]json.RawMessage
	if err := decodeJSON(out, &afs); err != nil {
		return nil, err
	}
	byAddr := map[string]bgpPeer{}
	for _, raw := range afs {
		var af struct {
			Peers map[string]peer `json:"peers"`
		}
		if json.Unmarshal(raw, &af) != nil {
			continue
		}
		for addr, p := range af.Peers {
			bp, known := byAddr[addr]
			if !known {
				bp.prefixes = -1 // until a family says
			}
			bp.addr, bp.state = addr, p.State
			if p.PfxRcd != nil {
				bp.prefixes = max(bp.prefixes, 0) + *p.PfxRcd
			}
			byAddr[addr] = bp
		}
	}
	var peers []bgpPeer
	for _, p := range byAddr {
		peers = append(peers, p)
	}
	sortBy(peers, func(p bgpPeer) string { return p.addr })
	return peers, nil
}

// RouteCheck checks that the node's routing table has Prefix (exactly), through NextHop and Interface when
// given, or has not when Present is false.
type RouteCheck struct {
	Prefix    netip.Prefix
	NextHop   netip.Addr // invalid: any
	Interface string     // "": any
	Present   bool
}

// Name implements Check.
func (*RouteCheck) Name() string { return "route" }

type route struct {
	proto string
	hops  []hop
}

type hop struct {
	addr netip.Addr
	dev  string
}

func (h hop) String() string {
	switch {
	case h.addr.IsValid() && h.dev != "":
		return h.addr.String() + " " + h.dev
	case h.addr.IsValid():
		return h.addr.String()
	}
	return "connected " + h.dev
}

// Run implements Check.
func (c *RouteCheck) Run(ctx context.Context, env Env, node string) Outcome {
	k, o := nodeKind(ctx, env, node)
	if o != nil {
		return *o
	}
	var r *route
	var out string
	var err error
	switch k.Show {
	case kind.ShowFRR:
		cmd := "show ip route " + c.Prefix.String() + " json"
		if c.Prefix.Addr().Is6() {
			cmd = "show ipv6 route " + c.Prefix.String() + " json"
		}
		out, err = env.Run(ctx, node, "", cmd)
		if err == nil {
			r, err = frrRoute(out, c.Prefix)
		}
	case kind.ShowLinux:
		fam := "inet"
		if c.Prefix.Addr().Is6() {
			fam = "inet6"
		}
		// Text, not ip -j: BusyBox's ip (the project's images) has no JSON; both print the same lines.
		out, err = shell(ctx, env, k, node, "ip -f "+fam+" route")
		if err == nil {
			r = linuxRoute(out, c.Prefix)
		}
	case kind.ShowIOSXE:
		if c.Prefix.Addr().Is6() {
			return unsupported(k, "IPv6 route check yet (show ipv6 route is not parsed)")
		}
		out, err = env.Run(ctx, node, "", "show ip route")
		if err == nil {
			var routes []iosxeshow.Route
			routes, err = iosxeshow.ParseRoutes(out)
			for _, rt := range routes {
				if rt.Prefix == c.Prefix {
					r = &route{proto: rt.Code}
					for _, nh := range rt.NextHops {
						r.hops = append(r.hops, hop{nh.Address, nh.Interface})
					}
				}
			}
		}
	}
	if err != nil {
		return broken(err, out)
	}
	res := Outcome{Output: out}
	if r == nil {
		res.Observed = "no route to " + c.Prefix.String()
		if c.Present {
			res.Reason = "no route to " + c.Prefix.String()
		} else {
			res.Pass = true
		}
		return res
	}
	var hs []string
	for _, h := range r.hops {
		hs = append(hs, h.String())
	}
	res.Observed = c.Prefix.String() + " via " + strings.Join(hs, ", ")
	if r.proto != "" {
		res.Observed += " (" + r.proto + ")"
	}
	if !c.Present {
		res.Reason = "the route is there, want none"
		return res
	}
	dev := longName(k, c.Interface)
	for _, h := range r.hops {
		if (!c.NextHop.IsValid() || h.addr == c.NextHop) && (dev == "" || h.dev == dev) {
			res.Pass = true
			return res
		}
	}
	want := c.NextHop.String()
	if !c.NextHop.IsValid() {
		want = "any next hop"
	}
	if c.Interface != "" {
		want += " on " + c.Interface
	}
	res.Reason = fmt.Sprintf("next hop %s, want %s", strings.Join(hs, ", "), want)
	return res
}

// frrRoute reads `show ip route PREFIX json`: {PREFIX: [{protocol, selected, nexthops: [{ip, interfaceName, active}]}]}.
func frrRoute(out string, pfx netip.Prefix) (*route, error) {
	var v map[string][]struct {
		Protocol string `json:"protocol"`
		Selected bool   `json:"selected"`
		NextHops []struct {
			IP        string `json:"ip"`
			Interface string `json:"interfaceName"`
			Active    bool   `json:"active"`
		} `json:"nexthops"`
	}
	if err := decodeJSON(out, &v); err != nil {
		return nil, err
	}
	for _, e := range v[pfx.String()] {
		if !e.Selected {
			continue
		}
		r := &route{proto: e.Protocol}
		for _, nh := range e.NextHops {
			if !nh.Active {
				continue
			}
			a, _ := netip.ParseAddr(nh.IP)
			r.hops = append(r.hops, hop{a, nh.Interface})
		}
		return r, nil
	}
	return nil, nil
}

// linuxRoute finds prefix in `ip route` lines ("192.168.0.0/16 via 192.168.1.1 dev eth1 …", "default via …",
// a host route without its /32, ECMP "nexthop via … dev …" lines under their prefix).
func linuxRoute(out string, prefix netip.Prefix) *route {
	var r *route
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] == "nexthop" {
			if r != nil {
				r.hops = append(r.hops, linuxHop(f))
			}
			continue
		}
		if r != nil {
			break
		}
		switch f[0] { // a route type before the destination: ip route's "blackhole 10.9.0.0/16"
		case "unicast", "local", "broadcast", "multicast", "blackhole", "unreachable", "prohibit", "throw", "nat", "anycast":
			if len(f) < 2 {
				continue
			}
			f = f[1:]
		}
		dst := f[0]
		if dst == "default" {
			dst = "0.0.0.0/0"
			if prefix.Addr().Is6() {
				dst = "::/0"
			}
		}
		p, err := netip.ParsePrefix(dst)
		if err != nil {
			a, aerr := netip.ParseAddr(dst)
			if aerr != nil {
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p != prefix {
			continue
		}
		r = &route{}
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "proto" {
				r.proto = f[i+1]
			}
		}
		if h := linuxHop(f); h.addr.IsValid() || h.dev != "" {
			r.hops = append(r.hops, h)
		}
	}
	return r
}

// linuxHop reads "via ADDR" and "dev DEV" of an ip route line's fields.
func linuxHop(f []string) hop {
	var h hop
	for i := 0; i+1 < len(f); i++ {
		switch f[i] {
		case "via":
			h.addr, _ = netip.ParseAddr(f[i+1])
		case "dev":
			h.dev = f[i+1]
		}
	}
	return h
}

// PingCheck pings Target Count times from the node: it passes when an echo reply comes back (Reachable),
// or when none does (Reachable false).
type PingCheck struct {
	Target    netip.Addr
	Count     int
	Reachable bool
}

// Name implements Check.
func (*PingCheck) Name() string { return "ping" }

var (
	linuxPingRE = regexp.MustCompile(`(\d+) packets transmitted, (\d+) (?:packets )?received`)
	iosPingRE   = regexp.MustCompile(`Success rate is \d+ percent \((\d+)/(\d+)\)`)
)

// Run implements Check.
func (c *PingCheck) Run(ctx context.Context, env Env, node string) Outcome {
	k, o := nodeKind(ctx, env, node)
	if o != nil {
		return *o
	}
	var sent, got int
	var out string
	var err error
	switch k.Show {
	case kind.ShowIOSXE:
		out, err = env.Run(ctx, node, "", fmt.Sprintf("ping %s repeat %d timeout 1", c.Target, c.Count))
		m := iosPingRE.FindStringSubmatch(out)
		if m == nil {
			if err == nil {
				err = fmt.Errorf("ping printed no success rate: %q", clip(out, 120))
			}
			return broken(err, out)
		}
		got, _ = strconv.Atoi(m[1])
		sent, _ = strconv.Atoi(m[2])
		err = nil
	default:
		if k.ShellUser == "" {
			return unsupported(k, "ping")
		}
		p := "ping"
		if c.Target.Is6() {
			p = "ping -6"
		}
		out, err = shell(ctx, env, k, node, fmt.Sprintf("%s -n -q -c %d -i 0.2 -W 1 %s", p, c.Count, c.Target))
		m := linuxPingRE.FindStringSubmatch(out)
		if m == nil {
			if err == nil {
				err = fmt.Errorf("ping printed no summary: %q", clip(out, 120))
			}
			return broken(err, out)
		}
		sent, _ = strconv.Atoi(m[1])
		got, _ = strconv.Atoi(m[2])
		err = nil // ping exits 1 when no reply came: that is the observation
	}
	res := Outcome{Output: out, Observed: fmt.Sprintf("%d/%d replies from %s", got, sent, c.Target)}
	switch {
	case c.Reachable && got == 0:
		res.Reason = fmt.Sprintf("no reply from %s", c.Target)
	case !c.Reachable && got > 0:
		res.Reason = fmt.Sprintf("%s answers, want no reply", c.Target)
	default:
		res.Pass = true
	}
	return res
}

// TracerouteCheck traces the path to Target from the node: Path must appear in it in that order (other
// hops may come between) and no hop of Avoid may.
type TracerouteCheck struct {
	Target netip.Addr
	Path   []netip.Addr
	Avoid  []netip.Addr
}

// Name implements Check.
func (*TracerouteCheck) Name() string { return "traceroute" }

var hopRE = regexp.MustCompile(`(?m)^\s*(\d+)\s+(\S+)`)

// Run implements Check.
func (c *TracerouteCheck) Run(ctx context.Context, env Env, node string) Outcome {
	k, o := nodeKind(ctx, env, node)
	if o != nil {
		return *o
	}
	var out string
	var err error
	switch k.Show {
	case kind.ShowIOSXE:
		out, err = env.Run(ctx, node, "", fmt.Sprintf("traceroute %s numeric timeout 1 probe 1 ttl 1 10", c.Target))
	default:
		if k.ShellUser == "" {
			return unsupported(k, "traceroute")
		}
		out, err = shell(ctx, env, k, node, fmt.Sprintf("traceroute -n -q 1 -w 1 -m 10 %s 2>&1", c.Target))
	}
	if err != nil {
		return broken(err, out)
	}
	var hops []string
	var addrs []netip.Addr
	for _, m := range hopRE.FindAllStringSubmatch(out, -1) {
		hops = append(hops, m[2])
		if a, err := netip.ParseAddr(m[2]); err == nil {
			addrs = append(addrs, a)
		}
	}
	res := Outcome{Output: out, Observed: "path " + strings.Join(hops, " ")}
	if len(hops) == 0 {
		res.Observed = "no hop"
	}
	for _, a := range c.Avoid {
		for _, h := range addrs {
			if h == a {
				res.Reason = fmt.Sprintf("the path goes through %s", a)
				return res
			}
		}
	}
	i := 0
	for _, h := range addrs {
		if i < len(c.Path) && h == c.Path[i] {
			i++
		}
	}
	if i < len(c.Path) {
		res.Reason = fmt.Sprintf("hop %s missing from the path (in order: %s)", c.Path[i], addrList(c.Path))
		return res
	}
	if len(c.Path) == 0 && (len(addrs) == 0 || addrs[len(addrs)-1] != c.Target) {
		res.Reason = fmt.Sprintf("%s not reached", c.Target)
		return res
	}
	res.Pass = true
	return res
}

func addrList(l []netip.Addr) string {
	s := make([]string, len(l))
	for i, a := range l {
		s[i] = a.String()
	}
	return strings.Join(s, " ")
}

// InterfaceCheck checks that an interface of the node is up (administratively and operationally) or down.
type InterfaceCheck struct {
	Interface string // the interface's name as the node knows it ("eth1"), or the lab file's short form (IOS-XE Gi2)
	Up        bool
}

// Run implements Check.
func (c *InterfaceCheck) Run(ctx context.Context, env Env, node string) Outcome {
	k, o := nodeKind(ctx, env, node)
	if o != nil {
		return *o
	}
	var state string
	var up bool
	var out string
	var err error
	switch k.Show {
	case kind.ShowIOSXE:
		name := longName(k, c.Interface)
		out, err = env.Run(ctx, node, "", "show ip interface brief")
		if err != nil {
			return broken(err, out)
		}
		rows, perr := iosxeshow.ParseIPInterfaceBrief(out)
		if perr != nil {
			return broken(perr, out)
		}
		found := false
		for _, r := range rows {
			if r.Name == name {
				found, state, up = true, r.Status+"/"+r.Protocol, r.Status == "up" && r.Protocol == "up"
			}
		}
		if !found {
			return fail("no interface "+name, "no interface %s", name)
		}
	default:
		if k.ShellUser == "" {
			return unsupported(k, "Linux interfaces")
		}
		// sysfs, not ip -j: every Linux has it, BusyBox's ip has no JSON.
		dir := "/sys/class/net/" + c.Interface
		out, err = shell(ctx, env, k, node, "cat "+dir+"/operstate "+dir+"/flags")
		if err != nil {
			if strings.Contains(out, "No such file") {
				return fail("no interface "+c.Interface, "no interface %s", c.Interface)
			}
			return broken(err, out)
		}
		f := strings.Fields(out)
		if len(f) != 2 {
			return broken(fmt.Errorf("unexpected sysfs answer: %q", clip(out, 120)), out)
		}
		flags, perr := strconv.ParseUint(strings.TrimPrefix(f[1], "0x"), 16, 32)
		if perr != nil {
			return broken(fmt.Errorf("unexpected interface flags %q", f[1]), out)
		}
		admin := flags&0x1 != 0    // IFF_UP
		running := flags&0x40 != 0 // IFF_RUNNING: carrier, for a device without operstate (lo: "unknown")
		state = "operstate " + f[0]
		if !admin {
			state = "administratively down, " + state
		}
		up = admin && (f[0] == "up" || f[0] == "unknown" && running)
	}
	res := Outcome{Output: out, Observed: c.Interface + " " + state}
	want := "up"
	if !c.Up {
		want = "down"
	}
	if up == c.Up {
		res.Pass = true
	} else {
		res.Reason = fmt.Sprintf("%s is %s, want %s", c.Interface, state, want)
	}
	return res
}

// Name implements Check.
func (*InterfaceCheck) Name() string { return "interface" }

// CommandCheck runs Cmd on the node (as User, "" for the kind's ssh user) and checks its output: Match must
// match, NotMatch must not, Expr must be true.
type CommandCheck struct {
	Cmd        string
	User       string
	Match      *regexp.Regexp
	NotMatch   *regexp.Regexp
	Expr       *vm.Program
	ExprSource string
}

// Name implements Check.
func (*CommandCheck) Name() string { return "command" }

// Run implements Check.
func (c *CommandCheck) Run(ctx context.Context, env Env, node string) Outcome {
	out, err := env.Run(ctx, node, c.User, c.Cmd)
	if err != nil {
		return broken(err, out)
	}
	res := Outcome{Output: out, Observed: firstLine(out)}
	if c.Match != nil {
		m := c.Match.FindString(out)
		if m == "" && !c.Match.MatchString(out) {
			res.Reason = fmt.Sprintf("output does not match %s", c.Match)
			return res
		}
		res.Observed = clip(strings.Join(strings.Fields(m), " "), 100)
	}
	if c.NotMatch != nil {
		if m := c.NotMatch.FindString(out); m != "" || c.NotMatch.MatchString(out) {
			res.Reason = fmt.Sprintf("output matches %s: %q", c.NotMatch, clip(m, 80))
			return res
		}
	}
	if c.Expr != nil {
		env := exprEnv{Output: out, Lines: strings.Split(strings.TrimRight(out, "\n"), "\n")}
		var j any
		if json.Unmarshal([]byte(out), &j) == nil {
			env.JSON = j
		}
		v, err := expr.Run(c.Expr, env)
		if err != nil {
			res.Reason = "expr: " + oneLine(err.Error())
			return res
		}
		if ok, _ := v.(bool); !ok {
			res.Reason = fmt.Sprintf("%s is false", c.ExprSource)
			return res
		}
		if c.Match == nil {
			res.Observed = clip(c.ExprSource, 100) + " is true"
		}
	}
	res.Pass = true
	return res
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return clip(l, 100)
		}
	}
	return "no output"
}

// longName is an interface name as the node prints it: the lab file's short form (IOS-XE Gi2) in full
// (GigabitEthernet2).
func longName(k *kind.Kind, name string) string {
	if k.NICPrefix != "" && k.NICPrefix != k.NICLongPrefix && strings.HasPrefix(name, k.NICPrefix) &&
		!strings.HasPrefix(name, k.NICLongPrefix) {
		return k.NICLongPrefix + strings.TrimPrefix(name, k.NICPrefix)
	}
	return name
}
