package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestUpForeground: `up --foreground` keeps the daemon attached; Ctrl-C (SIGINT) takes the lab down and
// leaves no qemu behind.
func TestUpForeground(t *testing.T) {
	const name = "e2efg"
	file := writeLab(t, `
version = 1
name = "e2efg"
[nat]
[[vm]]
name = "vm1"
`)
	cmd := exec.Command(filepath.Join(env.bin, "cloonix-labd"), "up", "--foreground", file)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() { _ = cmd.Process.Kill() }()
	waitFor(t, 2*time.Minute, "vm1 running under a foreground daemon", func() bool {
		r := labd(t, "--lab", name, "status", "--json")
		return r.code == 0 && strings.Contains(r.stdout, `"state": "running"`)
	})
	if pids := qemuPIDs(t, "/cloonix/"+name+"/"); len(pids) != 1 {
		t.Fatalf("want one qemu, got %v", pids)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("foreground daemon exited with %v:\n%s", err, out.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("SIGINT did not end the foreground daemon:\n%s", out.String())
	}
	if pids := qemuPIDs(t, "/cloonix/"+name+"/"); len(pids) > 0 {
		t.Errorf("qemu left after Ctrl-C: %v", pids)
	}
	labd(t, "--lab", name, "down", "--purge")
}

// TestUpTimeoutNamesTheVM: when a VM is not ready in time, up fails naming it, with its console's last lines.
func TestUpTimeoutNamesTheVM(t *testing.T) {
	const name = "e2eslow"
	file := writeLab(t, `
version = 1
name = "e2eslow"
[nat]
[[vm]]
name = "slowvm"
`)
	r := labd(t, "up", "--timeout", "1s", file)
	defer labd(t, "--lab", name, "down", "--purge")
	if r.code == 0 {
		t.Fatalf("up with a 1 s timeout succeeded: %s", r)
	}
	if !strings.Contains(r.stderr, "slowvm is not ready after 1s") || !strings.Contains(r.stderr, "console") {
		t.Fatalf("timeout error does not name the VM or show its console: %s", r)
	}
}
