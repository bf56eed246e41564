package vm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProbePayloadRunsUnderTCG proves the probe's guest itself is sound: under TCG it prints
// the marker and exits with the expected status, so a KVM failure is KVM's, not the payload's.
func TestProbePayloadRunsUnderTCG(t *testing.T) {
	needTool(t, testQemu)
	dir := shortTempDir(t)
	kernel := filepath.Join(dir, "probe.bin")
	if err := os.WriteFile(kernel, multibootImage(append(serialPrint(probeMarker), debugExit(0x10)...)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testQemu, "-accel", "tcg", "-machine", "pc", "-m", "16",
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-serial", "stdio",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-kernel", kernel)
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != probeExitCode {
		t.Fatalf("payload under TCG: %v, want exit status %d", err, probeExitCode)
	}
	if !strings.Contains(out.String(), probeMarker) {
		t.Fatalf("payload printed %q, want %q", out.String(), probeMarker)
	}
}

func TestProbeAccelHere(t *testing.T) {
	needTool(t, testQemu)
	t.Setenv("CLOONIX_ACCEL", "")
	cache := filepath.Join(shortTempDir(t), "accel.json")
	p := AccelProbe{CacheFile: cache}
	start := time.Now()
	a := p.Probe(context.Background())
	took := time.Since(start)
	t.Logf("probe: %+v in %v", a, took)
	if took > 2*time.Second {
		t.Errorf("probe took %v, want < 2 s", took)
	}
	if a.Name != "kvm" && a.Name != "tcg" {
		t.Fatalf("accel %q", a.Name)
	}
	if !strings.Contains(a.Reason, "KVM") {
		t.Errorf("reason %q does not mention KVM", a.Reason)
	}
	// This project's machines run KVM on PVM, where guests abort or hang: expect TCG there.
	// CLOONIX_EXPECT_ACCEL lets a machine with working KVM say so.
	want := os.Getenv("CLOONIX_EXPECT_ACCEL")
	if want == "" {
		want = "tcg"
	}
	if a.Name != want {
		t.Errorf("accel = %s (%s), want %s (set CLOONIX_EXPECT_ACCEL on a machine with working KVM)", a.Name, a.Reason, want)
	}
	if a.Cached {
		t.Error("first probe says Cached")
	}
	start = time.Now()
	b := p.Probe(context.Background())
	if !b.Cached || b.Name != a.Name || b.Reason != a.Reason {
		t.Errorf("second probe = %+v, want the cached %+v", b, a)
	}
	t.Logf("cached probe took %v", time.Since(start))

	t.Setenv("CLOONIX_ACCEL", "kvm")
	if o := p.Probe(context.Background()); o.Name != "kvm" || !strings.Contains(o.Reason, "CLOONIX_ACCEL") {
		t.Errorf("override = %+v", o)
	}
}

func TestAccelCacheKeyedByBoot(t *testing.T) {
	cache := filepath.Join(shortTempDir(t), "accel.json")
	writeAccelCache(cache, "boot-a|q|1", Accel{Name: "kvm", Reason: "r"})
	if _, ok := readAccelCache(cache, "boot-b|q|1"); ok {
		t.Fatal("cache from another boot was used")
	}
	if a, ok := readAccelCache(cache, "boot-a|q|1"); !ok || a.Name != "kvm" || !a.Cached {
		t.Fatalf("cache read = %+v, %v", a, ok)
	}
}
