package iosxeshow

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// BGPSummary is `show ip bgp summary` (also `show bgp ipv4 unicast summary`).
//
// `show bgp all summary` (several "For address family:" sections) is
// accepted too: the neighbors of every section are returned, each tagged
// with its AddressFamily, and RouterID/LocalAS are those of the first
// section.
type BGPSummary struct {
	RouterID  string // from "BGP router identifier 10.0.0.1, local AS number 65000"
	LocalAS   string // as printed, asplain "65000" or asdot "64000.2017"
	Neighbors []BGPNeighbor
}

// BGPNeighbor is one row of the neighbor table of a BGP summary.
type BGPNeighbor struct {
	Neighbor string // neighbor address as printed ("10.0.0.1", "2001:DB8::4"); a leading "*" is removed, see Dynamic
	Version  int    // the V column, 4
	RemoteAS string // AS kept as text (asdot "1.2" or asplain)
	MsgRcvd  int
	MsgSent  int
	UpDown   string // "3w0d", "00:20:06", "never"
	State    string // "Established" when the State/PfxRcd column is a number, else the state as printed ("Idle", "Active", "Idle (Admin)", "Idle (PfxCt)")
	// PrefixesReceived is the number when Established, -1 otherwise.
	PrefixesReceived int

	TableVersion  int    // the TblVer column
	InQ           int    // the InQ column
	OutQ          int    // the OutQ column
	AddressFamily string // from the preceding "For address family: IPv4 Unicast" line (show bgp all summary), "" when there is none
	Dynamic       bool   // the neighbor was printed with a leading "*": created dynamically from a listen range
}

var (
	reBGPRouterID = regexp.MustCompile(`^BGP router identifier (\S+), local AS number (\S+)`)
	reBGPAF       = regexp.MustCompile(`^For address family: (.+)$`)
	reBGPAS       = regexp.MustCompile(`^\d+(?:\.\d+)?$`)
)

// ParseBGPSummary parses the output of `show ip bgp summary`. An empty
// output gives a zero BGPSummary and no error; "% BGP not active" gives a
// *DeviceError.
func ParseBGPSummary(text string) (BGPSummary, error) {
	var s BGPSummary
	lines, err := cleanLines(text)
	if err != nil {
		return s, err
	}
	if err := checkForeign(lines, cmdBGPSummary); err != nil {
		return s, err
	}
	af := ""
	inTable := false
	pending := "" // neighbor address printed alone on a line, the rest wrapped to the next
	for _, l := range lines {
		if m := reBGPAF.FindStringSubmatch(l); m != nil {
			af, inTable, pending = m[1], false, ""
			continue
		}
		if m := reBGPRouterID.FindStringSubmatch(l); m != nil {
			if s.RouterID == "" {
				s.RouterID, s.LocalAS = m[1], m[2]
			}
			inTable, pending = false, ""
			continue
		}
		if commandHeaders[cmdBGPSummary].MatchString(l) {
			inTable, pending = true, ""
			continue
		}
		if !inTable {
			continue
		}
		f := strings.Fields(l)
		if len(f) == 1 && isNeighborAddr(f[0]) {
			pending = f[0]
			continue
		}
		if pending != "" {
			f = append([]string{pending}, f...)
			pending = ""
		}
		if n, ok := parseBGPRow(f); ok {
			n.AddressFamily = af
			s.Neighbors = append(s.Neighbors, n)
		}
	}
	return s, nil
}

// isNeighborAddr reports whether s is an IPv4 or IPv6 address, optionally
// with the dynamic-neighbor "*" prefix.
func isNeighborAddr(s string) bool {
	_, err := netip.ParseAddr(strings.TrimPrefix(s, "*"))
	return err == nil
}

// parseBGPRow parses the fields of one neighbor row:
// Neighbor V AS MsgRcvd MsgSent TblVer InQ OutQ Up/Down State/PfxRcd...
func parseBGPRow(f []string) (BGPNeighbor, bool) {
	var n BGPNeighbor
	if len(f) < 10 || !isNeighborAddr(f[0]) || !reBGPAS.MatchString(f[2]) {
		return n, false
	}
	ints := make([]int, 0, 6)
	for _, i := range []int{1, 3, 4, 5, 6, 7} {
		v, err := strconv.Atoi(f[i])
		if err != nil {
			return n, false
		}
		ints = append(ints, v)
	}
	n.Neighbor = strings.TrimPrefix(f[0], "*")
	n.Dynamic = strings.HasPrefix(f[0], "*")
	n.Version, n.RemoteAS = ints[0], f[2]
	n.MsgRcvd, n.MsgSent, n.TableVersion, n.InQ, n.OutQ = ints[1], ints[2], ints[3], ints[4], ints[5]
	n.UpDown = f[8]
	state := strings.Join(f[9:], " ")
	if p, err := strconv.Atoi(state); err == nil {
		n.State, n.PrefixesReceived = "Established", p
	} else {
		n.State, n.PrefixesReceived = state, -1
	}
	return n, true
}
