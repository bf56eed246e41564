package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const faultLab = `
version = 1
name = "%s"
[[lan]]
name = "lan1"
[[vm]]
name = "vm1"
nics = { eth0 = "lan1" }
[[vm]]
name = "vm2"
nics = { eth0 = "lan1" }
`

// faultLabFile writes the two-VM fault lab under name; the lab is taken down and purged when the test ends.
func faultLabFile(t *testing.T, name string) string {
	t.Helper()
	t.Cleanup(func() { labd(t, "--lab", name, "down", "--purge") })
	return writeLab(t, strings.ReplaceAll(faultLab, "%s", name))
}

// killDaemon SIGKILLs the lab's daemon and waits until it is gone; its qemus keep running.
func killDaemon(t *testing.T, s status) {
	t.Helper()
	if err := syscall.Kill(s.Lab.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "labd gone", func() bool { return syscall.Kill(s.Lab.PID, 0) != nil })
}

// alive tells whether a process runs; a zombie (exited, not yet reaped by this sandbox's init) does not.
func alive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + itoa(pid) + "/stat")
	i := strings.LastIndexByte(string(b), ')')
	return err == nil && i > 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestFailedStartKeepsAdoptedVMs: labd dies; vm2's QMP socket is lost; the next up fails on vm2, and vm1,
// which it had adopted, keeps running (it used to be powered off). Once vm2's qemu is stopped as the error
// says, up adopts vm1 again and starts vm2.
func TestFailedStartKeepsAdoptedVMs(t *testing.T) {
	const name = "e2efault1"
	file := faultLabFile(t, name)
	mustLabd(t, "up", file)
	s := getStatus(t, name)
	_, pid1 := s.vm("vm1")
	_, pid2 := s.vm("vm2")
	killDaemon(t, s)
	if err := os.Remove(filepath.Join(env.root, "run", "cloonix", name, "vm2.qmp")); err != nil {
		t.Fatal(err)
	}
	r := labd(t, "up", file)
	if r.code == 0 || !strings.Contains(r.stderr, "QMP socket is gone") || !strings.Contains(r.stderr, "kill ") {
		t.Fatalf("up with vm2's QMP socket gone: %s", r)
	}
	if !alive(pid1) {
		t.Fatalf("the failed up powered off the adopted vm1 (pid %d)", pid1)
	}
	if err := syscall.Kill(pid2, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "vm2's qemu gone", func() bool { return !alive(pid2) })
	mustLabd(t, "up", file)
	s = getStatus(t, name)
	if _, pid := s.vm("vm1"); pid != pid1 {
		t.Errorf("vm1 runs as pid %d, want the adopted %d", pid, pid1)
	}
	if st, pid := s.vm("vm2"); st != "running" || pid == pid2 || pid == 0 {
		t.Errorf("vm2: %s pid %d, want a new running qemu", st, pid)
	}
	mustLabd(t, "--lab", name, "down")
}

// TestUnrecordedQemuIsNotDoubled: a live qemu whose record is lost (a daemon killed between starting it and
// writing qemu.json) is refused, not started a second time next to the first.
func TestUnrecordedQemuIsNotDoubled(t *testing.T) {
	const name = "e2efault2"
	file := faultLabFile(t, name)
	mustLabd(t, "up", file)
	s := getStatus(t, name)
	_, pid1 := s.vm("vm1")
	killDaemon(t, s)
	if err := os.Remove(filepath.Join(stateDir(name), "vms", "vm1", "qemu.json")); err != nil {
		t.Fatal(err)
	}
	r := labd(t, "up", file)
	if r.code == 0 || !strings.Contains(r.stderr, "already runs") || !strings.Contains(r.stderr, "kill ") {
		t.Fatalf("up with vm1's record lost: %s", r)
	}
	if n := len(qemuPIDs(t, "/cloonix/"+name+"/vm1.qmp")); n != 1 {
		t.Fatalf("%d qemus run for vm1, want exactly the first", n)
	}
	if !alive(pid1) {
		t.Fatal("the first qemu of vm1 was stopped")
	}
	// As the error says: stop it, then up works.
	_ = syscall.Kill(pid1, syscall.SIGKILL)
	waitFor(t, 10*time.Second, "vm1's qemu gone", func() bool { return !alive(pid1) })
	mustLabd(t, "up", file)
	mustLabd(t, "--lab", name, "down")
}

// TestDownDuringSlowStart: `down` while the daemon is still starting (its accelerator probe hangs for 6 s,
// so it does not answer yet) stops the daemon and everything it started, instead of deciding from a failed
// API probe that the daemon is dead.
func TestDownDuringSlowStart(t *testing.T) {
	const name = "e2efault3"
	file := faultLabFile(t, name)
	extra, _ := fakeKVMPath(t, "hang") // a fresh qemu path: the probe runs, and hangs for its 6 s
	up := startLabd(t, extra, "up", file)
	up.waitOutput(t, 10*time.Second, "starting daemon")
	time.Sleep(time.Second)
	r := labd(t, "--lab", name, "down")
	t.Logf("down during the start: %s", r)
	if r.code != 0 || !strings.Contains(r.stdout, "not answering yet") {
		t.Errorf("down during a slow start: %s", r)
	}
	_ = up.wait(t, time.Minute)
	if pids := qemuPIDs(t, "/cloonix/"+name+"/"); len(pids) > 0 {
		t.Errorf("qemu left after down during the start: %v", pids)
	}
	if r := labd(t, "--lab", name, "status"); r.code == 0 {
		t.Errorf("the daemon still answers after down: %s", r)
	}
}

// TestRuntimeDirDeleted: logind deletes $XDG_RUNTIME_DIR at logout; the daemon makes its control socket again,
// so status, a second up ("already up") and down keep working.
func TestRuntimeDirDeleted(t *testing.T) {
	const name = "e2efault4"
	file := faultLabFile(t, name)
	mustLabd(t, "up", file)
	if err := os.RemoveAll(filepath.Join(env.root, "run", "cloonix", name)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "status to answer again", func() bool { return labd(t, "--lab", name, "status").code == 0 })
	if r := labd(t, "up", file); r.code == 0 || !strings.Contains(r.stderr, "already up") {
		t.Errorf("a second up after the runtime directory vanished: %s", r)
	}
	mustLabd(t, "--lab", name, "down")
	if pids := qemuPIDs(t, "/cloonix/"+name+"/"); len(pids) > 0 {
		t.Errorf("qemu left after down: %v", pids)
	}
}

// TestRemovedVMIsStopped: a VM removed from the lab file while no daemon ran is stopped (and said so) by the
// next up, not left running unseen.
func TestRemovedVMIsStopped(t *testing.T) {
	const name = "e2efault5"
	file := faultLabFile(t, name)
	mustLabd(t, "up", file)
	s := getStatus(t, name)
	_, pid2 := s.vm("vm2")
	killDaemon(t, s)
	one := strings.ReplaceAll(faultLab, "%s", name)
	one = one[:strings.Index(one, "[[vm]]\nname = \"vm2\"")]
	if err := os.WriteFile(file, []byte(one), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustLabd(t, "up", file)
	if !strings.Contains(out, "vm2") || !strings.Contains(out, "no longer in the lab file") {
		t.Errorf("up does not report the removed vm2:\n%s", out)
	}
	if alive(pid2) {
		stat, _ := os.ReadFile("/proc/" + itoa(pid2) + "/stat")
		cmdline, _ := os.ReadFile("/proc/" + itoa(pid2) + "/cmdline")
		t.Errorf("the removed vm2's qemu (pid %d) still runs: %s %q\n%s", pid2, stat, cmdline, out)
	}
	mustLabd(t, "--lab", name, "down", "--purge")
}

// TestLinkStateSurvivesRestart: a link taken down with `cloonix-labd link` stays down on the switch after the
// daemon is killed and the VMs adopted (qemu keeps its own side down); up again clears the record.
func TestLinkStateSurvivesRestart(t *testing.T) {
	const name = "e2efault6"
	file := faultLabFile(t, name)
	mustLabd(t, "up", file)
	mustLabd(t, "link", "--lab", name, "vm1", "eth0", "down")
	links := filepath.Join(stateDir(name), "links.json")
	if b, err := os.ReadFile(links); err != nil || !strings.Contains(string(b), `"vm1/eth0"`) {
		t.Fatalf("links.json after link down: %q %v", b, err)
	}
	killDaemon(t, getStatus(t, name))
	mustLabd(t, "up", file)
	if b, _ := os.ReadFile(filepath.Join(stateDir(name), "labd.log")); !strings.Contains(string(b), "link kept down across the restart") {
		t.Errorf("the new daemon did not restore vm1/eth0's link state")
	}
	mustLabd(t, "link", "--lab", name, "vm1", "eth0", "up")
	if b, _ := os.ReadFile(links); strings.Contains(string(b), "vm1/eth0") {
		t.Errorf("links.json still lists vm1/eth0 after link up: %s", b)
	}
	mustLabd(t, "--lab", name, "down")
}
