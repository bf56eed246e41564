package kind

import (
	"fmt"
	"strconv"
	"strings"
)

// NICIndex maps an interface name to its NIC index (0 is the first NIC qemu attaches): "eth1" → 1 for
// linux, "Gi2" or "GigabitEthernet2" → 1 for iosxe. Prefixes match case-insensitively; the number must
// be written without leading zeros and lie within the kind's MaxNICs.
func (k *Kind) NICIndex(ifname string) (int, error) {
	lower := strings.ToLower(ifname)
	var digits string
	found := false
	// Try the long prefix first so "GigabitEthernet2" does not stop at "Gi".
	for _, p := range []string{k.NICLongPrefix, k.NICPrefix} {
		if p != "" && strings.HasPrefix(lower, strings.ToLower(p)) {
			digits, found = ifname[len(p):], true
			break
		}
	}
	if !found || digits == "" || (len(digits) > 1 && digits[0] == '0') || len(digits) > 4 {
		return 0, fmt.Errorf("%q is not an interface name of kind %s; use %s..%s", ifname, k.Name,
			k.NICName(0), k.NICName(k.MaxNICs-1))
	}
	n, err := strconv.Atoi(digits)
	if err != nil || digits[0] == '+' || digits[0] == '-' {
		return 0, fmt.Errorf("%q is not an interface name of kind %s; use %s..%s", ifname, k.Name,
			k.NICName(0), k.NICName(k.MaxNICs-1))
	}
	i := n - k.NICBase
	if i < 0 || i >= k.MaxNICs {
		return 0, fmt.Errorf("interface %s is out of range for kind %s; use %s..%s", ifname, k.Name,
			k.NICName(0), k.NICName(k.MaxNICs-1))
	}
	return i, nil
}

// NICName returns the short interface name of NIC index i ("eth0", "Gi1"). It is the canonical name used
// in the resolved lab, in MAC derivation and in socket names.
func (k *Kind) NICName(i int) string {
	return k.NICPrefix + strconv.Itoa(i+k.NICBase)
}

// NICFullName returns the name the guest's own configuration uses for NIC index i ("eth0",
// "GigabitEthernet1").
func (k *Kind) NICFullName(i int) string {
	return k.NICLongPrefix + strconv.Itoa(i+k.NICBase)
}
