package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCorruptStateFiles: a damaged or truncated state file gives one line naming the file and the fix, or,
// where nothing is lost (a qemu record of a VM that no longer runs), a warning in the daemon's log and a
// clean start.
func TestCorruptStateFiles(t *testing.T) {
	const name = "e2ecorrupt"
	file := writeLab(t, `
version = 1
name = "e2ecorrupt"
[nat]
[[vm]]
name = "vm1"
`)
	t.Cleanup(func() { labd(t, "--lab", name, "down", "--purge") })
	mustLabd(t, "up", file)
	mustLabd(t, "--lab", name, "down")
	state := stateDir(name)
	damage := func(path string, truncate bool) {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("set-up: %v", err)
		}
		if truncate {
			b = b[:len(b)/2]
		} else {
			b = []byte("\x00garbage{")
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		file     string
		truncate bool
		want     string // in up's error
	}{
		{"leases-nat.json", true, "delete it"},
		{"leases-nat.json", false, "delete it"},
		{"id_ed25519", true, "delete it"},
		{"links.json", false, "delete it"},
	} {
		path := filepath.Join(state, c.file)
		if c.file == "links.json" {
			if err := os.WriteFile(path, []byte(`{"down":[]}`), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		damage(path, c.truncate)
		r := labd(t, "up", file)
		msg := strings.TrimSpace(r.stderr)
		if r.code == 0 || !strings.Contains(msg, path) || !strings.Contains(msg, c.want) || strings.Count(msg, "\n") > 0 {
			t.Errorf("%s (truncated %v): up gave %s; want one line naming the file and %q", c.file, c.truncate, r, c.want)
		}
		assertLabGone(t, name)
		if err := os.Remove(path); err != nil { // as the line says
			t.Fatal(err)
		}
		if c.file == "id_ed25519" {
			_ = os.Remove(path + ".pub")
		}
		mustLabd(t, "up", file)
		mustLabd(t, "--lab", name, "down")
	}

	// A damaged record of a VM that no longer runs: a warning, and a clean start.
	rec := filepath.Join(state, "vms", "vm1", "qemu.json")
	if err := os.WriteFile(rec, []byte(`{"pid": 12`), 0o600); err != nil {
		t.Fatal(err)
	}
	mustLabd(t, "up", file)
	if b, _ := os.ReadFile(filepath.Join(state, "labd.log")); !strings.Contains(string(b), "damaged qemu record dropped") {
		t.Error("no warning about the damaged qemu record in labd.log")
	}
	mustLabd(t, "--lab", name, "down")
}
