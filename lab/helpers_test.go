package lab

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeEnv knows the built images "tiny" and "frr" and has hostMiB MiB for VMs.
func fakeEnv(hostMiB int) Env {
	return Env{
		ResolveImage: func(name string) (ImageRef, error) {
			switch name {
			case "tiny", "frr":
				return ImageRef{Name: name, Disk: "/cache/" + name + "/disk.qcow2", Kernel: "/cache/" + name + "/vmlinuz",
					Initrd: "/cache/" + name + "/initrd", Append: "console=ttyS0"}, nil
			case "broken":
				return ImageRef{}, errors.New("cache index corrupt")
			}
			return ImageRef{}, fmt.Errorf("lookup %s: %w", name, ErrImageNotBuilt)
		},
		HostMemoryMiB: func() (int, error) { return hostMiB, nil },
	}
}

// writeFile creates name under dir with content and mode.
func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// problemsOf parses src and returns its problems; it fails the test if src parses.
func problemsOf(t *testing.T, src, dir string, env Env) []Problem {
	t.Helper()
	l, err := Parse("lab.toml", []byte(src), dir, env)
	if err == nil {
		t.Fatalf("parse succeeded (lab %+v); want problems", l)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is a %T, not *ValidationError", err, err)
	}
	return ve.Problems
}

func mustParse(t *testing.T, src, dir string, env Env) *Lab {
	t.Helper()
	l, err := Parse("lab.toml", []byte(src), dir, env)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return l
}

// stubOpen makes every file open fail with err for the duration of the test.
func stubOpen(t *testing.T, err error) {
	t.Helper()
	orig := openFile
	openFile = func(string) (io.ReadCloser, fs.FileInfo, error) { return nil, nil, err }
	t.Cleanup(func() { openFile = orig })
}

// fakeQcow2Open makes every file open succeed as a small qcow2 file.
func fakeQcow2Open(t *testing.T) {
	t.Helper()
	orig := openFile
	openFile = func(name string) (io.ReadCloser, fs.FileInfo, error) {
		return io.NopCloser(strings.NewReader(qcow2Magic + "rest")), fakeInfo(filepath.Base(name)), nil
	}
	t.Cleanup(func() { openFile = orig })
}

type fakeInfo string

func (f fakeInfo) Name() string       { return string(f) }
func (f fakeInfo) Size() int64        { return 8 }
func (f fakeInfo) Mode() fs.FileMode  { return 0o644 }
func (f fakeInfo) ModTime() time.Time { return time.Time{} }
func (f fakeInfo) IsDir() bool        { return false }
func (f fakeInfo) Sys() any           { return nil }
