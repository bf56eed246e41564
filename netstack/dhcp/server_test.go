package dhcp

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

func TestDORAOptions(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(*Config)
		mac      string
		wantIP   string // "" = any pool address
		wantHost string
		wantMTU  uint16
	}{
		{name: "dynamic", mac: "52:54:00:12:34:56", wantMTU: DefaultMTU},
		{name: "reserved with hostname", mac: "52:54:00:00:00:01", wantIP: "10.0.2.15", wantHost: "r1", wantMTU: 1500,
			edit: func(c *Config) {
				c.MTU = 1500
				c.Reservations = []Reservation{{MAC: net.HardwareAddr{0x52, 0x54, 0, 0, 0, 1}, IP: netip.MustParseAddr("10.0.2.15"), Hostname: "r1"}}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestServer(t, tc.edit)
			m := mac(t, tc.mac)
			offer, ack := dora(t, s, m, dhcpv4.WithOption(dhcpv4.OptHostName("guest")))
			if offer == nil || ack == nil {
				t.Fatalf("offer=%v ack=%v", offer, ack)
			}
			for _, p := range []*dhcpv4.DHCPv4{offer, ack} {
				if p.OpCode != dhcpv4.OpcodeBootReply || !bytes.Equal(p.ClientHWAddr, m) {
					t.Errorf("%s: opcode %v chaddr %v", p.MessageType(), p.OpCode, p.ClientHWAddr)
				}
				ip := yiaddr(p)
				if tc.wantIP != "" && ip.String() != tc.wantIP {
					t.Errorf("%s: yiaddr %s, want %s", p.MessageType(), ip, tc.wantIP)
				}
				if tc.wantIP == "" && !InPool(testSubnet, ip) {
					t.Errorf("%s: yiaddr %s not in pool", p.MessageType(), ip)
				}
				if got := p.ServerIdentifier(); !got.Equal(net.IPv4(10, 0, 2, 1)) {
					t.Errorf("option 54 = %v", got)
				}
				if got := p.SubnetMask(); !bytes.Equal(got, net.CIDRMask(24, 32)) {
					t.Errorf("option 1 = %v", got)
				}
				if got := p.Router(); len(got) != 1 || !got[0].Equal(net.IPv4(10, 0, 2, 1)) {
					t.Errorf("option 3 = %v", got)
				}
				if got := p.DNS(); len(got) != 1 || !got[0].Equal(net.IPv4(10, 0, 2, 3)) {
					t.Errorf("option 6 = %v", got)
				}
				mtu := p.Options.Get(dhcpv4.OptionInterfaceMTU)
				if len(mtu) != 2 || binary.BigEndian.Uint16(mtu) != tc.wantMTU {
					t.Errorf("option 26 = %x, want %d", mtu, tc.wantMTU)
				}
				if got := p.IPAddressLeaseTime(0); got != time.Hour {
					t.Errorf("option 51 = %s", got)
				}
				if got := p.IPAddressRenewalTime(0); got != 30*time.Minute {
					t.Errorf("option 58 = %s", got)
				}
				if got := p.DomainName(); got != "nemo" {
					t.Errorf("option 15 = %q", got)
				}
				if got := p.HostName(); got != tc.wantHost {
					t.Errorf("option 12 = %q, want %q", got, tc.wantHost)
				}
			}
			if offer.MessageType() != dhcpv4.MessageTypeOffer || ack.MessageType() != dhcpv4.MessageTypeAck {
				t.Fatalf("types %s %s", offer.MessageType(), ack.MessageType())
			}
			l, ok := s.LeaseFor(m)
			if !ok || l.IP != yiaddr(ack) {
				t.Fatalf("LeaseFor = %+v %v, want IP %s", l, ok, yiaddr(ack))
			}
			wantHost := tc.wantHost
			if wantHost == "" {
				wantHost = "guest" // the client's own option 12 is recorded
			}
			if l.Hostname != wantHost {
				t.Errorf("lease hostname %q, want %q", l.Hostname, wantHost)
			}
		})
	}
}

func TestClientIDForms(t *testing.T) {
	m := net.HardwareAddr{0x52, 0x54, 0x00, 0xab, 0xcd, 0xef}
	long := bytes.Repeat([]byte{0xfe}, 255)
	tests := []struct {
		name   string
		id     []byte
		wantID string
	}{
		{"none", nil, ""},
		{"iosxe binary 0x01+MAC", append([]byte{1}, m...), "01:52:54:00:ab:cd:ef"},
		{"iosxe ascii with type 0", append([]byte{0}, "cisco-5254.00ab.cdef-Gi1"...), "cisco-5254.00ab.cdef-Gi1"},
		{"ascii without type byte", []byte("cisco-5254.00ab.cdef-Gi1"), "cisco-5254.00ab.cdef-Gi1"},
		{"single zero byte", []byte{0}, "00"},
		{"255 bytes binary", long, strings.TrimSuffix(strings.Repeat("fe:", 255), ":")},
	}
	want := DeterministicIP(testSubnet, m, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestServer(t, nil)
			var mods []dhcpv4.Modifier
			if tc.id != nil {
				mods = append(mods, dhcpv4.WithOption(dhcpv4.OptClientIdentifier(tc.id)))
			}
			_, ack := dora(t, s, m, mods...)
			if ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
				t.Fatalf("no ACK: %v", ack)
			}
			if got := yiaddr(ack); got != want {
				t.Errorf("address %s, want %s: the key must be chaddr, whatever the client-id", got, want)
			}
			if tc.id != nil && !bytes.Equal(ack.Options.Get(dhcpv4.OptionClientIdentifier), tc.id) {
				t.Errorf("ACK does not echo option 61 (RFC 6842)")
			}
			l, ok := s.LeaseFor(m)
			if !ok || l.ClientID != tc.wantID {
				t.Errorf("lease client-id %q, want %q", l.ClientID, tc.wantID)
			}
		})
	}
}

func TestReservationWins(t *testing.T) {
	s, _ := newTestServer(t, nil)
	a := mac(t, "52:54:00:00:00:0a")
	b := mac(t, "52:54:00:00:00:0b")
	_, ackA := dora(t, s, a)
	ipA := yiaddr(ackA)
	// Reserve A's address for B, and a fixed one for A.
	s.SetReservations([]Reservation{
		{MAC: b, IP: ipA, Hostname: "r2"},
		{MAC: a, IP: netip.MustParseAddr("10.0.2.200"), Hostname: "r1"},
		{MAC: mac(t, "52:54:00:00:00:0c"), IP: netip.MustParseAddr("192.168.1.1")}, // invalid: ignored
	})
	if _, ok := s.LeaseFor(a); ok {
		t.Fatalf("A's lease on a now reserved address survived")
	}
	// A renewing its old address gets a NAK.
	renew, _ := dhcpv4.New(dhcpv4.WithHwAddr(a), dhcpv4.WithClientIP(ipA.AsSlice()), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest))
	if r := roundTrip(t, s, renew); r == nil || r.MessageType() != dhcpv4.MessageTypeNak {
		t.Fatalf("renew of lost address: %v, want NAK", r)
	}
	_, ackA = dora(t, s, a)
	_, ackB := dora(t, s, b)
	if got := yiaddr(ackA).String(); got != "10.0.2.200" || ackA.HostName() != "r1" {
		t.Errorf("A got %s %q", got, ackA.HostName())
	}
	if got := yiaddr(ackB); got != ipA || ackB.HostName() != "r2" {
		t.Errorf("B got %s %q, want %s r2", got, ackB.HostName(), ipA)
	}
}

func TestStableAcrossRestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "leases.json")
	macs := []string{"52:54:00:00:01:01", "52:54:00:00:01:02", "02:aa:bb:cc:dd:ee"}
	s1, _ := newTestServer(t, func(c *Config) { c.LeaseFile = file })
	got1 := map[string]netip.Addr{}
	t0 := time.Now()
	for _, m := range macs {
		_, ack := dora(t, s1, mac(t, m), dhcpv4.WithOption(dhcpv4.OptClientIdentifier([]byte("id-"+m))))
		got1[m] = yiaddr(ack)
	}
	macs = append([]string(nil), macs...)
	// The first write is immediate, the next ones are batched for a second.
	if n := countLeases(t, file); n != 1 && time.Since(t0) < saveInterval/2 {
		t.Errorf("file has %d leases right after 3 ACKs, want 1 (batched)", n)
	}
	deadline := time.Now().Add(5 * saveInterval) // generous: CI machines are loaded
	for countLeases(t, file) != 3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := countLeases(t, file); n != 3 {
		t.Errorf("file has %d leases after the batch interval, want 3", n)
	}
	// Close writes what is pending without waiting.
	m4 := mac(t, "52:54:00:00:01:04")
	dora(t, s1, m4)
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	if n := countLeases(t, file); n != 4 {
		t.Errorf("file has %d leases after Close, want 4", n)
	}
	macs = append(macs, m4.String())
	got1[m4.String()] = mustLease(t, s1, m4).IP
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"mac": "52:54:00:00:01:01"`) {
		t.Errorf("lease file is not readable JSON:\n%s", raw)
	}
	// Restart from the file: same leases, same answers.
	s2, _ := newTestServer(t, func(c *Config) { c.LeaseFile = file })
	if a, b := s1.Leases(), s2.Leases(); len(a) != 4 || len(b) != 4 {
		t.Fatalf("leases before %d after %d", len(a), len(b))
	}
	for _, m := range macs {
		l, ok := s2.LeaseFor(mac(t, m))
		if !ok || l.IP != got1[m] || (l.ClientID != "id-"+m && m != m4.String()) {
			t.Errorf("%s after restart: %+v %v, want %s", m, l, ok, got1[m])
		}
	}
	// Even without the file, the addresses are the same.
	s3, _ := newTestServer(t, nil)
	for _, m := range macs {
		if _, ack := dora(t, s3, mac(t, m)); yiaddr(ack) != got1[m] {
			t.Errorf("%s without lease file: %s, want %s", m, yiaddr(ack), got1[m])
		}
	}
	// A corrupt file is a clear error.
	if err := os.WriteFile(file, []byte("{nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = NewServer(Config{ServerIP: testServer, Subnet: testSubnet, LeaseFile: file})
	if err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("corrupt lease file: %v", err)
	}
}

func TestRequestNAK(t *testing.T) {
	s, _ := newTestServer(t, func(c *Config) {
		c.Reservations = []Reservation{{MAC: net.HardwareAddr{2, 0, 0, 0, 0, 9}, IP: netip.MustParseAddr("10.0.2.50")}}
	})
	owner := mac(t, "52:54:00:00:02:01")
	_, ack := dora(t, s, owner)
	held := yiaddr(ack)
	tests := []struct {
		name    string
		mac     string
		ip      string
		sid     string
		wantNAK bool
		wantNil bool
	}{
		{name: "outside subnet", mac: "52:54:00:00:02:02", ip: "192.168.7.7", wantNAK: true},
		{name: "held by another MAC", mac: "52:54:00:00:02:02", ip: held.String(), wantNAK: true},
		{name: "the server's own address", mac: "52:54:00:00:02:02", ip: "10.0.2.1", wantNAK: true},
		{name: "reserved for another MAC", mac: "52:54:00:00:02:02", ip: "10.0.2.50", wantNAK: true},
		{name: "reserved MAC asks for other address", mac: "02:00:00:00:00:09", ip: "10.0.2.77", wantNAK: true},
		{name: "no address at all", mac: "52:54:00:00:02:02", ip: "", wantNAK: true},
		{name: "other server chosen", mac: "52:54:00:00:02:02", ip: "10.0.2.77", sid: "10.0.2.254", wantNil: true},
		{name: "free pool address (init-reboot)", mac: "52:54:00:00:02:02", ip: "10.0.2.77"},
		{name: "owner renews", mac: "52:54:00:00:02:01", ip: held.String()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mods := []dhcpv4.Modifier{dhcpv4.WithHwAddr(mac(t, tc.mac)), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest)}
			if tc.ip != "" {
				mods = append(mods, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP(tc.ip))))
			}
			if tc.sid != "" {
				mods = append(mods, dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.ParseIP(tc.sid))))
			}
			req, err := dhcpv4.New(mods...)
			if err != nil {
				t.Fatal(err)
			}
			r := roundTrip(t, s, req)
			switch {
			case tc.wantNil:
				if r != nil {
					t.Fatalf("got %s, want no reply", r.MessageType())
				}
			case r == nil:
				t.Fatalf("no reply")
			case tc.wantNAK && r.MessageType() != dhcpv4.MessageTypeNak:
				t.Fatalf("got %s %s, want NAK", r.MessageType(), r.YourIPAddr)
			case !tc.wantNAK && (r.MessageType() != dhcpv4.MessageTypeAck || yiaddr(r).String() != tc.ip):
				t.Fatalf("got %s %s, want ACK %s", r.MessageType(), r.YourIPAddr, tc.ip)
			}
			if tc.wantNAK && (!r.IsBroadcast() || !r.ServerIdentifier().Equal(net.IPv4(10, 0, 2, 1))) {
				t.Errorf("NAK must be broadcast with option 54")
			}
		})
	}
}

func TestTableBound(t *testing.T) {
	reserved := net.HardwareAddr{2, 0, 0, 0, 9, 9}
	s, clk := newTestServer(t, func(c *Config) {
		c.MaxLeases = 5
		c.Reservations = []Reservation{{MAC: reserved, IP: netip.MustParseAddr("10.0.2.30")}}
	})
	for i := range 5 {
		if roundTrip(t, s, discoverPkt(t, net.HardwareAddr{2, 0, 0, 0, 1, byte(i)})) == nil {
			t.Fatalf("offer %d missing", i)
		}
	}
	extra := net.HardwareAddr{2, 0, 0, 0, 2, 0}
	if r := roundTrip(t, s, discoverPkt(t, extra)); r != nil {
		t.Fatalf("table full but offered %s", r.YourIPAddr)
	}
	if n := len(s.byMAC); n != 5 {
		t.Fatalf("table has %d rows, want 5", n)
	}
	if r := roundTrip(t, s, discoverPkt(t, reserved)); r == nil || yiaddr(r).String() != "10.0.2.30" {
		t.Fatalf("a full table must not starve a reserved MAC: %v", r)
	}
	clk.Advance(offerHold + time.Second)
	if r := roundTrip(t, s, discoverPkt(t, extra)); r == nil {
		t.Fatalf("expired offers were not reclaimed")
	}
}

func TestPoolExhaustionAndExpiry(t *testing.T) {
	// A /28 has 14 hosts; 9 are reserved, so the pool has 5 addresses.
	s, clk := newTestServer(t, func(c *Config) {
		c.Subnet = netip.MustParsePrefix("10.9.0.0/28")
		c.ServerIP = netip.MustParseAddr("10.9.0.1")
		c.DNS = nil
	})
	seen := map[netip.Addr]bool{}
	for i := range 5 {
		m := net.HardwareAddr{2, 0, 0, 0, 3, byte(i)}
		_, ack := dora(t, s, m)
		if ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
			t.Fatalf("client %d: no ACK", i)
		}
		ip := yiaddr(ack)
		if seen[ip] || !InPool(netip.MustParsePrefix("10.9.0.0/28"), ip) {
			t.Fatalf("client %d got %s (duplicate or outside pool)", i, ip)
		}
		seen[ip] = true
	}
	late := net.HardwareAddr{2, 0, 0, 0, 4, 0}
	if r := roundTrip(t, s, discoverPkt(t, late)); r != nil {
		t.Fatalf("pool exhausted but offered %s", r.YourIPAddr)
	}
	if len(s.Leases()) != 5 {
		t.Fatalf("want 5 leases")
	}
	clk.Advance(time.Hour + time.Second)
	if _, ok := s.LeaseFor(net.HardwareAddr{2, 0, 0, 0, 3, 0}); ok {
		t.Errorf("lease did not expire")
	}
	if n := len(s.Leases()); n != 0 {
		t.Errorf("%d leases after expiry", n)
	}
	if _, ack := dora(t, s, late); ack == nil || !seen[yiaddr(ack)] {
		t.Fatalf("expired address not reused: %v", ack)
	}
}

func TestReleaseDeclineInform(t *testing.T) {
	s, _ := newTestServer(t, nil)
	m := mac(t, "52:54:00:00:05:01")
	_, ack := dora(t, s, m)
	first := yiaddr(ack)

	rel, _ := dhcpv4.NewReleaseFromACK(ack)
	if r := roundTrip(t, s, rel); r != nil {
		t.Fatalf("RELEASE got a reply")
	}
	if _, ok := s.LeaseFor(m); ok {
		t.Fatalf("lease kept after RELEASE")
	}

	_, ack = dora(t, s, m)
	if yiaddr(ack) != first {
		t.Fatalf("after release got %s, want the same %s", yiaddr(ack), first)
	}
	dec, _ := dhcpv4.New(dhcpv4.WithHwAddr(m), dhcpv4.WithMessageType(dhcpv4.MessageTypeDecline),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(first.AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(testServer.AsSlice())))
	if r := roundTrip(t, s, dec); r != nil {
		t.Fatalf("DECLINE got a reply")
	}
	if _, ack = dora(t, s, m); yiaddr(ack) == first || !yiaddr(ack).IsValid() {
		t.Fatalf("after DECLINE got %s again", yiaddr(ack))
	}

	inf, _ := dhcpv4.NewInform(m, net.IPv4(10, 0, 2, 99))
	r := roundTrip(t, s, inf)
	if r == nil || r.MessageType() != dhcpv4.MessageTypeAck || !r.YourIPAddr.IsUnspecified() ||
		r.Options.Has(dhcpv4.OptionIPAddressLeaseTime) || len(r.DNS()) != 1 {
		t.Fatalf("INFORM reply wrong: %v", r)
	}
}

func TestIgnoredAndGarbage(t *testing.T) {
	s, _ := newTestServer(t, nil)
	for _, m := range []net.HardwareAddr{{0, 0, 0, 0, 0, 0}, {1, 0, 0x5e, 0, 0, 1}, {1, 2, 3}} {
		if r := roundTrip(t, s, discoverPkt(t, m)); r != nil {
			t.Errorf("chaddr %v got an offer", m)
		}
	}
	offer := roundTrip(t, s, discoverPkt(t, mac(t, "52:54:00:00:06:01")))
	if r := roundTrip(t, s, offer); r != nil { // a BOOTREPLY is not for us
		t.Errorf("answered a reply")
	}
	for _, b := range [][]byte{nil, {1, 2, 3}, bytes.Repeat([]byte{0xff}, 300)} {
		if _, err := s.HandlePacket(b); err == nil {
			t.Errorf("garbage %x accepted", b[:min(len(b), 8)])
		}
	}
	if _, err := s.Handle(nil); err == nil {
		t.Errorf("nil request accepted")
	}
}

func TestConfigErrors(t *testing.T) {
	m := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no subnet", func(c *Config) { c.Subnet = netip.Prefix{} }, "not an IPv4 prefix"},
		{"ipv6 subnet", func(c *Config) { c.Subnet = netip.MustParsePrefix("fd00::/64") }, "not an IPv4 prefix"},
		{"tiny subnet", func(c *Config) { c.Subnet = netip.MustParsePrefix("10.0.2.0/29") }, "too small"},
		{"server outside", func(c *Config) { c.ServerIP = netip.MustParseAddr("10.0.3.1") }, "server address"},
		{"router is broadcast", func(c *Config) { c.Router = netip.MustParseAddr("10.0.2.255") }, "router"},
		{"mtu", func(c *Config) { c.MTU = 70000 }, "MTU"},
		{"lease time", func(c *Config) { c.LeaseTime = time.Second }, "lease time"},
		{"reservation outside", func(c *Config) { c.Reservations = []Reservation{{MAC: m, IP: netip.MustParseAddr("10.1.0.5")}} }, "not a host address"},
		{"reservation on server", func(c *Config) { c.Reservations = []Reservation{{MAC: m, IP: testServer}} }, "server, router or DNS"},
		{"reservation bad MAC", func(c *Config) { c.Reservations = []Reservation{{MAC: m[:3], IP: netip.MustParseAddr("10.0.2.5")}} }, "6-byte"},
		{"duplicate MAC", func(c *Config) {
			c.Reservations = []Reservation{{MAC: m, IP: netip.MustParseAddr("10.0.2.5")}, {MAC: m, IP: netip.MustParseAddr("10.0.2.6")}}
		}, "duplicate reservation"},
		{"duplicate IP", func(c *Config) {
			c.Reservations = []Reservation{{MAC: m, IP: netip.MustParseAddr("10.0.2.5")}, {MAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, IP: netip.MustParseAddr("10.0.2.5")}}
		}, "reserved for both"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(&fakeClock{})
			tc.edit(&cfg)
			_, err := NewServer(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestDeterministicIP(t *testing.T) {
	m := net.HardwareAddr{0x52, 0x54, 0, 1, 2, 3}
	a := DeterministicIP(testSubnet, m, nil)
	if a != DeterministicIP(testSubnet, m, nil) {
		t.Fatal("not deterministic")
	}
	if !InPool(testSubnet, a) || a.As4()[3] <= ReservedHosts || a.As4()[3] == 255 {
		t.Fatalf("%s outside pool", a)
	}
	b := DeterministicIP(testSubnet, m, func(x netip.Addr) bool { return x == a })
	if b == a || !InPool(testSubnet, b) {
		t.Fatalf("taken address not skipped: %s", b)
	}
	if c := DeterministicIP(testSubnet, m, func(netip.Addr) bool { return true }); c.IsValid() {
		t.Fatalf("full pool gave %s", c)
	}
	if c := DeterministicIP(netip.MustParsePrefix("10.0.0.0/29"), m, nil); c.IsValid() {
		t.Fatalf("/29 has no pool, got %s", c)
	}
	// Different MACs spread over the pool.
	seen := map[netip.Addr]bool{}
	for i := range 50 {
		seen[DeterministicIP(testSubnet, net.HardwareAddr{2, 0, 0, 0, 0, byte(i)}, nil)] = true
	}
	if len(seen) < 30 {
		t.Errorf("50 MACs hit only %d addresses", len(seen))
	}
}

func countLeases(t *testing.T, file string) int {
	t.Helper()
	l, err := loadLeases(file)
	if err != nil {
		t.Fatal(err)
	}
	return len(l)
}

func mustLease(t *testing.T, s *Server, m net.HardwareAddr) Lease {
	t.Helper()
	l, ok := s.LeaseFor(m)
	if !ok {
		t.Fatalf("no lease for %s", m)
	}
	return l
}

func TestReplyDestination(t *testing.T) {
	s, _ := newTestServer(t, nil)
	m := mac(t, "52:54:00:00:07:01")
	d := discoverPkt(t, m)
	offer, _ := s.Handle(d)
	if got := ReplyDestination(d, offer); got.String() != "255.255.255.255" {
		t.Errorf("OFFER to %s", got)
	}
	renew, _ := dhcpv4.New(dhcpv4.WithHwAddr(m), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest), dhcpv4.WithClientIP(offer.YourIPAddr))
	ack, _ := s.Handle(renew)
	if ack.MessageType() != dhcpv4.MessageTypeAck || ReplyDestination(renew, ack) != yiaddr(offer) {
		t.Errorf("renewal ACK to %s, want %s", ReplyDestination(renew, ack), yiaddr(offer))
	}
	bad, _ := dhcpv4.New(dhcpv4.WithHwAddr(m), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest), dhcpv4.WithClientIP(net.IPv4(10, 0, 2, 1)))
	nak, _ := s.Handle(bad)
	if nak.MessageType() != dhcpv4.MessageTypeNak || ReplyDestination(bad, nak).String() != "255.255.255.255" {
		t.Errorf("NAK to %s", ReplyDestination(bad, nak))
	}
}

// TestDeclineOfReservedAddressIgnored: a DHCPDECLINE with a VM's MAC for its reserved address (which any guest
// can forge) neither removes the lease nor keeps the address from its VM.
func TestDeclineOfReservedAddressIgnored(t *testing.T) {
	vm := mac(t, "52:54:00:00:06:01")
	reserved := netip.MustParseAddr("10.0.2.150")
	s, clk := newTestServer(t, func(c *Config) {
		c.Reservations = []Reservation{{MAC: vm, IP: reserved, Hostname: "r1"}}
	})
	if _, ack := dora(t, s, vm); yiaddr(ack) != reserved {
		t.Fatalf("set-up: VM got %s, want its reservation %s", yiaddr(ack), reserved)
	}
	for i := 0; i < 100; i++ {
		dec, _ := dhcpv4.New(dhcpv4.WithHwAddr(vm), dhcpv4.WithMessageType(dhcpv4.MessageTypeDecline),
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(reserved.AsSlice())),
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(testServer.AsSlice())))
		if r := roundTrip(t, s, dec); r != nil {
			t.Fatal("DECLINE got a reply")
		}
	}
	if l, ok := s.LeaseFor(vm); !ok || l.IP != reserved {
		t.Fatalf("a forged DECLINE removed the reserved lease: %+v %v", l, ok)
	}
	clk.Advance(time.Minute)
	if _, ack := dora(t, s, vm); yiaddr(ack) != reserved {
		t.Fatalf("after DECLINEs the VM got %s, want its reservation %s", yiaddr(ack), reserved)
	}
}
