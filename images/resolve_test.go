package images

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeApt puts an apt-cache script first in PATH that logs each call and
// answers policy/show for every package, except those named "missing-*".
func fakeApt(t *testing.T) (calls func() int) {
	t.Helper()
	bin := t.TempDir()
	log := filepath.Join(bin, "calls")
	script := `#!/bin/sh
echo "$*" >>` + log + `
case "$1" in
policy)
	shift
	for p in "$@"; do
		echo "$p:"
		echo "  Installed: (none)"
		case "$p" in missing-*) echo "  Candidate: (none)" ;; *) echo "  Candidate: 1.0-1" ;; esac
	done ;;
show)
	echo "Package: ${2%%=*}"
	echo "Depends: linux-image-6.1.0-99-cloud-amd64 (= 6.1.999-1)" ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "apt-cache"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	return func() int {
		b, _ := os.ReadFile(log)
		return strings.Count(string(b), "\n")
	}
}

func TestResolveCachesUntilAptChanges(t *testing.T) {
	calls := fakeApt(t)
	lists := t.TempDir()
	old := aptStateDirs
	aptStateDirs = []string{lists}
	t.Cleanup(func() { aptStateDirs = old })
	os.WriteFile(filepath.Join(lists, "Packages"), []byte("a"), 0o644)

	c := &Cache{Dir: t.TempDir()}
	ctx := context.Background()
	r := tinyRecipe()
	res, err := c.resolve(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if res.Kernel != "linux-image-6.1.0-99-cloud-amd64" || res.Versions[res.Kernel] != "6.1.999-1" ||
		res.Versions["libc6"] != "1.0-1" {
		t.Fatalf("resolution = %+v", res)
	}
	if _, ok := res.Versions[r.Kernel]; ok {
		t.Errorf("the metapackage should not be part of the versions: %v", res.Versions)
	}
	n := calls()
	if n != 2 {
		t.Fatalf("apt-cache calls = %d, want 2 (policy, show)", n)
	}
	if _, err := c.resolve(ctx, r); err != nil || calls() != n {
		t.Fatalf("second resolve asked apt again (%d calls, err %v)", calls(), err)
	}
	later := time.Now().Add(time.Minute)
	os.Chtimes(filepath.Join(lists, "Packages"), later, later) // apt-get update
	if _, err := c.resolve(ctx, r); err != nil || calls() != n+2 {
		t.Fatalf("after apt state changed, want apt asked again: %d calls, err %v", calls(), err)
	}
	r.Libs = append(r.Libs, "missing-lib1")
	_, err = c.resolve(ctx, r)
	if err == nil || !strings.Contains(err.Error(), "missing-lib1") {
		t.Fatalf("a package apt does not know must be named, got %v", err)
	}
}

func TestLookupSaysHowToBuild(t *testing.T) {
	c := &Cache{Dir: t.TempDir()}
	_, err := c.Lookup(context.Background(), "tiny")
	if err == nil || !strings.Contains(err.Error(), "run: cloonix-labd image build tiny") {
		t.Fatalf("Lookup on an empty cache: %v", err)
	}
	if _, err := c.Lookup(context.Background(), "bogus"); err == nil || !strings.Contains(err.Error(), "known images") {
		t.Fatalf("Lookup of an unknown recipe: %v", err)
	}
	if l, err := c.List(); err != nil || len(l) != 0 {
		t.Fatalf("List on empty cache = %v, %v", l, err)
	}
}

func TestMissingAptIsClear(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := (&Cache{Dir: t.TempDir()}).Build(context.Background(), "tiny")
	if err == nil || !strings.Contains(err.Error(), "apt-cache not found") {
		t.Fatalf("want a clear error without apt, got %v", err)
	}
}

func TestLockFileExcludes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "l")
	unlock, err := lockFile(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := lockFile(ctx, p); err == nil {
		t.Fatal("second lock succeeded while the first is held")
	}
	got := make(chan error, 1)
	go func() {
		u, err := lockFile(context.Background(), p)
		if err == nil {
			u()
		}
		got <- err
	}()
	time.Sleep(100 * time.Millisecond)
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("lock not handed over after unlock")
	}
}

// TestLookupFindsOnlyTheCurrentImage: of two images of one name, Lookup returns the one made from the current
// inputs even when the other is newer, and with only an image of other inputs it says how to build.
func TestLookupFindsOnlyTheCurrentImage(t *testing.T) {
	fakeApt(t)
	bin := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", bin+"/", "../cmd/cloonix-vsock-bridge")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the bridge: %v\n%s", err, out)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	ctx := context.Background()
	c := &Cache{Dir: t.TempDir()}
	_, key, err := c.current(ctx, tinyRecipe())
	if err != nil {
		t.Fatal(err)
	}
	fake := func(key string, built time.Time) string {
		dir := filepath.Join(c.Dir, "tiny-"+key)
		os.MkdirAll(dir, 0o755)
		for _, f := range []string{"disk.qcow2", "vmlinuz", "initrd.img"} {
			os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644)
		}
		b, _ := json.Marshal(Image{Name: "tiny", Disk: "disk.qcow2", Kernel: "vmlinuz", Initrd: "initrd.img", Key: key, Built: built})
		if err := os.WriteFile(filepath.Join(dir, metaFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	now := time.Now()
	fake("0123456789abcdef", now)
	if _, err := c.Lookup(ctx, "tiny"); err == nil || !strings.Contains(err.Error(), "built from other inputs") ||
		!strings.Contains(err.Error(), "run: cloonix-labd image build tiny") {
		t.Fatalf("Lookup with only an image of other inputs: %v", err)
	}
	want := fake(key, now.Add(-time.Hour)) // older than the stale one
	got, err := c.Lookup(ctx, "tiny")
	if err != nil || got.Dir != want {
		t.Fatalf("Lookup = %+v, %v; want %s", got, err, want)
	}
}
