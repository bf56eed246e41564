package labd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/atomicfile"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/vm"
)

// A VM's qemu runs in its own session and outlives labd. labd records what it needs to find it again in the
// VM's state directory, and a new daemon for the same lab adopts a qemu that still runs instead of starting a
// second one: the VM keeps running, and its NICs reconnect to the new daemon's LANs (qemu is the stream
// server and accepts the new connection). A VM is adopted as it runs; a change to it in the lab file takes
// effect at the next down and up.

// qemuRecord is the state/vms/<vm>/qemu.json of a running VM.
type qemuRecord struct {
	PID       int       `json:"pid"`
	StartTime uint64    `json:"start_time"` // from /proc/PID/stat, so a reused pid is not mistaken for ours
	LogOffset int64     `json:"log_offset"` // where this boot's output starts in console.log
	Started   time.Time `json:"started"`
	Accel     vm.Accel  `json:"accel"` // what the qemu runs with; status shows it after a daemon restart
}

// writeRecord saves the running qemu's identity.
func (r *vmRun) writeRecord() error {
	r.mu.Lock()
	rec := qemuRecord{PID: r.proc.Pid, StartTime: r.proc.StartTime, LogOffset: r.logOffset, Started: r.bootedAt, Accel: r.accel}
	r.mu.Unlock()
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(r.recordPath(), b, 0o600); err != nil {
		return fmt.Errorf("vm %s: %w", r.spec.Name, err)
	}
	return nil
}

// removeRecord forgets the qemu once it is gone.
func (r *vmRun) removeRecord() { _ = os.Remove(r.recordPath()) }

// adopt takes over the VM's qemu if an earlier daemon left it running. It reports whether it did.
func (r *vmRun) adopt() (bool, error) {
	b, err := os.ReadFile(r.recordPath())
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var rec qemuRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		// A damaged record cannot name a qemu; if one still runs for the VM, its locked pid file makes the
		// start refuse (vm.Start), so dropping the record never doubles a VM.
		r.d.log.Warn("damaged qemu record dropped; the VM starts afresh unless its qemu still runs", "vm", r.spec.Name, "file", r.recordPath(), "err", err)
		r.removeRecord()
		return false, nil
	}
	proc, err := vm.Adopt(rec.PID, rec.StartTime)
	if err != nil {
		r.d.log.Info("not adopting", "vm", r.spec.Name, "reason", err)
		r.removeRecord()
		return false, nil
	}
	if _, err := os.Stat(r.qmpPath()); err != nil {
		return false, fmt.Errorf("vm %s: qemu pid %d still runs but its QMP socket is gone (%v); stop it with kill %d, then up again",
			r.spec.Name, rec.PID, err, rec.PID)
	}
	r.mu.Lock()
	r.accel = rec.Accel
	if r.accel.Name == "" { // a record from before accelerators were recorded
		r.accel = r.d.currentAccel()
	}
	r.proc = proc
	r.qemu = r.buildSpec()
	r.logOffset = rec.LogOffset
	r.bootedAt = rec.Started
	r.adopted = true
	r.mu.Unlock()
	r.d.log.Info("adopted running qemu", "vm", r.spec.Name, "pid", proc.Pid)
	r.setState(api.StateBooting) // monitor finds the readiness line again from this boot's offset
	return true, nil
}

// StopOrphans stops the qemus a lab's daemon left running when it died (it finds them through their
// qemu.json records, checking pid and start time), and returns the names of the VMs it stopped. `down` uses
// it when no daemon answers, so that nothing is left running and a purge never strands a live qemu.
func StopOrphans(ctx context.Context, dirs labpath.Dirs, timeout time.Duration) ([]string, error) {
	return stopRecorded(ctx, dirs, timeout, func(string) bool { return true })
}

// stopRecorded stops the recorded qemus of the VMs that match, and returns their names.
func stopRecorded(ctx context.Context, dirs labpath.Dirs, timeout time.Duration, match func(vm string) bool) ([]string, error) {
	records, err := filepath.Glob(dirs.QemuRecord("*"))
	if err != nil {
		return nil, err
	}
	var stopped []string
	var errs []error
	for _, path := range records {
		name := filepath.Base(filepath.Dir(path))
		if !match(name) {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var rec qemuRecord
		if json.Unmarshal(b, &rec) != nil {
			continue
		}
		proc, err := vm.Adopt(rec.PID, rec.StartTime)
		if err != nil {
			_ = os.Remove(path) // gone, or the pid is someone else's now
			continue
		}
		if err := vm.Stop(ctx, dirs.QMPSocket(name), proc, timeout); err != nil {
			errs = append(errs, fmt.Errorf("vm %s (pid %d): %w", name, rec.PID, err))
			continue
		}
		_ = os.Remove(path)
		stopped = append(stopped, name)
	}
	return stopped, errors.Join(errs...)
}

// stopRemoved stops the qemus that an earlier daemon of the lab left running for VMs the lab file no longer
// has (removed while no daemon ran): otherwise they would run unseen, and a purge would delete their overlays
// under them. It returns their names; the daemon reports them in its LabInfo.
func (d *Daemon) stopRemoved(ctx context.Context) ([]string, error) {
	inLab := map[string]bool{}
	for _, v := range d.lab.VMs {
		inLab[v.Name] = true
	}
	stopped, err := stopRecorded(ctx, d.dirs, 30*time.Second, func(vm string) bool { return !inLab[vm] })
	for _, name := range stopped {
		d.log.Warn("stopped a VM that is no longer in the lab file (its qemu was left by an earlier daemon)", "vm", name)
	}
	return stopped, err
}
