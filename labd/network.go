package labd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/capture"
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
	captures map[string]*capture.LAN // the capture side of each switch: flight recorder and live captures
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
		captures: map[string]*capture.LAN{},
		nats:     map[string]*netstack.NAT{},
		ctx:      ctx,
		cancel:   cancel,
	}
	for _, l := range d.lab.LANs {
		sw := lan.New(lan.Config{Name: l.Name, MTU: l.MTU}, d.log) // the switch adds lan itself
		n.switches[l.Name] = sw
		n.captures[l.Name] = capture.NewLAN(l.Name, sw, l.RecorderKiB<<10)
	}
	for _, cfg := range d.lab.NATs {
		sw, ok := n.switches[cfg.LAN]
		l, _ := d.lab.LAN(cfg.LAN)
		if !ok || l == nil {
			n.close()
			return nil, fmt.Errorf("nat %s: lan %s does not exist", cfg.Name, cfg.LAN)
		}
		nat, err := netstack.New(netstack.Config{
			Name:              cfg.Name,
			Lab:               d.lab.Name,
			Subnet:            cfg.Subnet,
			Gateway:           cfg.Gateway,
			MTU:               l.MTU,
			AllowHostLoopback: cfg.AllowHostLoopback,
			DNSUpstream:       cfg.DNS,
			StateDir:          d.dirs.State,
			Reservations:      reservations(d.lab, cfg),
			Log:               d.opts.Log, // the NAT adds lab and nat itself
			OnLease: func(le dhcp.Lease) {
				d.events.Publish(api.Event{Kind: "lease", VM: le.Hostname, LAN: cfg.LAN, What: "bound",
					Detail: fmt.Sprintf("%s for %s from nat %s", le.IP, le.MAC, cfg.Name)})
			},
		})
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
		port := lan.AttachQemuPort(sw, name) // attached now, so its link can be set before it connects
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			_ = port.Run(n.ctx, sock, n.d.log.With("port", name))
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

// dial opens TCP to port on the VM named host through the NAT entity: the VM's NIC on the NAT's LAN, its
// lease, then the NAT's DialTCP. Every failure is one line for the user, of an api error kind.
func (n *network) dial(ctx context.Context, entity, host string, port uint16) (net.Conn, error) {
	d := n.d
	nat, ok := n.nats[entity]
	cfg, _ := d.lab.NAT(entity)
	if !ok || cfg == nil {
		known := slices.Sorted(maps.Keys(n.nats))
		for _, r := range d.vms {
			if r.vsockOn() {
				known = append(known, labpath.VsockEntity)
				break
			}
		}
		return nil, d.fail(api.ErrUnknownEntity, "no entity named %q (known: %s)", entity, nameList(known))
	}
	r, ok := d.vms[labpath.VMOfHost(host, d.lab.Name)]
	if !ok {
		return nil, d.fail(api.ErrUnknownVM, "unknown VM: %s (known: %s)", host, strings.Join(d.vmOrder, ", "))
	}
	st := r.State()
	if !st.Up() {
		return nil, d.fail(api.ErrNotRunning, "%s is not running (state: %s)", host, st)
	}
	var ip netip.Addr
	onLAN := false
	for _, nic := range r.spec.NICs {
		if nic.LAN != cfg.LAN {
			continue
		}
		onLAN = true
		if a, ok := nat.LeaseFor(net.HardwareAddr(nic.MAC)); ok {
			ip = a
			break
		}
	}
	switch {
	case !onLAN:
		return nil, d.fail(api.ErrUnknownVM, "%s has no NIC on the LAN of %s", host, entity)
	case !ip.IsValid():
		return nil, d.fail(api.ErrNoLease, "%s has no DHCP lease yet (state: %s)", host, st)
	}
	c, err := nat.DialTCP(ctx, netip.AddrPortFrom(ip, port))
	var oe *net.OpError
	switch {
	case err == nil:
		return c, nil
	case errors.Is(err, syscall.ECONNREFUSED):
		return nil, d.fail(api.ErrRefused, "%s (%s) refused a connection to port %d", host, ip, port)
	case errors.Is(err, syscall.ETIMEDOUT):
		return nil, d.fail(api.ErrTimeout, "%s (%s) did not answer on port %d in time", host, ip, port)
	case errors.Is(err, syscall.EHOSTUNREACH):
		return nil, d.fail(api.ErrTimeout, "%s (%s) is not reachable on the LAN (no ARP reply)", host, ip)
	case errors.Is(err, netstack.ErrBusy):
		return nil, d.fail(api.ErrTimeout, "%s:%d: too many connections being opened, timed out waiting", host, port)
	case errors.Is(err, context.Canceled):
		return nil, fmt.Errorf("lab %s: dial %s:%d: %w", d.lab.Name, host, port, context.Canceled)
	case errors.Is(err, net.ErrClosed):
		return nil, d.fail(net.ErrClosed, "NAT %s is closed", entity)
	case errors.As(err, &oe):
		err = oe.Err
	}
	return nil, d.fail(api.ErrTimeout, "%s (%s) port %d: connect failed: %v", host, ip, port, err)
}
