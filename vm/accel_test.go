package vm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeProbe returns a probe whose qemu is a shell script with the given body, and whose kernel, initramfs
// and /dev/kvm are empty files. The probe boots with the real kernel are in package images.
func fakeProbe(t *testing.T, body string) AccelProbe {
	t.Helper()
	dir := shortTempDir(t)
	qemu := filepath.Join(dir, "qemu")
	if err := os.WriteFile(qemu, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, n := range []string{"vmlinuz", "initrd.img", "kvm"} {
		files[n] = filepath.Join(dir, n)
		if err := os.WriteFile(files[n], nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return AccelProbe{Qemu: qemu, Kernel: files["vmlinuz"], Initrd: files["initrd.img"], kvmDevice: files["kvm"],
		CacheFile: filepath.Join(dir, "probe-cache.json"), Timeout: 2 * time.Second}
}

func TestProbeVerdicts(t *testing.T) {
	t.Setenv("CLOONIX_ACCEL", "")
	cases := []struct {
		name, body, accel string
		reason            []string
	}{
		{"user space reached", `echo "[    0.4] Run /init"; echo "` + ProbeMarker + `"; sleep 30`, "kvm",
			[]string{"KVM works", "booted to user space under -accel kvm -cpu host"}},
		{"silent hang", `sleep 30`, "tcg",
			[]string{"KVM unusable", "did not reach user space within 2s", "console stayed silent", "using TCG"}},
		{"hang after output", `echo "Linux version 6.1"; printf 'Decompressing\033[2J\n'; sleep 30`, "tcg",
			[]string{"did not reach user space", "2 console lines", `"Decompressing?[2J"`}},
		{"abort", `echo "qemu-system-x86_64: warning: host doesn't support requested feature" >&2
echo "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x2000000e4b" >&2; exit 1`, "tcg",
			[]string{"exit status 1", "failed to set MSR 0x10a"}},
		{"kernel panic", `echo "Kernel panic - not syncing: VFS"; exit 0`, "tcg",
			[]string{"stopped before user space", "Kernel panic"}},
		{"marker on the command line only", `echo "Kernel command line: console=ttyS0 ` + ProbeArg + ` panic=-1"; exit 0`, "tcg",
			[]string{"stopped before user space"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := fakeProbe(t, c.body)
			start := time.Now()
			a := p.Probe(context.Background())
			if a.Name != c.accel {
				t.Fatalf("accel = %s (%s), want %s", a.Name, a.Reason, c.accel)
			}
			for _, w := range c.reason {
				if !strings.Contains(a.Reason, w) {
					t.Errorf("reason %q lacks %q", a.Reason, w)
				}
			}
			if strings.Contains(a.Reason, "\n") {
				t.Errorf("reason has a newline: %q", a.Reason)
			}
			if took := time.Since(start); took > p.Timeout+4*time.Second {
				t.Errorf("probe took %v with a %v timeout", took, p.Timeout)
			}
		})
	}
}

func TestProbeArgsMatchVMs(t *testing.T) {
	p := AccelProbe{Kernel: "/k", Initrd: "/i", Append: "console=ttyS0 quiet"}.withDefaults()
	got := strings.Join(p.args("kvm"), " ")
	vm := strings.Join(Spec{Name: "r1", Accel: "kvm"}.Args(), " ")
	for _, w := range []string{"-machine pc -accel kvm -cpu host"} {
		if !strings.Contains(got, w) || !strings.Contains(vm, w) {
			t.Errorf("probe argv %q and VM argv %q must both hold %q", got, vm, w)
		}
	}
	if !strings.Contains(got, "-append console=ttyS0 quiet "+ProbeArg) {
		t.Errorf("probe argv %q does not append %s to the image's command line", got, ProbeArg)
	}
	if strings.Contains(got, ProbeMarker) {
		t.Errorf("probe argv holds the marker, so the kernel's echo of its command line would fake it: %q", got)
	}
}

func TestProbeWithoutKernelOrKVM(t *testing.T) {
	t.Setenv("CLOONIX_ACCEL", "")
	p := fakeProbe(t, `echo "`+ProbeMarker+`"`)
	p.Kernel = ""
	if a := p.Probe(context.Background()); a.Name != "tcg" || !strings.Contains(a.Reason, "no guest kernel") {
		t.Errorf("no kernel: %+v", a)
	}
	p = fakeProbe(t, `echo "`+ProbeMarker+`"`)
	p.kvmDevice = filepath.Join(t.TempDir(), "absent")
	if a := p.Probe(context.Background()); a.Name != "tcg" || !strings.Contains(a.Reason, "cannot open") {
		t.Errorf("no /dev/kvm: %+v", a)
	}
}

func TestProbeCacheAndRecord(t *testing.T) {
	t.Setenv("CLOONIX_ACCEL", "")
	p := fakeProbe(t, `echo "`+ProbeMarker+`"`)
	a := p.Probe(context.Background())
	if a.Name != "kvm" || a.Cached {
		t.Fatalf("first probe = %+v", a)
	}
	// The cached answer is used even though qemu would now hang.
	if err := os.WriteFile(p.Qemu, []byte("#!/bin/sh\nsleep 30\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Rewriting qemu changes its mtime, which is part of the key: restore the key by keeping the old mtime.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p.Qemu, old, old); err != nil {
		t.Fatal(err)
	}
	if err := p.Record(a); err != nil {
		t.Fatal(err)
	}
	b := p.Probe(context.Background())
	if !b.Cached || b.Name != "kvm" {
		t.Fatalf("second probe = %+v, want the cached kvm", b)
	}
	// The watchdog's verdict replaces it.
	if err := p.Record(TCG("vm1 hung")); err != nil {
		t.Fatal(err)
	}
	if c := p.Probe(context.Background()); c.Name != "tcg" || c.Reason != "vm1 hung" || !c.Cached {
		t.Fatalf("after Record = %+v", c)
	}
	// Another kernel is another key.
	k2 := p.Kernel + "2"
	if err := os.WriteFile(k2, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	q := p
	q.Kernel = k2
	if d := q.Probe(context.Background()); d.Cached || d.Name != "tcg" || !strings.Contains(d.Reason, "did not reach") {
		t.Fatalf("other kernel = %+v, want a fresh probe", d)
	}
	if _, ok := readAccelCache(p.CacheFile, p.withDefaults().cacheKey()); !ok {
		t.Error("probing another kernel dropped the first one's entry")
	}
	t.Setenv("CLOONIX_ACCEL", "kvm")
	if o := p.Probe(context.Background()); o.Name != "kvm" || !strings.Contains(o.Reason, "CLOONIX_ACCEL") {
		t.Errorf("override = %+v", o)
	}
	// A verdict while CLOONIX_ACCEL decides is not remembered: the probe's answer stands.
	if err := p.Record(TCG("forced run hung")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CLOONIX_ACCEL", "")
	if c := p.Probe(context.Background()); c.Reason != "vm1 hung" {
		t.Errorf("Record under CLOONIX_ACCEL replaced the cached answer: %+v", c)
	}
}

func TestAccelCacheKeyedByBoot(t *testing.T) {
	cache := filepath.Join(shortTempDir(t), "probe-cache.json")
	if err := writeAccelCache(cache, "boot-a|pc|q", Accel{Name: "kvm", Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := readAccelCache(cache, "boot-b|pc|q"); ok {
		t.Fatal("cache from another boot was used")
	}
	if a, ok := readAccelCache(cache, "boot-a|pc|q"); !ok || a.Name != "kvm" || !a.Cached {
		t.Fatalf("cache read = %+v, %v", a, ok)
	}
	if err := writeAccelCache(cache, "boot-b|pc|q", Accel{Name: "tcg", Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := readAccelCache(cache, "boot-a|pc|q"); ok {
		t.Error("an entry of an earlier boot survived a write")
	}
	for i := 0; i < 3*maxCacheEntries; i++ {
		_ = writeAccelCache(cache, "boot-b|pc|"+strings.Repeat("x", i), Accel{Name: "tcg"})
	}
	if n := len(readAccelCacheEntries(cache)); n > maxCacheEntries {
		t.Errorf("cache holds %d entries, want at most %d", n, maxCacheEntries)
	}
	if st, err := os.Stat(cache); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode: %v %v", st.Mode(), err)
	}
}
