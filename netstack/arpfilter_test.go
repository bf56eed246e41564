package netstack

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

func arpRequest(target netip.Addr) []byte {
	f := make([]byte, arpHeaderLen)
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	binary.BigEndian.PutUint16(f[etherTypeOffset:], etherTypeARP)
	binary.BigEndian.PutUint16(f[arpOpOffset:], arpOpRequest)
	t := target.As4()
	copy(f[arpTargetIP:], t[:])
	return f
}

// TestARPFilterAnswersOnlyOwnAddresses: the promiscuous stack must not proxy-ARP for other VMs.
func TestARPFilterAnswersOnlyOwnAddresses(t *testing.T) {
	n := &NAT{cfg: Config{Gateway: netip.MustParseAddr("10.99.0.1"), HostAlias: netip.MustParseAddr("10.99.0.2")}}
	cases := map[string]bool{"10.99.0.1": true, "10.99.0.2": true, "10.99.0.120": false, "198.18.0.1": false}
	for addr, want := range cases {
		if got := n.acceptFrame(arpRequest(netip.MustParseAddr(addr))); got != want {
			t.Errorf("ARP request for %s accepted=%v, want %v", addr, got, want)
		}
	}
	reply := arpRequest(netip.MustParseAddr("10.99.0.120"))
	binary.BigEndian.PutUint16(reply[arpOpOffset:], 2)
	if !n.acceptFrame(reply) {
		t.Error("ARP replies must reach the stack")
	}
	ipv4 := make([]byte, 60)
	binary.BigEndian.PutUint16(ipv4[etherTypeOffset:], 0x0800)
	if !n.acceptFrame(ipv4) || !n.acceptFrame([]byte{1, 2, 3}) {
		t.Error("non-ARP frames must pass (the stack validates them)")
	}
}
