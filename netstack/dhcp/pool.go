package dhcp

import (
	"encoding/binary"
	"hash/fnv"
	"net"
	"net/netip"
)

// DeterministicIP maps mac to an address of the dynamic pool of subnet: a hash
// of the MAC picks a start, and the first address from there (wrapping) that
// is not taken wins. The pool excludes the network and broadcast addresses and
// the first ReservedHosts host addresses (gateway .1, host alias .2, DNS .3 and
// room for more services), so those never need to be in taken. taken may be
// nil. The same MAC and the same taken set always give the same address, on
// any run. It returns the zero Addr when subnet is not an IPv4 prefix with a
// pool or every pool address is taken.
func DeterministicIP(subnet netip.Prefix, mac net.HardwareAddr, taken func(netip.Addr) bool) netip.Addr {
	first, size, ok := poolRange(subnet)
	if !ok {
		return netip.Addr{}
	}
	h := fnv.New64a()
	_, _ = h.Write(mac)
	start := uint32(h.Sum64() % uint64(size))
	for i := uint32(0); i < size; i++ {
		a := u32ToAddr(first + (start+i)%size)
		if taken == nil || !taken(a) {
			return a
		}
	}
	return netip.Addr{}
}

// InPool reports whether a is in the dynamic pool of subnet.
func InPool(subnet netip.Prefix, a netip.Addr) bool {
	first, size, ok := poolRange(subnet)
	if !ok || !a.Is4() {
		return false
	}
	v := addrToU32(a)
	return v >= first && v-first < size
}

// poolRange returns the first pool address and the pool size.
func poolRange(subnet netip.Prefix) (first, size uint32, ok bool) {
	if !subnet.IsValid() || !subnet.Addr().Is4() || subnet.Bits() < 1 || subnet.Bits() > 30 {
		return 0, 0, false
	}
	subnet = subnet.Masked()
	hosts := uint32(1)<<(32-subnet.Bits()) - 2
	if hosts <= ReservedHosts {
		return 0, 0, false
	}
	return addrToU32(subnet.Addr()) + 1 + ReservedHosts, hosts - ReservedHosts, true
}

// broadcast returns the last address of an IPv4 prefix.
func broadcast(p netip.Prefix) netip.Addr {
	p = p.Masked()
	return u32ToAddr(addrToU32(p.Addr()) | (uint32(1)<<(32-p.Bits()) - 1))
}

func addrToU32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func u32ToAddr(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}
