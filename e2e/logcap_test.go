package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestConsoleFloodIsCapped: a guest that writes 10 MiB to its serial console (about 0.6 MB/s under TCG) does not grow console.log
// without bound: the daemon cuts it at 2 MiB and keeps 3 old copies, and the guest stays reachable.
func TestConsoleFloodIsCapped(t *testing.T) {
	const name = "e2elogcap"
	file := writeLab(t, `
version = 1
name = "e2elogcap"
[nat]
[[vm]]
name = "vm1"
`)
	t.Cleanup(func() { labd(t, "--lab", name, "down", "--purge") })
	mustLabd(t, "up", file)
	_, cfg := sshConfigOf(t, name)
	const flood = 10 << 20
	start := time.Now()
	mustSSH(t, cfg, "vm1", "head -c 10485760 /dev/zero | tr '\\0' x > /dev/ttyS0")
	t.Logf("the guest wrote %d MiB to its console in %v", flood>>20, time.Since(start).Round(time.Millisecond))
	time.Sleep(5 * time.Second) // two of the daemon's checks
	log := filepath.Join(stateDir(name), "vms", "vm1", "console.log")
	var total int64
	for i, f := range []string{log, log + ".1", log + ".2", log + ".3"} {
		st, err := os.Stat(f)
		if err != nil && i == 3 {
			continue // a third rotation depends on where the cuts fell
		}
		if err != nil {
			t.Fatalf("%s: %v (a flood of %d MiB must have rotated the 2 MiB log at least twice)", f, err, flood>>20)
		}
		t.Logf("%s: %d bytes", filepath.Base(f), st.Size())
		// 2 MiB plus what the guest writes between two checks (2 s at ~0.6 MB/s under TCG), with room.
		if st.Size() > 6<<20 {
			t.Errorf("%s holds %d bytes, far past the 2 MiB cap", f, st.Size())
		}
		total += st.Size()
	}
	if _, err := os.Stat(log + ".4"); err == nil {
		t.Error("more than 3 old copies kept")
	}
	t.Logf("the console logs hold %d bytes in all; what a longer flood writes beyond 4 files is dropped", total)
	if st, _ := getStatus(t, name).vm("vm1"); st != "running" {
		t.Errorf("vm1 is %s after the flood", st)
	}
	mustSSH(t, cfg, "vm1", "true")
}
