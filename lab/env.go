package lab

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ErrImageNotBuilt is what Env.ResolveImage returns (wrapped) for an image name that is not in the cache.
// An error wrapping fs.ErrNotExist means the same.
var ErrImageNotBuilt = errors.New("image not built")

// Env is what validation needs from the machine. Both functions are injectable for tests; a nil
// function skips its check.
type Env struct {
	// ResolveImage finds a built image by name (the images cache). A nil ResolveImage accepts every name
	// and resolves it to ImageRef{Name: name}.
	ResolveImage func(name string) (ImageRef, error)
	// HostMemoryMiB is the memory the lab's VMs may use in total.
	HostMemoryMiB func() (int, error)
	// ImagesOn is set when the lab runs on another machine (a remote server, "alice@labhost"): image files
	// are there, so they are not opened here, and each must be an absolute path (a path relative to the lab
	// file would name a file on this machine).
	ImagesOn string
	// CopyFrom is set on a server that runs a remote client's lab ("alice@labhost", as the client reaches
	// it): a missing image file's fix says how to copy it there.
	CopyFrom string
}

// DefaultEnv returns the Env for this machine: images come from resolve (wire it to the images cache),
// memory from HostMemoryMiB.
func DefaultEnv(resolve func(name string) (ImageRef, error)) Env {
	return Env{ResolveImage: resolve, HostMemoryMiB: HostMemoryMiB}
}

// HostMemoryMiB returns MemTotal from /proc/meminfo minus a reserve for the host, labd and qemu's own
// overhead: an eighth of MemTotal, and at least 1 GiB. MemTotal rather than MemAvailable, because page
// cache is reclaimable and a lab should not validate differently after a big file copy.
func HostMemoryMiB() (int, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("host memory: %w", err)
	}
	defer f.Close()
	total, err := parseMemTotal(bufio.NewScanner(f))
	if err != nil {
		return 0, err
	}
	return total - max(total/8, 1024), nil
}

func parseMemTotal(sc *bufio.Scanner) (int, error) {
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.Atoi(fields[1])
			if err != nil {
				return 0, fmt.Errorf("host memory: bad MemTotal line %q: %w", sc.Text(), err)
			}
			return kb / 1024, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("host memory: read /proc/meminfo: %w", err)
	}
	return 0, errors.New("host memory: no MemTotal in /proc/meminfo")
}
