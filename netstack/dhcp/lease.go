package dhcp

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Lease is one bound address. It marshals to JSON with the MAC as
// "aa:bb:cc:dd:ee:ff" and the IP as text.
type Lease struct {
	MAC      net.HardwareAddr
	IP       netip.Addr
	Hostname string // from the reservation, else the client's option 12
	ClientID string // option 61 as text: printable ASCII as is, else hex "01:aa:bb:…"
	Expiry   time.Time
}

// leaseJSON is Lease's wire form.
type leaseJSON struct {
	MAC      string     `json:"mac"`
	IP       netip.Addr `json:"ip"`
	Hostname string     `json:"hostname,omitempty"`
	ClientID string     `json:"client_id,omitempty"`
	Expiry   time.Time  `json:"expiry"`
}

// MarshalJSON implements json.Marshaler.
func (l Lease) MarshalJSON() ([]byte, error) {
	return json.Marshal(leaseJSON{MAC: l.MAC.String(), IP: l.IP, Hostname: l.Hostname, ClientID: l.ClientID, Expiry: l.Expiry})
}

// UnmarshalJSON implements json.Unmarshaler.
func (l *Lease) UnmarshalJSON(b []byte) error {
	var j leaseJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("lease: %w", err)
	}
	mac, err := net.ParseMAC(j.MAC)
	if err != nil {
		return fmt.Errorf("lease: %w", err)
	}
	*l = Lease{MAC: mac, IP: j.IP, Hostname: j.Hostname, ClientID: j.ClientID, Expiry: j.Expiry}
	return nil
}

// clientIDString renders option 61 for humans. IOS-XE's "ip address dhcp
// client-id GigabitEthernet1" sends type 0 followed by "cisco-<mac>-Gi1"; we
// show the ASCII part. Other forms (type 1 + MAC, DUIDs) become hex.
func clientIDString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > 255 {
		b = b[:255]
	}
	text := b
	if b[0] == 0 && len(b) > 1 {
		text = b[1:]
	}
	if isPrintable(text) {
		return string(text)
	}
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(hex.EncodeToString([]byte{c}))
	}
	return sb.String()
}

func isPrintable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// sanitizeHostname keeps a hostname that is safe to show and to send back:
// letters, digits, '-', '.', '_' only, at most 63 bytes; anything else gives "".
func sanitizeHostname(s string) string {
	s = strings.TrimRight(s, "\x00")
	if len(s) == 0 || len(s) > 63 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_'
		if !ok {
			return ""
		}
	}
	return s
}
