package iosxeshow

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Route is one route of `show ip route` (also `show ip route PREFIX`-less full table).
type Route struct {
	// Code is the code letters as printed, normalised with one space:
	// "C", "L", "S", "O", "O IA", "O E2", "B", "S*", "i L1". A code written
	// without a space is kept so: "O*E2", "i*L2".
	Code string
	// Prefix has the mask from the line or, under "x.x.x.x/nn is subnetted"
	// headers, from the header (classful when neither gives one).
	Prefix netip.Prefix
	// Distance and Metric are from "[110/2]"; 0 when the line prints none
	// (connected, local, static to an interface).
	Distance, Metric int
	NextHops         []NextHop // one per path (ECMP continuation lines included)

	VRF              string // from a preceding "Routing Table: NAME" line (show ip route vrf ...); "" for the global table
	CandidateDefault bool   // the code carries "*" (candidate default)
	Summary          bool   // printed as "is a summary" (e.g. an OSPF or EIGRP summary to Null0)
}

// NextHop is one path of a Route.
type NextHop struct {
	Address   netip.Addr // the "via" address; invalid when directly connected
	Interface string     // outgoing interface, "" when not printed (recursive BGP/static)
	Age       string     // "00:05:45", "1d18h", "3w4d"; "" when not printed
	// VRF is the text in parentheses after the via address, naming the
	// next hop's table: "vrf-red" in "via 10.0.0.2 (vrf-red)",
	// "default:ipv6" in "via FC01:101:8:E007:: (default:ipv6)".
	VRF string
}

var (
	// reRouteHeader matches "10.0.0.0/8 is variably subnetted, 5 subnets, 3 masks"
	// and "1.0.0.0/32 is subnetted, 1 subnets".
	reRouteHeader = regexp.MustCompile(`^(\d{1,3}(?:\.\d{1,3}){3})/(\d{1,2}) is (variably )?subnetted\b`)
	// reRouteLine matches a route: code letters (at most two words), the
	// prefix with or without mask, then the path (possibly wrapped away).
	reRouteLine = regexp.MustCompile(
		`^([A-Za-z][A-Za-z0-9]?[*+%&]?[A-Za-z0-9]{0,2})(?:\s+([A-Za-z0-9]{1,2}|[+%&]))?\s+(\d{1,3}(?:\.\d{1,3}){3})(?:/(\d{1,2}))?(?:\s+(.*))?$`)
	// reLegend matches a line of the "Codes:" legend, "D - EIGRP, EX - ...".
	reLegend = regexp.MustCompile(`^\S{1,3} - `)
	// reDistMetric matches "[110/20]".
	reDistMetric = regexp.MustCompile(`^\[(\d+)/(\d+)\]`)
	// reAge matches a route age: "00:05:45", "1d18h", "2w0d", "1y10w", "never".
	reAge = regexp.MustCompile(`^(?:(?:\d+[ywdhms])+|\d+:\d{2}:\d{2}(?:\.\d+)?|never)$`)
)

// ParseRoutes parses the output of `show ip route` (the whole IPv4 table,
// also `show ip route vrf NAME` and `show ip route vrf *`). It skips the
// "Codes:" legend and "Gateway of last resort" lines.
func ParseRoutes(text string) ([]Route, error) {
	lines, err := cleanLines(text)
	if err != nil {
		return nil, err
	}
	if err := checkForeign(lines, cmdIPRoute); err != nil {
		return nil, err
	}
	var out []Route
	vrf := ""
	subnetBits := -1 // mask of the current "is subnetted" header, -1 if none
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "Codes:"), strings.HasPrefix(l, "Gateway of last resort"),
			strings.HasPrefix(l, "IPv6 Routing Table"), reLegend.MatchString(l):
			continue
		case strings.HasPrefix(l, "Routing Table:"):
			vrf = strings.TrimSpace(strings.TrimPrefix(l, "Routing Table:"))
			subnetBits = -1
			continue
		}
		if m := reRouteHeader.FindStringSubmatch(l); m != nil {
			subnetBits = -1
			if m[3] == "" {
				subnetBits, _ = strconv.Atoi(m[2])
			}
			continue
		}
		if strings.HasPrefix(l, "[") || strings.HasPrefix(l, "via ") || strings.HasPrefix(l, "is ") {
			// Continuation: another path of the previous route, or its
			// first path when the prefix line was wrapped.
			if len(out) > 0 {
				addPath(&out[len(out)-1], l)
			}
			continue
		}
		m := reRouteLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		addr, err := netip.ParseAddr(m[3])
		if err != nil {
			continue
		}
		bits := classfulBits(addr)
		switch {
		case m[4] != "":
			bits, _ = strconv.Atoi(m[4])
		case subnetBits >= 0:
			bits = subnetBits
		}
		if bits > 32 {
			continue
		}
		code := m[1]
		if m[2] != "" {
			code += " " + m[2]
		}
		r := Route{
			Code:             code,
			Prefix:           netip.PrefixFrom(addr, bits),
			VRF:              vrf,
			CandidateDefault: strings.Contains(code, "*"),
		}
		if rest := strings.TrimSpace(m[5]); rest != "" {
			addPath(&r, rest)
		}
		out = append(out, r)
	}
	return out, nil
}

// classfulBits is the classful mask length of a, for a prefix printed
// without mask and outside any "is subnetted" header.
func classfulBits(a netip.Addr) int {
	switch b := a.As4()[0]; {
	case b < 128:
		return 8
	case b < 192:
		return 16
	case b < 224:
		return 24
	}
	return 32
}

// addPath parses one path ("[110/20] via 10.0.0.1, 00:05:45, Gi1",
// "is directly connected, Gi1", "[200/0], 2w0d, Null0", "is a summary,
// 7w0d, Null0") and appends it to r.
func addPath(r *Route, s string) {
	var nh NextHop
	if m := reDistMetric.FindStringSubmatch(s); m != nil {
		if len(r.NextHops) == 0 {
			r.Distance, _ = strconv.Atoi(m[1])
			r.Metric, _ = strconv.Atoi(m[2])
		}
		s = strings.TrimSpace(s[len(m[0]):])
	}
	switch {
	case strings.HasPrefix(s, "via "):
		s = strings.TrimSpace(s[len("via "):])
		end := strings.IndexAny(s, " ,")
		if end < 0 {
			end = len(s)
		}
		if a, err := netip.ParseAddr(s[:end]); err == nil {
			nh.Address = a
		}
		s = strings.TrimSpace(s[end:])
		if strings.HasPrefix(s, "(") {
			if end := strings.Index(s, ")"); end > 0 {
				nh.VRF = s[1:end]
				s = strings.TrimSpace(s[end+1:])
			}
		}
	case strings.HasPrefix(s, "is directly connected"):
		s = s[len("is directly connected"):]
	case strings.HasPrefix(s, "is a summary"):
		r.Summary = true
		s = s[len("is a summary"):]
	}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "":
		case reAge.MatchString(item):
			nh.Age = item
		default:
			nh.Interface = item
		}
	}
	r.NextHops = append(r.NextHops, nh)
}
