// Package dhcp is the NAT's DHCPv4 server as pure protocol logic: it turns a
// request packet into a reply packet and keeps the lease table. It does no I/O
// except writing the lease file; package netstack carries the packets.
//
// Leases are keyed by the client's Ethernet MAC (chaddr). The option 61
// client-id is recorded but never used as the key, so any client-id form
// (IOS-XE's 0x01+MAC, its ASCII "cisco-<mac>-Gi1", anything else) is accepted.
//
// Address choice, in order: a reservation for the MAC; the MAC's existing
// lease; otherwise DeterministicIP, a hash of the MAC into the pool. The pool
// is the subnet minus the network address, the broadcast address and the first
// 9 host addresses (x.x.x.1 to x.x.x.9 in a /24), which stay free for the
// gateway, the host alias, DNS and future services. Reservations may use any
// host address except those of the server, router and DNS servers.
//
// The lease table is bounded (Config.MaxLeases): when it is full and no lease
// has expired, a new MAC gets no offer and the event is logged, so a guest
// flooding DISCOVERs with random MACs cannot grow memory without limit.
package dhcp
