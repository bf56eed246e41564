package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// aptStateDirs are what apt's answers depend on: its package lists and its
// configuration. When none of their entries changed, the candidate versions
// cannot have changed either.
var aptStateDirs = []string{
	"/var/lib/apt/lists", "/etc/apt", "/etc/apt/sources.list.d", "/etc/apt/preferences.d", "/etc/apt/apt.conf.d",
}

// aptFingerprint hashes name, size and mtime of every entry in aptStateDirs.
func aptFingerprint() string {
	h := sha256.New()
	for _, d := range aptStateDirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			fmt.Fprintf(h, "%s: %v\n", d, err)
			continue
		}
		for _, e := range ents {
			fi, err := e.Info()
			if err != nil {
				continue
			}
			fmt.Fprintf(h, "%s/%s %d %d\n", d, e.Name(), fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// resolution is the cached answer of apt for one recipe.
type resolution struct {
	Fingerprint string            // aptFingerprint() when resolved
	Packages    string            // the package list asked for
	Kernel      string            // the real kernel package
	Versions    map[string]string // package → candidate version, kernel included
}

// resolve returns package versions for r, asking apt only when its state
// changed since the last answer (apt-cache takes seconds without a pkgcache).
func (c *Cache) resolve(ctx context.Context, r Recipe) (resolution, error) {
	asked := strings.Join(append(r.Packages(), "kernel="+r.Kernel), " ")
	file := filepath.Join(c.dir(), ".resolved-"+r.Name+".json")
	fp := aptFingerprint()
	var res resolution
	if b, err := os.ReadFile(file); err == nil && json.Unmarshal(b, &res) == nil &&
		res.Fingerprint == fp && res.Packages == asked && len(res.Versions) > 0 {
		return res, nil
	}
	pkgs := append(r.Packages(), r.Kernel)
	versions, err := candidates(ctx, pkgs)
	if err != nil {
		return resolution{}, err
	}
	want := map[string]string{}
	for _, p := range r.Packages() {
		want[p] = versions[p]
	}
	kpkg, kver, err := kernelPackage(ctx, r.Kernel, versions[r.Kernel])
	if err != nil {
		return resolution{}, err
	}
	want[kpkg] = kver
	res = resolution{Fingerprint: fp, Packages: asked, Kernel: kpkg, Versions: want}
	if b, err := json.Marshal(res); err == nil && os.MkdirAll(c.dir(), 0o755) == nil {
		tmp := file + ".tmp"
		if os.WriteFile(tmp, b, 0o644) == nil {
			_ = os.Rename(tmp, file)
		}
	}
	return res, nil
}
