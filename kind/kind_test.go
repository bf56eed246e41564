package kind

import (
	"strings"
	"testing"
)

func mustLookup(t *testing.T, name string) *Kind {
	t.Helper()
	k, err := Lookup(name)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", name, err)
	}
	return k
}

func TestLookupUnknownListsKinds(t *testing.T) {
	_, err := Lookup("junos")
	if err == nil {
		t.Fatal("Lookup(junos) succeeded")
	}
	for _, n := range []string{"frr", "iosxe", "linux"} {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not list %s", err, n)
		}
	}
}

func TestNames(t *testing.T) {
	got := strings.Join(Names(), ",")
	if got != "frr,iosxe,linux" {
		t.Errorf("Names() = %s", got)
	}
}

func TestNICNaming(t *testing.T) {
	cases := []struct {
		kind, ifname string
		want         int
		wantErr      bool
	}{
		{"linux", "eth0", 0, false},
		{"linux", "eth15", 15, false},
		{"linux", "eth16", 0, true},
		{"linux", "eth01", 0, true},
		{"linux", "eth", 0, true},
		{"linux", "eth+1", 0, true},
		{"linux", "ens3", 0, true},
		{"linux", "Gi1", 0, true},
		{"frr", "eth2", 2, false},
		{"iosxe", "Gi1", 0, false},
		{"iosxe", "Gi2", 1, false},
		{"iosxe", "gi3", 2, false},
		{"iosxe", "GigabitEthernet2", 1, false},
		{"iosxe", "gigabitethernet16", 15, false},
		{"iosxe", "Gi0", 0, true},
		{"iosxe", "Gi17", 0, true},
		{"iosxe", "eth0", 0, true},
		{"iosxe", "Gi0/0/1", 0, true},
	}
	for _, c := range cases {
		k := mustLookup(t, c.kind)
		got, err := k.NICIndex(c.ifname)
		if (err != nil) != c.wantErr {
			t.Errorf("%s.NICIndex(%q) error = %v, want error %v", c.kind, c.ifname, err, c.wantErr)
			continue
		}
		if err == nil && got != c.want {
			t.Errorf("%s.NICIndex(%q) = %d, want %d", c.kind, c.ifname, got, c.want)
		}
		if err == nil && !strings.EqualFold(k.NICName(got), c.ifname) && !strings.EqualFold(k.NICFullName(got), c.ifname) {
			t.Errorf("%s: NICName(%d) = %s, NICFullName = %s; neither matches %s", c.kind, got,
				k.NICName(got), k.NICFullName(got), c.ifname)
		}
	}
}

func TestNICNameRoundTrip(t *testing.T) {
	for _, n := range Names() {
		k := mustLookup(t, n)
		for i := 0; i < k.MaxNICs; i++ {
			for _, name := range []string{k.NICName(i), k.NICFullName(i)} {
				got, err := k.NICIndex(name)
				if err != nil || got != i {
					t.Errorf("%s: NICIndex(%s) = %d, %v; want %d", n, name, got, err, i)
				}
			}
		}
	}
	ios := mustLookup(t, "iosxe")
	if ios.NICName(0) != "Gi1" || ios.NICFullName(1) != "GigabitEthernet2" {
		t.Errorf("iosxe names: %s %s", ios.NICName(0), ios.NICFullName(1))
	}
}

func TestDescriptorsSane(t *testing.T) {
	for _, n := range Names() {
		k := mustLookup(t, n)
		if k.DefaultMemoryMiB < k.MinMemoryMiB || (k.MaxMemoryMiB > 0 && k.DefaultMemoryMiB > k.MaxMemoryMiB) {
			t.Errorf("%s: default memory %d outside [%d,%d]", n, k.DefaultMemoryMiB, k.MinMemoryMiB, k.MaxMemoryMiB)
		}
		if k.DefaultCPUs < 1 || k.DefaultCPUs > k.MaxCPUs || k.MaxNICs < 1 {
			t.Errorf("%s: cpus %d/%d nics %d", n, k.DefaultCPUs, k.MaxCPUs, k.MaxNICs)
		}
		if k.Machine == "" || k.NICModel == "" || k.SSHUser == "" || k.ReadinessLine == "" || k.DefaultBootTimeout <= 0 {
			t.Errorf("%s: incomplete descriptor %+v", n, k)
		}
		if k.DefaultImage == "" && k.NeedsKernel {
			t.Errorf("%s: boots a project kernel but has no default image", n)
		}
	}
}

func TestVariants(t *testing.T) {
	ios := mustLookup(t, "iosxe")
	v, err := ios.Variant("")
	if err != nil || v.Name != "c8000v" || v.SSHLegacy {
		t.Errorf("default variant = %+v, %v", v, err)
	}
	v, err = ios.Variant("csr1000v")
	if err != nil || !v.SSHLegacy {
		t.Errorf("csr1000v = %+v, %v", v, err)
	}
	if _, err := ios.Variant("asr9k"); err == nil || !strings.Contains(err.Error(), "csr1000v") {
		t.Errorf("unknown variant error = %v", err)
	}
	lin := mustLookup(t, "linux")
	if _, err := lin.Variant("x"); err == nil {
		t.Error("linux accepted a variant")
	}
}
