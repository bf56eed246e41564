package lab

import "testing"

// TestMACGolden pins the derivation: leases and IOS-XE NIC tables depend on it never changing.
func TestMACGolden(t *testing.T) {
	cases := []struct{ lab, vm, nic, want string }{
		{"nemo", "vm1", "eth0", "0e:e2:3a:09:87:14"},
		{"nemo", "vm2", "eth0", "0e:b1:b7:2d:24:f5"},
		{"tri", "r1", "eth1", "0e:2c:09:ca:17:48"},
	}
	for _, c := range cases {
		if got := MAC(c.lab, c.vm, c.nic).String(); got != c.want {
			t.Errorf("MAC(%s, %s, %s) = %s, want %s", c.lab, c.vm, c.nic, got, c.want)
		}
	}
}

func TestMACProperties(t *testing.T) {
	seen := map[string]string{}
	for _, lab := range []string{"nemo", "tri", "a"} {
		for _, vm := range []string{"vm1", "vm2", "r1", "vm1-eth0"} {
			for _, nic := range []string{"eth0", "eth1", "eth2", "Gi1", "Gi2", ""} {
				m := MAC(lab, vm, nic)
				if len(m) != 6 {
					t.Fatalf("MAC length %d", len(m))
				}
				if m[0]&0x02 == 0 {
					t.Errorf("%s: locally administered bit clear", m)
				}
				if m[0]&0x01 != 0 {
					t.Errorf("%s: multicast bit set", m)
				}
				id := lab + "/" + vm + "/" + nic
				if other, dup := seen[m.String()]; dup {
					t.Errorf("MAC %s for %s and %s", m, id, other)
				}
				seen[m.String()] = id
				if MAC(lab, vm, nic).String() != m.String() {
					t.Errorf("MAC not deterministic for %s", id)
				}
			}
		}
	}
	// The separator keeps ("ab","c") apart from ("a","bc").
	if MAC("l", "ab", "c").String() == MAC("l", "a", "bc").String() {
		t.Error("name boundaries are ambiguous")
	}
}
