package images

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// HostProgram is a program of this project that the image carries, copied from the host: a static binary
// found next to the running cloonix-labd, else on PATH. Its content is part of the image's key, so a new
// build of it makes a new image.
type HostProgram struct {
	Name string // the program's file name, e.g. cloonix-vsock-bridge
	Path string // its absolute path in the guest
}

// findHostProgram locates a host program and checks that it is a static executable (the guest's libraries
// are not the host's).
func findHostProgram(name string) (string, error) {
	var path string
	if exe, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(exe), name); isFile(p) {
			path = p
		}
	}
	if path == "" {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("%s is not next to this program or on PATH: build it with: CGO_ENABLED=0 go build -trimpath -buildvcs=false -o bin/ ./cmd/%s", name, name)
		}
		path = p
	}
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s: not an executable: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "", fmt.Errorf("%s is dynamically linked; build it static: CGO_ENABLED=0 go build -trimpath -buildvcs=false -o bin/ ./cmd/%s", path, name)
		}
	}
	return path, nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// hostProgramHash is the sha256 of a host program's content.
func hostProgramHash(name string) (string, error) {
	path, err := findHostProgram(name)
	if err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// copyHostPrograms copies the recipe's host programs into the root tree, 0755.
func copyHostPrograms(root string, progs []HostProgram) error {
	for _, p := range progs {
		src, err := findHostProgram(p.Name)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if !filepath.IsAbs(p.Path) {
			return errors.New("host program " + p.Name + ": guest path " + p.Path + " is not absolute")
		}
		dst := filepath.Join(root, normalizeGuestPath(p.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, 0o755); err != nil {
			return fmt.Errorf("copy %s into the image: %w", p.Name, err)
		}
	}
	return nil
}
