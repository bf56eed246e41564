package labd

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/vm"
)

// The daemon is the API's backend.
var _ api.Backend = (*Daemon)(nil)

// Lab implements api.Backend.
func (d *Daemon) Lab(ctx context.Context) (api.LabInfo, error) {
	accel := d.currentAccel()
	return api.LabInfo{
		Name:        d.lab.Name,
		File:        d.lab.File,
		Accel:       accel.Name,
		AccelReason: accel.Reason,
		PID:         os.Getpid(),
		StartedAt:   d.started,
		RuntimeDir:  d.dirs.Runtime,
		StateDir:    d.dirs.State,
		RemovedVMs:  d.removed,
	}, nil
}

// VMs implements api.Backend.
func (d *Daemon) VMs(ctx context.Context) ([]api.VMStatus, error) {
	leases := map[string]string{}
	drops := map[string]uint64{} // by guest address, from every NAT
	if d.net != nil {
		for _, l := range d.net.leases() {
			leases[l.Lease.MAC.String()] = l.Lease.IP.String()
		}
		for _, nat := range d.net.nats {
			for ip, n := range nat.GuestDrops() {
				drops[ip.String()] += n
			}
		}
	}
	out := make([]api.VMStatus, 0, len(d.vmOrder))
	for _, name := range d.vmOrder {
		r := d.vms[name]
		r.mu.Lock()
		st := api.VMStatus{
			Name:          name,
			Kind:          r.spec.Kind.Name,
			State:         r.state,
			MemoryMiB:     r.spec.MemoryMiB,
			CPUs:          r.spec.CPUs,
			Accel:         r.accel.Name,
			AccelReason:   r.accel.Reason,
			Console:       r.serialPath(),
			ConsoleOffset: r.logOffset,
			SSHLegacy:     r.spec.SSHLegacy,
			Vsock:         r.vsockOn(),
		}
		if n, ok := d.lab.ManagementNAT(name); ok {
			st.Via = n.Name
		}
		if r.proc != nil && r.proc.Alive() { // a stopped or crashed VM's pid names nothing
			st.PID = r.proc.Pid
		}
		r.mu.Unlock()
		for _, nic := range r.spec.NICs {
			st.MACs = append(st.MACs, nic.MAC.String())
			if ip, ok := leases[nic.MAC.String()]; ok {
				if st.IP == "" {
					st.IP = ip
				}
				st.NATDrops += drops[ip]
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// Keys implements api.KeyReader: the lab's private keys, for a remote client's generated ssh_config.
func (d *Daemon) Keys(ctx context.Context) (api.LabKeys, error) {
	ed, err := os.ReadFile(d.keys.Ed25519Path)
	if err != nil {
		return api.LabKeys{}, fmt.Errorf("lab keys: %w", err)
	}
	rsa, err := os.ReadFile(d.keys.RSAPath)
	if err != nil {
		return api.LabKeys{}, fmt.Errorf("lab keys: %w", err)
	}
	return api.LabKeys{Ed25519: string(ed), RSA: string(rsa)}, nil
}

// Leases implements api.Backend.
func (d *Daemon) Leases(ctx context.Context) ([]api.Lease, error) {
	if d.net == nil {
		return nil, nil
	}
	var out []api.Lease
	for _, l := range d.net.leases() {
		out = append(out, api.Lease{
			NAT:      l.NAT,
			VM:       l.Lease.Hostname,
			MAC:      l.Lease.MAC.String(),
			IP:       l.Lease.IP.String(),
			Hostname: l.Lease.Hostname,
			Expiry:   l.Lease.Expiry,
		})
	}
	return out, nil
}

// Dial implements api.Backend: a TCP connection into a VM through the named NAT entity (network.dial).
func (d *Daemon) Dial(ctx context.Context, entity, host string, port uint16) (net.Conn, error) {
	if entity == labpath.VsockEntity {
		return d.dialVsock(ctx, host, port)
	}
	return d.net.dial(ctx, entity, host, port)
}

// fail is a failure of kind (an api error kind) for the user: one line that names the lab.
func (d *Daemon) fail(kind error, format string, a ...any) error {
	return api.Errorf(kind, "lab %s: "+format, append([]any{d.lab.Name}, a...)...)
}

// vmNIC finds a VM and one of its NICs, or says which names exist.
func (d *Daemon) vmNIC(vmName, nic string) (*vmRun, lab.NIC, error) {
	r, ok := d.vms[vmName]
	if !ok {
		return nil, lab.NIC{}, d.fail(api.ErrUnknownVM, "no VM named %q (VMs: %s)", vmName, nameList(d.vmOrder))
	}
	n, ok := r.spec.NIC(nic)
	if !ok {
		return nil, lab.NIC{}, api.Errorf(api.ErrBadRequest, "vm %s has no NIC %q (NICs: %s)", vmName, nic, strings.Join(nicNames(r), ", "))
	}
	return r, *n, nil
}

// nameList lists names for a sentence, "none" when there are none.
func nameList(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

// Down implements api.Backend: the daemon answers, then takes the lab down and exits.
func (d *Daemon) Down(ctx context.Context) error {
	d.requestDown()
	return nil
}

// The daemon changes link state for the API (POST /v1/link).
var _ api.LinkSetter = (*Daemon)(nil)

// SetLink implements api.LinkSetter. Down means both: the LAN port drops every frame to and from the NIC, and
// the guest sees its carrier go (QMP set_link), so routing protocols notice at once rather than by timers.
func (d *Daemon) SetLink(ctx context.Context, vmName, nic string, up bool) error {
	r, n, err := d.vmNIC(vmName, nic)
	if err != nil {
		return err
	}
	if st := r.State(); !st.Up() {
		return d.fail(api.ErrNotRunning, "%s is not running (state: %s); start it with: cloonix-labd --lab %s vm start %s", vmName, st, d.lab.Name, vmName)
	}
	if sw := d.net.switches[n.LAN]; sw != nil {
		if p := sw.Port(vmName + "/" + n.Name); p != nil {
			p.SetLinkUp(up)
		}
	}
	q, err := vm.DialQMP(ctx, r.qmpPath())
	if err != nil {
		return fmt.Errorf("vm %s: qmp: %w", vmName, err)
	}
	defer q.Close()
	if err := q.SetLink(ctx, n.Name, up); err != nil {
		return fmt.Errorf("vm %s: set_link %s: %w", vmName, n.Name, err)
	}
	if err := d.recordLink(vmName, n.Name, up); err != nil {
		return fmt.Errorf("vm %s: link %s is %s, but a daemon restart will not know: %w", vmName, n.Name, map[bool]string{true: "up", false: "down"}[up], err)
	}
	d.log.Info("link", "vm", vmName, "nic", n.Name, "up", up)
	d.events.Publish(api.Event{Kind: "link", VM: vmName, NIC: n.Name, LAN: n.LAN, What: map[bool]string{true: "up", false: "down"}[up]})
	return nil
}
