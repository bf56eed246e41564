package labd

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
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

// nicImpair is what impairs one NIC each way: the lab file's and `link set`'s specs, the words of the
// impairment faults firing now on top of them, and the stages applying the result.
type nicImpair struct {
	out, in           impair.Spec
	runtime           bool             // out and in were set at run time: saved in impairs.json, restored after a restart
	faults            map[int][]string // fault id → its words ("dir=…" first, as SplitDir takes them)
	outStage, inStage *impair.Stage
}

// effective is what the NIC's stages apply: the specs with the firing faults' words merged on, in the
// order the faults were added.
func (ni *nicImpair) effective() (out, in impair.Spec) {
	e := nicImpair{out: ni.out, in: ni.in}
	ids := make([]int, 0, len(ni.faults))
	for id := range ni.faults {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		dir, words, _ := impair.SplitDir(ni.faults[id]) // checked by lab.ParseFault
		_ = e.merge(dir, words)                         // a fault that does not merge is skipped
	}
	return e.out, e.in
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
	d.impMu.Lock()
	defer d.impMu.Unlock()
	for _, name := range d.vmOrder {
		r := d.vms[name]
		for _, nic := range r.spec.NICs {
			ni := &nicImpair{}
			if l, ok := d.lab.LAN(nic.LAN); ok && l.Impair != "" {
				ni.out, _ = impair.Parse(ni.out, strings.Fields(l.Impair)) // checked by package lab
			}
			if words, ok := r.spec.Impair[nic.Name]; ok {
				dir, rest, _ := impair.SplitDir(strings.Fields(words))
				if err := ni.merge(dir, rest); err != nil {
					d.log.Warn("the lab file's impairments of a NIC and its LAN do not go together; the NIC's are left out",
						"vm", name, "nic", nic.Name, "err", err)
				}
			}
			if ni.out.Zero() && ni.in.Zero() {
				continue
			}
			if p := d.nicPort(name, nic); p != nil {
				d.installImpair(name+"/"+nic.Name, p, ni)
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

// installImpair makes ni the NIC's impairment and gives the port stages for its effective specs. A
// direction whose effective spec did not change keeps its stage (its queue and its random stream). The
// caller holds d.impMu.
func (d *Daemon) installImpair(key string, p *lan.Port, ni *nicImpair) {
	old := d.impairs[key]
	out, in := ni.effective()
	var oldOut, oldIn impair.Spec
	if old != nil {
		oldOut, oldIn = old.effective()
	}
	keep := func(oldStage *impair.Stage, was, now impair.Spec) bool {
		return oldStage != nil && was.String() == now.String() && !now.Zero()
	}
	var outStage, inStage *impair.Stage
	if old != nil && keep(old.outStage, oldOut, out) {
		outStage = old.outStage
	} else if !out.Zero() {
		outStage = impair.New(out, impair.Seed(d.seed, key+" out"), p.Forward)
	}
	if old != nil && keep(old.inStage, oldIn, in) {
		inStage = old.inStage
	} else if !in.Zero() {
		inStage = impair.New(in, impair.Seed(d.seed, key+" in"), p.WriteToPeer)
	}
	var from, to lan.Shaper
	if outStage != nil {
		from = outStage
	}
	if inStage != nil {
		to = inStage
	}
	p.SetShapers(from, to)
	if old != nil {
		if old.outStage != nil && old.outStage != outStage {
			old.outStage.Close()
		}
		if old.inStage != nil && old.inStage != inStage {
			old.inStage.Close()
		}
	}
	ni.outStage, ni.inStage = outStage, inStage
	d.impairs[key] = ni
}

// closeImpairs stops every stage (at teardown: no goroutine of theirs outlives the daemon).
func (d *Daemon) closeImpairs() {
	d.impMu.Lock()
	defer d.impMu.Unlock()
	for _, ni := range d.impairs {
		for _, st := range []*impair.Stage{ni.outStage, ni.inStage} {
			if st != nil {
				st.Close()
			}
		}
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
	ni := nicImpair{runtime: true}
	if cur := d.impairs[key]; cur != nil {
		ni.out, ni.in, ni.faults = cur.out, cur.in, cur.faults
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
	out, in := ni.effective()
	if err := d.saveImpairs(); err != nil {
		return api.LinkStatus{}, fmt.Errorf("vm %s: the impairment of %s is %s, but a daemon restart will not know: %w", req.VM, nic.Name, what, err)
	}
	d.log.Info("impairment "+what, "vm", req.VM, "nic", nic.Name, "dir", dir, "out", out.String(), "in", in.String())
	d.events.Publish(api.Event{Kind: "impairment", VM: req.VM, NIC: nic.Name, LAN: nic.LAN, What: what,
		Detail: impairDetail(out, in)})
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
	ls := api.LinkStatus{VM: vmName, NIC: nic.Name, LAN: nic.LAN, MAC: nic.MAC.String(), Up: p.LinkUp(), Carrier: p.Carrier(),
		RxFrames: st.RxFrames, RxBytes: st.RxBytes, TxFrames: st.TxFrames, TxBytes: st.TxBytes,
		Drops: st.Drops, DropsLinkDown: st.DropsLinkDown}
	if ni := d.impairs[vmName+"/"+nic.Name]; ni != nil {
		out, in := ni.effective()
		ls.Out, ls.In = out.String(), in.String()
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
		if ni.runtime { // set or cleared at run time; what the lab file gives comes from the lab file
			m[key] = savedImpair{ni.out.String(), ni.in.String()}
		}
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
		ni := nicImpair{runtime: true}
		var errOut, errIn error
		ni.out, errOut = impair.Parse(impair.Spec{}, strings.Fields(saved.Out))
		ni.in, errIn = impair.Parse(impair.Spec{}, strings.Fields(saved.In))
		if err := errors.Join(errOut, errIn); err != nil {
			d.log.Warn("a saved impairment does not parse; the lab file's applies", "vm", vmName, "nic", nicName, "err", err)
			continue
		}
		d.installImpair(key, p, &ni)
		d.log.Info("impairment kept across the restart", "vm", vmName, "nic", nicName, "out", saved.Out, "in", saved.In)
	}
	return d.saveImpairs()
}
