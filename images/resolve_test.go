package images

import (
	"context"
	"os"
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
	_, err := c.Lookup("tiny")
	if err == nil || !strings.Contains(err.Error(), "run: cloonix-labd image build tiny") {
		t.Fatalf("Lookup on an empty cache: %v", err)
	}
	if _, err := c.Lookup("bogus"); err == nil || !strings.Contains(err.Error(), "known images") {
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
