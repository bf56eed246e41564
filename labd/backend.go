package labd

import (
	"context"
	"net"
	"os"
	"sort"

	"github.com/cloonix-go/cloonix/api"
)

// The daemon is the API's backend.
var _ api.Backend = (*Daemon)(nil)

// Lab implements api.Backend.
func (d *Daemon) Lab(ctx context.Context) (api.LabInfo, error) {
	return api.LabInfo{
		Name:        d.lab.Name,
		File:        d.lab.File,
		Accel:       d.accel.Name,
		AccelReason: d.accel.Reason,
		PID:         os.Getpid(),
		StartedAt:   d.started,
		RuntimeDir:  d.dirs.Runtime,
		StateDir:    d.dirs.State,
	}, nil
}

// VMs implements api.Backend.
func (d *Daemon) VMs(ctx context.Context) ([]api.VMStatus, error) {
	leases := map[string]string{}
	if d.net != nil {
		for _, l := range d.net.leases() {
			leases[l.Lease.MAC.String()] = l.Lease.IP.String()
		}
	}
	out := make([]api.VMStatus, 0, len(d.vmOrder))
	for _, name := range d.vmOrder {
		r := d.vms[name]
		r.mu.Lock()
		st := api.VMStatus{
			Name:      name,
			Kind:      r.spec.Kind.Name,
			State:     r.state,
			MemoryMiB: r.spec.MemoryMiB,
			CPUs:      r.spec.CPUs,
			Accel:     d.accel.Name,
			Console:   r.serialPath(),
		}
		if r.proc != nil {
			st.PID = r.proc.Pid
		}
		r.mu.Unlock()
		for _, nic := range r.spec.NICs {
			st.MACs = append(st.MACs, nic.MAC.String())
			if ip, ok := leases[nic.MAC.String()]; ok && st.IP == "" {
				st.IP = ip
			}
		}
		out = append(out, st)
	}
	return out, nil
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

// Dial implements api.Backend: a TCP connection into a VM through the named NAT entity. The NAT's errors carry
// their HTTP status (netstack.DialError), so the API answers them as they are.
func (d *Daemon) Dial(ctx context.Context, entity, host string, port uint16) (net.Conn, error) {
	nat, ok := d.net.nats[entity]
	if !ok {
		known := make([]string, 0, len(d.net.nats))
		for n := range d.net.nats {
			known = append(known, n)
		}
		sort.Strings(known)
		return nil, api.UnknownEntity(d.lab.Name, entity, known)
	}
	return nat.DialVM(ctx, host, port)
}

// Down implements api.Backend: the daemon answers, then takes the lab down and exits.
func (d *Daemon) Down(ctx context.Context) error {
	d.requestDown()
	return nil
}
