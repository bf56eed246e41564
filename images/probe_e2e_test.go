package images

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/vm"
)

// fakeKVM returns scripts/fakekvm/qemu-system-x86_64 (a qemu that plays a misbehaving KVM) set to mode. The
// probes here never use the cache, so the script is used where it is.
func fakeKVM(t *testing.T, mode string) string {
	t.Helper()
	real, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Fatal(err)
	}
	path, err := filepath.Abs("../scripts/fakekvm/qemu-system-x86_64")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CLOONIX_REAL_QEMU", real)
	t.Setenv("CLOONIX_FAKE_KVM", mode)
	return path
}

// TestAccelProbeE2E boots the accelerator probe with the tiny image's real kernel and initramfs: under TCG it
// must reach user space; on this host it must give a verdict that holds; and under a qemu that hangs,
// aborts or works under "KVM" it must choose TCG, TCG and KVM.
func TestAccelProbeE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: builds an image and boots qemu")
	}
	needTools(t, "apt-get", "dpkg-deb", "mkfs.ext4", "qemu-img", "qemu-system-x86_64")
	t.Setenv("CLOONIX_ACCEL", "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := &Cache{Dir: labpath.ImageCache(), Log: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	img, err := c.Build(ctx, "tiny")
	if err != nil {
		t.Fatal(err)
	}
	base := vm.AccelProbe{Kernel: img.Kernel, Initrd: img.Initrd, Append: img.Append, NoCache: true}

	t.Run("tcg reaches user space", func(t *testing.T) {
		p := base
		p.Timeout = 30 * time.Second // TCG on a loaded 2-core host
		took, err := p.Boot(ctx, "tcg")
		if err != nil {
			t.Fatalf("the probe's kernel does not reach user space under TCG: %v", err)
		}
		t.Logf("TCG: user space after %v", took)
	})

	t.Run("this host", func(t *testing.T) {
		a := base.Probe(ctx)
		t.Logf("this host: %s (%s)", a.Name, a.Reason)
		switch a.Name {
		case "kvm":
			if _, err := base.Boot(ctx, "kvm"); err != nil {
				t.Fatalf("the probe chose KVM, but a second boot under KVM failed: %v", err)
			}
		case "tcg":
			if !strings.HasPrefix(a.Reason, "KVM unusable") {
				t.Fatalf("TCG without a KVM reason: %q", a.Reason)
			}
		default:
			t.Fatalf("accel %q", a.Name)
		}
	})

	cases := []struct {
		mode, accel, reason string
	}{
		{"hang", "tcg", "did not reach user space within"},
		{"abort", "tcg", "failed to set MSR 0x10a"},
		{"works", "kvm", "KVM works"},
		{"hang-after-probe", "kvm", "KVM works"}, // what the VM watchdog in labd is for
	}
	for _, c := range cases {
		t.Run("fake kvm "+c.mode, func(t *testing.T) {
			p := base
			p.Qemu = fakeKVM(t, c.mode)
			if c.accel == "kvm" {
				p.Timeout = 30 * time.Second // the fake's "KVM" is TCG
			}
			start := time.Now()
			a := p.Probe(ctx)
			t.Logf("%s: %s (%s) in %v", c.mode, a.Name, a.Reason, time.Since(start).Round(time.Millisecond))
			if a.Name != c.accel || !strings.Contains(a.Reason, c.reason) {
				t.Fatalf("probe = %s (%s), want %s with %q", a.Name, a.Reason, c.accel, c.reason)
			}
		})
	}
}

// BenchmarkAccelProbe measures the accelerator probe with the tiny image's kernel: a cold probe (boots the
// kernel under -accel kvm -cpu host: on a host where KVM hangs this is the probe's timeout), the cached
// answer that every later `up` of the boot reads, and, for scale, the same boot under TCG. bench/probe.sh
// runs it.
func BenchmarkAccelProbe(b *testing.B) {
	b.Setenv("CLOONIX_ACCEL", "")
	c := &Cache{Dir: labpath.ImageCache()}
	img, err := c.Lookup(context.Background(), "tiny")
	if err != nil {
		b.Fatal(err)
	}
	cache := filepath.Join(b.TempDir(), "probe-cache.json")
	p := vm.AccelProbe{Kernel: img.Kernel, Initrd: img.Initrd, Append: img.Append, CacheFile: cache}
	ctx := context.Background()
	b.Run("cold", func(b *testing.B) {
		q := p
		q.NoCache = true
		for i := 0; i < b.N; i++ {
			a := q.Probe(ctx)
			b.ReportMetric(map[string]float64{"kvm": 1, "tcg": 0}[a.Name], "kvm")
		}
	})
	if a := p.Probe(ctx); a.Cached { // fills the cache for "cached"
		b.Fatal("the first probe claims to be cached")
	}
	b.Run("cached", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if a := p.Probe(ctx); !a.Cached {
				b.Fatal("not cached")
			}
		}
	})
	b.Run("tcg-boot", func(b *testing.B) {
		q := p
		q.Timeout = 30 * time.Second
		for i := 0; i < b.N; i++ {
			if _, err := q.Boot(ctx, "tcg"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
