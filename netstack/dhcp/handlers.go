package dhcp

import (
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

func (s *Server) discover(req *dhcpv4.DHCPv4, now time.Time) (*dhcpv4.DHCPv4, error) {
	mac := req.ClientHWAddr
	e := s.byMAC[mac.String()]
	if e == nil && !s.makeRoom(mac, now) {
		s.logFull(now, mac)
		return nil, nil
	}
	ip := s.chooseAddr(mac, now)
	if !ip.IsValid() {
		s.logFull(now, mac)
		return nil, nil
	}
	if e == nil || !e.bound || !now.Before(e.lease.Expiry) || e.lease.IP != ip {
		// A new or stale row becomes an offer held for offerHold.
		s.put(&entry{lease: Lease{MAC: cloneMAC(mac), IP: ip, Expiry: now.Add(offerHold)}})
	}
	return s.reply(req, dhcpv4.MessageTypeOffer, ip)
}

func (s *Server) request(req *dhcpv4.DHCPv4, now time.Time) (*dhcpv4.DHCPv4, error) {
	mac := req.ClientHWAddr
	e := s.byMAC[mac.String()]
	if sid := req.ServerIdentifier(); sid != nil && !sid.Equal(s.cfg.ServerIP.AsSlice()) {
		// The client chose another server: forget our offer.
		if e != nil && !e.bound {
			s.remove(e)
		}
		return nil, nil
	}
	want := ipFrom(req.RequestedIPAddress())
	if !want.IsValid() {
		want = ipFrom(req.ClientIPAddr)
	}
	ok := want.IsValid() && want.Is4() && !s.takenBy(mac, now)(want)
	if r, reserved := s.res[mac.String()]; reserved {
		ok = ok && want == r.IP
	} else {
		// The address we hold for the MAC, or any free pool address (a client
		// in INIT-REBOOT asking for the address it had before).
		ok = ok && (e != nil && e.lease.IP == want || InPool(s.cfg.Subnet, want))
	}
	if !ok {
		s.log.Debug("NAK", "mac", mac.String(), "requested", want)
		return s.nak(req)
	}
	if e == nil && !s.makeRoom(mac, now) {
		s.logFull(now, mac)
		return nil, nil
	}
	l := Lease{
		MAC:      cloneMAC(mac),
		IP:       want,
		Hostname: s.hostnameFor(mac, req),
		ClientID: clientIDString(req.Options.Get(dhcpv4.OptionClientIdentifier)),
		Expiry:   now.Add(s.cfg.LeaseTime),
	}
	s.put(&entry{lease: l, bound: true})
	s.persistLocked()
	if s.cfg.OnBind != nil {
		s.cfg.OnBind(l)
	}
	return s.reply(req, dhcpv4.MessageTypeAck, want)
}

func (s *Server) release(req *dhcpv4.DHCPv4) {
	if sid := req.ServerIdentifier(); sid != nil && !sid.Equal(s.cfg.ServerIP.AsSlice()) {
		return
	}
	e := s.byMAC[req.ClientHWAddr.String()]
	if e == nil || e.lease.IP != ipFrom(req.ClientIPAddr) {
		return
	}
	s.remove(e)
	if e.bound {
		s.persistLocked()
	}
}

func (s *Server) decline(req *dhcpv4.DHCPv4, now time.Time) {
	if sid := req.ServerIdentifier(); sid != nil && !sid.Equal(s.cfg.ServerIP.AsSlice()) {
		return
	}
	ip := ipFrom(req.RequestedIPAddress())
	key := req.ClientHWAddr.String()
	e := s.byMAC[key]
	if e == nil || e.lease.IP != ip {
		return
	}
	if owner, ok := s.resIP[ip]; ok && owner == key {
		// A reserved address is the VM's whatever happens: any guest can forge a DECLINE with another
		// VM's MAC, and giving the owner another address would not cure a real conflict (a static address
		// set by hand in a guest), so the lease stays. Said at most every logEvery.
		if ok, held := s.declineLog.Allow(now); ok {
			s.log.Warn("ignoring DHCPDECLINE of a reserved address (forged, or a guest with a static address in conflict)",
				"mac", key, "ip", ip, "suppressed", held)
		}
		return
	}
	s.remove(e)
	if e.bound {
		s.persistLocked()
	}
	if len(s.declined) >= s.cfg.MaxLeases {
		for a, until := range s.declined {
			if !now.Before(until) {
				delete(s.declined, a)
			}
		}
	}
	if len(s.declined) < s.cfg.MaxLeases {
		s.declined[ip] = now.Add(10 * offerHold)
	}
	if ok, held := s.declineLog.Allow(now); ok {
		s.log.Warn("client declined address (in use by someone else?)", "mac", key, "ip", ip, "suppressed", held)
	}
}

func (s *Server) inform(req *dhcpv4.DHCPv4) (*dhcpv4.DHCPv4, error) {
	resp, err := s.reply(req, dhcpv4.MessageTypeAck, netip.Addr{})
	if err != nil {
		return nil, err
	}
	resp.ClientIPAddr = req.ClientIPAddr
	resp.Options.Del(dhcpv4.OptionIPAddressLeaseTime)
	resp.Options.Del(dhcpv4.OptionRenewTimeValue)
	resp.Options.Del(dhcpv4.OptionRebindingTimeValue)
	return resp, nil
}
