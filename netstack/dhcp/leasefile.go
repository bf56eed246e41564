package dhcp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/cloonix-go/cloonix/atomicfile"
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

// saveLeases writes leases to path atomically (mode 0600; see package atomicfile).
func saveLeases(path string, leases []Lease) error {
	b, err := json.MarshalIndent(leaseFile{Version: leaseFileVersion, Leases: leases}, "", "  ")
	if err != nil {
		return fmt.Errorf("dhcp: encode leases: %w", err)
	}
	if err := atomicfile.Write(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("dhcp: lease file: %w", err)
	}
	return nil
}
