package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const twoVMLab = `
version = 1
name = "%s"

[[lan]]
name = "lan1"

[[vm]]
name = "vm1"
image = "tiny"
memory = 256
[vm.nics]
eth0 = "lan1"

[[vm]]
name = "vm2"
image = "tiny"
memory = 256
[vm.nics]
eth0 = "lan1"
`

func baseImage(t *testing.T) string {
	t.Helper()
	out := mustLabd(t, "image", "list")
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == "tiny" {
			dir := f[len(f)-1]
			matches, _ := filepath.Glob(filepath.Join(dir, "*.qcow2"))
			if len(matches) == 1 {
				return matches[0]
			}
			t.Fatalf("image dir %s: want one qcow2, found %v", dir, matches)
		}
	}
	t.Fatalf("tiny image not listed:\n%s", out)
	return ""
}

// TestTwoVMsFromOneBase brings up two VMs from one base image, checks that each read its own day-0 seed,
// that a SIGKILLed qemu is reported as crashed, that down leaves no qemu behind, and that the base image was
// never written.
func TestTwoVMsFromOneBase(t *testing.T) {
	const name = "e2etwo"
	base := baseImage(t)
	before := fileHash(t, base)
	file := writeLab(t, strings.ReplaceAll(twoVMLab, "%s", name))

	// up --no-wait returns once both qemus run, before the guests are ready: neither is running yet
	// (a TCG guest takes seconds to print its readiness line).
	start := time.Now()
	out := mustLabd(t, "up", "--no-wait", file)
	t.Logf("up --no-wait returned after %s:\n%s", time.Since(start), out)
	t.Cleanup(func() { labd(t, "--lab", name, "down") })
	if !strings.Contains(out, "every VM has started") || strings.Contains(out, "running") {
		t.Errorf("up --no-wait output does not say the VMs started, or waited for them:\n%s", out)
	}
	for _, v := range getStatus(t, name).VMs {
		if v.State != "booting" && v.State != "running" || v.PID == 0 {
			t.Errorf("%s after up --no-wait: state %q pid %d, want a started qemu", v.Name, v.State, v.PID)
		}
	}
	waitFor(t, 2*time.Minute, "both VMs running", func() bool {
		for _, v := range getStatus(t, name).VMs {
			if v.State != "running" {
				return false
			}
		}
		return true
	})

	s := getStatus(t, name)
	if s.Lab.Accel == "" || s.Lab.AccelReason == "" {
		t.Errorf("status gives no accelerator or reason: %+v", s.Lab)
	}
	for _, vm := range []string{"vm1", "vm2"} {
		state, pid := s.vm(vm)
		if state != "running" || pid == 0 {
			t.Fatalf("%s: state %q pid %d, want running with a pid", vm, state, pid)
		}
		log, err := os.ReadFile(filepath.Join(stateDir(name), "vms", vm, "console.log"))
		if err != nil {
			t.Fatal(err)
		}
		if want := "cloonix: hostname " + vm + " from seed"; !strings.Contains(string(log), want) {
			t.Errorf("%s console log lacks %q:\n%s", vm, want, tail(string(log), 20))
		}
	}
	table := mustLabd(t, "--lab", name, "status")
	for _, want := range []string{"VM", "STATE", "ACCEL", "PID", "MEMORY", "vm1", "256 MiB"} {
		if !strings.Contains(table, want) {
			t.Errorf("status table lacks %q:\n%s", want, table)
		}
	}

	// A qemu killed behind labd's back is reported as crashed.
	_, pid2 := s.vm("vm2")
	if err := syscall.Kill(pid2, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "vm2 reported as crashed", func() bool {
		st, _ := getStatus(t, name).vm("vm2")
		return st == "crashed"
	})

	mustLabd(t, "--lab", name, "down")
	if pids := qemuPIDs(t, filepath.Join("cloonix", name)+"/"); len(pids) > 0 {
		t.Errorf("qemu processes left after down: %v", pids)
	}
	if r := labd(t, "--lab", name, "status"); r.code == 0 {
		t.Errorf("status after down succeeded: %s", r)
	}
	if after := fileHash(t, base); after != before {
		t.Errorf("base image %s changed: %s → %s", base, before, after)
	}
}

// TestBadInputs runs the CLI with each bad input and checks for a one-line error, a non-zero exit, and
// nothing left running.
func TestBadInputs(t *testing.T) {
	const name = "e2ebad"
	good := writeLab(t, strings.ReplaceAll(twoVMLab, "%s", name))

	cases := []struct {
		what string
		args []string
		want string
	}{
		{"invalid file", []string{"up", writeLab(t, "version = 1\nname = \"Bad Name\"\n[[vm]]\nnam = \"x\"\n")}, "lab.toml:"},
		{"missing image", []string{"up", writeLab(t, "version = 1\nname = \"e2eimg\"\n[[vm]]\nname = \"x\"\nimage = \"./nope.qcow2\"\n")}, "nope.qcow2"},
		{"missing file", []string{"up", "/nonexistent/lab.toml"}, "lab.toml"},
		{"down when not up", []string{"--lab", "e2enotup", "down"}, "not up"},
		{"status when not up", []string{"--lab", "e2enotup", "status"}, "not up"},
		{"console of unknown lab", []string{"--lab", "e2enotup", "console", "vm1"}, "not up"},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			r := labd(t, c.args...)
			if r.code == 0 {
				t.Fatalf("exit 0, want failure: %s", r)
			}
			if !strings.Contains(r.stderr, c.want) || !strings.HasPrefix(r.stderr, "cloonix-labd: ") {
				t.Errorf("stderr %q lacks %q or the cloonix-labd: prefix", r.stderr, c.want)
			}
		})
	}
	if pids := qemuPIDs(t, "/cloonix/e2eimg/"); len(pids) > 0 {
		t.Errorf("a failed up left qemu running: %v", pids)
	}

	// Two ups racing: exactly one wins, the other says the lab is already up, and one set of VMs runs.
	var wg sync.WaitGroup
	results := make([]result, 2)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = labd(t, "up", "--no-wait", good)
		}(i)
	}
	wg.Wait()
	t.Cleanup(func() { labd(t, "--lab", name, "down") })
	wins := 0
	for _, r := range results {
		if r.code == 0 {
			wins++
		} else if !strings.Contains(r.stderr, "already up") {
			t.Errorf("losing up: want 'already up', got %s", r)
		}
	}
	if wins != 1 {
		t.Fatalf("%d ups succeeded, want exactly 1: %v", wins, results)
	}
	if pids := qemuPIDs(t, "/cloonix/"+name+"/"); len(pids) != 2 {
		t.Errorf("want 2 qemu processes after racing ups, got %d: %v", len(pids), pids)
	}
	// A third up on a lab that is up fails the same way.
	if r := labd(t, "up", good); r.code == 0 || !strings.Contains(r.stderr, "already up") {
		t.Errorf("up on a lab that is up: %s", r)
	}
	mustLabd(t, "--lab", name, "down")
	if pids := qemuPIDs(t, "/cloonix/"+name+"/"); len(pids) > 0 {
		t.Errorf("qemu left after down: %v", pids)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var _ = strconv.Itoa
