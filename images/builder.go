package images

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// builder holds one build's state.
type builder struct {
	r         Recipe
	key       string
	tmp       string            // scratch directory inside the cache
	debs      string            // .deb cache
	versions  map[string]string // package → version, kernel included
	kernelPkg string
	log       *slog.Logger
}

func (b *builder) build(ctx context.Context) (Image, error) {
	t0 := time.Now()
	debs, err := download(ctx, b.debs, b.versions)
	if err != nil {
		return Image{}, err
	}
	pool := filepath.Join(b.tmp, "pool")
	for p, deb := range debs {
		if err := extract(ctx, deb, filepath.Join(pool, p)); err != nil {
			return Image{}, err
		}
	}
	b.log.Debug("packages ready", "took", time.Since(t0))
	root := filepath.Join(b.tmp, "root")
	out := filepath.Join(b.tmp, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return Image{}, fmt.Errorf("output dir: %w", err)
	}
	if err := skeleton(root); err != nil {
		return Image{}, err
	}
	for _, p := range b.r.Whole {
		if err := copyWhole(filepath.Join(pool, p), root); err != nil {
			return Image{}, fmt.Errorf("install %s: %w", p, err)
		}
	}
	for p, paths := range b.r.Pick {
		if err := copyPicked(filepath.Join(pool, p), root, paths); err != nil {
			return Image{}, fmt.Errorf("install from %s: %w", p, err)
		}
	}
	if err := dropPaths(root, b.r.Drop); err != nil {
		return Image{}, err
	}
	if err := busyboxLinks(ctx, root); err != nil {
		return Image{}, err
	}
	if err := configFiles(root, b.r); err != nil {
		return Image{}, err
	}
	if err := copyHostPrograms(root, b.r.Programs); err != nil {
		return Image{}, err
	}
	libs := libPool{}
	for _, p := range b.r.Libs {
		if err := libs.addPackage(filepath.Join(pool, p)); err != nil {
			return Image{}, fmt.Errorf("index libraries of %s: %w", p, err)
		}
	}
	copied, err := completeLibs(root, libs)
	if err != nil {
		return Image{}, err
	}
	b.log.Debug("libraries copied", "libs", copied)

	kroot := filepath.Join(pool, b.kernelPkg)
	mods, err := indexModules(kroot)
	if err != nil {
		return Image{}, err
	}
	early, err := mods.order(b.r.Modules, nil)
	if err != nil {
		return Image{}, err
	}
	loaded := map[string]bool{}
	for _, ko := range early {
		loaded[modName(ko)] = true
	}
	late, err := mods.order(b.r.LateModules, loaded)
	if err != nil {
		return Image{}, err
	}
	if err := writeModules(filepath.Join(root, "usr/lib/cloonix/modules"), late); err != nil {
		return Image{}, err
	}
	if len(b.r.BootModules) > 0 {
		boot, err := mods.order(b.r.BootModules, loaded)
		if err != nil {
			return Image{}, err
		}
		if err := writeModules(filepath.Join(root, bootModulesDir), boot); err != nil {
			return Image{}, err
		}
		if err := os.WriteFile(filepath.Join(root, "etc/cloonix/hooks", bootModulesHook), []byte(bootModulesScript), 0o755); err != nil {
			return Image{}, fmt.Errorf("write hook %s: %w", bootModulesHook, err)
		}
	}
	kernels, _ := filepath.Glob(filepath.Join(kroot, "boot", "vmlinuz-*"))
	if len(kernels) != 1 {
		return Image{}, fmt.Errorf("kernel package %s: want one boot/vmlinuz-*, found %d", b.kernelPkg, len(kernels))
	}
	img := Image{
		Name:   b.r.Name,
		Dir:    out,
		Disk:   filepath.Join(out, "disk.qcow2"),
		Kernel: filepath.Join(out, "vmlinuz"),
		Initrd: filepath.Join(out, "initrd.img"),
		Append: b.r.Append,
		Key:    b.key,
	}
	if err := copyFile(kernels[0], img.Kernel, 0o644); err != nil {
		return Image{}, err
	}
	if err := writeInitramfs(img.Initrd, filepath.Join(pool, "busybox-static", "bin", "busybox"), early); err != nil {
		return Image{}, err
	}
	if err := writeDisk(ctx, root, filepath.Join(b.tmp, "disk.raw"), img.Disk); err != nil {
		return Image{}, err
	}
	_ = os.Remove(filepath.Join(b.tmp, "disk.raw"))
	for _, f := range []string{img.Disk, img.Kernel, img.Initrd} {
		fi, err := os.Stat(f)
		if err != nil {
			return Image{}, fmt.Errorf("output: %w", err)
		}
		img.Size += fi.Size()
	}
	// The base image is read-only for everyone: VMs write to overlays.
	if err := os.Chmod(img.Disk, 0o444); err != nil {
		return Image{}, fmt.Errorf("output: %w", err)
	}
	img.Built = time.Now().UTC()
	meta, err := json.MarshalIndent(struct {
		Image
		Versions map[string]string
	}{img, b.versions}, "", "  ")
	if err != nil {
		return Image{}, fmt.Errorf("image metadata: %w", err)
	}
	if err := os.WriteFile(filepath.Join(out, metaFile), meta, 0o644); err != nil {
		return Image{}, fmt.Errorf("image metadata: %w", err)
	}
	return img, nil
}

// The boot modules' directory in the guest, and the hook that loads them: named to sort before every
// recipe hook, so FRR's daemons find macvlan, vxlan or mpls there.
const (
	bootModulesDir    = "usr/lib/cloonix/boot-modules"
	bootModulesHook   = "05-boot-modules"
	bootModulesScript = `#!/bin/sh
# Loads the image's boot modules (in dependency order) before the other hooks run.
while read -r m; do
	[ -n "$m" ] && insmod "/` + bootModulesDir + `/$m" 2>/dev/null
done </` + bootModulesDir + `/order
exit 0
`
)
