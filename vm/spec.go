package vm

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Medium says how a day-0 image is attached to the VM.
type Medium int

const (
	// MediumVirtioDisk attaches the day-0 image as a read-only raw virtio disk. This is how a Linux
	// NoCloud seed reaches the Debian cloud kernel, which has no AHCI driver (see REFERENCE.md).
	MediumVirtioDisk Medium = iota
	// MediumCDROM attaches the day-0 image as an IDE CD-ROM (needs Machine "pc"), as IOS-XE expects
	// for its iosxe_config.txt (CVAC).
	MediumCDROM
)

// String returns the medium's name as used in logs and errors.
func (m Medium) String() string {
	switch m {
	case MediumVirtioDisk:
		return "virtio-disk"
	case MediumCDROM:
		return "cdrom"
	default:
		return "medium(" + strconv.Itoa(int(m)) + ")"
	}
}

// NIC is one network interface of a VM: a qemu stream netdev on which qemu listens, and the
// guest device attached to it.
type NIC struct {
	ID     string           // netdev id, e.g. "eth0"; also the name used with QMP set_link
	MAC    net.HardwareAddr // derived by package lab
	Socket string           // UNIX socket path qemu listens on (server=on)
}

// Spec is everything needed to run one VM. Args turns it into a qemu argv.
type Spec struct {
	Name      string // VM name; qemu -name guest=Name,process=cloonix-Name
	Machine   string // qemu -machine; "" means "pc"
	Accel     string // "kvm" or "tcg" (see ProbeAccel)
	MemoryMiB int
	CPUs      int
	// TCGCPU is the -cpu model under TCG ("max" for IOS-XE, which needs SSSE3/SSE4.x); "" is qemu's
	// default. Under KVM the CPU is always -cpu host.
	TCGCPU string

	Disk    string // the VM's own qcow2 overlay (see CreateOverlay)
	DiskBus string // "virtio" (default) or "ide"

	Kernel, Initrd, Append string // optional direct kernel boot; empty Kernel boots from Disk

	Day0       string // day-0 image (NoCloud seed or CVAC ISO); optional
	Day0Medium Medium // how Day0 is attached

	NICModel string // qemu device for each NIC; "" means "virtio-net-pci"
	// RNG adds a virtio-rng-pci device, so a TCG guest has entropy for its host keys at boot.
	RNG  bool
	NICs []NIC

	QMPSocket    string // QMP UNIX socket (qemu listens)
	SerialSocket string // serial console UNIX socket (qemu listens; one client at a time)
	SerialLog    string // every byte of the serial console is appended here
	PIDFile      string // optional qemu -pidfile
	// Vsock is the vhost-user socket of the VM's virtio-vsock back-end (a helper that listens there before
	// qemu starts; qemu connects), "" for no vsock device. The guest's RAM is then a shared memfd, which the
	// back-end maps.
	Vsock string
}

// maxSocketPath is the longest UNIX socket path Linux accepts (sun_path minus the NUL).
const maxSocketPath = 107

// Validate reports every problem of the Spec in one error, each naming the field and the fix.
func (s Spec) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if s.Name == "" {
		bad("vm spec: Name is empty; give the VM a name")
	}
	if s.Accel != "kvm" && s.Accel != "tcg" {
		bad("vm %q: Accel %q is not kvm or tcg; use ProbeAccel to choose", s.Name, s.Accel)
	}
	if s.MemoryMiB <= 0 {
		bad("vm %q: MemoryMiB %d must be positive", s.Name, s.MemoryMiB)
	}
	if s.CPUs <= 0 {
		bad("vm %q: CPUs %d must be positive", s.Name, s.CPUs)
	}
	if s.Disk == "" {
		bad("vm %q: Disk is empty; create an overlay with CreateOverlay", s.Name)
	}
	if s.DiskBus != "" && s.DiskBus != "virtio" && s.DiskBus != "ide" {
		bad("vm %q: DiskBus %q is not virtio or ide", s.Name, s.DiskBus)
	}
	if s.Kernel == "" && (s.Initrd != "" || s.Append != "") {
		bad("vm %q: Initrd/Append given without Kernel; set Kernel or drop them", s.Name)
	}
	if s.Day0 != "" && s.Day0Medium != MediumVirtioDisk && s.Day0Medium != MediumCDROM {
		bad("vm %q: Day0Medium %v is unknown; use MediumVirtioDisk or MediumCDROM", s.Name, s.Day0Medium)
	}
	if s.Day0 != "" && s.Day0Medium == MediumCDROM && s.machine() != "pc" {
		bad("vm %q: a CD-ROM day-0 needs Machine \"pc\" (IDE), not %q", s.Name, s.machine())
	}
	for field, p := range map[string]string{"QMPSocket": s.QMPSocket, "SerialSocket": s.SerialSocket} {
		if p == "" {
			bad("vm %q: %s is empty; give a socket path", s.Name, field)
		} else if len(p) > maxSocketPath {
			bad("vm %q: %s %q is longer than %d bytes; use a shorter runtime directory", s.Name, field, p, maxSocketPath)
		}
	}
	if s.SerialLog == "" {
		bad("vm %q: SerialLog is empty; give a console log path", s.Name)
	}
	seen := map[string]bool{}
	for i, n := range s.NICs {
		switch {
		case n.ID == "":
			bad("vm %q: NIC %d has no ID; name it like eth%d", s.Name, i, i)
		case strings.ContainsAny(n.ID, ", ="):
			bad("vm %q: NIC ID %q must not contain commas, spaces or '='", s.Name, n.ID)
		case seen[n.ID]:
			bad("vm %q: NIC ID %q is used twice; NIC IDs must be unique", s.Name, n.ID)
		}
		seen[n.ID] = true
		if len(n.MAC) != 6 {
			bad("vm %q: NIC %q MAC %q is not a 6-byte Ethernet address", s.Name, n.ID, n.MAC)
		}
		if n.Socket == "" {
			bad("vm %q: NIC %q has no Socket path", s.Name, n.ID)
		} else if len(n.Socket) > maxSocketPath {
			bad("vm %q: NIC %q socket %q is longer than %d bytes; use a shorter runtime directory", s.Name, n.ID, n.Socket, maxSocketPath)
		}
	}
	return errors.Join(errs...)
}

func (s Spec) machine() string {
	if s.Machine == "" {
		return "pc"
	}
	return s.Machine
}

func (s Spec) nicModel() string {
	if s.NICModel == "" {
		return "virtio-net-pci"
	}
	return s.NICModel
}

func (s Spec) diskBus() string {
	if s.DiskBus == "" {
		return "virtio"
	}
	return s.DiskBus
}

// esc doubles commas, which is how qemu escapes them inside an option value.
func esc(v string) string { return strings.ReplaceAll(v, ",", ",,") }

// cpuArgs is the machine, accelerator and CPU part of the argv. The accelerator probe boots its
// kernel with exactly these arguments, so what it proves holds for the VMs.
func cpuArgs(machine, accel string) []string {
	a := []string{"-machine", machine, "-accel", accel}
	if accel == "kvm" {
		a = append(a, "-cpu", "host")
	}
	return a
}

// Args returns the qemu argv (without the binary) for the Spec. It is pure: it neither checks
// nor touches files. Call Validate first. With Accel "kvm" it adds -cpu host, which is exactly
// the configuration AccelProbe boots.
func (s Spec) Args() []string {
	a := []string{"-name", "guest=" + esc(s.Name) + ",process=cloonix-" + esc(s.Name)}
	machine := s.machine()
	if s.Vsock != "" {
		// vhost-user needs the guest's RAM in a file it can map: a memfd, shared.
		machine += ",memory-backend=mem0"
		a = append(a, "-object", "memory-backend-memfd,id=mem0,size="+strconv.Itoa(s.MemoryMiB)+"M,share=on")
	}
	a = append(a, cpuArgs(machine, s.Accel)...)
	if s.Accel == "tcg" && s.TCGCPU != "" {
		a = append(a, "-cpu", s.TCGCPU)
	}
	a = append(a,
		"-m", strconv.Itoa(s.MemoryMiB),
		"-smp", strconv.Itoa(s.CPUs),
		"-nodefaults", "-no-user-config", "-display", "none",
		"-msg", "timestamp=on",
		"-chardev", "socket,id=serial0,path="+esc(s.SerialSocket)+",server=on,wait=off,logfile="+esc(s.SerialLog)+",logappend=on",
		"-serial", "chardev:serial0",
		"-qmp", "unix:"+esc(s.QMPSocket)+",server=on,wait=off",
	)
	if s.PIDFile != "" {
		a = append(a, "-pidfile", s.PIDFile)
	}
	a = append(a, "-drive", "file="+esc(s.Disk)+",if="+s.diskBus()+",format=qcow2")
	if s.Kernel != "" {
		a = append(a, "-kernel", s.Kernel)
		if s.Initrd != "" {
			a = append(a, "-initrd", s.Initrd)
		}
		if s.Append != "" {
			a = append(a, "-append", s.Append)
		}
	}
	if s.Day0 != "" {
		switch s.Day0Medium {
		case MediumCDROM:
			a = append(a, "-drive", "file="+esc(s.Day0)+",if=ide,media=cdrom,readonly=on,format=raw")
		default:
			a = append(a, "-drive", "file="+esc(s.Day0)+",if=virtio,format=raw,readonly=on")
		}
	}
	if s.RNG {
		a = append(a, "-device", "virtio-rng-pci")
	}
	for _, n := range s.NICs {
		a = append(a,
			"-netdev", "stream,id="+n.ID+",server=on,addr.type=unix,addr.path="+esc(n.Socket),
			"-device", s.nicModel()+",netdev="+n.ID+",mac="+n.MAC.String(),
		)
	}
	if s.Vsock != "" {
		a = append(a, "-chardev", "socket,id=vsock0,path="+esc(s.Vsock), "-device", "vhost-user-vsock-pci,chardev=vsock0")
	}
	return a
}
