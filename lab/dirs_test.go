package lab

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestDirsFor(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	t.Setenv("XDG_STATE_HOME", "/home/u/.st")
	d, err := DirsFor("nemo")
	if err != nil {
		t.Fatal(err)
	}
	if d.Runtime != "/run/user/1000/cloonix/nemo" || d.State != "/home/u/.st/cloonix/nemo" {
		t.Errorf("dirs = %+v", d)
	}
	if root, _ := RuntimeRoot(); root != "/run/user/1000/cloonix" {
		t.Errorf("RuntimeRoot() = %s", root)
	}
	if d.CtlSocket() != "/run/user/1000/cloonix/nemo/ctl.sock" || d.NICSocket("vm1", "eth0") != "/run/user/1000/cloonix/nemo/vm1-eth0.sock" ||
		d.VMDir("vm1") != "/home/u/.st/cloonix/nemo/vms/vm1" {
		t.Errorf("paths: %s %s %s", d.CtlSocket(), d.NICSocket("vm1", "eth0"), d.VMDir("vm1"))
	}

	// Relative XDG values are ignored.
	t.Setenv("XDG_RUNTIME_DIR", "relative")
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/u")
	d, err = DirsFor("nemo")
	if err != nil {
		t.Fatal(err)
	}
	wantRun := filepath.Join(os.TempDir(), "cloonix-"+strconv.Itoa(os.Geteuid()), "nemo")
	if d.Runtime != wantRun || d.State != "/home/u/.local/state/cloonix/nemo" {
		t.Errorf("fallback dirs = %+v", d)
	}
	if root, err := RuntimeRoot(); err != nil || root != filepath.Dir(wantRun) {
		t.Errorf("RuntimeRoot() = %s, %v", root, err)
	}

	for _, bad := range []string{"../etc", "Nemo", "", "a/b"} {
		if _, err := DirsFor(bad); err == nil {
			t.Errorf("DirsFor(%q) succeeded", bad)
		}
	}
}

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestEnsureCreatesPrivateDirs(t *testing.T) {
	base := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", filepath.Join(base, "run"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(base, "state"))
	d, err := DirsFor("nemo")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Ensure(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{d.Runtime, d.State, filepath.Dir(d.Runtime), filepath.Dir(d.State)} {
		if m := mode(t, p); m != 0o700 {
			t.Errorf("%s has mode %o, want 700", p, m)
		}
	}
	// A loosened directory is tightened again.
	if err := os.Chmod(d.Runtime, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := d.Ensure(); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, d.Runtime); m != 0o700 {
		t.Errorf("after Ensure, mode %o", m)
	}
}

func TestEnsureRefusesSymlinkAndForeignOwner(t *testing.T) {
	base := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", filepath.Join(base, "run"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(base, "state"))
	d, _ := DirsFor("nemo")
	if err := os.MkdirAll(filepath.Dir(d.Runtime), 0o700); err != nil {
		t.Fatal(err)
	}
	target := t.TempDir()
	if err := os.Symlink(target, d.Runtime); err != nil {
		t.Fatal(err)
	}
	err := d.Ensure()
	if err == nil || !strings.Contains(err.Error(), "is not a directory") || !strings.Contains(err.Error(), "remove it") {
		t.Fatalf("Ensure over a symlink: %v", err)
	}
	if err := os.Remove(d.Runtime); err != nil {
		t.Fatal(err)
	}

	if os.Geteuid() != 0 {
		t.Log("not root: cannot create a directory owned by someone else; foreign-owner case not run")
		return
	}
	if err := os.Mkdir(d.Runtime, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(d.Runtime, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	err = d.Ensure()
	if err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Fatalf("Ensure over a foreign dir: %v", err)
	}
	var st syscall.Stat_t
	if syscall.Stat(d.Runtime, &st) == nil && st.Uid != 65534 {
		t.Error("Ensure changed the owner")
	}
}

func TestCheckSocketPaths(t *testing.T) {
	l := &Lab{Name: "nemo", VMs: []VM{{Name: "vm1", NICs: []NIC{{Name: "eth0"}}}}}
	short := Dirs{Runtime: "/run/user/1000/cloonix/nemo"}
	if err := short.CheckSocketPaths(l); err != nil {
		t.Errorf("short paths: %v", err)
	}
	long := Dirs{Runtime: "/run/" + strings.Repeat("x", 90)}
	if err := long.CheckSocketPaths(l); err == nil || !strings.Contains(err.Error(), "shorter") {
		t.Errorf("long paths: %v", err)
	}
}

// TestEnsureTmpFallback checks that the shared-/tmp root is made private too.
func TestEnsureTmpFallback(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("XDG_STATE_HOME", filepath.Join(tmp, "state"))
	d, err := DirsFor("nemo")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(d.Runtime)
	if root != filepath.Join(tmp, "cloonix-"+strconv.Itoa(os.Geteuid())) {
		t.Fatalf("runtime root = %s", root)
	}
	if err := os.Mkdir(root, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := d.Ensure(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{root, d.Runtime} {
		if m := mode(t, p); m != 0o700 {
			t.Errorf("%s mode %o, want 700", p, m)
		}
	}
}
