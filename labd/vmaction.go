package labd

import (
	"context"
	"fmt"
	"time"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/vm"
)

// One VM of a running lab can be stopped and started again while the others run on (POST /v1/vm). A VM
// started again boots from its overlay (a later boot, as after down and up) with the lab's current
// accelerator. Its switch ports stay: each lan.QemuPort dials the VM's NIC sockets again until the new qemu
// listens on them, so the ports keep their link state (`link VM NIC down`) and impairments, and qemu's own
// link is taken down again for the links that are down, so the guest's carrier matches them.

// The daemon stops and starts single VMs for the API (POST /v1/vm).
var _ api.VMController = (*Daemon)(nil)

// VMAction implements api.VMController. api.VMStop powers the VM off as down does (ACPI, then quit, then
// kill) and refuses a VM whose qemu does not run; api.VMStart boots a VM whose qemu does not run and returns
// once qemu runs (the VM is then booting; its monitor follows it to running). It returns the VM's status as
// VMs gives it.
func (d *Daemon) VMAction(ctx context.Context, vmName, action string) (api.VMStatus, error) {
	r, ok := d.vms[vmName]
	if !ok {
		return api.VMStatus{}, d.fail(api.ErrUnknownVM, "no VM named %q (VMs: %s)", vmName, nameList(d.vmOrder))
	}
	var err error
	switch action {
	case api.VMStop:
		err = d.stopVM(r)
	case api.VMStart:
		// A client that goes away must not cut a start in two; vm.Start bounds its own wait.
		err = d.startVM(context.WithoutCancel(ctx), r)
	default:
		return api.VMStatus{}, api.Errorf(api.ErrBadRequest, "unknown VM action %q; use %s or %s", action, api.VMStop, api.VMStart)
	}
	if err != nil {
		return api.VMStatus{}, err
	}
	return d.vmStatus(ctx, vmName)
}

// stopVM stops the VM's qemu the orderly way, or says that none runs.
func (d *Daemon) stopVM(r *vmRun) error {
	r.life.Lock()
	defer r.life.Unlock()
	if !r.qemuRuns() {
		st := r.State()
		what := "is " + string(st) + " already"
		if st != api.StateStopped {
			what = "is not running (state: " + string(st) + ")"
		}
		return api.Errorf(api.ErrNotRunning, "vm %s %s; start it with: cloonix-labd --lab %s vm start %s", r.spec.Name, what, d.lab.Name, r.spec.Name)
	}
	d.log.Info("vm stop requested", "vm", r.spec.Name)
	r.stopLocked(d.stopTimeout(r))
	if r.qemuRuns() {
		r.mu.Lock()
		pid := r.proc.Pid
		r.mu.Unlock()
		return fmt.Errorf("vm %s: its qemu (pid %d) still runs after quit and kill; see %s", r.spec.Name, pid, r.qemuLogPath())
	}
	return nil
}

// startVM boots the VM again, as the daemon's start does for a VM it does not adopt, and starts its monitor.
func (d *Daemon) startVM(ctx context.Context, r *vmRun) error {
	r.life.Lock()
	defer r.life.Unlock()
	if d.goingDown() { // teardown may have stopped this VM already; a qemu started now would outlive the lab
		return api.Errorf(api.ErrNotRunning, "lab %s is going down; start it again with: cloonix-labd up LABFILE", d.lab.Name)
	}
	if r.qemuRuns() {
		return api.Errorf(api.ErrRunning, "vm %s runs already (state: %s); stop it first with: cloonix-labd --lab %s vm stop %s", r.spec.Name, r.State(), d.lab.Name, r.spec.Name)
	}
	d.log.Info("vm start requested", "vm", r.spec.Name)
	if err := r.prepare(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	r.stopping = false
	r.adopted = false // this daemon starts this qemu: the watchdog watches it and a failed start stops it
	r.accel = d.currentAccel()
	r.mu.Unlock()
	if err := r.launch(ctx); err != nil {
		return err
	}
	go r.monitor(d.runCtx) // the daemon's life, not the request's
	d.relinkDown(ctx, r)
	return nil
}

// relinkDown takes qemu's link down again for the VM's NICs whose switch port is down: a new qemu starts
// with every link up, while the port kept its state. A failure is logged; the port still drops the frames.
func (d *Daemon) relinkDown(ctx context.Context, r *vmRun) {
	var down []string
	for _, nic := range r.spec.NICs {
		if p := d.nicPort(r.spec.Name, nic); p != nil && !p.LinkUp() {
			down = append(down, nic.Name)
		}
	}
	if len(down) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	q, err := vm.DialQMP(ctx, r.qmpPath())
	if err != nil {
		d.log.Warn("vm start: cannot take its links down again", "vm", r.spec.Name, "nics", down, "err", err)
		return
	}
	defer q.Close()
	for _, nic := range down {
		if err := q.SetLink(ctx, nic, false); err != nil {
			d.log.Warn("vm start: cannot take a link down again", "vm", r.spec.Name, "nic", nic, "err", err)
		}
	}
}

// qemuRuns tells whether the VM's qemu process runs.
func (r *vmRun) qemuRuns() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.proc != nil && r.proc.Alive()
}

// goingDown tells whether the daemon has begun to take the lab down.
func (d *Daemon) goingDown() bool {
	select {
	case <-d.downCh:
		return true
	case <-d.runCtx.Done():
		return true
	default:
		return false
	}
}

// vmStatus is the VM's entry of VMs.
func (d *Daemon) vmStatus(ctx context.Context, vmName string) (api.VMStatus, error) {
	vms, err := d.VMs(ctx)
	if err != nil {
		return api.VMStatus{}, err
	}
	for _, v := range vms {
		if v.Name == vmName {
			return v, nil
		}
	}
	return api.VMStatus{}, d.fail(api.ErrUnknownVM, "no VM named %q (VMs: %s)", vmName, nameList(d.vmOrder))
}
