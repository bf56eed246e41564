package iosxeshow

import (
	"regexp"
	"strconv"
)

// OSPFNeighbor is one row of `show ip ospf neighbor`.
type OSPFNeighbor struct {
	NeighborID string // router ID, "2.2.2.2"
	Priority   int
	State      string // as printed before the slash, "FULL", "INIT", "2WAY", "EXSTART" ...
	Role       string // after the slash: "DR", "BDR", "DROTHER", "-" (point-to-point) or ""
	DeadTime   string // "00:00:34"
	Address    string // neighbor interface address
	Interface  string // "GigabitEthernet2"
}

// reOSPFRow matches a neighbor row such as
//
//	10.0.0.1          0   FULL/  -        00:00:32    10.0.1.1        Port-channel1
//	10.190.30.3       1   FULL/DR         00:00:04    10.190.16.12    GigabitEthernet0/2.101
var reOSPFRow = regexp.MustCompile(
	`^(\d{1,3}(?:\.\d{1,3}){3})\s+(\d+)\s+([A-Za-z0-9]+)/\s*([A-Za-z]+|-)?\s+(\S+)\s+(\d{1,3}(?:\.\d{1,3}){3})\s+(\S+)$`)

// ParseOSPFNeighbors parses the output of `show ip ospf neighbor` (also
// `show ip ospf PROCESS neighbor` and `show ip ospf neighbor INTERFACE`).
// An output without neighbors (empty, or just the header) gives an empty
// slice and no error.
func ParseOSPFNeighbors(text string) ([]OSPFNeighbor, error) {
	lines, err := cleanLines(text)
	if err != nil {
		return nil, err
	}
	if err := checkForeign(lines, cmdOSPFNeighbor); err != nil {
		return nil, err
	}
	var out []OSPFNeighbor
	for _, l := range lines {
		m := reOSPFRow.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		pri, err := strconv.Atoi(m[2])
		if err != nil {
			continue
		}
		out = append(out, OSPFNeighbor{
			NeighborID: m[1],
			Priority:   pri,
			State:      m[3],
			Role:       m[4],
			DeadTime:   m[5],
			Address:    m[6],
			Interface:  m[7],
		})
	}
	return out, nil
}
