package labd

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/atomicfile"
	"github.com/cloonix-go/cloonix/impair"
	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/lan"
)

// Impairments live on the switch ports of VM NICs: "out" is a port's fromPeer shaper (what the VM sends),
// "in" its toPeer shaper (what it receives). Each stage draws from its own stream, derived from the lab's
// seed and its place, so the same seed and the same traffic give the same drops; setting a direction again
// starts its stream again.

// nicImpair is what impairs one NIC each way, and the stages that apply it.
type nicImpair struct {
	out, in           impair.Spec
	outStage, inStage *impair.Stage
}

// labSeed is the lab file's seed, or one drawn at random when it gives none.
func labSeed(l *lab.Lab) uint64 {
	if l.Seed != 0 {
		return l.Seed
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// applyLabImpairs sets the lab file's impairments (each LAN's, then each NIC's over it) once the VMs'
// ports are attached.
func (d *Daemon) applyLabImpairs() {
	for _, name := range d.vmOrder {
		r := d.vms[name]
		for _, nic := range r.spec.NICs {
			var ni nicImpair
			if l, ok := d.lab.LAN(nic.LAN); ok && l.Impair != "" {
				ni.out, _ = impair.Parse(ni.out, strings.Fields(l.Impair)) // checked by package lab
			}
			if words, ok := r.spec.Impair[nic.Name]; ok {
				dir, rest, _ := impair.SplitDir(strings.Fields(words))
				ni.merge(dir, rest)
			}
			if ni.out.Zero() && ni.in.Zero() {
				continue
			}
			if p := d.nicPort(name, nic); p != nil {
				d.installImpair(name+"/"+nic.Name, p, &ni)
				d.log.Info("impairment from the lab file", "vm", name, "nic", nic.Name, "out", ni.out.String(), "in", ni.in.String())
			}
		}
	}
}

// merge applies words to the named direction(s).
func (ni *nicImpair) merge(dir string, words []string) error {
	var err error
	if dir == impair.Out || dir == impair.Both {
		if ni.out, err = impair.Parse(ni.out, words); err != nil {
			return err
		}
	}
	if dir == impair.In || dir == impair.Both {
		if ni.in, err = impair.Parse(ni.in, words); err != nil {
			return err
		}
	}
	return nil
}

// nicPort is the switch port of a VM's NIC, nil when its LAN has none.
func (d *Daemon) nicPort(vmName string, nic lab.NIC) *lan.Port {
	if sw := d.net.switches[nic.LAN]; sw != nil {
		return sw.Port(vmName + "/" + nic.Name)
	}
	return nil
}

// installImpair replaces the stages of a port with new ones for ni's specs. The caller holds d.impMu, or is
// the start.
func (d *Daemon) installImpair(key string, p *lan.Port, ni *nicImpair) {
	old := d.impairs[key]
	ni.outStage, ni.inStage = nil, nil
	var from, to lan.Shaper
	if !ni.out.Zero() {
		ni.outStage = impair.New(ni.out, impair.Seed(d.seed, key+" out"), p.Forward)
		from = ni.outStage
	}
	if !ni.in.Zero() {
		ni.inStage = impair.New(ni.in, impair.Seed(d.seed, key+" in"), p.WriteToPeer)
		to = ni.inStage
	}
	p.SetShapers(from, to)
	if old != nil {
		for _, s := range []*impair.Stage{old.outStage, old.inStage} {
			if s != nil {
				s.Close()
			}
		}
	}
	if ni.out.Zero() && ni.in.Zero() {
		delete(d.impairs, key)
	} else {
		d.impairs[key] = ni
	}
}

// Impair sets or clears impairments on a VM's NIC (POST /v1/impair): set words merge with what the
// direction has, clear empties it.
func (d *Daemon) Impair(ctx context.Context, req api.ImpairRequest) (api.LinkStatus, error) {
	r, nic, err := d.vmNIC(req.VM, req.NIC)
	if err != nil {
		return api.LinkStatus{}, err
	}
	dir := req.Dir
	if dir == "" {
		dir = impair.Out
	}
	if dir != impair.Out && dir != impair.In && dir != impair.Both {
		return api.LinkStatus{}, d.fail(api.ErrBadRequest, "impair %s %s: direction %q: use out (what the VM sends), in (what it receives) or both", req.VM, req.NIC, dir)
	}
	p := d.nicPort(r.spec.Name, nic)
	if p == nil {
		return api.LinkStatus{}, d.fail(api.ErrNotRunning, "impair %s %s: its switch port is gone", req.VM, req.NIC)
	}
	key := r.spec.Name + "/" + nic.Name
	d.impMu.Lock()
	defer d.impMu.Unlock()
	var ni nicImpair
	if cur := d.impairs[key]; cur != nil {
		ni.out, ni.in = cur.out, cur.in
	}
	what := "set"
	if req.Clear {
		what = "cleared"
		if dir == impair.Out || dir == impair.Both {
			ni.out = impair.Spec{}
		}
		if dir == impair.In || dir == impair.Both {
			ni.in = impair.Spec{}
		}
	} else if err := ni.merge(dir, req.Set); err != nil {
		return api.LinkStatus{}, d.fail(api.ErrBadRequest, "%s %s: %v", req.VM, req.NIC, err)
	}
	d.installImpair(key, p, &ni)
	if err := d.saveImpairs(); err != nil {
		return api.LinkStatus{}, fmt.Errorf("vm %s: the impairment of %s is %s, but a daemon restart will not know: %w", req.VM, nic.Name, what, err)
	}
	d.log.Info("impairment "+what, "vm", req.VM, "nic", nic.Name, "dir", dir, "out", ni.out.String(), "in", ni.in.String())
	d.events.Publish(api.Event{Kind: "impairment", VM: req.VM, NIC: nic.Name, LAN: nic.LAN, What: what,
		Detail: impairDetail(ni.out, ni.in)})
	return d.linkStatus(r.spec.Name, nic, p), nil
}

// impairDetail says what impairs a NIC now, for events and logs.
func impairDetail(out, in impair.Spec) string {
	var parts []string
	if !out.Zero() {
		parts = append(parts, "out: "+out.String())
	}
	if !in.Zero() {
		parts = append(parts, "in: "+in.String())
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// Links lists every VM NIC's link (GET /v1/links).
func (d *Daemon) Links(ctx context.Context) ([]api.LinkStatus, error) {
	d.impMu.Lock()
	defer d.impMu.Unlock()
	var out []api.LinkStatus
	for _, name := range d.vmOrder {
		for _, nic := range d.vms[name].spec.NICs {
			if p := d.nicPort(name, nic); p != nil {
				out = append(out, d.linkStatus(name, nic, p))
			}
		}
	}
	return out, nil
}

// linkStatus describes one NIC's port. The caller holds d.impMu.
func (d *Daemon) linkStatus(vmName string, nic lab.NIC, p *lan.Port) api.LinkStatus {
	st := p.Stats()
	ls := api.LinkStatus{VM: vmName, NIC: nic.Name, LAN: nic.LAN, Up: p.LinkUp(), Carrier: p.Carrier(),
		RxFrames: st.RxFrames, RxBytes: st.RxBytes, TxFrames: st.TxFrames, TxBytes: st.TxBytes,
		Drops: st.Drops, DropsLinkDown: st.DropsLinkDown}
	if ni := d.impairs[vmName+"/"+nic.Name]; ni != nil {
		ls.Out, ls.In = ni.out.String(), ni.in.String()
		if ni.outStage != nil {
			s := ni.outStage.Stats()
			ls.OutStats = &s
		}
		if ni.inStage != nil {
			s := ni.inStage.Stats()
			ls.InStats = &s
		}
	}
	return ls
}

// impairsSaved is the content of impairs.json: "vm/nic" → the words of each direction, as set at run time.
type impairsSaved map[string]savedImpair

type savedImpair struct {
	Out string `json:"out,omitempty"`
	In  string `json:"in,omitempty"`
}

// saveImpairs writes the current impairments. The caller holds d.impMu.
func (d *Daemon) saveImpairs() error {
	m := impairsSaved{}
	for key, ni := range d.impairs {
		m[key] = savedImpair{ni.out.String(), ni.in.String()}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(d.dirs.Impairs(), append(b, '\n'), 0o600)
}

// restoreImpairs sets again, on the ports of adopted VMs, the impairments a previous daemon had set at run
// time; a VM started afresh keeps the lab file's. It runs after applyLabImpairs.
func (d *Daemon) restoreImpairs() error {
	b, err := os.ReadFile(d.dirs.Impairs())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("impairments: %w", err)
	}
	var m impairsSaved
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("impairment state %s is damaged (%v); delete it (the lab file's impairments then apply)", d.dirs.Impairs(), err)
	}
	d.impMu.Lock()
	defer d.impMu.Unlock()
	for key, saved := range m {
		vmName, nicName, _ := strings.Cut(key, "/")
		r, nic, err := d.vmNIC(vmName, nicName)
		if err != nil {
			continue // no longer in the lab file
		}
		r.mu.Lock()
		adopted := r.adopted
		r.mu.Unlock()
		p := d.nicPort(vmName, nic)
		if !adopted || p == nil {
			continue
		}
		var ni nicImpair
		ni.out, _ = impair.Parse(impair.Spec{}, strings.Fields(saved.Out))
		ni.in, _ = impair.Parse(impair.Spec{}, strings.Fields(saved.In))
		d.installImpair(key, p, &ni)
		d.log.Info("impairment kept across the restart", "vm", vmName, "nic", nicName, "out", saved.Out, "in", saved.In)
	}
	return d.saveImpairs()
}
