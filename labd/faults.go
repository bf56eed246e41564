package labd

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/vm"
)

// A scheduled fault runs in a goroutine of its own until the lab stops or the fault is removed: it waits
// At, then fires (a link down, an impairment merged onto the NIC's, a VM paused with QMP stop), waits For,
// undoes it (link up, the NIC's impairment as it was, QMP cont), and does it again Every, if set. Each
// firing and each end is an event.

// runningFault is one scheduled fault and what stops it.
type runningFault struct {
	id     int
	f      lab.Fault
	cancel context.CancelFunc
	fired  int
}

// startLabFaults starts the lab file's faults once the VMs run.
func (d *Daemon) startLabFaults(ctx context.Context) {
	for _, f := range d.lab.Faults {
		d.addFault(ctx, f)
	}
}

// addFault starts one fault and returns its id.
func (d *Daemon) addFault(ctx context.Context, f lab.Fault) int {
	d.faultMu.Lock()
	defer d.faultMu.Unlock()
	d.faultSeq++
	fctx, cancel := context.WithCancel(ctx)
	rf := &runningFault{id: d.faultSeq, f: f, cancel: cancel}
	d.faults[rf.id] = rf
	d.faultWG.Add(1)
	go d.runFault(fctx, rf)
	d.events.Publish(api.Event{Kind: "fault", VM: f.VM, NIC: f.NIC, What: "scheduled", Detail: fmt.Sprintf("#%d %s", rf.id, f)})
	return rf.id
}

func (d *Daemon) runFault(ctx context.Context, rf *runningFault) {
	defer d.faultWG.Done()
	defer func() {
		d.faultMu.Lock()
		delete(d.faults, rf.id)
		d.faultMu.Unlock()
	}()
	f := rf.f
	wait := func(t time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(t):
			return true
		}
	}
	if !wait(f.At) {
		return
	}
	for {
		undo, err := d.fireFault(ctx, rf.id, f)
		detail := fmt.Sprintf("#%d %s", rf.id, f)
		if err != nil {
			d.log.Warn("fault failed", "fault", f.String(), "err", err)
			d.events.Publish(api.Event{Kind: "fault", VM: f.VM, NIC: f.NIC, What: "failed", Detail: detail + ": " + err.Error()})
		} else {
			d.faultMu.Lock()
			rf.fired++
			d.faultMu.Unlock()
			d.events.Publish(api.Event{Kind: "fault", VM: f.VM, NIC: f.NIC, What: "fired", Detail: detail})
			d.log.Info("fault fired", "fault", f.String())
		}
		ended := wait(f.For)
		if undo != nil {
			// Undone even when the fault is removed or the lab stops mid-way: nothing stays broken.
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			if err := undo(uctx); err != nil {
				d.log.Warn("fault: undo failed", "fault", f.String(), "err", err)
			}
			cancel()
			d.events.Publish(api.Event{Kind: "fault", VM: f.VM, NIC: f.NIC, What: "ended", Detail: detail})
		}
		if !ended || f.Every == 0 || !wait(f.Every-f.For) {
			return
		}
	}
}

// fireFault does the fault and returns what undoes it (nil when there is nothing to undo).
func (d *Daemon) fireFault(ctx context.Context, id int, f lab.Fault) (undo func(context.Context) error, err error) {
	switch f.Action {
	case "down":
		r, nic, err := d.vmNIC(f.VM, f.NIC)
		if err != nil {
			return nil, err
		}
		if p := d.nicPort(r.spec.Name, nic); p != nil && !p.LinkUp() {
			return nil, fmt.Errorf("link %s is down already (taken down by hand): this firing is skipped", f.Target())
		}
		if err := d.SetLink(ctx, f.VM, f.NIC, false); err != nil {
			return nil, err
		}
		return func(ctx context.Context) error { return d.SetLink(ctx, f.VM, f.NIC, true) }, nil
	case "impair":
		// The fault's words go on top of the NIC's own impairment while it lasts; `link set` during it
		// changes the NIC's own, which the undo leaves alone.
		r, nic, err := d.vmNIC(f.VM, f.NIC)
		if err != nil {
			return nil, err
		}
		p := d.nicPort(r.spec.Name, nic)
		if p == nil {
			return nil, fmt.Errorf("%s: no switch port", f.Target())
		}
		key := r.spec.Name + "/" + nic.Name
		change := func(words []string) {
			d.impMu.Lock()
			defer d.impMu.Unlock()
			ni := nicImpair{}
			if cur := d.impairs[key]; cur != nil {
				ni = nicImpair{out: cur.out, in: cur.in, runtime: cur.runtime}
				for k, v := range cur.faults {
					if ni.faults == nil {
						ni.faults = map[int][]string{}
					}
					ni.faults[k] = v
				}
			}
			if words != nil {
				if ni.faults == nil {
					ni.faults = map[int][]string{}
				}
				ni.faults[id] = words
			} else {
				delete(ni.faults, id)
			}
			d.installImpair(key, p, &ni)
		}
		change(strings.Fields(f.Impair))
		return func(context.Context) error { change(nil); return nil }, nil
	case "pause":
		r, ok := d.vms[f.VM]
		if !ok || !r.State().Up() {
			return nil, fmt.Errorf("vm %s is not running", f.VM)
		}
		if err := qmpRun(ctx, r, "stop"); err != nil {
			return nil, err
		}
		return func(ctx context.Context) error { return qmpRun(ctx, r, "cont") }, nil
	}
	return nil, fmt.Errorf("unknown fault action %q", f.Action)
}

// stopFaults ends every fault and waits until each has undone what it did (at teardown, before the VMs
// stop: a paused VM would not power off).
func (d *Daemon) stopFaults() {
	d.faultMu.Lock()
	for fid, rf := range d.faults {
		rf.cancel()
		delete(d.faults, fid)
	}
	d.faultMu.Unlock()
	d.faultWG.Wait()
}

// qmpRun runs one QMP command without arguments on a VM's qemu.
func qmpRun(ctx context.Context, r *vmRun, cmd string) error {
	q, err := vm.DialQMP(ctx, r.qmpPath())
	if err != nil {
		return fmt.Errorf("vm %s: qmp: %w", r.spec.Name, err)
	}
	defer q.Close()
	if _, err := q.Execute(ctx, cmd, nil); err != nil {
		return fmt.Errorf("vm %s: qmp %s: %w", r.spec.Name, cmd, err)
	}
	return nil
}

// Fault adds or clears scheduled faults (POST /v1/fault) and returns those scheduled after it.
func (d *Daemon) Fault(ctx context.Context, req api.FaultRequest) ([]api.FaultStatus, error) {
	var err error
	switch {
	case req.Clear:
		_, err = d.clearFaults(req.ID)
	default:
		_, err = d.addFaultWords(req.Add)
	}
	if err != nil {
		return nil, err
	}
	return d.Faults(ctx)
}

// addFaultWords schedules a fault given as `fault add` words.
func (d *Daemon) addFaultWords(words []string) (api.FaultStatus, error) {
	kv := map[string]string{}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			return api.FaultStatus{}, d.fail(api.ErrBadRequest, "fault word %q: want KEY=VALUE; keys: %s", w, lab.FaultKeys)
		}
		if _, dup := kv[k]; dup && k == "impair" {
			kv[k] += " " + v
			continue
		}
		kv[k] = v
	}
	f, err := lab.ParseFault(kv, d.lab)
	if err != nil {
		return api.FaultStatus{}, d.fail(api.ErrBadRequest, "%v", err)
	}
	id := d.addFault(d.runCtx, f)
	return api.FaultStatus{ID: id, Fault: f.String()}, nil
}

// Faults lists the scheduled faults (GET /v1/faults).
func (d *Daemon) Faults(ctx context.Context) ([]api.FaultStatus, error) {
	d.faultMu.Lock()
	defer d.faultMu.Unlock()
	out := []api.FaultStatus{}
	for _, rf := range d.faults {
		out = append(out, api.FaultStatus{ID: rf.id, Fault: rf.f.String(), Fired: rf.fired})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// clearFaults stops one fault (id > 0) or all (id 0); a fault in progress is undone first.
func (d *Daemon) clearFaults(id int) (int, error) {
	d.faultMu.Lock()
	defer d.faultMu.Unlock()
	n := 0
	for fid, rf := range d.faults {
		if id == 0 || fid == id {
			rf.cancel() // its goroutine undoes what it did
			delete(d.faults, fid)
			n++
		}
	}
	if id != 0 && n == 0 {
		return 0, d.fail(api.ErrBadRequest, "no scheduled fault #%d (see: cloonix-labd fault list)", id)
	}
	return n, nil
}
