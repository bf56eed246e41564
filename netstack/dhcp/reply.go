package dhcp

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// reply builds an OFFER or ACK for req giving ip (zero for INFORM).
func (s *Server) reply(req *dhcpv4.DHCPv4, typ dhcpv4.MessageType, ip netip.Addr) (*dhcpv4.DHCPv4, error) {
	mods := []dhcpv4.Modifier{
		dhcpv4.WithMessageType(typ),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(s.cfg.ServerIP.AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptSubnetMask(net.CIDRMask(s.cfg.Subnet.Bits(), 32))),
		dhcpv4.WithOption(dhcpv4.OptBroadcastAddress(broadcast(s.cfg.Subnet).AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptRouter(s.cfg.Router.AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptDNS(ipSlices(s.cfg.DNS)...)),
		dhcpv4.WithOption(dhcpv4.OptGeneric(dhcpv4.OptionInterfaceMTU, binary.BigEndian.AppendUint16(nil, uint16(s.cfg.MTU)))),
		dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(s.cfg.LeaseTime)),
		dhcpv4.WithOption(dhcpv4.OptRenewTimeValue(s.cfg.LeaseTime / 2)),
		dhcpv4.WithOption(dhcpv4.OptRebindingTimeValue(s.cfg.LeaseTime * 7 / 8)),
	}
	if ip.IsValid() {
		mods = append(mods, dhcpv4.WithYourIP(ip.AsSlice()))
	}
	if s.cfg.DomainName != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptDomainName(s.cfg.DomainName)))
	}
	if r, ok := s.res[req.ClientHWAddr.String()]; ok && r.Hostname != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptHostName(r.Hostname)))
	}
	resp, err := dhcpv4.NewReplyFromRequest(req, mods...)
	if err != nil {
		return nil, fmt.Errorf("dhcp: build %s: %w", typ, err)
	}
	return resp, nil
}

// nak builds a NAK for req. NAKs are broadcast (RFC 2131 4.3.2).
func (s *Server) nak(req *dhcpv4.DHCPv4) (*dhcpv4.DHCPv4, error) {
	resp, err := dhcpv4.NewReplyFromRequest(req,
		dhcpv4.WithMessageType(dhcpv4.MessageTypeNak),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(s.cfg.ServerIP.AsSlice())),
		dhcpv4.WithBroadcast(true),
	)
	if err != nil {
		return nil, fmt.Errorf("dhcp: build NAK: %w", err)
	}
	return resp, nil
}

func ipSlices(as []netip.Addr) []net.IP {
	out := make([]net.IP, len(as))
	for i, a := range as {
		out[i] = a.AsSlice()
	}
	return out
}

// ReplyDestination tells the caller where to send resp, the answer to req
// (RFC 2131 section 4.1, without relays): to the client's ciaddr when it has
// one (renewing, INFORM) and the reply is not a NAK, else to the limited
// broadcast address 255.255.255.255. Broadcasting avoids needing an ARP entry
// for an address the client does not have yet, and every client accepts it.
// The UDP ports are always 67 → 68.
func ReplyDestination(req, resp *dhcpv4.DHCPv4) netip.Addr {
	if resp != nil && resp.MessageType() != dhcpv4.MessageTypeNak {
		if ci := ipFrom(req.ClientIPAddr); ci.Is4() {
			return ci
		}
	}
	return netip.AddrFrom4([4]byte{255, 255, 255, 255})
}
