package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// daemonPID finds the `cloonix-labd serve FILE` process of a lab file, or 0.
func daemonPID(file string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if strings.Contains(string(b), "\x00serve\x00"+file) {
			var pid int
			fmt.Sscan(e.Name(), &pid)
			return pid
		}
	}
	return 0
}

// checkInvariants: never two qemus for one VM, and every state file of the lab parses.
func checkInvariants(t *testing.T, name, when string) {
	t.Helper()
	for _, vm := range []string{"vm1", "vm2"} {
		if n := len(qemuPIDs(t, "/cloonix/"+name+"/"+vm+".qmp")); n > 1 {
			t.Fatalf("%s: %d qemus run for %s", when, n, vm)
		}
	}
	files, _ := filepath.Glob(filepath.Join(stateDir(name), "vms", "*", "qemu.json"))
	files = append(files, filepath.Join(stateDir(name), "links.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		var v any
		if err != nil || json.Unmarshal(b, &v) != nil {
			t.Fatalf("%s: %s does not parse: %q %v", when, f, b, err)
		}
	}
}

// TestKillLoop SIGKILLs the daemon at random points while it brings the lab up, takes it down and sets a
// link, and checks each time that no VM has two qemus, the state files parse, the next up brings every VM
// up (adopted or started) and a down leaves no qemu.
func TestKillLoop(t *testing.T) {
	const name = "e2ekill"
	file := faultLabFile(t, name)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 18))
	kills := 0
	killDuring := func(what string, args []string, maxDelay time.Duration) {
		t.Helper()
		cmd := exec.Command(filepath.Join(env.bin, "cloonix-labd"), args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(rng.Int64N(int64(maxDelay)))
		time.Sleep(delay)
		if pid := daemonPID(file); pid != 0 && syscall.Kill(pid, syscall.SIGKILL) == nil {
			kills++
			waitFor(t, 10*time.Second, "the killed daemon gone", func() bool { return syscall.Kill(pid, 0) != nil || !alive(pid) })
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		checkInvariants(t, name, fmt.Sprintf("%s killed after %v", what, delay.Round(time.Millisecond)))
	}
	recover := func(when string) {
		t.Helper()
		if r := labd(t, "up", file); r.code != 0 {
			t.Fatalf("up after %s: %s", when, r)
		}
		for _, v := range getStatus(t, name).VMs {
			if v.State != "running" {
				t.Fatalf("after %s: %s is %s", when, v.Name, v.State)
			}
		}
		checkInvariants(t, name, "up after "+when)
	}
	for round := 0; kills < 30 && round < 40; round++ {
		killDuring("up", []string{"up", file}, 4*time.Second)
		recover("a killed up")
		switch round % 2 {
		case 0:
			killDuring("link", []string{"link", "--lab", name, "vm1", "eth0", "down"}, 300*time.Millisecond)
			recover("a killed link")
			mustLabd(t, "link", "--lab", name, "vm1", "eth0", "up")
		case 1:
			killDuring("down", []string{"--lab", name, "down"}, 2*time.Second)
		}
		mustLabd(t, "--lab", name, "down")
		if pids := qemuPIDs(t, "/cloonix/"+name+"/"); len(pids) > 0 {
			t.Fatalf("round %d: qemu left after down: %v", round, pids)
		}
	}
	t.Logf("%d kill points survived", kills)
	if kills < 30 {
		t.Errorf("only %d kill points hit the daemon; want at least 30", kills)
	}
}
