package iosxeshow

import (
	"net/netip"
	"strings"
)

// Interface is one row of `show ip interface brief`.
type Interface struct {
	Name     string // "GigabitEthernet1", "Loopback0", "Te0/0/4"
	Address  string // "10.0.0.1" or "unassigned"
	OK       string // the OK? column, "YES" or "NO"
	Method   string // "NVRAM", "manual", "DHCP", "unset", "TFTP", "other" ...
	Status   string // "up", "down", "administratively down", "deleted" ...
	Protocol string // "up" or "down"
}

// ParseIPInterfaceBrief parses the output of `show ip interface brief`.
func ParseIPInterfaceBrief(text string) ([]Interface, error) {
	lines, err := cleanLines(text)
	if err != nil {
		return nil, err
	}
	if err := checkForeign(lines, cmdIPInterfaceBrief); err != nil {
		return nil, err
	}
	var out []Interface
	for _, l := range lines {
		f := strings.Fields(l)
		// Name Address OK? Method Status... Protocol; the status can be
		// several words ("administratively down").
		if len(f) < 6 || (f[2] != "YES" && f[2] != "NO") {
			continue
		}
		if f[1] != "unassigned" {
			if _, err := netip.ParseAddr(f[1]); err != nil {
				continue
			}
		}
		out = append(out, Interface{
			Name:     f[0],
			Address:  f[1],
			OK:       f[2],
			Method:   f[3],
			Status:   strings.Join(f[4:len(f)-1], " "),
			Protocol: f[len(f)-1],
		})
	}
	return out, nil
}
