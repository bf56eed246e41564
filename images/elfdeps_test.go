package images

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// hostLib finds a library of the host by name in the usual directories.
func hostLib(t *testing.T, name string) string {
	t.Helper()
	for _, d := range []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64"} {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("host library %s not found (test needs an x86_64 glibc host)", name)
	return ""
}

// fakeLibPackage builds an extracted "package" that holds the host's copies of
// the given libraries, laid out like Debian's libc6 (with an absolute symlink).
func fakeLibPackage(t *testing.T, libs ...string) string {
	t.Helper()
	pkg := t.TempDir()
	dir := filepath.Join(pkg, "lib/x86_64-linux-gnu")
	os.MkdirAll(dir, 0o755)
	os.MkdirAll(filepath.Join(pkg, "lib64"), 0o755)
	for _, l := range libs {
		if err := copyFile(hostLib(t, l), filepath.Join(dir, l), 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(l, "ld-linux") {
			os.Symlink("/lib/x86_64-linux-gnu/"+l, filepath.Join(pkg, "lib64", l))
		}
	}
	return pkg
}

func TestCompleteLibs(t *testing.T) {
	bin, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true binary")
	}
	deps, ok, err := readELFDeps(bin)
	if err != nil || !ok || deps.Interp == "" {
		t.Skipf("host %s is not a dynamic ELF (%v): cannot test", bin, err)
	}
	root := t.TempDir()
	if err := skeleton(root); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(bin, filepath.Join(root, "usr/bin/true"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A non-ELF file must be ignored.
	os.WriteFile(filepath.Join(root, "usr/bin/script"), []byte("#!/bin/sh\n"), 0o755)

	// Without libc in the pool the build must fail naming the binary and library.
	_, err = completeLibs(root, libPool{})
	var missing *MissingLibError
	if !errors.As(err, &missing) {
		t.Fatalf("want MissingLibError, got %v", err)
	}
	if !strings.Contains(err.Error(), "/usr/bin/true needs libc.so.6") || !strings.Contains(err.Error(), "loader") {
		t.Fatalf("error should name the binary, libc and the loader: %v", err)
	}

	root = t.TempDir()
	skeleton(root)
	copyFile(bin, filepath.Join(root, "usr/bin/true"), 0o755)
	libs := append([]string{filepath.Base(deps.Interp)}, deps.Needed...)
	pool := libPool{}
	if err := pool.addPackage(fakeLibPackage(t, libs...)); err != nil {
		t.Fatal(err)
	}
	copied, err := completeLibs(root, pool)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range libs {
		if !slices.Contains(copied, l) {
			t.Errorf("copied %v, want %s in it", copied, l)
		}
	}
	// The loader must resolve inside the root through lib64 → usr/lib64 → ../lib/....
	if p := resolveIn(root, deps.Interp); p == "" || !strings.HasPrefix(p, root) {
		t.Fatalf("interpreter %s does not resolve inside the root (%q)", deps.Interp, p)
	}
	// The result must actually run: chroot-free check by invoking the loader on the binary.
	ld := resolveIn(root, deps.Interp)
	out, err := exec.Command(ld, "--library-path", filepath.Join(root, "usr/lib/x86_64-linux-gnu"),
		filepath.Join(root, "usr/bin/true")).CombinedOutput()
	if err != nil {
		t.Fatalf("copied loader and libs cannot run the binary: %v %s", err, out)
	}
}

func TestResolveInStaysInRoot(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "usr/lib"), 0o755)
	os.WriteFile(filepath.Join(root, "usr/lib/real"), []byte("x"), 0o644)
	os.Symlink("usr/lib", filepath.Join(root, "lib"))
	os.Symlink("/lib/real", filepath.Join(root, "usr/lib/abs"))
	os.Symlink("/etc/passwd", filepath.Join(root, "usr/lib/host")) // exists on the host, not in root
	if got := resolveIn(root, "/lib/abs"); got != filepath.Join(root, "usr/lib/real") {
		t.Errorf("resolveIn(/lib/abs) = %q", got)
	}
	if got := resolveIn(root, "/usr/lib/host"); got != "" {
		t.Errorf("an absolute link must resolve inside root, got %q", got)
	}
}
