package labd

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"

	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/lan"
	"github.com/cloonix-go/cloonix/netstack"
	"github.com/cloonix-go/cloonix/netstack/dhcp"
)

// network owns the lab's LAN switches and NAT entities.
type network struct {
	d        *Daemon
	switches map[string]*lan.Switch
	nats     map[string]*netstack.NAT
	ctx      context.Context // ends when the network closes; every port goroutine runs under it
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

func newNetwork(ctx context.Context, d *Daemon) (*network, error) {
	ctx, cancel := context.WithCancel(ctx)
	n := &network{
		d:        d,
		switches: map[string]*lan.Switch{},
		nats:     map[string]*netstack.NAT{},
		ctx:      ctx,
		cancel:   cancel,
	}
	for _, l := range d.lab.LANs {
		n.switches[l.Name] = lan.New(lan.Config{Name: l.Name, MTU: l.MTU}, d.log.With("lan", l.Name))
	}
	for _, cfg := range d.lab.NATs {
		sw, ok := n.switches[cfg.LAN]
		if !ok {
			n.close()
			return nil, fmt.Errorf("nat %s: lan %s does not exist", cfg.Name, cfg.LAN)
		}
		table := &natVMTable{d: d, lan: cfg.LAN}
		nat, err := netstack.New(netstack.Config{
			Name:              cfg.Name,
			Lab:               d.lab.Name,
			Subnet:            cfg.Subnet,
			Gateway:           cfg.Gateway,
			MTU:               lanMTU(d.lab, cfg.LAN),
			AllowHostLoopback: cfg.AllowHostLoopback,
			DNSUpstream:       cfg.DNS,
			StateDir:          d.dirs.State,
			Reservations:      reservations(d.lab, cfg),
			Log:               d.log.With("nat", cfg.Name),
		}, table)
		if err != nil {
			n.close()
			return nil, fmt.Errorf("nat %s: %w", cfg.Name, err)
		}
		port := sw.Attach("nat:"+cfg.Name, nat)
		nat.SetPort(port)
		if err := nat.Start(ctx); err != nil {
			_ = nat.Close()
			n.close()
			return nil, fmt.Errorf("nat %s: %w", cfg.Name, err)
		}
		n.nats[cfg.Name] = nat
	}
	return n, nil
}

// lanMTU is the MTU of the named LAN.
func lanMTU(l *lab.Lab, name string) int {
	for _, x := range l.LANs {
		if x.Name == name {
			return x.MTU
		}
	}
	return 0
}

// reservations gives every VM NIC on the NAT's LAN a fixed address, so a VM gets the same address on every
// run. Addresses come from a hash of the MAC; VMs are taken in name order so collisions resolve the same way
// every time.
func reservations(l *lab.Lab, cfg lab.NAT) []dhcp.Reservation {
	names := make([]string, 0, len(l.VMs))
	byName := map[string]*lab.VM{}
	for i := range l.VMs {
		names = append(names, l.VMs[i].Name)
		byName[l.VMs[i].Name] = &l.VMs[i]
	}
	sort.Strings(names)
	// The gateway and the host alias after it are the NAT's own; no VM may get them.
	taken := map[netip.Addr]bool{cfg.Gateway: true, cfg.Gateway.Next(): true}
	var out []dhcp.Reservation
	for _, name := range names {
		for _, nic := range byName[name].NICs {
			if nic.LAN != cfg.LAN {
				continue
			}
			ip := dhcp.DeterministicIP(cfg.Subnet, nic.MAC, func(a netip.Addr) bool { return taken[a] })
			if !ip.IsValid() {
				continue
			}
			taken[ip] = true
			out = append(out, dhcp.Reservation{MAC: nic.MAC, IP: ip, Hostname: name})
		}
	}
	return out
}

// connectVM attaches each of the VM's NICs to its LAN's switch; the port reconnects when qemu restarts.
func (n *network) connectVM(r *vmRun) {
	for _, nic := range r.spec.NICs {
		sw := n.switches[nic.LAN]
		if sw == nil {
			continue
		}
		name := r.spec.Name + "/" + nic.Name
		sock := r.nicSocketPath(nic)
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			_ = lan.RunQemuPort(n.ctx, sw, name, sock, n.d.log.With("port", name))
		}()
	}
}

// close stops the ports, the NATs and the switches.
func (n *network) close() {
	n.cancel()
	for _, nat := range n.nats {
		_ = nat.Close()
	}
	n.wg.Wait()
	for _, sw := range n.switches {
		sw.Close()
	}
}

// leases lists every NAT's leases.
func (n *network) leases() []leaseInfo {
	var out []leaseInfo
	for name, nat := range n.nats {
		for _, l := range nat.Leases() {
			out = append(out, leaseInfo{NAT: name, Lease: l})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Lease.IP.Less(out[j].Lease.IP) })
	return out
}

type leaseInfo struct {
	NAT   string
	Lease dhcp.Lease
}

// natVMTable answers the NAT's questions about VMs: which MACs a VM has on the NAT's LAN and whether it runs.
type natVMTable struct {
	d   *Daemon
	lan string
}

// LookupVM implements netstack.VMTable.
func (t *natVMTable) LookupVM(name string) (netstack.VMInfo, error) {
	r, ok := t.d.vms[labpath.VMOfHost(name, t.d.lab.Name)]
	if !ok {
		return netstack.VMInfo{}, fmt.Errorf("%w: %s (known: %s)", netstack.ErrUnknownVM, name, strings.Join(t.d.vmOrder, ", "))
	}
	info := netstack.VMInfo{Name: r.spec.Name}
	for _, nic := range r.spec.NICs {
		if nic.LAN == t.lan {
			info.MACs = append(info.MACs, net.HardwareAddr(nic.MAC))
		}
	}
	st := r.State()
	info.State = string(st)
	info.Running = st.Up()
	return info, nil
}
