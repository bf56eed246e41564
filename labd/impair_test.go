package labd

import (
	"context"
	"log/slog"
	"testing"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/events"
	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/lan"
)

// impairDaemon is a daemon with one VM whose first NIC, on lan12, the lab file gives loss=10%, with its
// switch port but no qemu.
func impairDaemon(t *testing.T, state string, adopted bool) *Daemon {
	l := &lab.Lab{Name: "nemo", LANs: []lab.LAN{{Name: "lan12", MTU: 1500}}}
	v := testVM(t, "linux", "vm1", "lan12")
	v.Impair = map[string]string{v.NICs[0].Name: "loss=10%"}
	l.VMs = []lab.VM{v}
	d := &Daemon{lab: l, log: slog.New(slog.DiscardHandler), vms: map[string]*vmRun{}, events: events.New(),
		impairs: map[string]*nicImpair{}, faults: map[int]*runningFault{}, runCtx: context.Background(),
		dirs: labpath.Dirs{State: state}}
	r := newVMRun(d, &l.VMs[0])
	r.adopted = adopted
	d.vms["vm1"] = r
	d.vmOrder = []string{"vm1"}
	sw := lan.New(lan.Config{Name: "lan12"}, nil)
	t.Cleanup(sw.Close)
	sw.Attach("vm1/"+v.NICs[0].Name, nil)
	d.net = &network{d: d, switches: map[string]*lan.Switch{"lan12": sw}}
	t.Cleanup(d.closeImpairs)
	return d
}

// started is impairDaemon once its start has set the lab file's impairments and restored the saved ones.
func started(t *testing.T, state string, adopted, labImpair bool) *Daemon {
	t.Helper()
	d := impairDaemon(t, state, adopted)
	if !labImpair {
		d.lab.VMs[0].Impair = nil
	}
	d.applyLabImpairs()
	if err := d.restoreImpairs(); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *Daemon) effectiveOut(t *testing.T) string {
	t.Helper()
	ni := d.impairs["vm1/"+d.lab.VMs[0].NICs[0].Name]
	if ni == nil {
		return ""
	}
	out, _ := ni.effective()
	return out.String()
}

// TestClearSurvivesRestart: an impairment cleared at run time stays cleared when a new daemon adopts the VM,
// though the lab file sets one; a VM started afresh gets the lab file's again.
func TestClearSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	d := started(t, dir, false, true)
	nic := d.lab.VMs[0].NICs[0].Name
	if got := d.effectiveOut(t); got != "loss=10%" {
		t.Fatalf("the lab file's impairment: %q", got)
	}
	if _, err := d.Impair(context.Background(), api.ImpairRequest{VM: "vm1", NIC: nic, Clear: true}); err != nil {
		t.Fatal(err)
	}
	if got := started(t, dir, true, true).effectiveOut(t); got != "" {
		t.Errorf("after a restart that adopts the VM, the cleared NIC has out=%q again", got)
	}
	if got := started(t, dir, false, true).effectiveOut(t); got != "loss=10%" {
		t.Errorf("a VM started afresh has out=%q; want the lab file's loss=10%%", got)
	}
}

// TestFaultUndoKeepsLinkSet: a link set while an impairment fault runs is still there once the fault ends,
// and what is saved is the NIC's own impairment, never the fault's.
func TestFaultUndoKeepsLinkSet(t *testing.T) {
	d := impairDaemon(t, t.TempDir(), false)
	d.lab.VMs[0].Impair = nil
	nic := d.lab.VMs[0].NICs[0].Name
	undo, err := d.fireFault(context.Background(), 1, lab.Fault{VM: "vm1", NIC: nic, Action: "impair", Impair: "loss=50%"})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.effectiveOut(t); got != "loss=50%" {
		t.Fatalf("during the fault: %q", got)
	}
	if _, err := d.Impair(context.Background(), api.ImpairRequest{VM: "vm1", NIC: nic, Set: []string{"delay=30ms"}}); err != nil {
		t.Fatal(err)
	}
	if got := d.effectiveOut(t); got != "delay=30ms loss=50%" {
		t.Errorf("a set during the fault: %q", got)
	}
	if err := undo(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := d.effectiveOut(t); got != "delay=30ms" {
		t.Errorf("after the fault: %q; want the delay set during it, without the fault's loss", got)
	}
	if got := started(t, d.dirs.State, true, false).effectiveOut(t); got != "delay=30ms" {
		t.Errorf("restored: %q", got)
	}
}

// TestSetOneDirectionKeepsTheOther: setting "in" leaves the "out" stage as it was (its queue and its stream).
func TestSetOneDirectionKeepsTheOther(t *testing.T) {
	d := impairDaemon(t, t.TempDir(), false)
	nic := d.lab.VMs[0].NICs[0].Name
	d.applyLabImpairs()
	before := d.impairs["vm1/"+nic].outStage
	if _, err := d.Impair(context.Background(), api.ImpairRequest{VM: "vm1", NIC: nic, Dir: "in", Set: []string{"loss=1%"}}); err != nil {
		t.Fatal(err)
	}
	if after := d.impairs["vm1/"+nic].outStage; before == nil || after != before {
		t.Errorf("setting dir=in replaced the unchanged out stage")
	}
}

// TestFaultClearIsImmediate: fault clear answers with the faults left, never the ones it cleared.
func TestFaultClearIsImmediate(t *testing.T) {
	d := impairDaemon(t, t.TempDir(), false)
	nic := d.lab.VMs[0].NICs[0].Name
	for i := 0; i < 50; i++ {
		d.addFault(context.Background(), lab.Fault{VM: "vm1", NIC: nic, Action: "down", For: 1e9, At: 3600e9})
		if fs, _ := d.Fault(context.Background(), api.FaultRequest{Clear: true}); len(fs) > 0 {
			t.Fatalf("fault clear all answered with %v", fs)
		}
	}
	d.stopFaults()
}
