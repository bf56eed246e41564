package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDaemonRestartAdoptsVMs: when labd dies (SIGKILL), its VMs keep running; the next `up` adopts them
// (same qemu pids) instead of starting new ones, and their NICs reconnect, so ssh works again.
func TestDaemonRestartAdoptsVMs(t *testing.T) {
	const name = "e2eadopt"
	file := writeLab(t, `
version = 1
name = "e2eadopt"
[nat]
[[vm]]
name = "vm1"
`)
	mustLabd(t, "up", file)
	defer labd(t, "--lab", name, "down", "--purge")
	_, cfg := sshConfigOf(t, name)
	mustSSH(t, cfg, "vm1", "echo before > /tmp/mark")
	before := getStatus(t, name)
	_, qemuPID := before.vm("vm1")
	if err := syscall.Kill(before.Lab.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "labd gone", func() bool { return syscall.Kill(before.Lab.PID, 0) != nil })
	if syscall.Kill(qemuPID, 0) != nil {
		t.Fatalf("qemu pid %d died with labd", qemuPID)
	}
	out := mustLabd(t, "up", file)
	after := getStatus(t, name)
	if _, pid := after.vm("vm1"); pid != qemuPID {
		t.Fatalf("after restart vm1 runs as pid %d, want the adopted %d\n%s", pid, qemuPID, out)
	}
	if after.Lab.PID == before.Lab.PID {
		t.Fatal("the daemon pid did not change")
	}
	if got := mustSSH(t, cfg, "vm1", "cat /tmp/mark"); strings.TrimSpace(got) != "before" {
		t.Fatalf("after the restart vm1 is not the same machine: /tmp/mark = %q", got)
	}
	// A guest that powers itself off is stopped, not crashed.
	r := sshF(t, cfg, "vm1", "poweroff")
	t.Logf("ssh poweroff: exit %d", r.code)
	waitFor(t, time.Minute, "vm1 stopped after its own poweroff", func() bool {
		st, _ := getStatus(t, name).vm("vm1")
		if st == "crashed" {
			t.Fatalf("a guest poweroff was reported as a crash")
		}
		return st == "stopped"
	})
	mustLabd(t, "--lab", name, "down")
	if pids := qemuPIDs(t, "/cloonix/"+name+"/"); len(pids) > 0 {
		t.Errorf("qemu left after down: %v", pids)
	}

	// A daemon killed for good: `down` still stops the VMs it left, and then --purge is safe.
	mustLabd(t, "up", file)
	st := getStatus(t, name)
	if err := syscall.Kill(st.Lab.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "labd gone", func() bool { return syscall.Kill(st.Lab.PID, 0) != nil })
	out = mustLabd(t, "--lab", name, "down", "--purge")
	if !strings.Contains(out, "vm1") {
		t.Errorf("down without a daemon did not say it stopped vm1: %s", out)
	}
	if pids := qemuPIDs(t, "/cloonix/"+name+"/"); len(pids) > 0 {
		t.Errorf("qemu left after down of a lab whose daemon died: %v", pids)
	}
}
