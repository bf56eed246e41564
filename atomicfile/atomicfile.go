// Package atomicfile replaces files so that a crash or a full disk leaves either the old content or the new,
// never a mix, a truncated file or nothing: it writes a temporary file in the same directory, syncs it,
// renames it over the target and syncs the directory, so the rename itself survives a power cut. Every state
// file of a lab (keys, ssh_config, qemu records, leases, saved configurations) is written through it.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Write replaces path with data, created with mode perm (0600 for anything secret). On failure the old file
// is untouched and no temporary file is left; an error from a full disk says so.
func Write(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return wrap(path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return wrap(path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return wrap(path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return wrap(path, err)
	}
	if err := f.Close(); err != nil {
		return wrap(path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return wrap(path, err)
	}
	return SyncDir(dir)
}

// SyncDir makes the directory's entries (a rename, a new file) durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return wrap(dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) { // some filesystems cannot sync a directory
		return wrap(dir, err)
	}
	return nil
}

func wrap(path string, err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("write %s: the disk is full (free some space on %s): %w", path, filepath.Dir(path), err)
	}
	return fmt.Errorf("write %s: %w", path, err)
}
