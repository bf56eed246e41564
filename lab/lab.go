// Package lab reads lab files: the TOML schema (version 1), validation that reports every problem at
// once as "lab.toml:LINE:COL: what is wrong; how to fix it", defaults and MAC derivation. The name rules and
// the lab's directories are package labpath's. See examples/labs/two-vms.toml for the commented schema.
package lab

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/cloonix-go/cloonix/kind"
)

// Lab is a validated lab file with every default resolved.
type Lab struct {
	Name   string  // the server name, as in `cloonix-proxy nemo nat r1`
	File   string  // the lab file as given to Load (or the name given to Parse)
	Dir    string  // absolute directory that relative paths in the file are resolved against
	VMs    []VM    // in file order
	LANs   []LAN   // declared LANs in file order, then LANs created implicitly for NATs
	NATs   []NAT   // in file order
	Faults []Fault // scheduled faults, in file order
	// Seed makes random impairments replay: every impairment stage draws from a stream derived from it and
	// its place. 0 (not set) means a new random seed at each start.
	Seed uint64
	// Tests is the absolute path of the lab's tests file (`tests = "tests.toml"`, read by
	// `cloonix-labd validate`), "" when the lab file names none.
	Tests string
}

// VM is one virtual machine.
type VM struct {
	Name      string
	Kind      *kind.Kind
	Variant   string // "" when the kind has no variants, else the chosen (or default) variant
	Image     ImageRef
	MemoryMiB int
	CPUs      int
	NICs      []NIC  // ordered by Index, contiguous from 0
	Day0      string // absolute path of the day-0 file, or ""
	Day0Given string // the day-0 file as the lab file writes it (relative or absolute), or ""
	SSHLegacy bool   // allow SHA-1 key exchange and ssh-rsa when connecting
	Vsock     bool   // a virtio-vsock device, reached as `cloonix-proxy LAB vsock VM` (default: the kind's)
	// Impair holds the impairments the lab file sets on NICs: NIC name → words as `link VM NIC set` takes
	// them ("delay=50ms loss=1%", a preset, "dir=both"), checked by package impair.
	Impair      map[string]string
	BootTimeout time.Duration
}

// NIC is one network interface of a VM.
type NIC struct {
	Index int              // 0 is the first NIC qemu attaches
	Name  string           // canonical short name for the kind: "eth0", "Gi1"
	LAN   string           // the LAN it joins
	MAC   net.HardwareAddr // MAC(lab, vm, Name)
}

// LAN is one userspace Ethernet segment.
type LAN struct {
	Name string
	// MTU is what DHCP hands out on this LAN (option 26) and what day-0 files may configure. It defaults
	// to 65520 on a LAN that holds a NAT (virtio without a vnet header is fast only with big frames) and
	// to 1500 elsewhere (what routers such as IOS-XE expect on their links).
	MTU int
	// RecorderKiB is the size of the LAN's flight recorder, the ring of its last frames that
	// `cloonix-labd capture LAN --last 60s` reads: DefaultRecorderKiB unless the lab file says; 0 turns it off.
	RecorderKiB int
	// Impair is the impairment of every frame that enters the LAN (each NIC's "out" unless the NIC sets its
	// own), in `link … set` words; "" for none.
	Impair string
}

// NAT is one userspace NAT (gateway, DHCP, DNS, dial-in) attached to a LAN.
type NAT struct {
	Name              string       // the `nat` in `cloonix-proxy nemo nat r1`
	LAN               string       // the LAN it serves
	Subnet            netip.Prefix // IPv4, masked
	Gateway           netip.Addr   // the NAT's own address; default: first host of Subnet
	AllowHostLoopback bool         // let guests reach the host's 127.0.0.1 at the host alias, the address after the gateway
	DNS               []string     // upstream resolvers as "ip:port"; empty means the host's resolv.conf
}

// ImageRef is a resolved guest image.
type ImageRef struct {
	Name   string // image name ("tiny") or file name of a qcow2 given by path
	Disk   string // base qcow2, absolute path; never written to
	Kernel string // for kinds that boot with -kernel; "" to boot from Disk
	Initrd string
	Append string // kernel command line
}

// VM returns the named VM.
func (l *Lab) VM(name string) (*VM, bool) {
	for i := range l.VMs {
		if l.VMs[i].Name == name {
			return &l.VMs[i], true
		}
	}
	return nil, false
}

// NAT returns the named NAT.
func (l *Lab) NAT(name string) (*NAT, bool) {
	for i := range l.NATs {
		if l.NATs[i].Name == name {
			return &l.NATs[i], true
		}
	}
	return nil, false
}

// ManagementNAT is the NAT that reaches the named VM: the one on the LAN of its NIC 0 (eth0, Gi1), its
// management interface and the only one its guest configures by DHCP. ok is false for an unknown VM and
// for one whose NIC 0 is not on a NAT's LAN: no NAT reaches that VM, even when a later NIC is.
func (l *Lab) ManagementNAT(vm string) (*NAT, bool) {
	v, ok := l.VM(vm)
	if !ok || len(v.NICs) == 0 || v.NICs[0].Index != 0 {
		return nil, false
	}
	for i := range l.NATs {
		if l.NATs[i].LAN == v.NICs[0].LAN {
			return &l.NATs[i], true
		}
	}
	return nil, false
}

// LAN returns the named LAN.
func (l *Lab) LAN(name string) (*LAN, bool) {
	for i := range l.LANs {
		if l.LANs[i].Name == name {
			return &l.LANs[i], true
		}
	}
	return nil, false
}

// NIC returns the VM's NIC with the given canonical name.
func (v *VM) NIC(name string) (*NIC, bool) {
	for i := range v.NICs {
		if v.NICs[i].Name == name {
			return &v.NICs[i], true
		}
	}
	return nil, false
}

// Load reads, parses, validates and resolves the lab file at path. Relative paths in the file are
// resolved against its directory. A file with problems gives a *ValidationError listing all of them.
func Load(path string, env Env) (*Lab, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read lab file: %w", err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("lab file %s: %w", path, err)
	}
	return Parse(path, data, dir, env)
}
