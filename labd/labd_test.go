package labd

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloonix-go/cloonix/kind"
	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/sshsetup"
)

// testVM is a VM of lab nemo of kind k whose NIC i joins lans[i].
func testVM(t *testing.T, k, name string, lans ...string) lab.VM {
	t.Helper()
	kd, err := kind.Lookup(k)
	if err != nil {
		t.Fatal(err)
	}
	v := lab.VM{Name: name, Kind: kd}
	for i, l := range lans {
		nic := kd.NICName(i)
		v.NICs = append(v.NICs, lab.NIC{Index: i, Name: nic, LAN: l, MAC: lab.MAC("nemo", name, nic)})
	}
	return v
}

func testLab(t *testing.T) *lab.Lab {
	return &lab.Lab{
		Name: "nemo",
		VMs:  []lab.VM{testVM(t, "linux", "vm2", "mgmt"), testVM(t, "linux", "vm1", "mgmt", "lan12"), testVM(t, "linux", "h1", "lan12", "mgmt")},
		NATs: []lab.NAT{{Name: "nat", LAN: "mgmt", Subnet: netip.MustParsePrefix("10.99.0.0/24")}},
	}
}

// TestReservationsAreDeterministic: the same lab gives the same addresses whatever the order of its VMs,
// one per NIC on the NAT's LAN, all distinct and inside the subnet.
func TestReservationsAreDeterministic(t *testing.T) {
	l := testLab(t)
	a := reservations(l, l.NATs[0])
	l.VMs[0], l.VMs[2] = l.VMs[2], l.VMs[0]
	b := reservations(l, l.NATs[0])
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("want 3 reservations (one per NIC on mgmt), got %d and %d", len(a), len(b))
	}
	byMAC := map[string]string{}
	seen := map[netip.Addr]bool{}
	for _, r := range a {
		byMAC[r.MAC.String()] = r.IP.String()
		if seen[r.IP] || !l.NATs[0].Subnet.Contains(r.IP) {
			t.Errorf("reservation %v is duplicated or outside the subnet", r)
		}
		seen[r.IP] = true
	}
	for _, r := range b {
		if byMAC[r.MAC.String()] != r.IP.String() {
			t.Errorf("%s (%s): %s after reordering VMs, %s before", r.Hostname, r.MAC, r.IP, byMAC[r.MAC.String()])
		}
	}
}

// TestTailLines returns the last lines of a console log without its carriage returns.
func TestTailLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.log")
	var b strings.Builder
	for i := 0; i < 100; i++ {
		b.WriteString("line " + strings.Repeat("x", i%7) + "\r\n")
	}
	b.WriteString("last line\r\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	got := tailLines(path, 3)
	lines := strings.Split(got, "\n")
	if len(lines) != 3 || lines[2] != "last line" || strings.Contains(got, "\r") {
		t.Fatalf("tailLines = %q", got)
	}
	if tailLines(filepath.Join(t.TempDir(), "missing"), 3) != "" {
		t.Error("a missing log must give an empty tail")
	}
}

// TestOneLineRoundTrip: a multi-line start error survives the ready pipe.
func TestOneLineRoundTrip(t *testing.T) {
	in := "lab.toml:3:1: bad\nlab.toml:4:2: worse"
	one := oneLine(in)
	if strings.Contains(one, "\n") {
		t.Fatalf("oneLine left a newline: %q", one)
	}
	if ExpandError(one) != in {
		t.Fatalf("ExpandError(oneLine(x)) = %q", ExpandError(one))
	}
}

// TestConsolePasswordIsPerLabAndKept: random, 0600, the same on the next call, different for another lab.
func TestConsolePasswordIsPerLabAndKept(t *testing.T) {
	a := labpath.Dirs{State: t.TempDir()}.ConsolePassword()
	b := labpath.Dirs{State: t.TempDir()}.ConsolePassword()
	pa, err := consolePassword(a)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := consolePassword(a)
	pb, _ := consolePassword(b)
	if pa != again || pa == pb || len(pa) < 12 {
		t.Fatalf("passwords: %q, again %q, other lab %q", pa, again, pb)
	}
	st, err := os.Stat(a)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("console_password mode: %v, %v", st.Mode(), err)
	}
}

// TestSSHConfigFromKinds: the entries labd makes from a lab's kinds and NATs render sshsetup's legacy golden
// file (which ssh -G checks there): the scp -O hint on both IOS-XE routers (the kind has no SFTP server),
// SHA-1 algorithms on the ssh_legacy one, each VM through the NAT on its NIC 0's LAN, in name order, and
// island (eth0 off every NAT's LAN) left out.
func TestSSHConfigFromKinds(t *testing.T) {
	csr := testVM(t, "iosxe", "csr1", "mgmt")
	csr.SSHLegacy = true
	l := &lab.Lab{
		Name: "nemo",
		VMs:  []lab.VM{testVM(t, "linux", "island", "side", "mgmt"), csr, testVM(t, "linux", "h1", "lan2"), testVM(t, "iosxe", "c8k", "mgmt")},
		NATs: []lab.NAT{{Name: "nat", LAN: "mgmt"}, {Name: "nat2", LAN: "lan2"}},
	}
	st := "/home/u/.local/state/cloonix/nemo/"
	o := sshsetup.ConfigOptions{Lab: l.Name, Keys: sshsetup.Keys{Ed25519Path: st + "id_ed25519", RSAPath: st + "id_rsa"},
		KnownHosts: st + "known_hosts", Entries: (&Daemon{lab: l}).sshEntries()}
	plain := filepath.Join(t.TempDir(), "ssh_config")
	if err := sshsetup.WriteSSHConfigs(plain, plain+".fdpass", o); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	if want, err := os.ReadFile("../sshsetup/testdata/legacy.golden"); err != nil || string(got) != string(want) {
		t.Errorf("the lab's ssh_config differs from sshsetup's legacy golden file (%v):\n%s", err, got)
	}
}

// TestCheckSocketPaths: a lab whose NIC socket path is too long for a UNIX socket is refused before it starts.
func TestCheckSocketPaths(t *testing.T) {
	l := &lab.Lab{Name: "nemo", VMs: []lab.VM{{Name: "vm1", NICs: []lab.NIC{{Name: "eth0"}}}}}
	if err := checkSocketPaths(labpath.Dirs{Runtime: "/run/user/1000/cloonix/nemo"}, l); err != nil {
		t.Errorf("short paths: %v", err)
	}
	err := checkSocketPaths(labpath.Dirs{Runtime: "/run/" + strings.Repeat("x", 90)}, l)
	if err == nil || !strings.Contains(err.Error(), "vm1-eth0.sock") || !strings.Contains(err.Error(), "shorter") {
		t.Errorf("long paths: %v", err)
	}
}
