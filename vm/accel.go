package vm

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cloonix-go/cloonix/atomicfile"
	"github.com/cloonix-go/cloonix/termsafe"
)

// Accel is the accelerator a VM runs with, and why it was chosen. Status shows both.
type Accel struct {
	Name   string `json:"name"`   // "kvm" or "tcg"
	Reason string `json:"reason"` // one line
	Cached bool   `json:"-"`      // the answer came from this boot's probe cache
}

// TCG returns the TCG accelerator with a reason.
func TCG(reason string) Accel { return Accel{Name: "tcg", Reason: reason} }

// The probe mode of the project's initramfs (images/guest/initramfs-init): when the kernel command line
// holds ProbeArg, its /init prints ProbeMarker on the console and powers the machine off before it loads a
// module or looks for a disk. The marker is not on the command line, so the kernel's own echo of its command
// line cannot fake it.
const (
	ProbeArg    = "cloonix.probe"
	ProbeMarker = "cloonix-probe: user space reached"
)

// DefaultProbeTimeout bounds the probe's boot. The Debian cloud kernel reaches its initramfs in about 1 s
// under KVM and about 2 s under TCG on the project's 2-core machines; three times TCG leaves room for a
// loaded host, and a KVM that needs longer than software emulation is not worth using.
const DefaultProbeTimeout = 6 * time.Second

// AccelProbe decides between KVM and TCG by booting the guest kernel the lab's VMs boot, under exactly the
// machine, accelerator and CPU arguments they get (cpuArgs), and asking for proof that it ran to user space.
//
// Why a real boot: a readable /dev/kvm proves nothing, and neither does a toy guest. On one host of this
// project's machine kind (PVM-based KVM) qemu aborts with "failed to set MSR 0x10a" as soon as it loads a
// "-cpu host" vCPU; on another, a 60-byte multiboot payload runs under KVM in 1.3 s while the Debian kernel
// spins without printing a byte (see REFERENCE.md). Only a boot of the real kernel to its initramfs shows
// that the lab will run. Anything less is TCG, with the reason in one line.
//
// The answer is cached per boot, qemu binary, kernel and initramfs content, and machine type. Record overwrites it when a
// VM shows later that KVM does not work after all (the watchdog in package labd). The environment variable
// CLOONIX_ACCEL=kvm|tcg overrides the probe; nobody should need it.
type AccelProbe struct {
	Qemu    string // qemu binary; "" means qemu-system-x86_64 from PATH
	Machine string // qemu -machine of the VMs; "" means "pc"
	// Kernel and Initrd are the guest kernel and the project's initramfs (which knows ProbeArg); Append is
	// the image's kernel command line, to which the probe adds ProbeArg. Without a kernel the answer is TCG.
	Kernel, Initrd, Append string
	CacheFile              string        // the cache (labpath.AccelCache); "" means no cache: probe every time
	NoCache                bool          // probe even if the answer is cached, and do not write it
	Timeout                time.Duration // 0 means DefaultProbeTimeout

	kvmDevice string // "" means /dev/kvm; unit tests point it elsewhere
}

func (p AccelProbe) withDefaults() AccelProbe {
	if p.Qemu == "" {
		p.Qemu = "qemu-system-x86_64"
	}
	if p.Machine == "" {
		p.Machine = "pc"
	}
	if p.Timeout == 0 {
		p.Timeout = DefaultProbeTimeout
	}
	return p
}

// Probe returns the cached answer for this configuration, or boots the probe. It never fails: any problem
// with KVM yields TCG with the reason.
func (p AccelProbe) Probe(ctx context.Context) Accel {
	if v := forced(); v != "" {
		return Accel{Name: v, Reason: "set by CLOONIX_ACCEL=" + v}
	}
	p = p.withDefaults()
	key := p.cacheKey()
	cached := !p.NoCache && p.CacheFile != "" && key != ""
	if cached {
		if a, ok := readAccelCache(p.CacheFile, key); ok {
			return a
		}
	}
	a := p.probe(ctx)
	if cached && ctx.Err() == nil {
		_ = writeAccelCache(p.CacheFile, key, a)
	}
	return a
}

// forced returns the accelerator CLOONIX_ACCEL names ("kvm" or "tcg"), or "".
func forced() string {
	switch v := os.Getenv("CLOONIX_ACCEL"); v {
	case "kvm", "tcg":
		return v
	}
	return ""
}

// Record stores a verdict for this configuration, replacing the probe's: a VM that hung under KVM although
// the probe passed makes every later start of this boot use TCG. Without a CacheFile it does nothing.
func (p AccelProbe) Record(a Accel) error {
	if p.CacheFile == "" || forced() != "" {
		return nil // no cache, or CLOONIX_ACCEL decides: nothing to remember
	}
	p = p.withDefaults()
	key := p.cacheKey()
	if key == "" {
		return errors.New("accelerator cache: no key for this qemu and kernel")
	}
	return writeAccelCache(p.CacheFile, key, a)
}

func (p AccelProbe) probe(ctx context.Context) Accel {
	dev := p.kvmDevice
	if dev == "" {
		dev = "/dev/kvm"
	}
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return TCG(fmt.Sprintf("KVM unusable: cannot open /dev/kvm (%v); using TCG (software emulation)", errors.Unwrap(err)))
	}
	f.Close()
	took, err := p.Boot(ctx, "kvm")
	switch {
	case err == nil:
		return Accel{Name: "kvm", Reason: fmt.Sprintf("KVM works: the guest kernel booted to user space under -accel kvm -cpu host in %.1fs", took.Seconds())}
	case errors.Is(err, errNoKernel):
		return TCG(fmt.Sprintf("KVM not probed: %v; using TCG", err))
	case ctx.Err() != nil:
		return TCG("KVM not probed: interrupted; using TCG")
	default:
		return TCG(fmt.Sprintf("KVM unusable: %v; using TCG (software emulation)", err))
	}
}

// errNoKernel is why a probe could not boot at all: no guest kernel or initramfs to boot.
var errNoKernel = errors.New("no guest kernel")

// Boot boots the probe once under accel ("kvm" or "tcg") with the VMs' machine and CPU arguments, and
// returns how long the kernel took to reach user space, or an error saying what happened instead (silence,
// the last console line, qemu's exit and first error line). It does not use the cache.
func (p AccelProbe) Boot(ctx context.Context, accel string) (time.Duration, error) {
	p = p.withDefaults()
	if p.Kernel == "" || p.Initrd == "" {
		return 0, fmt.Errorf("%w to boot", errNoKernel)
	}
	for _, file := range []string{p.Kernel, p.Initrd} {
		if _, err := os.Stat(file); err != nil {
			return 0, fmt.Errorf("%w: %v", errNoKernel, err)
		}
	}
	res := bootProbe(ctx, p.Qemu, p.args(accel), p.Timeout)
	what := "under " + strings.Join(cpuArgs(p.Machine, accel)[2:], " ")
	switch {
	case res.reached:
		return res.took, nil
	case ctx.Err() != nil:
		return 0, fmt.Errorf("probe %s: %w", what, ctx.Err())
	case res.timedOut:
		return 0, fmt.Errorf("the guest kernel did not reach user space within %v %s (%s)", p.Timeout, what, res.consoleSummary())
	case res.exitErr != nil:
		return 0, fmt.Errorf("qemu %s failed (%v: %s)", what, res.exitErr, firstLine(res.stderr))
	default:
		return 0, fmt.Errorf("the guest kernel stopped before user space %s (%s)", what, res.consoleSummary())
	}
}

// args is the probe's qemu argv under accel.
func (p AccelProbe) args(accel string) []string {
	a := cpuArgs(p.Machine, accel)
	return append(a,
		"-m", "256", "-smp", "1",
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-serial", "stdio",
		"-kernel", p.Kernel, "-initrd", p.Initrd,
		"-append", strings.TrimSpace(p.Append+" "+ProbeArg+" panic=-1"),
	)
}

// probeResult is what one probe boot showed.
type probeResult struct {
	reached  bool          // ProbeMarker appeared on the console
	took     time.Duration // until the marker
	timedOut bool
	exitErr  error // qemu's exit status when it ended on its own
	console  []string
	stderr   string
}

// consoleSummary says what the console showed, for a reason line.
func (r probeResult) consoleSummary() string {
	if len(r.console) == 0 {
		return "the console stayed silent"
	}
	return fmt.Sprintf("%d console lines, the last: %q", len(r.console), termsafe.Line(r.console[len(r.console)-1], 80))
}

// bootProbe runs qemu with args until the marker appears (then kills it), qemu exits, or timeout passes.
func bootProbe(ctx context.Context, qemu string, args []string, timeout time.Duration) probeResult {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, args...)
	cmd.WaitDelay = time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return probeResult{exitErr: err}
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return probeResult{exitErr: err}
	}
	var res probeResult
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 4096), 1<<20)
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r")
			mu.Lock()
			if strings.TrimSpace(line) != "" {
				res.console = append(res.console, line)
			}
			if strings.Contains(line, ProbeMarker) && !res.reached {
				res.reached, res.took = true, time.Since(start)
				cancel() // proof enough; do not wait for the power-off
			}
			mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	<-done
	werr := cmd.Wait()
	mu.Lock()
	defer mu.Unlock()
	res.stderr = stderr.String()
	if !res.reached {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			res.timedOut = true
		} else if werr != nil {
			res.exitErr = describeExit(werr)
		}
	}
	return res
}

// describeExit turns qemu's exit into a short error.
func describeExit(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Errorf("killed by %v", ws.Signal())
		}
		return fmt.Errorf("exit status %d", ee.ExitCode())
	}
	return err
}

// firstLine returns the most telling line of qemu's stderr: the first "error" line, else the
// first line, without warnings about CPU features.
func firstLine(s string) string {
	var first string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.Contains(l, "warning:") {
			continue
		}
		if strings.Contains(l, "error") {
			return termsafe.Line(l, 160)
		}
		if first == "" {
			first = l
		}
	}
	if first == "" {
		return "no message"
	}
	return termsafe.Line(first, 160)
}

// maxCacheEntries bounds accel.json; older entries of this boot go first.
const maxCacheEntries = 16

type accelCacheEntry struct {
	Key   string    `json:"key"`
	Accel Accel     `json:"accel"`
	At    time.Time `json:"at"`
}

// cacheKey ties an answer to this boot, this qemu binary, the kernel and initramfs, and the machine type.
// It is "" when one of them cannot be identified (then nothing is cached).
func (p AccelProbe) cacheKey() string {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	path, err := exec.LookPath(p.Qemu)
	if err != nil {
		return ""
	}
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	abs, _ := filepath.Abs(path)
	parts := []string{strings.TrimSpace(string(boot)), p.Machine, fmt.Sprintf("%s:%d:%d", abs, fi.Size(), fi.ModTime().UnixNano())}
	// The kernel and initramfs by content: every project image carries the same two files, so one probe
	// answers for all of them (hashing both takes about 10 ms).
	for _, f := range []string{p.Kernel, p.Initrd} {
		if f == "" {
			parts = append(parts, "-")
			continue
		}
		sum, err := fileSHA256(f)
		if err != nil {
			return ""
		}
		parts = append(parts, sum)
	}
	return strings.Join(parts, "|")
}

// fileSHA256 is the hex sha256 of a file's content.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func readAccelCacheEntries(path string) []accelCacheEntry {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var es []accelCacheEntry
	if json.Unmarshal(b, &es) != nil {
		return nil
	}
	return es
}

func readAccelCache(path, key string) (Accel, bool) {
	for _, e := range readAccelCacheEntries(path) {
		if e.Key == key && (e.Accel.Name == "kvm" || e.Accel.Name == "tcg") {
			e.Accel.Cached = true
			return e.Accel, true
		}
	}
	return Accel{}, false
}

// writeAccelCache stores a for key, dropping entries of other boots and the oldest beyond maxCacheEntries.
func writeAccelCache(path, key string, a Accel) error {
	boot, _, _ := strings.Cut(key, "|")
	es := []accelCacheEntry{{Key: key, Accel: a, At: time.Now().UTC()}}
	for _, e := range readAccelCacheEntries(path) {
		if b, _, _ := strings.Cut(e.Key, "|"); e.Key != key && b == boot && len(es) < maxCacheEntries {
			es = append(es, e)
		}
	}
	b, err := json.MarshalIndent(es, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("accelerator cache: %w", err)
	}
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return fmt.Errorf("accelerator cache: %w", err)
	}
	return nil
}
