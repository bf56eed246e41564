// Package e2e holds the end-to-end tests: real qemu VMs (TCG here) from the project's own guest images, the real
// cloonix-labd and cloonix-proxy binaries, the real OpenSSH client and real Ansible.
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/vm"
)

// env is what every test shares: the built binaries and private XDG directories.
var env struct {
	bin      string // directory holding cloonix-labd and cloonix-proxy
	root     string // temp root for XDG dirs
	cacheDir string // image cache (the user's, so images built by test.sh are reused)
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := os.MkdirTemp("", "cloonix-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(root)
	env.root = root
	env.bin = filepath.Join(root, "bin")
	build := exec.Command("go", "build", "-o", env.bin+"/", "../cmd/cloonix-labd", "../cmd/cloonix-proxy")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		return 1
	}
	// The guest images carry cloonix-vsock-bridge, static (the image builder finds it next to cloonix-labd),
	// built as scripts/setup.sh builds it, so the images test.sh built are the ones this suite boots.
	bridge := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", env.bin+"/", "../cmd/cloonix-vsock-bridge")
	bridge.Env = append(os.Environ(), "CGO_ENABLED=0")
	bridge.Stdout, bridge.Stderr = os.Stdout, os.Stderr
	if err := bridge.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build cloonix-vsock-bridge:", err)
		return 1
	}
	for _, d := range []string{"run", "state", "config", "home"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	os.Setenv("PATH", env.bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	os.Setenv("XDG_RUNTIME_DIR", filepath.Join(root, "run"))
	os.Setenv("XDG_STATE_HOME", filepath.Join(root, "state"))
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(root, "config"))
	os.Unsetenv("CLOONIX_LAB")
	// The image cache stays the user's own: test.sh builds the images once, and a warm build is instant.
	out, err := exec.Command(filepath.Join(env.bin, "cloonix-labd"), "image", "build", "tiny").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "image build tiny: %v\n%s", err, out)
		return 1
	}
	code := m.Run()
	defer restoreUserSSH()
	// Leave nothing running: stop every lab a failed test left up.
	labs, _ := filepath.Glob(filepath.Join(root, "run", "cloonix", "*"))
	for _, l := range labs {
		_ = exec.Command(filepath.Join(env.bin, "cloonix-labd"), "--lab", filepath.Base(l), "down").Run()
	}
	return code
}

// result is what a command did.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// runCmd runs a command with a timeout and returns its output and exit code.
func runCmd(t testing.TB, timeout time.Duration, name string, args ...string) result {
	t.Helper()
	return runCmdIn(t, timeout, nil, name, args...)
}

func runCmdIn(t testing.TB, timeout time.Duration, stdin io.Reader, name string, args ...string) result {
	t.Helper()
	return runCmdEnv(t, timeout, stdin, nil, name, args...)
}

// runCmdEnv is runCmdIn with extra environment variables (NAME=value) on top of the test's own.
func runCmdEnv(t testing.TB, timeout time.Duration, stdin io.Reader, extraEnv []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if extraEnv != nil {
		cmd.Env = append(os.Environ(), extraEnv...)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = stdin
	// A killed ssh's ProxyCommand may hold the output pipes; do not wait for it beyond this.
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if err != nil {
		r.code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		}
		if ctx.Err() != nil {
			r.stderr += fmt.Sprintf("\n(timed out after %s)", timeout)
		}
	}
	return r
}

// labd runs cloonix-labd.
func labd(t testing.TB, args ...string) result {
	t.Helper()
	return runCmd(t, 5*time.Minute, filepath.Join(env.bin, "cloonix-labd"), args...)
}

// mustLabd runs cloonix-labd and fails the test unless it exits 0.
func mustLabd(t testing.TB, args ...string) string {
	t.Helper()
	r := labd(t, args...)
	if r.code != 0 {
		t.Fatalf("cloonix-labd %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// writeLab writes a lab file into a fresh directory and returns its path.
func writeLab(t testing.TB, body string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "lab.toml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// status is the JSON of `cloonix-labd status --json`.
type status struct {
	Lab struct {
		Name        string `json:"name"`
		Accel       string `json:"accel"`
		AccelReason string `json:"accel_reason"`
		PID         int    `json:"pid"`
	} `json:"lab"`
	VMs []struct {
		Name        string   `json:"name"`
		State       string   `json:"state"`
		PID         int      `json:"pid"`
		MemoryMiB   int      `json:"memory_mib"`
		Accel       string   `json:"accel"`
		AccelReason string   `json:"accel_reason"`
		NATDrops    uint64   `json:"nat_drops"`
		IP          string   `json:"ip"`
		MACs        []string `json:"macs"`
	} `json:"vms"`
	Leases []struct {
		NAT string `json:"nat"`
		MAC string `json:"mac"`
		IP  string `json:"ip"`
	} `json:"leases"`
}

func getStatus(t testing.TB, labName string) status {
	t.Helper()
	out := mustLabd(t, "--lab", labName, "status", "--json")
	var s status
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	return s
}

// vmState returns the state of one VM.
func (s status) vm(name string) (state string, pid int) {
	for _, v := range s.VMs {
		if v.Name == name {
			return v.State, v.PID
		}
	}
	return "", 0
}

// stateDir is the lab's state directory under the test's XDG_STATE_HOME.
func stateDir(labName string) string {
	return filepath.Join(env.root, "state", "cloonix", labName)
}

// fileHash is the sha256 of a file.
func fileHash(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// qemuPIDs lists the pids of qemu processes whose command line mentions the given text.
func qemuPIDs(t testing.TB, needle string) []string {
	t.Helper()
	var pids []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cmd := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(cmd, "qemu-system") && strings.Contains(cmd, needle) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// bgLabd is a cloonix-labd command running in the background, its output collected.
type bgLabd struct {
	cmd  *exec.Cmd
	out  syncBuffer
	done chan error
}

// startLabd starts cloonix-labd with args (and extra environment variables on top of the test's) in the
// background; it is killed when the test ends if still running.
func startLabd(t *testing.T, extraEnv []string, args ...string) *bgLabd {
	t.Helper()
	b := &bgLabd{cmd: exec.Command(filepath.Join(env.bin, "cloonix-labd"), args...), done: make(chan error, 1)}
	if extraEnv != nil {
		b.cmd.Env = append(os.Environ(), extraEnv...)
	}
	b.cmd.Stdout, b.cmd.Stderr = &b.out, &b.out
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.done <- b.cmd.Wait() }()
	t.Cleanup(func() { _ = b.cmd.Process.Kill() })
	return b
}

// waitOutput waits until the command has printed want.
func (b *bgLabd) waitOutput(t *testing.T, timeout time.Duration, want string) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("%q in the output of cloonix-labd %s", want, strings.Join(b.cmd.Args[1:], " ")),
		func() bool { return strings.Contains(b.out.String(), want) })
}

// stop sends sig and waits for the command to end; it returns how it ended and fails the test if it does
// not end within timeout.
func (b *bgLabd) stop(t *testing.T, sig syscall.Signal, timeout time.Duration) error {
	t.Helper()
	if err := b.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	return b.wait(t, timeout)
}

// wait waits for the command to end on its own.
func (b *bgLabd) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case err := <-b.done:
		return err
	case <-time.After(timeout):
		t.Fatalf("cloonix-labd %s did not end within %v:\n%s", strings.Join(b.cmd.Args[1:], " "), timeout, b.out.String())
		return nil
	}
}

// vmDiagnosis gathers what tells why a VM stopped answering: qemu's run state (paused on an I/O error?), the
// end of its console (a panic, an oops, a soft lockup?), of its vsock helper's log, and the daemon's warnings.
func vmDiagnosis(labName, vmName string) string {
	var b strings.Builder
	dirs, err := labpath.For(labName)
	if err != nil {
		return err.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if q, err := vm.DialQMP(ctx, dirs.QMPSocket(vmName)); err != nil {
		fmt.Fprintf(&b, "qemu: QMP: %v (no answer in 5 s: qemu's main loop is stuck, e.g. on a vhost-user reply)\n", err)
	} else {
		st, err := q.Status(ctx)
		fmt.Fprintf(&b, "qemu run state: %q %v\n", st, err)
		q.Close()
	}
	tail := func(what, path string, n int, keep func(string) bool) {
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", what, err)
			return
		}
		var lines []string
		for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			if keep == nil || keep(l) {
				lines = append(lines, l)
			}
		}
		lines = lines[max(0, len(lines)-n):]
		fmt.Fprintf(&b, "%s (last %d lines):\n%s\n", what, len(lines), strings.Join(lines, "\n"))
	}
	// The switch's side: Tx flat while drops rise means qemu stopped reading the VM's stream socket.
	if out, err := exec.Command(filepath.Join(env.bin, "cloonix-labd"), "--lab", labName, "link", "show").CombinedOutput(); err == nil {
		fmt.Fprintf(&b, "switch ports (link show):\n%s", out)
	} else {
		fmt.Fprintf(&b, "link show: %v: %s\n", err, out)
	}
	tail("console", dirs.ConsoleLog(vmName), 40, nil)
	tail("qemu log (virtio errors, vhost-user)", dirs.QemuLog(vmName), 10, nil)
	tail("vsock helper log", dirs.VsockLog(vmName), 10, nil)
	tail("daemon warnings", dirs.DaemonLog(), 20, func(l string) bool {
		return strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR")
	})
	return b.String()
}

// keepDemoLab plays `cloonix-labd demo --keep NAME` on a fresh lab of that name (an old one is taken down
// first) and leaves it up for the test, which takes it down when it ends; it returns the demo's output.
func keepDemoLab(t *testing.T, name string) result {
	t.Helper()
	labd(t, "--lab", name, "down")
	r := runCmd(t, 8*time.Minute, filepath.Join(env.bin, "cloonix-labd"), "demo", "--keep", name)
	t.Cleanup(func() { labd(t, "--lab", name, "down") })
	if r.code != 0 {
		t.Fatalf("demo --keep %s: %s", name, r)
	}
	return r
}
