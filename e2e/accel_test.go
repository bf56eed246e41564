package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/labpath"
)

// fakeKVMPath puts a copy of scripts/fakekvm/qemu-system-x86_64 (a qemu whose "KVM" hangs or aborts, on any
// host) in a directory of its own and returns the environment that puts it first on PATH. Each copy has its
// own path, so the accelerator cache keeps its answers apart from the real qemu's.
func fakeKVMPath(t *testing.T, mode string) (env []string, qemu string) {
	t.Helper()
	real, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../scripts/fakekvm/qemu-system-x86_64")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	qemu = filepath.Join(dir, "qemu-system-x86_64")
	if err := os.WriteFile(qemu, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return []string{"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"CLOONIX_REAL_QEMU=" + real, "CLOONIX_FAKE_KVM=" + mode}, qemu
}

// TestKVMThatHangs runs labs under a qemu whose KVM hangs: the probe must choose TCG by itself; when the probe
// passes but the VMs hang, or KVM is forced, the watchdog must restart each silent VM under TCG; and every
// time `up` succeeds with nothing set by the user.
func TestKVMThatHangs(t *testing.T) {
	cases := []struct {
		lab, mode string
		force     bool // CLOONIX_ACCEL=kvm
		restarted bool // the watchdog must restart the VMs
	}{
		{"e2ekvmprobe", "hang", false, false},
		{"e2ekvmdog", "hang-after-probe", false, true},
		{"e2ekvmforced", "hang", true, true},
	}
	for _, c := range cases {
		t.Run(c.mode+map[bool]string{true: "-forced"}[c.force], func(t *testing.T) {
			extra, qemu := fakeKVMPath(t, c.mode)
			if c.force {
				extra = append(extra, "CLOONIX_ACCEL=kvm")
			}
			file := writeLab(t, strings.ReplaceAll(twoVMLab, "%s", c.lab))
			start := time.Now()
			r := runCmdEnv(t, 4*time.Minute, nil, extra, filepath.Join(env.bin, "cloonix-labd"), "up", file)
			t.Cleanup(func() { labd(t, "--lab", c.lab, "down") })
			t.Logf("up took %v:\n%s", time.Since(start).Round(time.Millisecond), r)
			if r.code != 0 {
				t.Fatalf("up failed under a hanging KVM: %s", r)
			}
			s := getStatus(t, c.lab)
			if s.Lab.Accel != "tcg" {
				t.Errorf("lab accelerator %s (%s), want tcg", s.Lab.Accel, s.Lab.AccelReason)
			}
			for _, v := range s.VMs {
				if v.State != "running" || v.Accel != "tcg" {
					t.Errorf("%s: %s under %s (%s), want running under tcg", v.Name, v.State, v.Accel, v.AccelReason)
				}
				qlog, err := os.ReadFile(filepath.Join(stateDir(c.lab), "vms", v.Name, "qemu.log"))
				if err != nil {
					t.Fatal(err)
				}
				starts := strings.Count(string(qlog), " starting ")
				underKVM := strings.Contains(string(qlog), "-accel kvm")
				if c.restarted {
					if !strings.Contains(v.AccelReason, "restarted under TCG") {
						t.Errorf("%s: reason %q does not say it was restarted under TCG", v.Name, v.AccelReason)
					}
					if starts != 2 || !underKVM {
						t.Errorf("%s: qemu started %d times (under kvm first: %v), want twice: kvm, then tcg", v.Name, starts, underKVM)
					}
				} else if starts != 1 || underKVM {
					t.Errorf("%s: qemu started %d times (ever under kvm: %v), want once under tcg", v.Name, starts, underKVM)
				}
			}
			if pids := qemuPIDs(t, "/cloonix/"+c.lab+"/"); len(pids) != 2 {
				t.Errorf("%d qemu processes run for the lab, want 2 (the hung ones stopped): %v", len(pids), pids)
			}
			switch {
			case c.restarted && !c.force:
				if !strings.Contains(s.Lab.AccelReason, "console silent") {
					t.Errorf("lab reason %q does not say a console stayed silent", s.Lab.AccelReason)
				}
				if out := mustLabd(t, "status", "--lab", c.lab); !strings.Contains(out, "vm1: tcg: restarted under TCG") {
					t.Errorf("status does not say why vm1 runs under TCG:\n%s", out)
				}
				if !strings.Contains(r.stdout, "restarted under TCG") {
					t.Errorf("up did not say it restarted VMs under TCG:\n%s", r.stdout)
				}
				// The watchdog's verdict replaced the probe's in the cache, so the next lab of this boot uses TCG.
				if a := cachedAccel(t, qemu); a != "tcg" {
					t.Errorf("cached answer for %s is %q, want tcg after the watchdog", qemu, a)
				}
			case !c.restarted:
				if !strings.Contains(s.Lab.AccelReason, "did not reach user space") {
					t.Errorf("lab reason %q does not say the probe's kernel hung", s.Lab.AccelReason)
				}
				if a := cachedAccel(t, qemu); a != "tcg" {
					t.Errorf("cached answer for %s is %q, want tcg", qemu, a)
				}
			}
			mustLabd(t, "--lab", c.lab, "down")
		})
	}
}

// cachedAccel returns the accelerator cached for a qemu binary in the test's runtime directory.
func cachedAccel(t *testing.T, qemu string) string {
	t.Helper()
	b, err := os.ReadFile(labpath.AccelCache())
	if err != nil {
		t.Fatalf("accelerator cache: %v", err)
	}
	var es []struct {
		Key   string `json:"key"`
		Accel struct {
			Name string `json:"name"`
		} `json:"accel"`
	}
	if err := json.Unmarshal(b, &es); err != nil {
		t.Fatalf("accelerator cache: %v\n%s", err, b)
	}
	for _, e := range es {
		if strings.Contains(e.Key, qemu+":") {
			return e.Accel.Name
		}
	}
	return ""
}
