package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/cloonix-go/cloonix/labpath"
)

// Image is a built guest image.
type Image struct {
	Name   string    // recipe name, "tiny"
	Dir    string    // the image's directory in the cache
	Disk   string    // base qcow2 (never written to: VMs boot from overlays)
	Kernel string    // vmlinuz
	Initrd string    // gzip cpio initramfs
	Append string    // kernel command line
	Size   int64     // bytes of Disk + Kernel + Initrd on the host
	Key    string    // hash of the inputs; the directory is NAME-KEY
	Built  time.Time // when the build finished
}

// Cache is a directory of built images, keyed by the hash of their inputs.
// The zero value uses labpath.ImageCache and slog.Default.
type Cache struct {
	Dir string
	Log *slog.Logger
}

const metaFile = "image.json"

func (c *Cache) dir() string {
	if c.Dir != "" {
		return c.Dir
	}
	return labpath.ImageCache()
}

func (c *Cache) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.Default()
}

// Build returns the image NAME for the current package versions, building it
// if the cache does not hold it yet. Concurrent builds (also across processes)
// serialise on a lock file; the image appears atomically by rename.
func (c *Cache) Build(ctx context.Context, name string) (Image, error) {
	r, err := lookupRecipe(name)
	if err != nil {
		return Image{}, err
	}
	res, key, err := c.current(ctx, r)
	if err != nil {
		return Image{}, err
	}
	want, kpkg := res.Versions, res.Kernel
	final := filepath.Join(c.dir(), name+"-"+key)
	if img, err := readImage(final); err == nil {
		return img, nil
	}
	if err := os.MkdirAll(c.dir(), 0o755); err != nil {
		return Image{}, fmt.Errorf("image cache %s: %w", c.dir(), err)
	}
	// One build at a time per cache: builds share the .deb cache.
	unlock, err := lockFile(ctx, filepath.Join(c.dir(), ".build.lock"))
	if err != nil {
		return Image{}, fmt.Errorf("image %s: %w", name, err)
	}
	defer unlock()
	if img, err := readImage(final); err == nil { // built by someone else meanwhile
		return img, nil
	}
	c.removeStale()
	start := time.Now()
	c.log().Info("building image", "name", name, "key", key, "dir", final)
	tmp, err := os.MkdirTemp(c.dir(), ".build-"+name+"-")
	if err != nil {
		return Image{}, fmt.Errorf("image %s: %w", name, err)
	}
	defer os.RemoveAll(tmp)
	b := &builder{r: r, key: key, tmp: tmp, debs: filepath.Join(c.dir(), "debs"), versions: want, kernelPkg: kpkg, log: c.log()}
	img, err := b.build(ctx)
	if err != nil {
		return Image{}, fmt.Errorf("image %s: %w", name, err)
	}
	out := filepath.Join(tmp, "out")
	_ = os.RemoveAll(final) // a broken leftover without image.json
	if err := os.Rename(out, final); err != nil {
		return Image{}, fmt.Errorf("image %s: install: %w", name, err)
	}
	img = img.in(final)
	c.log().Info("built image", "name", name, "dir", final, "size", img.Size, "took", time.Since(start).Round(time.Millisecond))
	return img, nil
}

// removeStale deletes scratch directories of builds that died; the caller
// holds the build lock, so no live build owns them.
func (c *Cache) removeStale() {
	stale, _ := filepath.Glob(filepath.Join(c.dir(), ".build-*"))
	for _, d := range stale {
		c.log().Info("removing scratch directory of an interrupted build", "dir", d)
		_ = os.RemoveAll(d)
	}
}

// in returns img with its paths moved to dir.
func (img Image) in(dir string) Image {
	img.Dir = dir
	img.Disk = filepath.Join(dir, filepath.Base(img.Disk))
	img.Kernel = filepath.Join(dir, filepath.Base(img.Kernel))
	img.Initrd = filepath.Join(dir, filepath.Base(img.Initrd))
	return img
}

func readImage(dir string) (Image, error) {
	b, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		return Image{}, err
	}
	var img Image
	if err := json.Unmarshal(b, &img); err != nil {
		return Image{}, fmt.Errorf("image metadata %s: %w", dir, err)
	}
	img = img.in(dir)
	for _, f := range []string{img.Disk, img.Kernel, img.Initrd} {
		if _, err := os.Stat(f); err != nil {
			return Image{}, fmt.Errorf("image %s is incomplete: %w", dir, err)
		}
	}
	return img, nil
}

// current resolves the recipe's package versions and the key of the image they make with this build of the
// project's host programs: the key Build builds and Lookup finds.
func (c *Cache) current(ctx context.Context, r Recipe) (resolution, string, error) {
	res, err := c.resolve(ctx, r)
	if err != nil {
		return resolution{}, "", fmt.Errorf("image %s: %w", r.Name, err)
	}
	key, err := r.Key(res.Versions)
	if err != nil {
		return resolution{}, "", err
	}
	return res, key, nil
}

// Lookup returns the image NAME that Build would return (made from the current recipe, package versions and
// host programs) if it is built, without building it. An image of that name built from other inputs (an
// older cloonix, since-updated packages) is not returned: the error says how to build the current one.
func (c *Cache) Lookup(ctx context.Context, name string) (Image, error) {
	r, err := lookupRecipe(name)
	if err != nil {
		return Image{}, err
	}
	all, err := c.List()
	if err != nil {
		return Image{}, err
	}
	var built []Image
	for _, img := range all {
		if img.Name == name {
			built = append(built, img)
		}
	}
	if len(built) == 0 {
		return Image{}, fmt.Errorf("image %s is not built in %s; run: cloonix-labd image build %s", name, c.dir(), name)
	}
	_, key, err := c.current(ctx, r)
	if err != nil {
		return Image{}, err
	}
	for _, img := range built {
		if img.Key == key {
			return img, nil
		}
	}
	return Image{}, fmt.Errorf("image %s in %s was built from other inputs (another cloonix version or updated packages); run: cloonix-labd image build %s", name, c.dir(), name)
}

// List returns the built images, newest first.
func (c *Cache) List() ([]Image, error) {
	ents, err := os.ReadDir(c.dir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list images in %s: %w", c.dir(), err)
	}
	var out []Image
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || e.Name() == "debs" {
			continue
		}
		img, err := readImage(filepath.Join(c.dir(), e.Name()))
		if err != nil {
			continue
		}
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Built.After(out[j].Built) })
	return out, nil
}

// lockFile takes an exclusive flock on path, polling so ctx can cancel.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for another build (lock %s): %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
