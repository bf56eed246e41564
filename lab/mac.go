package lab

import (
	"crypto/sha256"
	"net"
)

// macPrefix is the first octet of every derived MAC: 0x0e has the locally administered bit (0x02) set
// and the multicast bit (0x01) clear, and marks cloonix NICs in captures.
const macPrefix = 0x0e

// MAC derives the MAC address of NIC nic (its canonical name, such as "eth0" or "Gi1") of VM vm in lab
// lab. It is locally administered and unicast: the first octet is 0x0e and the other five are the start
// of SHA-256("cloonix-mac\x00" lab "\x00" vm "\x00" nic). The derivation is part of the lab contract
// (DHCP leases and IOS-XE NIC tables depend on it): never change it.
func MAC(lab, vm, nic string) net.HardwareAddr {
	sum := sha256.Sum256([]byte("cloonix-mac\x00" + lab + "\x00" + vm + "\x00" + nic))
	mac := make(net.HardwareAddr, 6)
	mac[0] = macPrefix
	copy(mac[1:], sum[:5])
	return mac
}
