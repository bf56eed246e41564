package labd

import (
	"context"
	"errors"
	"fmt"
	"github.com/cloonix-go/cloonix/events"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/kind"
	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/logcap"
	"github.com/cloonix-go/cloonix/sshsetup"
	"github.com/cloonix-go/cloonix/vm"
)

// Options configure one daemon run.
type Options struct {
	// Lab is the validated lab to run.
	Lab *lab.Lab
	// Dirs are the lab's runtime and state directories.
	Dirs labpath.Dirs
	// QemuBinary is the qemu-system executable; empty means "qemu-system-x86_64".
	QemuBinary string
	// StopTimeout bounds how long a VM may take to power off before it is told to quit; 0 means its kind's.
	StopTimeout time.Duration
	// Log receives the daemon's structured log.
	Log *slog.Logger
	// Ready, if set, is called once: with nil when the API socket is serving and every VM was started,
	// or with the error that made the start fail (after everything started so far was torn down).
	Ready func(error)
	// UserKeys are extra authorized_keys lines (the user's own keys) written into every VM's day-0 seed.
	UserKeys []string
	// ProbeImage gives the project image whose kernel the accelerator probe boots when no VM of the lab
	// boots one (a lab of vendor images only). It may build the image. Nil means such a lab runs under TCG.
	ProbeImage func(ctx context.Context) (lab.ImageRef, error)
	// AccelCache is the accelerator probe's cache file (labpath.AccelCache); "" means no cache: probe every time.
	AccelCache string
	// VsockHelper is the command (argv prefix) that runs a VM's vsock back-end (`cloonix-labd
	// vsock-backend`); it gets --vhost, --ctl and --cid. Empty: no VM gets a vsock device.
	VsockHelper []string
}

// Daemon runs one lab. Create it with New and run it with Run.
type Daemon struct {
	opts Options
	lab  *lab.Lab
	dirs labpath.Dirs
	log  *slog.Logger
	// probe is how the accelerator was decided; accel is the lab's current answer (the watchdog turns it to
	// TCG when a VM hangs under KVM). Each VM also keeps the accelerator it runs with.
	probe   vm.AccelProbe
	accelMu sync.Mutex
	accel   vm.Accel
	keys    sshsetup.Keys
	// consolePW is the lab's console password for kinds whose day-0 needs one (IOS-XE); made once,
	// before the VMs start in parallel.
	consolePW string
	started   time.Time

	removed  []string // VMs no longer in the lab file whose leftover qemu start stopped
	vms      map[string]*vmRun
	vmOrder  []string
	net      *network
	lockFile *os.File

	linksMu  sync.Mutex // serialises links.json
	events   *events.Hub
	seed     uint64 // impairment streams derive from it (the lab file's seed, or a random one)
	impMu    sync.Mutex
	impairs  map[string]*nicImpair // "vm/nic" → its impairments, only those that have some
	runCtx   context.Context       // Run's: what faults added at run time live under
	faultMu  sync.Mutex
	faultSeq int
	faults   map[int]*runningFault
	faultWG  sync.WaitGroup // the fault goroutines
	downOnce sync.Once
	downCh   chan struct{}
}

// New checks the options and returns a daemon ready to Run.
func New(opts Options) (*Daemon, error) {
	if opts.Lab == nil {
		return nil, errors.New("labd: no lab given")
	}
	if opts.QemuBinary == "" {
		opts.QemuBinary = "qemu-system-x86_64"
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	return &Daemon{
		opts:    opts,
		lab:     opts.Lab,
		dirs:    opts.Dirs,
		log:     opts.Log.With("lab", opts.Lab.Name),
		vms:     map[string]*vmRun{},
		events:  events.New(),
		seed:    labSeed(opts.Lab),
		impairs: map[string]*nicImpair{},
		faults:  map[int]*runningFault{},
		runCtx:  context.Background(),
		downCh:  make(chan struct{}),
	}, nil
}

// Run brings the lab up, serves the API until ctx is cancelled or a client asks for down, then takes every
// VM down and removes the control socket and pid file. It never leaves a qemu it started running when it returns an
// error from the start phase.
func (d *Daemon) Run(ctx context.Context) (err error) {
	ready := d.opts.Ready
	if ready == nil {
		ready = func(error) {}
	}
	if err := d.dirs.Ensure(); err != nil {
		ready(err)
		return err
	}
	if err := checkSocketPaths(d.dirs, d.lab); err != nil {
		ready(err)
		return err
	}
	if err := d.lock(); err != nil {
		ready(err)
		return err
	}
	defer d.unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d.runCtx = ctx // what faults live under

	if err := d.start(ctx); err != nil {
		d.log.Error("start failed; stopping the VMs this daemon started", "err", err)
		d.teardown(false)
		ready(err)
		return err
	}

	srv := api.NewServer(d, d.log)
	l, err := api.Listen(d.dirs.CtlSocket())
	if err != nil {
		d.teardown(false)
		err = fmt.Errorf("control socket: %w", err)
		ready(err)
		return err
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ctx, l) }()
	go d.keepSocket(ctx, srv)
	go d.capLogs(ctx)
	if err := writePIDFile(d.dirs.PIDFile()); err != nil {
		d.log.Warn("pid file", "err", err)
	}
	d.log.Info("lab up", "vms", len(d.vms), "accel", d.currentAccel().Name)
	ready(nil)

	select {
	case <-ctx.Done():
		d.log.Info("stopping: signal")
	case <-d.downCh:
		d.log.Info("stopping: down requested")
	case err := <-serveErr:
		d.log.Error("api server stopped", "err", err)
	}
	d.teardown(true)
	cancel()
	_ = l.Close()
	_ = os.Remove(d.dirs.CtlSocket())
	_ = os.Remove(d.dirs.PIDFile())
	return nil
}

// socketCheckEvery is how often the daemon checks that its control socket still exists.
const socketCheckEvery = 2 * time.Second

// keepSocket serves the API on a new control socket whenever the old one's path vanished (logind deletes
// $XDG_RUNTIME_DIR at logout; a user may delete /tmp/cloonix-UID): the runtime directory is made again, so
// the CLI and cloonix-proxy find the lab. Open tunnels and the VMs' running qemus are not affected.
func (d *Daemon) keepSocket(ctx context.Context, srv *api.Server) {
	every(ctx, socketCheckEvery, func() {
		if _, err := os.Lstat(d.dirs.CtlSocket()); err == nil {
			return
		}
		d.log.Warn("control socket vanished (runtime directory deleted?); making it again", "path", d.dirs.CtlSocket())
		if err := d.dirs.Ensure(); err != nil {
			d.log.Error("runtime directory", "err", err)
			return
		}
		l, err := api.Listen(d.dirs.CtlSocket())
		if err != nil {
			d.log.Error("control socket", "err", err)
			return
		}
		_ = writePIDFile(d.dirs.PIDFile())
		go func() {
			if err := srv.Serve(ctx, l); err != nil {
				d.log.Error("api server on the new socket stopped", "err", err)
			}
		}()
	})
}

// every runs fn each interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// logCheckEvery is how often the daemon checks the sizes of the lab's logs: a guest writes its console log
// as fast as qemu lets it, so this bounds how far past logcap.Default one can grow.
const logCheckEvery = 2 * time.Second

// capLogs keeps the daemon's log and each VM's console and qemu logs within logcap.Default. A console log
// that was cut starts again at offset 0 for the VM's monitor and console tails.
func (d *Daemon) capLogs(ctx context.Context) {
	every(ctx, logCheckEvery, func() {
		if _, err := logcap.Default.Enforce(d.dirs.DaemonLog()); err != nil {
			d.log.Warn("daemon log", "err", err)
		}
		for _, name := range d.vmOrder {
			r := d.vms[name]
			if _, err := logcap.Default.Enforce(r.qemuLogPath()); err != nil {
				d.log.Warn("qemu log", "vm", name, "err", err)
			}
			rotated, err := logcap.Default.Enforce(r.consoleLogPath())
			if err != nil {
				d.log.Warn("console log", "vm", name, "err", err)
			}
			if rotated {
				r.mu.Lock()
				r.logOffset = 0
				running := r.proc != nil && r.proc.Alive()
				r.mu.Unlock()
				if running { // the record keeps the offset for a daemon that adopts the VM
					_ = r.writeRecord()
				}
			}
		}
	})
}

// checkSocketPaths reports the first socket of lab l whose path is too long for a UNIX socket, with how to
// fix it.
func checkSocketPaths(d labpath.Dirs, l *lab.Lab) error {
	paths := []string{d.CtlSocket()}
	for _, vm := range l.VMs {
		paths = append(paths, d.QMPSocket(vm.Name), d.SerialSocket(vm.Name))
		for _, n := range vm.NICs {
			paths = append(paths, d.NICSocket(vm.Name, n.Name))
		}
	}
	for _, p := range paths {
		if err := labpath.CheckSocketPath(p); err != nil {
			return err
		}
	}
	return nil
}

// lock takes the lab's lock file, so two daemons never run the same lab (a second `up` racing the first).
func (d *Daemon) lock() error {
	path := d.dirs.LockFile()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("lab %s is already up (another cloonix-labd holds %s); run: cloonix-labd down --lab %s", d.lab.Name, path, d.lab.Name)
		}
		return fmt.Errorf("lock %s: %w", path, err)
	}
	// The pid, for `down` when the daemon holds the lock but does not answer (still starting).
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(fmt.Sprintf("%d\n", os.Getpid())), 0)
	}
	d.lockFile = f
	return nil
}

// DaemonAlive tells from the lab's lock whether its daemon runs, and its pid: a daemon holds the lock from
// before its first VM starts until after its last one stopped, so this is right even while it is still
// starting and does not answer on its socket yet, or after its runtime directory was deleted.
func DaemonAlive(dirs labpath.Dirs) (pid int, alive bool) {
	f, err := os.Open(dirs.LockFile())
	if err != nil {
		return 0, false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return 0, false
	}
	b := make([]byte, 32)
	n, _ := f.Read(b)
	pid, _ = strconv.Atoi(strings.TrimSpace(string(b[:n])))
	return pid, true
}

func (d *Daemon) unlock() {
	if d.lockFile != nil {
		_ = syscall.Flock(int(d.lockFile.Fd()), syscall.LOCK_UN)
		d.lockFile.Close()
	}
}

// start prepares and starts everything: keys, accelerator, networks, then all VMs in parallel.
func (d *Daemon) start(ctx context.Context) error {
	d.started = time.Now()
	keys, err := sshsetup.EnsureLabKeys(d.dirs.State)
	if err != nil {
		return fmt.Errorf("lab keys: %w", err)
	}
	d.keys = keys
	for _, v := range d.lab.VMs {
		if v.Kind.Day0 == kind.Day0CVAC {
			if d.consolePW, err = consolePassword(d.dirs.ConsolePassword()); err != nil {
				return err
			}
			break
		}
	}
	removed, err := d.stopRemoved(ctx)
	if err != nil {
		return fmt.Errorf("stopping VMs no longer in the lab file: %w", err)
	}
	d.removed = removed
	d.probe = d.accelProbe(ctx)
	d.accel = d.probe.Probe(ctx)
	d.log.Info("accelerator", "name", d.accel.Name, "reason", d.accel.Reason, "cached", d.accel.Cached)

	for i := range d.lab.VMs {
		v := &d.lab.VMs[i]
		d.vms[v.Name] = newVMRun(d, v)
		d.vmOrder = append(d.vmOrder, v.Name)
	}
	sort.Strings(d.vmOrder)

	d.net, err = newNetwork(ctx, d)
	if err != nil {
		return fmt.Errorf("networks: %w", err)
	}
	if err := d.writeSSHSetup(); err != nil {
		return err
	}

	var wg sync.WaitGroup
	errs := make([]error, len(d.vmOrder))
	for i, name := range d.vmOrder {
		wg.Add(1)
		go func(i int, r *vmRun) {
			defer wg.Done()
			errs[i] = r.start(ctx)
		}(i, d.vms[name])
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, name := range d.vmOrder {
		r := d.vms[name]
		d.net.connectVM(r)
		go r.monitor(ctx)
	}
	d.applyLabImpairs()
	if err := d.restoreImpairs(); err != nil {
		return err
	}
	if err := d.restoreLinks(); err != nil {
		return err
	}
	d.startLabFaults(d.runCtx) // they live as long as the daemon runs, not as long as the start
	return nil
}

// accelProbe configures the accelerator probe with the kernel the lab's VMs boot: that of the first VM on a
// project image, or else the image Options.ProbeImage gives. All kinds use machine "pc" today; the probe
// runs the first VM's machine type.
func (d *Daemon) accelProbe(ctx context.Context) vm.AccelProbe {
	p := vm.AccelProbe{Qemu: d.opts.QemuBinary, CacheFile: d.opts.AccelCache}
	if len(d.lab.VMs) > 0 {
		p.Machine = d.lab.VMs[0].Kind.Machine
	}
	for _, v := range d.lab.VMs {
		if v.Kind.NeedsKernel && v.Image.Kernel != "" {
			p.Kernel, p.Initrd, p.Append = v.Image.Kernel, v.Image.Initrd, v.Image.Append
			return p
		}
	}
	if d.opts.ProbeImage != nil {
		img, err := d.opts.ProbeImage(ctx)
		if err != nil {
			d.log.Warn("accelerator probe: no kernel to boot", "err", err)
			return p
		}
		p.Kernel, p.Initrd, p.Append = img.Kernel, img.Initrd, img.Append
	}
	return p
}

// currentAccel is the accelerator new VMs start with.
func (d *Daemon) currentAccel() vm.Accel {
	d.accelMu.Lock()
	defer d.accelMu.Unlock()
	return d.accel
}

// kvmFailed is the watchdog's verdict: a VM hung under KVM although the probe passed. Every later start (in
// this daemon and, through the probe's cache, in later ones of this boot) uses TCG.
func (d *Daemon) kvmFailed(a vm.Accel) {
	d.accelMu.Lock()
	first := d.accel.Name == "kvm"
	if first {
		d.accel = a
	}
	d.accelMu.Unlock()
	if !first {
		return
	}
	if err := d.probe.Record(a); err != nil { // a no-op when CLOONIX_ACCEL decides
		d.log.Warn("accelerator cache", "err", err)
	}
}

// teardown stops the VMs in parallel, then the networks. It is safe to call on a half-started lab. With all
// false (a start that failed) it stops only the qemus this daemon started: a VM adopted from an earlier
// daemon keeps running, as libvirt keeps a guest running whatever else failed, and the next up adopts it
// again.
func (d *Daemon) teardown(all bool) {
	d.stopFaults()
	defer d.closeImpairs()
	var wg sync.WaitGroup
	for _, r := range d.vms {
		r.mu.Lock()
		adopted := r.adopted
		r.mu.Unlock()
		if adopted && !all {
			d.log.Info("leaving an adopted VM running", "vm", r.spec.Name)
			continue
		}
		wg.Add(1)
		go func(r *vmRun) {
			defer wg.Done()
			r.stop(d.stopTimeout(r))
		}(r)
	}
	wg.Wait()
	if d.net != nil {
		d.net.close()
	}
}

// stopTimeout is how long a VM gets to power off after the ACPI request: Options.StopTimeout if set, else
// its kind's.
func (d *Daemon) stopTimeout(r *vmRun) time.Duration {
	if d.opts.StopTimeout > 0 {
		return d.opts.StopTimeout
	}
	if t := r.spec.Kind.StopTimeout; t > 0 {
		return t
	}
	return 30 * time.Second
}

// requestDown makes Run return after tearing the lab down.
func (d *Daemon) requestDown() {
	d.downOnce.Do(func() { close(d.downCh) })
}

func writePIDFile(path string) error {
	return os.WriteFile(path, []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o600)
}
