package netstack

import (
	"encoding/binary"
	"net/netip"
)

// The NIC runs promiscuous with spoofing, so that it can terminate guest flows to any outside address. Left
// alone, gVisor would then answer ARP for every address, the other VMs' included, and pull their traffic to
// the NAT. So an ARP request reaches the stack only when it asks for one of the NAT's own addresses.

const (
	etherTypeOffset = 12
	etherTypeARP    = 0x0806
	arpHeaderLen    = 14 + 28 // Ethernet + ARP for IPv4 over Ethernet
	arpOpOffset     = 14 + 6
	arpOpRequest    = 1
	arpTargetIP     = 14 + 24
)

// ownsARPTarget reports whether an ARP request asks for an address the NAT answers for.
func (n *NAT) ownsARPTarget(target netip.Addr) bool {
	return target == n.cfg.Gateway || (n.cfg.HostAlias.IsValid() && target == n.cfg.HostAlias)
}

// acceptFrame tells whether a frame from the LAN goes into the stack.
func (n *NAT) acceptFrame(f []byte) bool {
	if len(f) < arpHeaderLen || binary.BigEndian.Uint16(f[etherTypeOffset:]) != etherTypeARP {
		return true
	}
	if binary.BigEndian.Uint16(f[arpOpOffset:]) != arpOpRequest {
		return true
	}
	return n.ownsARPTarget(netip.AddrFrom4([4]byte(f[arpTargetIP : arpTargetIP+4])))
}

// deliverFiltered hands the accepted frames of a batch to the stack, in runs, without copying the batch.
func (n *NAT) deliverFiltered(frames [][]byte) {
	start := 0
	for i, f := range frames {
		if n.acceptFrame(f) {
			continue
		}
		if start < i {
			n.ep.Deliver(frames[start:i])
		}
		start = i + 1
	}
	if start < len(frames) {
		n.ep.Deliver(frames[start:])
	}
}
