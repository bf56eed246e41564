package api

import (
	"time"

	"github.com/cloonix-go/cloonix/impair"
)

// Version is the path prefix of every management endpoint.
const Version = "v1"

// LabInfo describes the running lab and its daemon.
type LabInfo struct {
	Name        string    `json:"name"`
	File        string    `json:"file"`
	Accel       string    `json:"accel"`
	AccelReason string    `json:"accel_reason,omitempty"`
	PID         int       `json:"pid"`
	StartedAt   time.Time `json:"started_at"`
	RuntimeDir  string    `json:"runtime_dir"`
	StateDir    string    `json:"state_dir"`
	// RemovedVMs are VMs no longer in the lab file whose qemu, left by an earlier daemon, this one stopped.
	RemovedVMs []string `json:"removed_vms,omitempty"`
}

// VMState is a VM's state, as the daemon keeps it and `status` shows it.
type VMState string

// The VM states.
const (
	StateCreated  VMState = "created"  // overlay and day-0 media are ready, qemu not started yet
	StateBooting  VMState = "booting"  // qemu runs; the guest has not printed its readiness line yet
	StateRunning  VMState = "running"  // the guest printed its kind's readiness line
	StateStopping VMState = "stopping" // down asked it to power off
	StateStopped  VMState = "stopped"  // qemu exited because we asked it to, or the guest powered off
	StateCrashed  VMState = "crashed"  // qemu exited without being asked to
)

// Up reports whether the VM's qemu runs (booting or running): the states in which its NICs can be dialled and
// its links set.
func (s VMState) Up() bool { return s == StateBooting || s == StateRunning }

// VMStatus is the state of one VM of the lab.
type VMStatus struct {
	Name      string  `json:"name"`
	Kind      string  `json:"kind"`
	State     VMState `json:"state"`
	PID       int     `json:"pid,omitempty"`
	MemoryMiB int     `json:"memory_mib"`
	CPUs      int     `json:"cpus"`
	Accel     string  `json:"accel,omitempty"`
	// AccelReason says why the VM runs under Accel (the probe's answer, or why the watchdog restarted it).
	AccelReason string   `json:"accel_reason,omitempty"`
	IP          string   `json:"ip,omitempty"`
	MACs        []string `json:"macs,omitempty"`
	Console     string   `json:"console,omitempty"`
	// ConsoleOffset is where the current boot's output starts in the VM's console log.
	ConsoleOffset int64 `json:"console_offset"`
	// Via is the NAT that reaches the VM's sshd (`cloonix-proxy LAB VIA VM`), "" when none does.
	Via string `json:"via,omitempty"`
	// Vsock is set when the VM has a virtio-vsock device: `cloonix-proxy LAB vsock VM` reaches its sshd over it
	// (the userspace back-end: a helper process next to its qemu).
	Vsock bool `json:"vsock,omitempty"`
	// SSHLegacy tells that the VM's ssh server needs SHA-1 key exchange and ssh-rsa (old IOS-XE).
	SSHLegacy bool `json:"ssh_legacy,omitempty"`
	// NATDrops counts the VM's new egress connections that a NAT dropped because the VM held its share of
	// flows or pending dials.
	NATDrops uint64 `json:"nat_drops,omitempty"`
}

// Lease is one DHCP lease handed out by a NAT of the lab.
type Lease struct {
	VM       string    `json:"vm"`
	MAC      string    `json:"mac"`
	IP       string    `json:"ip"`
	Hostname string    `json:"hostname,omitempty"`
	Expiry   time.Time `json:"expiry"`
	NAT      string    `json:"nat"`
}

// LabKeys are the lab's SSH key pairs (GET /v1/keys): what a remote client copies (0600) to log in to the
// VMs with the generated ssh_config and inventory. Only the daemon's own user can reach the API.
type LabKeys struct {
	Ed25519 string `json:"ed25519"` // private key, OpenSSH PEM
	RSA     string `json:"rsa"`     // private key, OpenSSH PEM
}

// Event is one change in a lab, as GET /v1/events streams it (one JSON object per line) and
// `cloonix-labd events` prints it.
type Event struct {
	Seq  uint64    `json:"seq"` // 1, 2, …: a gap means the reader lost events (it was too slow)
	Time time.Time `json:"time"`
	// Kind is what changed: "vm" (its state), "link" (up or down), "capture" (started or stopped), "lease" (a
	// DHCP lease given), "events" (the reader lost some).
	Kind   string `json:"kind"`
	VM     string `json:"vm,omitempty"`
	NIC    string `json:"nic,omitempty"`
	LAN    string `json:"lan,omitempty"`
	What   string `json:"what"`             // the new state or the action: "running", "down", "started"
	Detail string `json:"detail,omitempty"` // more, for people
}

// Subject is what the event is about: "r1", "r1:eth1", "lan12", or "" for the lab.
func (e Event) Subject() string {
	switch {
	case e.VM != "" && e.NIC != "":
		return e.VM + ":" + e.NIC
	case e.VM != "":
		return e.VM
	}
	return e.LAN
}

// String is the event as one line for people: time, kind, subject, what, detail.
func (e Event) String() string {
	s := e.Time.Local().Format("15:04:05.000") + " " + e.Kind
	if sub := e.Subject(); sub != "" {
		s += " " + sub
	}
	s += " " + e.What
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// LinkStatus is one VM NIC's link as GET /v1/links and `cloonix-labd link show` give it: its state, its
// impairments each way, and the switch port's counters (Rx: from the VM, Tx: to it).
type LinkStatus struct {
	VM      string `json:"vm"`
	NIC     string `json:"nic"`
	LAN     string `json:"lan"`
	MAC     string `json:"mac"`     // the NIC's MAC address: the source of what the VM sends on the LAN
	Up      bool   `json:"up"`      // the link as `link … up|down` set it
	Carrier bool   `json:"carrier"` // the VM's qemu is connected
	// Out impairs what the VM sends on the NIC, In what it receives, in `link … set` words ("" when none).
	Out      string        `json:"out,omitempty"`
	In       string        `json:"in,omitempty"`
	OutStats *impair.Stats `json:"out_stats,omitempty"`
	InStats  *impair.Stats `json:"in_stats,omitempty"`
	RxFrames uint64        `json:"rx_frames"`
	RxBytes  uint64        `json:"rx_bytes"`
	TxFrames uint64        `json:"tx_frames"`
	TxBytes  uint64        `json:"tx_bytes"`
	// Drops are frames for the VM the port's queue had no room for; DropsLinkDown those dropped while the
	// link was down or the VM not connected.
	Drops         uint64 `json:"drops"`
	DropsLinkDown uint64 `json:"drops_link_down"`
}

// ImpairRequest is the body of POST /v1/impair: set words on (merged with what is there) or clear one
// direction ("out", "in" or "both"; "" is "out") of a VM's NIC.
type ImpairRequest struct {
	VM    string   `json:"vm"`
	NIC   string   `json:"nic"`
	Dir   string   `json:"dir,omitempty"`
	Set   []string `json:"set,omitempty"`
	Clear bool     `json:"clear,omitempty"`
}

// FaultStatus is one scheduled fault: its number (for `fault clear N`), its words, how often it fired.
type FaultStatus struct {
	ID    int    `json:"id"`
	Fault string `json:"fault"`
	Fired int    `json:"fired"`
}

// FaultRequest is the body of POST /v1/fault: add a fault (its words: link=r1:eth1 action=down for=3s
// every=30s), or clear one (ID) or all (ID 0).
type FaultRequest struct {
	Add   []string `json:"add,omitempty"`
	Clear bool     `json:"clear,omitempty"`
	ID    int      `json:"id,omitempty"`
}
