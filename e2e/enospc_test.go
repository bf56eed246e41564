package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStateDiskFull: the lab's state directory sits on a small tmpfs that the test fills. The daemon keeps
// serving, says what is full when it cannot save (a link's state), and loses no lease or key: they are
// written whole or not at all (package atomicfile).
func TestStateDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test mounts a tmpfs and needs root; CI runs as root")
	}
	const name = "e2efull"
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	if out, _ := exec.Command("findmnt", "-n", "-o", "FSTYPE", dir).Output(); strings.TrimSpace(string(out)) != "tmpfs" {
		t.Fatalf("set-up: %s is not a tmpfs (%q)", dir, out)
	}
	extra := []string{"XDG_STATE_HOME=" + dir}
	cl := func(args ...string) result {
		return runCmdEnv(t, 3*time.Minute, nil, extra, filepath.Join(env.bin, "cloonix-labd"), args...)
	}
	file := writeLab(t, `
version = 1
name = "e2efull"
[nat]
[[vm]]
name = "vm1"
`)
	t.Cleanup(func() { cl("--lab", name, "down", "--purge") })
	if r := cl("up", file); r.code != 0 {
		t.Fatalf("up: %s", r)
	}
	state := filepath.Join(dir, "cloonix", name)
	key := fileHash(t, filepath.Join(state, "id_ed25519"))
	leases, err := os.ReadFile(filepath.Join(state, "leases-nat.json"))
	if err != nil || !strings.Contains(string(leases), `"ip"`) {
		t.Fatalf("set-up: leases %q %v", leases, err)
	}

	// Fill the disk.
	_ = exec.Command("dd", "if=/dev/zero", "of="+filepath.Join(dir, "fill"), "bs=1M").Run()
	if err := os.WriteFile(filepath.Join(dir, "probe"), make([]byte, 64<<10), 0o600); err == nil {
		t.Fatal("set-up: the tmpfs is not full")
	}
	r := cl("link", "--lab", name, "vm1", "eth0", "down")
	if r.code == 0 || !strings.Contains(r.stderr, "disk is full") || !strings.Contains(r.stderr, "links.json") {
		t.Errorf("link on a full disk: %s; want a refusal that says the disk is full", r)
	}
	if r := cl("--lab", name, "status"); r.code != 0 {
		t.Errorf("the daemon stopped serving when its disk filled: %s", r)
	}
	if b, err := os.ReadFile(filepath.Join(state, "leases-nat.json")); err != nil || string(b) != string(leases) {
		t.Errorf("the lease file changed or broke on a full disk: %q %v", b, err)
	}

	// Free it: everything works again, and nothing was lost.
	if err := os.Remove(filepath.Join(dir, "fill")); err != nil {
		t.Fatal(err)
	}
	if r := cl("link", "--lab", name, "vm1", "eth0", "up"); r.code != 0 {
		t.Errorf("link after the disk was freed: %s", r)
	}
	if r := cl("--lab", name, "down"); r.code != 0 {
		t.Fatalf("down: %s", r)
	}
	if fileHash(t, filepath.Join(state, "id_ed25519")) != key {
		t.Error("the lab key changed")
	}
	if b, _ := os.ReadFile(filepath.Join(state, "leases-nat.json")); !strings.Contains(string(b), `"ip"`) {
		t.Errorf("the leases are lost: %q", b)
	}
}
