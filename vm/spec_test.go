package vm

import (
	"flag"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func mustMAC(t testing.TB, s string) net.HardwareAddr {
	t.Helper()
	m, err := net.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func goldenSpecs(t *testing.T) map[string]Spec {
	run := "/run/user/1000/cloonix/nemo"
	state := "/home/u/.local/state/cloonix/nemo/vms"
	return map[string]Spec{
		"linux_tcg": {
			Name: "r1", Accel: "tcg", MemoryMiB: 256, CPUs: 1,
			Disk:   state + "/r1/disk.qcow2",
			Kernel: "/cache/images/tiny/vmlinuz", Initrd: "/cache/images/tiny/initrd.img", Append: "console=ttyS0 root=/dev/vda",
			Day0: state + "/r1/seed.iso", Day0Medium: MediumVirtioDisk, RNG: true,
			NICs: []NIC{
				{ID: "eth0", MAC: mustMAC(t, "02:4e:00:00:00:01"), Socket: run + "/r1-eth0.sock"},
				{ID: "eth1", MAC: mustMAC(t, "02:4e:00:00:00:02"), Socket: run + "/r1-eth1.sock"},
			},
			QMPSocket: run + "/r1.qmp", SerialSocket: run + "/r1.serial",
			SerialLog: state + "/r1/console.log", PIDFile: run + "/r1.pid",
		},
		"iosxe_kvm": {
			Name: "csr1", Machine: "pc", Accel: "kvm", MemoryMiB: 4096, CPUs: 2,
			Disk: state + "/csr1/disk.qcow2", DiskBus: "ide",
			Day0: state + "/csr1/day0.iso", Day0Medium: MediumCDROM,
			NICModel:  "virtio-net-pci",
			NICs:      []NIC{{ID: "Gi1", MAC: mustMAC(t, "02:4e:00:00:01:01"), Socket: run + "/csr1-Gi1.sock"}},
			QMPSocket: run + "/csr1.qmp", SerialSocket: run + "/csr1.serial", SerialLog: state + "/csr1/console.log",
		},
		"comma_in_path": {
			Name: "a", Accel: "tcg", MemoryMiB: 64, CPUs: 1, Disk: "/x,y/disk.qcow2",
			QMPSocket: "/r,un/a.qmp", SerialSocket: "/r/a.serial", SerialLog: "/s/a,log",
		},
	}
}

func TestArgsGolden(t *testing.T) {
	for name, s := range goldenSpecs(t) {
		t.Run(name, func(t *testing.T) {
			if err := s.Validate(); err != nil {
				t.Fatalf("golden spec is invalid: %v", err)
			}
			got := strings.Join(s.Args(), "\n") + "\n"
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("argv differs from %s (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", path, got, want)
			}
		})
	}
}

func TestArgsShape(t *testing.T) {
	s := goldenSpecs(t)["linux_tcg"]
	a := strings.Join(s.Args(), " ")
	for _, want := range []string{
		"-netdev stream,id=eth1,server=on,addr.type=unix,addr.path=/run/user/1000/cloonix/nemo/r1-eth1.sock",
		"-device virtio-net-pci,netdev=eth1,mac=02:4e:00:00:00:02",
		"logfile=/home/u/.local/state/cloonix/nemo/vms/r1/console.log,logappend=on",
		"-qmp unix:/run/user/1000/cloonix/nemo/r1.qmp,server=on,wait=off",
		"-drive file=/home/u/.local/state/cloonix/nemo/vms/r1/seed.iso,if=virtio,format=raw,readonly=on",
		"-accel tcg", "-nodefaults",
	} {
		if !strings.Contains(a, want) {
			t.Errorf("argv lacks %q:\n%s", want, a)
		}
	}
	if strings.Contains(a, "-cpu host") {
		t.Errorf("tcg argv has -cpu host: %s", a)
	}
	k := goldenSpecs(t)["iosxe_kvm"]
	ka := strings.Join(k.Args(), " ")
	for _, want := range []string{"-accel kvm -cpu host", "if=ide,media=cdrom,readonly=on", "-m 4096"} {
		if !strings.Contains(ka, want) {
			t.Errorf("iosxe argv lacks %q:\n%s", want, ka)
		}
	}
	if strings.Contains(ka, "-kernel") {
		t.Errorf("iosxe boots from disk but argv has -kernel: %s", ka)
	}
}

func TestValidate(t *testing.T) {
	good := goldenSpecs(t)["linux_tcg"]
	cases := map[string]struct {
		mut  func(*Spec)
		want string
	}{
		"no name":       {func(s *Spec) { s.Name = "" }, "Name is empty"},
		"bad accel":     {func(s *Spec) { s.Accel = "hvf" }, "not kvm or tcg"},
		"no memory":     {func(s *Spec) { s.MemoryMiB = 0 }, "MemoryMiB"},
		"dup nic":       {func(s *Spec) { s.NICs[1].ID = "eth0" }, "used twice"},
		"short mac":     {func(s *Spec) { s.NICs[0].MAC = s.NICs[0].MAC[:3] }, "6-byte"},
		"long socket":   {func(s *Spec) { s.QMPSocket = "/" + strings.Repeat("x", 120) }, "longer than"},
		"cdrom on q35":  {func(s *Spec) { s.Machine = "q35"; s.Day0Medium = MediumCDROM }, "needs Machine"},
		"initrd no krn": {func(s *Spec) { s.Kernel = "" }, "without Kernel"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s := good
			s.NICs = append([]NIC(nil), good.NICs...)
			c.mut(&s)
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// TestArgsVsock: a VM with a vsock back-end gets shared memfd RAM (what vhost-user maps) and the
// vhost-user-vsock device on the back-end's socket; without one, neither.
func TestArgsVsock(t *testing.T) {
	s := goldenSpecs(t)["linux_tcg"]
	if a := strings.Join(s.Args(), " "); strings.Contains(a, "vsock") || strings.Contains(a, "memory-backend") {
		t.Fatalf("argv without Vsock has vsock bits: %s", a)
	}
	s.Vsock = "/run/user/1000/cloonix/nemo/r1.vhost"
	a := strings.Join(s.Args(), " ")
	for _, want := range []string{
		"-object memory-backend-memfd,id=mem0,size=" + strconv.Itoa(s.MemoryMiB) + "M,share=on",
		"-machine pc,memory-backend=mem0 -accel tcg",
		"-chardev socket,id=vsock0,path=/run/user/1000/cloonix/nemo/r1.vhost -device vhost-user-vsock-pci,chardev=vsock0",
	} {
		if !strings.Contains(a, want) {
			t.Errorf("argv lacks %q:\n%s", want, a)
		}
	}
}
