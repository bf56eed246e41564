package lab

import (
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "c8000v.qcow2", qcow2Magic+"x", 0o644)
	writeFile(t, dir, "r1.txt", "hostname r1\n", 0o644)
	src := `name = "nemo"
[nat]
[[lan]]
name = "lan12"
[[vm]]
name = "vm1"
[[vm]]
name = "r1"
kind = "iosxe"
variant = "csr1000v"
image = "c8000v.qcow2"
day0 = "r1.txt"
[vm.nics]
GigabitEthernet2 = "lan12"
[[vm]]
name = "r2"
kind = "frr"
cpus = 2
memory = "1G"
boot_timeout = "90s"
[vm.nics]
eth0 = "lan12"
`
	l := mustParse(t, src, dir, fakeEnv(16384))
	if l.Name != "nemo" || l.File != "lab.toml" || l.Dir != dir {
		t.Errorf("lab = %q %q %q", l.Name, l.File, l.Dir)
	}
	wantNAT := NAT{Name: "nat", LAN: "mgmt", Subnet: netip.MustParsePrefix("10.99.0.0/24"),
		Gateway: netip.MustParseAddr("10.99.0.1")}
	if len(l.NATs) != 1 || !reflect.DeepEqual(l.NATs[0], wantNAT) {
		t.Errorf("NATs = %+v, want [%+v]", l.NATs, wantNAT)
	}
	wantLANs := []LAN{{Name: "lan12", MTU: DefaultLANMTU, RecorderKiB: DefaultRecorderKiB}, {Name: "mgmt", MTU: NATLANMTU, RecorderKiB: DefaultRecorderKiB}}
	if !reflect.DeepEqual(l.LANs, wantLANs) {
		t.Errorf("LANs = %+v, want %+v", l.LANs, wantLANs)
	}

	vm1, ok := l.VM("vm1")
	if !ok {
		t.Fatal("no vm1")
	}
	if vm1.Kind.Name != "linux" || vm1.Variant != "" || vm1.MemoryMiB != 256 || vm1.CPUs != 1 ||
		vm1.BootTimeout != 2*time.Minute || vm1.SSHLegacy || vm1.Day0 != "" {
		t.Errorf("vm1 = %+v", vm1)
	}
	if vm1.Image.Name != "tiny" || vm1.Image.Kernel == "" {
		t.Errorf("vm1 image = %+v", vm1.Image)
	}
	if len(vm1.NICs) != 1 || vm1.NICs[0].Name != "eth0" || vm1.NICs[0].LAN != "mgmt" || vm1.NICs[0].Index != 0 ||
		vm1.NICs[0].MAC.String() != MAC("nemo", "vm1", "eth0").String() {
		t.Errorf("vm1 NICs = %+v", vm1.NICs)
	}

	r1, _ := l.VM("r1")
	if r1.Kind.Name != "iosxe" || r1.Variant != "csr1000v" || !r1.SSHLegacy || r1.MemoryMiB != 4096 ||
		r1.BootTimeout != 15*time.Minute || r1.Day0 != filepath.Join(dir, "r1.txt") {
		t.Errorf("r1 = %+v", r1)
	}
	if r1.Image.Disk != filepath.Join(dir, "c8000v.qcow2") || r1.Image.Name != "c8000v" || r1.Image.Kernel != "" {
		t.Errorf("r1 image = %+v", r1.Image)
	}
	if len(r1.NICs) != 2 || r1.NICs[0].Name != "Gi1" || r1.NICs[0].LAN != "mgmt" || r1.NICs[1].Name != "Gi2" ||
		r1.NICs[1].LAN != "lan12" || r1.NICs[1].Index != 1 {
		t.Errorf("r1 NICs = %+v", r1.NICs)
	}
	if n, ok := r1.NIC("Gi2"); !ok || n.LAN != "lan12" {
		t.Errorf("r1.NIC(Gi2) = %+v, %v", n, ok)
	}

	r2, _ := l.VM("r2")
	if r2.MemoryMiB != 1024 || r2.CPUs != 2 || r2.BootTimeout != 90*time.Second || r2.Image.Name != "frr" {
		t.Errorf("r2 = %+v", r2)
	}
	if len(r2.NICs) != 1 || r2.NICs[0].LAN != "lan12" {
		t.Errorf("r2 NICs (eth0 given explicitly, no NAT default) = %+v", r2.NICs)
	}
	if _, ok := l.VM("nope"); ok {
		t.Error("VM(nope) found")
	}
	if n, ok := l.NAT("nat"); !ok || n.LAN != "mgmt" {
		t.Errorf("NAT(nat) = %+v %v", n, ok)
	}
}

func TestNATArrayAndOptions(t *testing.T) {
	src := `name = "nemo"
[[lan]]
name = "mgmt"
mtu = 9000
[[nat]]
allow_host_loopback = true
dns = ["192.0.2.53", "127.0.0.1:5353"]
[[nat]]
name = "nat2"
lan = "lab2"
gateway = "10.99.1.5"
[[vm]]
name = "vm1"
`
	l := mustParse(t, src, t.TempDir(), fakeEnv(4096))
	if len(l.NATs) != 2 {
		t.Fatalf("NATs = %+v", l.NATs)
	}
	a, b := l.NATs[0], l.NATs[1]
	if a.Name != "nat" || !a.AllowHostLoopback || !reflect.DeepEqual(a.DNS, []string{"192.0.2.53:53", "127.0.0.1:5353"}) {
		t.Errorf("nat = %+v", a)
	}
	if b.Name != "nat2" || b.LAN != "lab2" || b.Subnet.String() != "10.99.1.0/24" || b.Gateway.String() != "10.99.1.5" ||
		b.AllowHostLoopback || b.DNS != nil {
		t.Errorf("nat2 = %+v", b)
	}
	// A declared NAT LAN keeps its explicit MTU; the implicit one gets the NAT default.
	wantLANs := []LAN{{Name: "mgmt", MTU: 9000, RecorderKiB: DefaultRecorderKiB}, {Name: "lab2", MTU: NATLANMTU, RecorderKiB: DefaultRecorderKiB}}
	if !reflect.DeepEqual(l.LANs, wantLANs) {
		t.Errorf("LANs = %+v", l.LANs)
	}
	// The first NAT's LAN is the default for NIC 0.
	if vm, _ := l.VM("vm1"); len(vm.NICs) != 1 || vm.NICs[0].LAN != "mgmt" {
		t.Errorf("vm1 NICs = %+v", vm.NICs)
	}
}

func TestNoNATMeansNoDefaultNIC(t *testing.T) {
	l := mustParse(t, "name = \"nemo\"\n[[vm]]\nname = \"vm1\"\n", t.TempDir(), Env{})
	if vm, _ := l.VM("vm1"); len(vm.NICs) != 0 || vm.Image.Name != "tiny" {
		t.Errorf("vm1 = %+v", vm)
	}
}

func TestNilEnvSkipsChecks(t *testing.T) {
	l := mustParse(t, "name = \"nemo\"\n[nat]\n[[vm]]\nname = \"vm1\"\nimage = \"anything\"\nmemory = 100000\n", "/x", Env{})
	if vm, _ := l.VM("vm1"); vm.Image != (ImageRef{Name: "anything"}) {
		t.Errorf("image = %+v", vm.Image)
	}
}

// TestManagementNAT: the NAT on the LAN of NIC 0 reaches a VM; a NAT on a later NIC's LAN does not.
func TestManagementNAT(t *testing.T) {
	src := `name = "nemo"
nat = [{ name = "nat" }, { name = "edge", lan = "lan12", subnet = "10.98.0.0/24" }]
lan = [{ name = "side" }]
vm = [{ name = "vm1" }, { name = "h1", nics = { eth0 = "lan12", eth1 = "mgmt" } },
  { name = "nolease", nics = { eth0 = "side", eth1 = "mgmt" } }]
`
	l := mustParse(t, src, t.TempDir(), fakeEnv(16384))
	for vm, want := range map[string]string{"vm1": "nat", "h1": "edge", "nolease": "", "ghost": ""} {
		got := ""
		if n, ok := l.ManagementNAT(vm); ok {
			got = n.Name
		}
		if got != want {
			t.Errorf("ManagementNAT(%s) = %q, want %q", vm, got, want)
		}
	}
}

// TestRecorderSize: a LAN's flight recorder has a default, may be set or turned off, and a bad size is one
// line naming the key.
func TestRecorderSize(t *testing.T) {
	l := mustParse(t, "name = \"x\"\n[[lan]]\nname = \"a\"\nrecorder_kib = 0\n[[lan]]\nname = \"b\"\n[[vm]]\nname = \"vm1\"\n[vm.nics]\neth0 = \"a\"\n", t.TempDir(), Env{})
	if l.LANs[0].RecorderKiB != 0 || l.LANs[1].RecorderKiB != DefaultRecorderKiB {
		t.Errorf("LANs = %+v", l.LANs)
	}
	_, err := Parse("lab.toml", []byte("name = \"x\"\n[[lan]]\nname = \"a\"\nrecorder_kib = -1\n[[vm]]\nname = \"vm1\"\n"), t.TempDir(), Env{})
	if err == nil || !strings.Contains(err.Error(), "recorder_kib") {
		t.Errorf("recorder_kib = -1: %v", err)
	}
}

// TestImpairInTheLabFile: impairments on a NIC and a LAN, and a seed; bad words are one line naming the key.
func TestImpairInTheLabFile(t *testing.T) {
	src := "name = \"x\"\nseed = 7\n[[lan]]\nname = \"a\"\nimpair = \"wan\"\n[[vm]]\nname = \"vm1\"\n[vm.nics]\neth0 = \"a\"\n[vm.impair]\neth0 = \"delay=5ms dir=both\"\n"
	l := mustParse(t, src, t.TempDir(), Env{})
	if l.Seed != 7 || l.LANs[0].Impair != "wan" || l.VMs[0].Impair["eth0"] != "delay=5ms dir=both" {
		t.Errorf("seed %d, LAN %+v, VM impair %v", l.Seed, l.LANs[0], l.VMs[0].Impair)
	}
	for bad, want := range map[string]string{
		"[vm.impair]\neth0 = \"delay=soon\"\n": "delay=soon",
		"[vm.impair]\neth7 = \"wan\"\n":        "eth7",
		"[vm.impair]\neth0 = \"dir=up wan\"\n": "dir=up",
	} {
		_, err := Parse("lab.toml", []byte("name = \"x\"\n[[lan]]\nname = \"a\"\n[[vm]]\nname = \"vm1\"\n[vm.nics]\neth0 = \"a\"\n"+bad), t.TempDir(), Env{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v; want a problem naming %s", bad, err, want)
		}
	}
}

// TestFaults: scheduled faults in the lab file, and the refusals that name the fix.
func TestFaults(t *testing.T) {
	src := "name = \"x\"\n[[lan]]\nname = \"a\"\n[[vm]]\nname = \"vm1\"\n[vm.nics]\neth0 = \"a\"\n" +
		"[[fault]]\nlink = \"vm1:eth0\"\naction = \"down\"\nfor = \"3s\"\nevery = \"30s\"\n" +
		"[[fault]]\nvm = \"vm1\"\naction = \"pause\"\nfor = \"10s\"\nat = \"1m\"\n"
	l := mustParse(t, src, t.TempDir(), Env{})
	if len(l.Faults) != 2 || l.Faults[0].String() != "link=vm1:eth0 action=down for=3s every=30s" ||
		l.Faults[1].String() != "vm=vm1 action=pause for=10s at=1m0s" {
		t.Errorf("faults = %v", l.Faults)
	}
	for kv, want := range map[string]string{
		"link=vm1:eth0 action=down":                     "for=",
		"link=vm1:eth9 action=down for=1s":              "no NIC",
		"vm=vm2 action=pause for=1s":                    "no VM",
		"vm=vm1 action=down for=1s":                     "action=pause",
		"link=vm1:eth0 action=impair for=1s":            "impair=",
		"link=vm1:eth0 action=down for=5s every=2s":     "longer",
		"link=vm1:eth0 action=impair impair=x=1 for=1s": "unknown key",
		"link=vm1:eth0 vm=vm1 action=down for=1s":       "one target",
		"link=vm1:eth0 action=down for=1s colour=red":   "unknown key",
	} {
		m := map[string]string{}
		for _, w := range strings.Fields(kv) {
			k, v, _ := strings.Cut(w, "=")
			m[k] = v
		}
		if _, err := ParseFault(m, l); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want %q", kv, err, want)
		}
	}
}
