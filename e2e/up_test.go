package e2e

import (
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
	fg := startLabd(t, nil, "up", "--foreground", file)
	waitFor(t, 2*time.Minute, "vm1 running under a foreground daemon", func() bool {
		r := labd(t, "--lab", name, "status", "--json")
		return r.code == 0 && strings.Contains(r.stdout, `"state": "running"`)
	})
	if pids := qemuPIDs(t, "/cloonix/"+name+"/"); len(pids) != 1 {
		t.Fatalf("want one qemu, got %v", pids)
	}
	if err := fg.stop(t, syscall.SIGINT, time.Minute); err != nil {
		t.Errorf("foreground daemon exited with %v:\n%s", err, fg.out.String())
	}
	if pids := qemuPIDs(t, "/cloonix/"+name+"/"); len(pids) > 0 {
		t.Errorf("qemu left after Ctrl-C: %v", pids)
	}
	labd(t, "--lab", name, "down", "--purge")
}

// TestUpTimeoutNamesTheVM: when a VM is not ready in time, up fails naming it, with its console's last lines,
// and takes the lab down (no daemon, no qemu) unless --keep; a console that stayed empty names the
// accelerator and what to try.
func TestUpTimeoutNamesTheVM(t *testing.T) {
	const name = "e2eslow"
	file := writeLab(t, `
version = 1
name = "e2eslow"
[nat]
[[vm]]
name = "slowvm"
`)
	t.Cleanup(func() { labd(t, "--lab", name, "down", "--purge") })
	r := labd(t, "up", "--timeout", "1s", file)
	if r.code == 0 {
		t.Fatalf("up with a 1 s timeout succeeded: %s", r)
	}
	if !strings.Contains(r.stderr, "slowvm is not ready after 1s") || !strings.Contains(r.stderr, "console") {
		t.Fatalf("timeout error does not name the VM or show its console: %s", r)
	}
	if !strings.Contains(r.stderr, "was taken down") || !strings.Contains(r.stderr, filepath.Join(stateDir(name), "vms")) {
		t.Errorf("a failed up does not say it took the lab down and where the console logs are: %s", r)
	}
	assertLabGone(t, name)

	// --keep leaves it up, and says how to stop it.
	r = labd(t, "up", "--keep", "--timeout", "1s", file)
	if r.code == 0 || !strings.Contains(r.stderr, "stays up (--keep)") || !strings.Contains(r.stderr, "cloonix-labd down --lab "+name) {
		t.Fatalf("up --keep: %s", r)
	}
	if s := getStatus(t, name); len(s.VMs) != 1 || s.VMs[0].PID == 0 {
		t.Fatalf("after up --keep the lab is not up: %+v", s)
	}
	mustLabd(t, "down", "--lab", name)
	assertLabGone(t, name)

	// A guest that never prints (a hung KVM forced on, caught before the watchdog's 10 s).
	extra, _ := fakeKVMPath(t, "hang")
	r = runCmdEnv(t, 2*time.Minute, nil, append(extra, "CLOONIX_ACCEL=kvm"), filepath.Join(env.bin, "cloonix-labd"), "up", "--timeout", "4s", file)
	if r.code == 0 || !strings.Contains(r.stderr, "console stayed empty under kvm") || !strings.Contains(r.stderr, "CLOONIX_ACCEL=tcg cloonix-labd up") {
		t.Errorf("empty console under KVM: the error does not name the accelerator and what to try: %s", r)
	}
	assertLabGone(t, name)
}

// TestUpInterrupted: Ctrl-C while up waits says it was interrupted (not "not ready after 2m") and leaves no
// daemon and no qemu.
func TestUpInterrupted(t *testing.T) {
	const name = "e2eintr"
	file := writeLab(t, `
version = 1
name = "e2eintr"
[nat]
[[vm]]
name = "vm1"
`)
	t.Cleanup(func() { labd(t, "--lab", name, "down", "--purge") })
	up := startLabd(t, nil, "up", file)
	up.waitOutput(t, time.Minute, "vm1          booting")
	if err := up.stop(t, syscall.SIGINT, 2*time.Minute); err == nil {
		t.Errorf("an interrupted up exited 0:\n%s", up.out.String())
	}
	if o := up.out.String(); !strings.Contains(o, "interrupted while waiting for vm vm1") || !strings.Contains(o, "was taken down") || strings.Contains(o, "not ready after") {
		t.Errorf("interrupted up says:\n%s", o)
	}
	assertLabGone(t, name)
}

// assertLabGone fails unless the lab has no daemon and no qemu.
func assertLabGone(t *testing.T, name string) {
	t.Helper()
	if pids := qemuPIDs(t, "/cloonix/"+name+"/"); len(pids) > 0 {
		t.Errorf("qemu left running: %v", pids)
	}
	if r := labd(t, "--lab", name, "status"); r.code == 0 {
		t.Errorf("the lab's daemon still answers: %s", r)
	}
}
