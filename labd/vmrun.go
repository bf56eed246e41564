package labd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/kind"
	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/termsafe"
	"github.com/cloonix-go/cloonix/vm"
)

// vmRun is the daemon's view of one VM: its files, its qemu process and its state.
type vmRun struct {
	d    *Daemon
	spec *lab.VM

	// life serialises what starts and stops the VM's qemu (start, the watchdog's restart, stop), so a stop
	// never misses a qemu that is being started.
	life sync.Mutex

	mu        sync.Mutex
	state     api.VMState
	accel     vm.Accel // what this VM's qemu runs with, and why
	proc      *vm.Process
	qemu      vm.Spec
	logOffset int64 // where this boot's console output starts in the console log
	stopping  bool
	adopted   bool // an earlier daemon started this qemu
	// laterBoot: the overlay existed before this start, so the guest has booted from it before and may not
	// print its first-boot readiness line again (kind.Kind.LaterBootReadinessLine).
	laterBoot bool
	bootedAt  time.Time
	readyAt   time.Time
}

func newVMRun(d *Daemon, spec *lab.VM) *vmRun {
	return &vmRun{
		d:     d,
		spec:  spec,
		state: api.StateCreated,
	}
}

// Paths of the VM's files.
func (r *vmRun) overlayPath() string    { return r.d.dirs.Overlay(r.spec.Name) }
func (r *vmRun) day0Path() string       { return r.d.dirs.Day0(r.spec.Name) }
func (r *vmRun) consoleLogPath() string { return r.d.dirs.ConsoleLog(r.spec.Name) }
func (r *vmRun) qemuLogPath() string    { return r.d.dirs.QemuLog(r.spec.Name) }
func (r *vmRun) recordPath() string     { return r.d.dirs.QemuRecord(r.spec.Name) }
func (r *vmRun) qmpPath() string        { return r.d.dirs.QMPSocket(r.spec.Name) }
func (r *vmRun) serialPath() string     { return r.d.dirs.SerialSocket(r.spec.Name) }
func (r *vmRun) nicSocketPath(nic lab.NIC) string {
	return r.d.dirs.NICSocket(r.spec.Name, nic.Name)
}

// State returns the VM's current state.
func (r *vmRun) State() api.VMState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

func (r *vmRun) setState(s api.VMState) {
	r.mu.Lock()
	old := r.state
	r.state = s
	switch s {
	case api.StateRunning:
		r.readyAt = time.Now()
	}
	r.mu.Unlock()
	if old != s {
		r.d.log.Info("vm state", "vm", r.spec.Name, "from", old, "to", s)
		r.d.events.Publish(api.Event{Kind: "vm", VM: r.spec.Name, What: string(s), Detail: "was " + string(old)})
	}
}

// prepare makes the overlay and the day-0 medium.
func (r *vmRun) prepare(ctx context.Context) error {
	_, err := os.Stat(r.overlayPath())
	r.mu.Lock()
	r.laterBoot = err == nil
	r.mu.Unlock()
	if err := vm.CreateOverlay(ctx, r.spec.Image.Disk, r.overlayPath()); err != nil {
		if errors.Is(err, vm.ErrOtherBase) {
			return fmt.Errorf("vm %s: its disk was made from another image (rebuilt?); start the lab afresh with: cloonix-labd --lab %s down --purge", r.spec.Name, r.d.lab.Name)
		}
		return fmt.Errorf("vm %s: overlay: %w", r.spec.Name, err)
	}
	if err := writeDay0(r); err != nil {
		return fmt.Errorf("vm %s: day-0: %w", r.spec.Name, err)
	}
	return nil
}

// buildSpec turns the lab's VM into qemu's.
func (r *vmRun) buildSpec() vm.Spec {
	k := r.spec.Kind
	s := vm.Spec{
		Name:         r.spec.Name,
		Machine:      k.Machine,
		Accel:        r.accel.Name,
		MemoryMiB:    r.spec.MemoryMiB,
		CPUs:         r.spec.CPUs,
		TCGCPU:       k.TCGCPU,
		Disk:         r.overlayPath(),
		DiskBus:      k.DiskBus,
		Kernel:       r.spec.Image.Kernel,
		Initrd:       r.spec.Image.Initrd,
		Append:       r.spec.Image.Append,
		Day0:         r.day0Path(),
		Day0Medium:   day0Medium(k),
		NICModel:     k.NICModel,
		RNG:          k.VirtioRNG,
		QMPSocket:    r.qmpPath(),
		SerialSocket: r.serialPath(),
		SerialLog:    r.consoleLogPath(),
		PIDFile:      r.d.dirs.QemuPID(r.spec.Name),
	}
	for _, nic := range r.spec.NICs {
		s.NICs = append(s.NICs, vm.NIC{ID: nic.Name, MAC: nic.MAC, Socket: r.nicSocketPath(nic)})
	}
	return s
}

// start adopts the VM's qemu if an earlier daemon left it running, or else prepares the VM's files and starts
// its qemu.
func (r *vmRun) start(ctx context.Context) error {
	if err := os.MkdirAll(r.d.dirs.VMDir(r.spec.Name), 0o700); err != nil {
		return fmt.Errorf("vm %s: %w", r.spec.Name, err)
	}
	r.life.Lock()
	defer r.life.Unlock()
	if ok, err := r.adopt(); err != nil || ok {
		return err
	}
	if err := r.prepare(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	r.accel = r.d.currentAccel()
	r.mu.Unlock()
	return r.launch(ctx)
}

// launch starts the VM's qemu with the VM's accelerator. The caller holds r.life.
func (r *vmRun) launch(ctx context.Context) error {
	r.mu.Lock()
	spec := r.buildSpec()
	r.mu.Unlock()
	var helper *os.Process
	if r.vsockOn() {
		var err error
		if helper, err = r.startVsock(); err != nil {
			return err
		}
		spec.Vsock = r.d.dirs.VhostSocket(r.spec.Name)
	}
	offset := fileSize(r.consoleLogPath())
	// The record is written as soon as qemu runs, before the wait for QMP: a daemon killed during the wait
	// leaves a qemu the next one adopts, never one it starts a second time.
	_, err := vm.Start(ctx, r.d.opts.QemuBinary, spec, r.qemuLogPath(), func(p *vm.Process) error {
		r.mu.Lock()
		r.proc = p
		r.qemu = spec
		r.logOffset = offset
		r.bootedAt = time.Now()
		r.mu.Unlock()
		return r.writeRecord()
	})
	if err != nil {
		r.mu.Lock()
		r.proc = nil
		r.mu.Unlock()
		r.removeRecord()
		if helper != nil {
			_ = helper.Kill() // no qemu will connect to it
		}
		return fmt.Errorf("vm %s: %w", r.spec.Name, err)
	}
	r.setState(api.StateBooting)
	return nil
}

// watchdogDue tells whether a VM started under KVM has kept its console silent past its kind's limit: KVM
// hangs on some hosts with no sign but silence (REFERENCE.md), and the probe cannot foresee every guest.
func (r *vmRun) watchdogDue() bool {
	limit := r.spec.Kind.KVMSilenceLimit
	r.mu.Lock()
	defer r.mu.Unlock()
	return limit > 0 && r.accel.Name == "kvm" && !r.adopted && r.state == api.StateBooting && !r.stopping &&
		time.Since(r.bootedAt) > limit && fileSize(r.consoleLogPath()) <= r.logOffset
}

// restartUnderTCG stops a VM that hung under KVM and starts it again under TCG, and tells the daemon, so
// every later start uses TCG too. The guest never printed a byte, so there is nothing to power off cleanly.
func (r *vmRun) restartUnderTCG(ctx context.Context) {
	r.life.Lock()
	defer r.life.Unlock()
	limit := r.spec.Kind.KVMSilenceLimit
	r.mu.Lock()
	proc, stopping := r.proc, r.stopping
	r.mu.Unlock()
	if stopping {
		return
	}
	r.d.log.Warn("vm console silent under KVM; restarting it under TCG", "vm", r.spec.Name, "silent", limit)
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err := vm.Stop(sctx, r.qmpPath(), proc, 0)
	cancel()
	if err != nil {
		r.d.log.Error("watchdog: cannot stop the hung qemu", "vm", r.spec.Name, "err", err)
		return
	}
	r.removeRecord()
	r.d.kvmFailed(vm.TCG(fmt.Sprintf("KVM unusable: vm %s kept its console silent for %v under KVM, so the lab uses TCG (software emulation)", r.spec.Name, limit)))
	r.mu.Lock()
	r.accel = vm.TCG(fmt.Sprintf("restarted under TCG: its console stayed silent for %v under KVM", limit))
	r.mu.Unlock()
	if err := r.launch(ctx); err != nil {
		r.d.log.Error("watchdog: restart under TCG failed", "vm", r.spec.Name, "err", err)
		r.setState(api.StateCrashed)
	}
}

// monitor follows the VM until it exits: it watches the console log for the kind's readiness line and the
// process for its exit, which is a crash unless we asked for it. It follows the qemu that runs when it
// starts (and the one the watchdog replaces it with): a VM stopped and started again (Daemon.VMAction) gets
// a monitor of its own, and the old one ends without touching the new qemu's state or record.
func (r *vmRun) monitor(ctx context.Context) {
	tick := time.NewTicker(monitorBooting)
	defer tick.Stop()
	interval := monitorBooting
	r.mu.Lock()
	readiness := readinessLines(r.spec.Kind, r.laterBoot)
	own := r.proc
	r.mu.Unlock()
	if own == nil {
		return
	}
	keep := 0 // the longest line: what a read may have cut in two
	for _, l := range readiness {
		keep = max(keep, len(l))
	}
	var seen int64 = r.logOffset
	var carry []byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-own.Exited(): // at once for a qemu we started (nil, never ready, for an adopted one)
		}
		r.mu.Lock()
		proc, state := r.proc, r.state
		r.mu.Unlock()
		if proc == nil || proc != own {
			return
		}
		// Once booted, only the exit is left to watch: a VM we started tells it by its channel, an adopted one
		// by a slower poll. Forty idle VMs then cost the daemon no wake-ups of their own.
		if want := monitorInterval(state); want != interval {
			interval = want
			tick.Reset(interval)
		}
		if r.watchdogDue() {
			r.restartUnderTCG(ctx)
			r.mu.Lock()
			seen, carry = r.logOffset, nil // the new boot's output starts here
			own = r.proc
			r.mu.Unlock()
			continue
		}
		if !proc.Alive() {
			r.exited(proc)
			return
		}
		if state == api.StateBooting && len(readiness) > 0 {
			if fileSize(r.consoleLogPath()) < seen { // capLogs cut the log
				seen, carry = 0, nil
			}
			chunk, n := readFrom(r.consoleLogPath(), seen)
			seen += n
			buf := append(carry, chunk...)
			if containsAny(buf, readiness) {
				r.setState(api.StateRunning)
				carry = nil
				continue
			}
			if len(buf) > keep {
				carry = append([]byte(nil), buf[len(buf)-keep:]...)
			} else {
				carry = buf
			}
		}
	}
}

// How often monitor looks at a VM: while it boots (its console, for the readiness line and the KVM watchdog),
// and after (an adopted qemu's exit; one we started tells its exit at once).
const (
	monitorBooting = 200 * time.Millisecond
	monitorBooted  = 2 * time.Second
)

func monitorInterval(s api.VMState) time.Duration {
	if s == api.StateBooting || s == api.StateCreated {
		return monitorBooting
	}
	return monitorBooted
}

// exited records that the VM's qemu proc is gone: stopped if we asked for it or the guest powered off,
// else crashed. It holds r.life, so it waits for a stop in progress and never acts once a new qemu replaced
// proc.
func (r *vmRun) exited(proc *vm.Process) {
	r.life.Lock()
	defer r.life.Unlock()
	r.mu.Lock()
	current, stopping := r.proc == proc, r.stopping
	r.mu.Unlock()
	if !current {
		return
	}
	r.removeRecord()
	if stopping || r.poweredOff() {
		r.setState(api.StateStopped)
		return
	}
	r.setState(api.StateCrashed)
	r.d.log.Error("vm crashed: qemu exited without being asked to", "vm", r.spec.Name, "pid", proc.Pid)
}

// readinessLines are the console lines that mark a VM of kind k ready: its ReadinessLine, and on a later
// boot of its overlay also its LaterBootReadinessLine (IOS-XE's CVAC prints %CVAC-4-CONFIG_DONE only on the
// boot that applies the CD-ROM; later boots show the login prompt, as vrnetlab waits for).
func readinessLines(k *kind.Kind, laterBoot bool) [][]byte {
	var lines [][]byte
	if k.ReadinessLine != "" {
		lines = append(lines, []byte(k.ReadinessLine))
	}
	if laterBoot && k.LaterBootReadinessLine != "" {
		lines = append(lines, []byte(k.LaterBootReadinessLine))
	}
	return lines
}

// containsAny reports whether b holds one of lines.
func containsAny(b []byte, lines [][]byte) bool {
	for _, l := range lines {
		if bytes.Contains(b, l) {
			return true
		}
	}
	return false
}

// poweredOff tells whether the guest shut itself down (a Linux kernel's last console line) rather than qemu
// dying under it.
func (r *vmRun) poweredOff() bool {
	b, _ := readFrom(r.consoleLogPath(), max(r.logOffset, fileSize(r.consoleLogPath())-4096))
	return bytes.Contains(b, []byte("reboot: Power down"))
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// readFrom returns what the file holds after offset.
func readFrom(path string, offset int64) ([]byte, int64) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, 0
	}
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	return b, int64(len(b))
}

// stop powers the VM off (ACPI, then quit, then kill) and waits until its qemu is gone.
func (r *vmRun) stop(timeout time.Duration) {
	r.life.Lock()
	defer r.life.Unlock()
	r.stopLocked(timeout)
}

// stopLocked is stop for a caller that holds r.life.
func (r *vmRun) stopLocked(timeout time.Duration) {
	r.mu.Lock()
	proc := r.proc
	r.stopping = true
	alive := proc != nil && proc.Alive()
	silent := fileSize(r.consoleLogPath()) <= r.logOffset
	r.mu.Unlock()
	if !alive {
		return
	}
	if silent {
		// A guest that never printed a byte (paused, hung, or not yet past its firmware) has no handler for
		// the power button and no data to lose: quit qemu at once instead of waiting out the ACPI timeout.
		timeout = 0
	}
	r.setState(api.StateStopping)
	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	defer cancel()
	if err := vm.Stop(ctx, r.qmpPath(), proc, timeout); err != nil {
		r.d.log.Warn("vm stop", "vm", r.spec.Name, "err", err)
	}
	if !proc.Alive() {
		r.removeRecord()
	}
	r.setState(api.StateStopped)
}

// ConsoleTail returns the last n lines of a VM's console log after offset (where its current boot's output
// starts: api.VMStatus.ConsoleOffset), with control characters replaced, for error messages.
func ConsoleTail(dirs labpath.Dirs, vmName string, offset int64, n int) string {
	return tailLinesFrom(dirs.ConsoleLog(vmName), offset, n)
}

// tailLines returns the last n lines of a file, with control characters replaced.
func tailLines(path string, n int) string { return tailLinesFrom(path, 0, n) }

func tailLinesFrom(path string, from int64, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	if from > st.Size() { // the log was cut (logcap) since from was taken
		from = 0
	}
	off := max(st.Size()-16<<10, from, 0)
	b, _ := readFrom(path, off)
	lines := strings.Split(strings.TrimRight(string(b), "\r\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines { // guest bytes: no terminal escapes reach the user's screen
		lines[i] = termsafe.Line(strings.TrimRight(l, "\r"), 240)
	}
	return strings.Join(lines, "\n")
}
