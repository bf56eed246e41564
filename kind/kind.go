// Package kind holds the node-kind descriptors (linux, frr, iosxe). It is the only place that knows how kinds
// differ: every other package reads these fields instead of switching on a kind's name.
package kind

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Day0Medium says how a kind receives its day-0 configuration.
type Day0Medium int

const (
	// Day0None means the kind takes no day-0 file.
	Day0None Day0Medium = iota
	// Day0NoCloud is a cloud-init NoCloud seed (ISO9660 labelled "cidata") attached as a read-only virtio
	// disk. The Debian cloud kernel has no AHCI driver, so a virtio disk is the medium it always sees.
	Day0NoCloud
	// Day0CVAC is an IOS-XE CVAC CD-ROM holding iosxe_config.txt, with the full name in the primary
	// ISO9660 directory (genisoimage -l style).
	Day0CVAC
)

// String returns the medium's name as used in logs.
func (m Day0Medium) String() string {
	switch m {
	case Day0None:
		return "none"
	case Day0NoCloud:
		return "nocloud"
	case Day0CVAC:
		return "cvac"
	}
	return fmt.Sprintf("Day0Medium(%d)", int(m))
}

// Variant is one flavour of a kind that shares everything but a few defaults, such as csr1000v and
// c8000v for iosxe.
type Variant struct {
	Name        string // "c8000v"
	Description string // one line for `cloonix-labd kinds`
	// SSHLegacy is the default of the lab file's ssh_legacy for this variant: true when the guest's sshd
	// offers only SHA-1 key exchange and ssh-rsa host keys (CSR 1000v 17.3 and older).
	SSHLegacy bool
}

// Kind describes one node kind. Descriptors are shared: treat them as read-only.
type Kind struct {
	Name        string    // "linux"
	Description string    // one line for listings
	Variants    []Variant // nil when the kind has none; otherwise the first is the default

	// DefaultImage is the built image (images package) a VM of this kind boots when the lab file names
	// none. Empty means the lab file must name an image (vendor qcow2 such as IOS-XE).
	DefaultImage string

	DefaultMemoryMiB int // used when the lab file gives no memory
	MinMemoryMiB     int // below this the guest does not boot
	MaxMemoryMiB     int // 0 means no limit of the kind's own
	DefaultCPUs      int
	MaxCPUs          int
	// CPUCounts, when set, are the only vCPU counts the guest supports (IOS-XE: 1, 2 or 4, the counts of
	// Cisco's c8000v/CSR 1000v footprints); nil allows 1..MaxCPUs.
	CPUCounts []int
	MaxNICs   int // NIC indices are 0..MaxNICs-1

	Machine  string // qemu -machine: "pc" (the cloud kernel has no AHCI; IDE via ata_piix works)
	NICModel string // qemu -device model for every NIC: "virtio-net-pci"

	Day0         Day0Medium
	Day0FileName string // name of the day-0 file on the medium: "user-data" or "iosxe_config.txt"

	// NICPrefix is the short interface name prefix written in lab files and shown to users ("eth", "Gi").
	NICPrefix string
	// NICLongPrefix is the full interface name prefix the guest uses in its configuration
	// ("eth", "GigabitEthernet"). Lab files may use it too.
	NICLongPrefix string
	// NICBase is the number of NIC index 0 in interface names: 0 for eth0, 1 for Gi1.
	NICBase int

	// SSHUser is the user written into ssh_config and inventories. linux uses root; frr uses "admin", whose
	// login shell is vtysh (ssh lands in a Cisco-like CLI, which frr.frr's network_cli needs); iosxe uses
	// "admin", the privilege-15 user the day-0 file creates. Config pushes use Config.User instead.
	SSHUser string
	// SCPLegacy is true when the guest has no SFTP server, so scp needs -O (IOS-XE).
	SCPLegacy bool
	// SSHLegacyOption is true when the lab file may set ssh_legacy (allow SHA-1 kex and ssh-rsa).
	SSHLegacyOption bool
	// SSHRSA is true when the guest's sshd advertises no server-sig-algs (RFC 8308), so OpenSSH ≥ 8.8 can
	// offer the lab's RSA key only as "ssh-rsa", which it disables by default: every host of the kind gets
	// ssh-rsa accepted for public keys and host keys, the RSA key first, and Ansible keeps ssh-rsa too
	// (IOS-XE, also c8000v 17.x; docs/iosxe.md cites ansible/workshops and netlab).
	SSHRSA bool
	// SSHIdentitiesOnly is true when the guest allows so few authentication attempts (IOS: 3) that agent
	// keys offered first would use them up: the ssh_config entry offers the lab's keys only.
	SSHIdentitiesOnly bool

	AnsibleNetworkOS  string // "" for plain Linux hosts, "frr.frr.frr", "cisco.ios.ios"
	AnsibleConnection string // "ansible.builtin.ssh" or "ansible.netcommon.network_cli"

	// ReadinessLine is the serial-console text that marks the guest ready for ssh.
	ReadinessLine string
	// LaterBootReadinessLine, when set, also marks the guest ready on a boot of an overlay that has booted
	// before: IOS-XE's CVAC applies its CD-ROM once, so %CVAC-4-CONFIG_DONE may never come again, and the
	// login prompt ("Press RETURN to get started", vrnetlab's signal) is what the later boots print.
	LaterBootReadinessLine string
	// ReadinessLogin, when set, is a harmless command that `up` runs over ssh with the lab's key (BatchMode,
	// through the generated ssh_config) once the sshd banner answers: readiness then proves a key login, so
	// a refused key shows at `up`, naming the VM. "" means the banner is enough (linux, frr).
	ReadinessLogin     string
	DefaultBootTimeout time.Duration // how long to wait for ReadinessLine
	// KVMSilenceLimit is how long a VM started under KVM may keep its serial console silent before the
	// daemon's watchdog stops it and starts it again under TCG: on some hosts KVM runs a probe but hangs a
	// real guest without a byte of output. The guest's first console output must come well before this
	// even on a loaded host. 0 turns the watchdog off for the kind.
	KVMSilenceLimit time.Duration
	// StopTimeout is how long to wait after system_powerdown before sending quit (IOS-XE may ignore it).
	StopTimeout time.Duration
	// NeedsKernel is true when the guest boots with -kernel/-initrd from the image (the project's Linux
	// images); false when it boots from its disk (vendor images).
	NeedsKernel bool
	// VirtioRNG gives the guest a virtio-rng device. The project's Linux guests need it: under TCG their
	// entropy pool fills slowly, and sshd makes its host key at boot (a purged overlay gets a new one).
	VirtioRNG bool
	// Vsock is true when the kind's images run cloonix-vsock-bridge (vsock port 22 to the guest's sshd), so
	// a VM of it gets a virtio-vsock device by default (`cloonix-proxy LAB vsock VM`; lab file: vsock).
	Vsock bool

	// TCGCPU is qemu's -cpu model under TCG; "" keeps qemu's default (qemu64, enough for the project's
	// Linux guests). IOS-XE needs SSSE3 and SSE4.x, which qemu64 lacks, and every reference launcher boots it
	// on the host CPU, so iosxe asks for "max" (all TCG can emulate). Under KVM every kind gets -cpu host.
	TCGCPU string

	// DiskBus is the bus of the VM's boot disk: "virtio" (the default when empty) or "ide" (IOS-XE, as
	// vrnetlab attaches it).
	DiskBus string
	// Config is how `cloonix-labd config push|save` load and read the guest's configuration.
	Config ConfigOps

	// Show is how `cloonix-labd validate` reads the node's state (package validate).
	Show ShowDialect
	// ShellUser is the user whose login shell is a Unix shell, for the Linux tools (ping, traceroute, ip) that
	// checks run: "root" on linux and frr (whose SSHUser lands in vtysh), "" when the node has no Unix shell
	// (iosxe, whose CLI pings and traces itself).
	ShellUser string
}

// ShowDialect is the language a node's state is read in.
type ShowDialect int

const (
	// ShowLinux is a plain Linux host: its kernel's tables (ip -j) and tools, no routing daemon.
	ShowLinux ShowDialect = iota
	// ShowFRR is FRR's vtysh (SSHUser's login shell) with `show … json`, on a Linux host (ShellUser).
	ShowFRR
	// ShowIOSXE is the IOS-XE CLI, whose show commands print text only (parsed by package iosxeshow).
	ShowIOSXE
)

// String returns the dialect's name as results and errors print it.
func (d ShowDialect) String() string {
	switch d {
	case ShowLinux:
		return "linux"
	case ShowFRR:
		return "frr"
	case ShowIOSXE:
		return "iosxe"
	}
	return fmt.Sprintf("ShowDialect(%d)", int(d))
}

// Lookup returns the descriptor of the named kind. The error lists the known kinds.
func Lookup(name string) (*Kind, error) {
	for _, k := range builtin {
		if k.Name == name {
			return k, nil
		}
	}
	return nil, fmt.Errorf("unknown kind %q; known kinds: %s", name, strings.Join(Names(), ", "))
}

// Names returns the names of all known kinds, sorted.
func Names() []string {
	names := make([]string, 0, len(builtin))
	for _, k := range builtin {
		names = append(names, k.Name)
	}
	sort.Strings(names)
	return names
}

// Variant returns the named variant, or the default one when name is empty. It fails when the kind has
// no variants and name is not empty, or when name is unknown; the error lists the known variants.
func (k *Kind) Variant(name string) (Variant, error) {
	if len(k.Variants) == 0 {
		if name == "" {
			return Variant{}, nil
		}
		return Variant{}, fmt.Errorf("kind %s has no variants", k.Name)
	}
	if name == "" {
		return k.Variants[0], nil
	}
	for _, v := range k.Variants {
		if v.Name == name {
			return v, nil
		}
	}
	return Variant{}, fmt.Errorf("kind %s has no variant %q; known variants: %s", k.Name, name,
		strings.Join(k.VariantNames(), ", "))
}

// VariantNames returns the names of the kind's variants, default first.
func (k *Kind) VariantNames() []string {
	names := make([]string, len(k.Variants))
	for i, v := range k.Variants {
		names[i] = v.Name
	}
	return names
}
