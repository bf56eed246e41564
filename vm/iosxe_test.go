package vm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/kind"
	"github.com/cloonix-go/cloonix/lab"
)

// iosxeLab has one router of each variant with four NICs, Gi3 before Gi2 in the file: the NIC order must
// follow the interface names, not the file.
const iosxeLab = `
version = 1
name = "nemo"
[nat]
[[lan]]
name = "lan12"
[[lan]]
name = "lan13"
[[lan]]
name = "edge"
[[vm]]
name = "r1"
kind = "iosxe"
variant = "c8000v"
image = "base.qcow2"
[vm.nics]
Gi3 = "lan13"
Gi2 = "lan12"
GigabitEthernet4 = "edge"
[[vm]]
name = "r2"
kind = "iosxe"
variant = "csr1000v"
image = "base.qcow2"
cpus = 2
[vm.nics]
Gi2 = "lan12"
Gi3 = "lan13"
Gi4 = "edge"
`

// iosxeSpec maps a resolved IOS-XE VM onto a Spec the way labd does (labd/vmrun.go buildSpec): every
// device comes from the kind descriptor, every NIC in index order with the lab's MAC.
func iosxeSpec(v lab.VM, run, state string) Spec {
	k := v.Kind
	s := Spec{
		Name: v.Name, Machine: k.Machine, Accel: "tcg", MemoryMiB: v.MemoryMiB, CPUs: v.CPUs, TCGCPU: k.TCGCPU,
		Disk: state + "/" + v.Name + "/disk.qcow2", DiskBus: k.DiskBus,
		Day0: state + "/" + v.Name + "/day0.iso", Day0Medium: MediumCDROM,
		NICModel: k.NICModel, RNG: k.VirtioRNG,
		QMPSocket: run + "/" + v.Name + ".qmp", SerialSocket: run + "/" + v.Name + ".serial",
		SerialLog: state + "/" + v.Name + "/console.log",
	}
	for _, n := range v.NICs {
		s.NICs = append(s.NICs, NIC{ID: n.Name, MAC: n.MAC, Socket: run + "/" + v.Name + "-" + n.Name + ".sock"})
	}
	return s
}

// TestIOSXEVariantArgs is the golden qemu argv of both IOS-XE variants, from a lab file through the kind
// descriptor: 4 GiB, virtio-net-pci NICs Gi1..Gi4 in order with stable MACs, a serial console, the boot
// disk on IDE and the day-0 ISO on an IDE CD-ROM, no -kernel.
func TestIOSXEVariantArgs(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img not installed: the lab file's qcow2 image cannot be made")
	}
	dir := t.TempDir()
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", filepath.Join(dir, "base.qcow2"), "16M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v\n%s", err, out)
	}
	path := filepath.Join(dir, "lab.toml")
	os.WriteFile(path, []byte(iosxeLab), 0o644)
	env := lab.Env{HostMemoryMiB: func() (int, error) { return 64 << 10, nil }}
	l, err := lab.Load(path, env)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := lab.Load(path, env)
	k, _ := kind.Lookup("iosxe")
	run, state := "/run/user/1000/cloonix/nemo", "/home/u/.local/state/cloonix/nemo/vms"
	for i, v := range l.VMs {
		golden := "iosxe_" + v.Variant
		t.Run(golden, func(t *testing.T) {
			s := iosxeSpec(v, run, state)
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			args := s.Args()
			got := strings.Join(args, "\n") + "\n"
			p := filepath.Join("testdata", golden+".golden")
			if *update {
				os.WriteFile(p, []byte(got), 0o644)
			}
			want, err := os.ReadFile(p)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("argv differs from %s:\n%s", p, got)
			}
			// Independent of the golden file:
			joined := strings.Join(args, " ")
			for _, w := range []string{"-m 4096", "if=ide,format=qcow2", "if=ide,media=cdrom,readonly=on,format=raw",
				"-serial chardev:serial0", "-machine pc", "-accel tcg -cpu max"} {
				if !strings.Contains(joined, w) {
					t.Errorf("argv lacks %q", w)
				}
			}
			if strings.Contains(joined, "-kernel") || strings.Contains(joined, "virtio-rng") {
				t.Errorf("IOS-XE boots its own disk, without extras: %s", joined)
			}
			var nics []string
			for j, a := range args {
				if a == "-device" && strings.HasPrefix(args[j+1], "virtio-net-pci,") {
					nics = append(nics, args[j+1])
				}
			}
			if len(nics) != 4 {
				t.Fatalf("%d NICs, want 4: %q", len(nics), nics)
			}
			for n, d := range nics {
				name := k.NICName(n)
				if !strings.Contains(d, "netdev="+name+",") || !strings.Contains(d, "mac="+lab.MAC("nemo", v.Name, name).String()) {
					t.Errorf("NIC %d is %q, want %s with its derived MAC", n, d, name)
				}
				if again.VMs[i].NICs[n].MAC.String() != v.NICs[n].MAC.String() {
					t.Errorf("MAC of %s changed between two loads", name)
				}
			}
			if v.NICs[0].LAN != "mgmt" {
				t.Errorf("Gi1 joins %q, want the NAT's LAN mgmt", v.NICs[0].LAN)
			}
		})
	}
	if l.VMs[0].SSHLegacy || !l.VMs[1].SSHLegacy {
		t.Errorf("ssh_legacy: c8000v %v, csr1000v %v; want false, true", l.VMs[0].SSHLegacy, l.VMs[1].SSHLegacy)
	}
}

// TestIOSXETCGCPUHasSSE4: the -cpu model IOS-XE gets under TCG (kind.TCGCPU) has the SSSE3 and SSE4.x that
// IOS-XE needs (issue 17 item 3; qemu's default qemu64 lacks them). qemu's "enforce" refuses to start when
// TCG cannot give a requested flag, so a qemu still running after a second proves them.
func TestIOSXETCGCPUHasSSE4(t *testing.T) {
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("qemu-system-x86_64 not installed: the TCG CPU model was not checked")
	}
	k, _ := kind.Lookup("iosxe")
	if k.TCGCPU == "" {
		t.Fatal("iosxe has no TCG CPU model: qemu64 lacks SSSE3/SSE4.x")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	out, err := exec.CommandContext(ctx, qemu, "-machine", "pc", "-accel", "tcg",
		"-cpu", k.TCGCPU+",+ssse3,+sse4.1,+sse4.2,+popcnt,enforce",
		"-nodefaults", "-display", "none", "-m", "16", "-S").CombinedOutput()
	if ctx.Err() == nil {
		t.Fatalf("qemu -cpu %s with SSSE3/SSE4.x enforced exited: %v\n%s", k.TCGCPU, err, out)
	}
}
