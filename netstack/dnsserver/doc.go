// Package dnsserver is the NAT gateway's DNS server as pure protocol logic: it
// turns a query packet into a reply packet. VM names ("r1", "r1.<lab>") are
// answered from the DHCP leases through Config.Lookup; every other name is
// forwarded to the host's resolvers over UDP (TCP when the UDP answer is
// truncated), with a bound on concurrent forwards. Package netstack carries
// the packets on the gateway address.
package dnsserver
