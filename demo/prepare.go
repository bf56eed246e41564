package demo

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
)

// CheckRequires checks the demo's requirements before anything starts: the --image file when the demo
// needs one, and the host's memory (hostMemoryMiB may be nil to skip that check).
func CheckRequires(d *Demo, image string, hostMemoryMiB func() (int, error)) error {
	req := d.Requires
	if req.Image != "" {
		if image == "" {
			return fmt.Errorf("demo %s needs %s: give it with --image PATH", d.Name, req.Image)
		}
		st, err := os.Stat(image)
		if err != nil {
			return fmt.Errorf("demo %s: --image %s: %w (it must be %s)", d.Name, image, err, req.Image)
		}
		if st.IsDir() {
			return fmt.Errorf("demo %s: --image %s is a directory; give the file itself (%s)", d.Name, image, req.Image)
		}
	} else if image != "" {
		return fmt.Errorf("demo %s takes no --image; its images are built from Debian packages", d.Name)
	}
	if req.MemoryMiB > 0 && hostMemoryMiB != nil {
		have, err := hostMemoryMiB()
		if err != nil {
			return fmt.Errorf("demo %s: %w", d.Name, err)
		}
		if have < req.MemoryMiB {
			return fmt.Errorf("demo %s needs %d MiB of memory for its VMs; this host can give %d MiB (MemTotal minus a reserve); run it on a bigger machine",
				d.Name, req.MemoryMiB, have)
		}
	}
	return nil
}

// Prepare copies the demo's files into dir (which must exist) and returns the path of the lab file there.
// When image is not empty, its absolute path replaces ImagePlaceholder in the lab file.
func Prepare(d *Demo, dir, image string) (string, error) {
	err := fs.WalkDir(d.Dir, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if e.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := fs.ReadFile(d.Dir, p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		return "", fmt.Errorf("demo %s: copy its files to %s: %w", d.Name, dir, err)
	}
	labFile := filepath.Join(dir, filepath.FromSlash(d.Lab))
	if image == "" {
		return labFile, nil
	}
	abs, err := filepath.Abs(image)
	if err != nil {
		return "", fmt.Errorf("demo %s: --image %s: %w", d.Name, image, err)
	}
	if strings.ContainsAny(abs, "\"\\\n") {
		return "", fmt.Errorf("demo %s: --image %q: the path must not contain quotes, backslashes or newlines; move or link the file", d.Name, abs)
	}
	data, err := os.ReadFile(labFile)
	if err != nil {
		return "", fmt.Errorf("demo %s: %w", d.Name, err)
	}
	if !strings.Contains(string(data), ImagePlaceholder) {
		return "", fmt.Errorf("demo %s: its lab file %s has no %s placeholder for --image", d.Name, d.Lab, ImagePlaceholder)
	}
	data = []byte(strings.ReplaceAll(string(data), ImagePlaceholder, abs))
	if err := os.WriteFile(labFile, data, 0o644); err != nil {
		return "", fmt.Errorf("demo %s: %w", d.Name, err)
	}
	return labFile, nil
}

// LabName reads the name key of a lab file.
func LabName(labFile string) (string, error) {
	var v struct {
		Name string `toml:"name"`
	}
	if _, err := toml.DecodeFile(labFile, &v); err != nil {
		return "", fmt.Errorf("lab file %s: %w", labFile, err)
	}
	if v.Name == "" {
		return "", fmt.Errorf("lab file %s has no name", labFile)
	}
	return v.Name, nil
}
