// Package netstack is a lab's NAT: a userspace gVisor TCP/IP stack attached to one LAN as one more switch
// port. It answers ARP and ICMP echo on its gateway address, serves DHCP and DNS there (the protocol logic
// lives in netstack/dhcp and netstack/dnsserver), forwards guest TCP and UDP to outside addresses through
// ordinary host sockets, and opens TCP connections into VMs (DialTCP to an address, LeaseFor a NIC's address)
// for cloonix-proxy. What a VM name means is labd's business, not this package's.
//
// Addresses inside the NAT's subnet, with the default 10.99.0.0/24:
//
//	10.99.0.1  the gateway: router, DHCP server and DNS server
//	10.99.0.2  the host alias: reaches the host's 127.0.0.1, but only when AllowHostLoopback is set
//	           (like slirp's 10.0.2.2); otherwise connections to it are refused with a RST or an ICMP
//	           port unreachable
//
// Guest traffic to 127.0.0.0/8 never leaves the guest. The host's own addresses (re-read every second) are
// reachable only when AllowHostLoopback is set, like the host alias; link-local addresses (cloud metadata),
// multicast and broadcast never are.
//
// All gVisor tuning is in tuning.go.
package netstack
