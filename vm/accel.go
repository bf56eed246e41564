package vm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Accel is the accelerator a VM runs with, and why it was chosen. Status shows both.
type Accel struct {
	Name   string `json:"name"`   // "kvm" or "tcg"
	Reason string `json:"reason"` // one line
	Cached bool   `json:"-"`      // the answer came from this boot's probe cache
}

// AccelProbe configures ProbeAccel. The zero value uses qemu-system-x86_64 from PATH, a cache
// file under the runtime directory and a 1.5 s limit.
type AccelProbe struct {
	Qemu      string        // qemu binary; "" means qemu-system-x86_64
	CacheFile string        // "" means $XDG_RUNTIME_DIR/cloonix/accel.json (or /tmp/cloonix-UID/)
	NoCache   bool          // probe even if this boot's answer is cached, and do not write it
	Timeout   time.Duration // 0 means 1.5 s
}

// probeMarker is what the probe guest prints on its serial port before exiting.
const (
	probeMarker   = "cloonix-kvm-ok\n"
	probeExitCode = 0x21 // qemu's status for debugExit(0x10)
)

// ProbeAccel decides between KVM and TCG with the default AccelProbe. It never fails: any
// problem with KVM yields TCG with the reason.
func ProbeAccel(ctx context.Context) Accel { return AccelProbe{}.Probe(ctx) }

// Probe runs the probe, or returns this boot's cached answer.
//
// Why this probe: a readable /dev/kvm is not enough. On PVM-based KVM (this project's CI and dev
// machines) qemu aborts with "failed to set MSR 0x10a" (IA32_ARCH_CAPABILITIES) as soon as it
// loads the vCPU state of a "-cpu host" guest, and with qemu's default CPU model a Debian kernel
// hangs without printing anything, although a trivial 32-bit payload still runs. Spec.Args uses
// "-cpu host" with KVM, so the probe runs exactly that configuration: qemu -accel kvm -cpu host
// boots a 60-byte multiboot kernel that prints a marker on COM1 and exits through
// isa-debug-exit. KVM is chosen only if qemu exits with the payload's status and the marker
// within the timeout (normally ~50 ms). The environment variable CLOONIX_ACCEL=kvm|tcg overrides
// the probe.
func (p AccelProbe) Probe(ctx context.Context) Accel {
	switch v := os.Getenv("CLOONIX_ACCEL"); v {
	case "kvm", "tcg":
		return Accel{Name: v, Reason: "set by CLOONIX_ACCEL=" + v}
	}
	if p.Qemu == "" {
		p.Qemu = "qemu-system-x86_64"
	}
	if p.Timeout == 0 {
		p.Timeout = 1500 * time.Millisecond
	}
	key := accelCacheKey(p.Qemu)
	if p.CacheFile == "" {
		p.CacheFile = filepath.Join(runtimeBase(), "accel.json")
	}
	if !p.NoCache && key != "" {
		if a, ok := readAccelCache(p.CacheFile, key); ok {
			return a
		}
	}
	a := p.probe(ctx)
	if !p.NoCache && key != "" && ctx.Err() == nil {
		writeAccelCache(p.CacheFile, key, a)
	}
	return a
}

func (p AccelProbe) probe(ctx context.Context) Accel {
	tcg := func(format string, args ...any) Accel {
		return Accel{Name: "tcg", Reason: fmt.Sprintf(format, args...)}
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return tcg("KVM unusable: cannot open /dev/kvm (%v); using TCG (software emulation)", errors.Unwrap(err))
	}
	f.Close()

	dir, err := os.MkdirTemp("", "cloonix-kvm-probe-")
	if err != nil {
		return tcg("KVM not probed (temp dir: %v); using TCG", err)
	}
	defer os.RemoveAll(dir)
	kernel := filepath.Join(dir, "probe.bin")
	code := append(serialPrint(probeMarker), debugExit(0x10)...)
	if err := os.WriteFile(kernel, multibootImage(code), 0o600); err != nil {
		return tcg("KVM not probed (write payload: %v); using TCG", err)
	}
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.Qemu,
		"-accel", "kvm", "-cpu", "host", "-machine", "pc", "-m", "16",
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-serial", "stdio", "-device", fmt.Sprintf("isa-debug-exit,iobase=%#x,iosize=4", debugExitPort),
		"-kernel", kernel)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start).Round(time.Millisecond)
	msg := firstLine(stderr.String())
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return tcg("KVM unusable: a -cpu host test guest did not finish within %v (hung vCPU, as on PVM hosts); using TCG", p.Timeout)
	case errors.As(err, &ee) && ee.ExitCode() == probeExitCode && strings.Contains(stdout.String(), probeMarker):
		return Accel{Name: "kvm", Reason: fmt.Sprintf("KVM works: a -cpu host test guest ran and exited in %v", took)}
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return tcg("KVM unusable: qemu -accel kvm -cpu host died (signal: %v; %s); using TCG", ws.Signal(), msg)
		}
		return tcg("KVM unusable: qemu -accel kvm -cpu host exited %d (%s); using TCG", ee.ExitCode(), msg)
	case err != nil:
		return tcg("KVM not probed (%v); using TCG", err)
	default:
		return tcg("KVM unusable: the -cpu host test guest exited 0 without running (%s); using TCG", msg)
	}
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
			return l
		}
		if first == "" {
			first = l
		}
	}
	if first == "" {
		return "no message"
	}
	return first
}

type accelCache struct {
	Key   string `json:"key"`
	Accel Accel  `json:"accel"`
}

// accelCacheKey ties the cached answer to this boot and this qemu binary.
func accelCacheKey(qemu string) string {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	path, err := exec.LookPath(qemu)
	if err != nil {
		return ""
	}
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%s|%s|%d", strings.TrimSpace(string(boot)), path, fi.ModTime().UnixNano())
}

func readAccelCache(path, key string) (Accel, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Accel{}, false
	}
	var c accelCache
	if json.Unmarshal(b, &c) != nil || c.Key != key || (c.Accel.Name != "kvm" && c.Accel.Name != "tcg") {
		return Accel{}, false
	}
	c.Accel.Cached = true
	return c.Accel, true
}

func writeAccelCache(path, key string, a Accel) {
	b, err := json.Marshal(accelCache{Key: key, Accel: a})
	if err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return
	}
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	if os.WriteFile(tmp, b, 0o600) == nil {
		_ = os.Rename(tmp, path)
	}
}

// runtimeBase is the per-user runtime directory cloonix uses ($XDG_RUNTIME_DIR/cloonix, else
// /tmp/cloonix-UID), the parent of the per-lab directories.
func runtimeBase() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "cloonix")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("cloonix-%d", os.Getuid()))
}
