package dhcp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// leaseFile is the on-disk form of the lease table.
type leaseFile struct {
	Version int     `json:"version"`
	Leases  []Lease `json:"leases"`
}

const leaseFileVersion = 1

// loadLeases reads path; a missing file is an empty table.
func loadLeases(path string) ([]Lease, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dhcp: read lease file: %w", err)
	}
	var f leaseFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("dhcp: lease file %s is not valid: %w; delete it (addresses are deterministic, nothing is lost)", path, err)
	}
	if f.Version != leaseFileVersion {
		return nil, fmt.Errorf("dhcp: lease file %s has version %d, want %d; delete it (addresses are deterministic, nothing is lost)", path, f.Version, leaseFileVersion)
	}
	return f.Leases, nil
}

// saveLeases writes leases to path atomically: a temporary file in the same
// directory (mode 0600), fsync, rename.
func saveLeases(path string, leases []Lease) error {
	b, err := json.MarshalIndent(leaseFile{Version: leaseFileVersion, Leases: leases}, "", "  ")
	if err != nil {
		return fmt.Errorf("dhcp: encode leases: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".leases-*.tmp")
	if err != nil {
		return fmt.Errorf("dhcp: write lease file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("dhcp: write lease file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("dhcp: sync lease file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("dhcp: close lease file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("dhcp: replace lease file: %w", err)
	}
	return nil
}
