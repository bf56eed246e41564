package images

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// skipPrefixes are dropped when a package is copied into the root tree.
var skipPrefixes = []string{
	"usr/share/doc/", "usr/share/man/", "usr/share/info/", "usr/share/locale/", "usr/share/lintian/",
	"usr/share/bug/", "usr/share/initramfs-tools/", "etc/init.d/", "lib/systemd/", "usr/lib/systemd/",
	"etc/default/", "etc/logcheck/",
}

// normalizeGuestPath maps /bin, /sbin, /lib, /lib64 to /usr (merged /usr).
func normalizeGuestPath(p string) string {
	p = path.Clean("/" + p)
	for _, top := range []string{"bin", "sbin", "lib", "lib64"} {
		if p == "/"+top || strings.HasPrefix(p, "/"+top+"/") {
			return "/usr" + p
		}
	}
	return p
}

// skeleton makes the merged-/usr layout and the empty mount points.
func skeleton(root string) error {
	for _, d := range []string{"usr/bin", "usr/sbin", "usr/lib/x86_64-linux-gnu", "usr/lib64", "etc/cloonix/hooks",
		"etc/acpi/PWRF", "etc/ssh", "proc", "sys", "dev", "run", "tmp", "var/log", "var/tmp", "home", "root",
		"mnt", "usr/lib/cloonix/modules"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return fmt.Errorf("root skeleton: %w", err)
		}
	}
	for link, target := range map[string]string{"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib",
		"lib64": "usr/lib64", "var/run": "../run"} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			return fmt.Errorf("root skeleton: %w", err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "root"), 0o700); err != nil {
		return fmt.Errorf("root skeleton: %w", err)
	}
	return os.Chmod(filepath.Join(root, "tmp"), 0o1777)
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	_ = os.Remove(dst)
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return os.Chmod(dst, perm)
}

// copyEntry copies one file or symlink from an extracted package at guest
// path rel into the root tree (paths normalised to merged /usr).
func copyEntry(pkgDir, root, rel string, fi fs.FileInfo) error {
	dst := filepath.Join(root, normalizeGuestPath(rel))
	src := filepath.Join(pkgDir, rel)
	switch {
	case fi.IsDir():
		return os.MkdirAll(dst, 0o755)
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return fmt.Errorf("read link %s: %w", rel, err)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("link %s: %w", rel, err)
		}
		_ = os.Remove(dst)
		if err := os.Symlink(target, dst); err != nil {
			return fmt.Errorf("link %s: %w", rel, err)
		}
		return nil
	case fi.Mode().IsRegular():
		return copyFile(src, dst, fi.Mode().Perm())
	}
	return nil
}

// copyWhole copies a whole extracted package into root.
func copyWhole(pkgDir, root string) error {
	return filepath.Walk(pkgDir, func(p string, fi fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(pkgDir, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		for _, s := range skipPrefixes {
			if rel+"/" == s || strings.HasPrefix(rel, s) {
				if fi.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		return copyEntry(pkgDir, root, rel, fi)
	})
}

// copyPicked copies selected paths (following symlinks inside the package).
func copyPicked(pkgDir, root string, paths []string) error {
	for _, p := range paths {
		src := resolveIn(pkgDir, p)
		if src == "" {
			return fmt.Errorf("recipe picks %s, which the package does not contain", p)
		}
		fi, err := os.Stat(src)
		if err != nil {
			return fmt.Errorf("pick %s: %w", p, err)
		}
		if err := copyFile(src, filepath.Join(root, normalizeGuestPath(p)), fi.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

// dropPaths removes from the root tree every guest path matching one of the
// globs (path.Match syntax on clean absolute guest paths). A glob that
// matches nothing is an error: the recipe names something the packages no
// longer ship.
func dropPaths(root string, globs []string) error {
	for _, g := range globs {
		if !path.IsAbs(g) || path.Clean(g) != g {
			return fmt.Errorf("recipe drops %q: want a clean absolute guest path glob", g)
		}
		if _, err := path.Match(g, ""); err != nil {
			return fmt.Errorf("recipe drops %q: %w", g, err)
		}
		matches, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(normalizeGuestPath(g))))
		if err != nil {
			return fmt.Errorf("recipe drops %q: %w", g, err)
		}
		if len(matches) == 0 {
			return fmt.Errorf("recipe drops %q, which matches nothing in the root tree: remove it from the recipe", g)
		}
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return fmt.Errorf("recipe drops %q: %w", g, err)
			}
		}
	}
	return nil
}

// busyboxLinks makes a symlink for every applet that has no real file yet.
func busyboxLinks(ctx context.Context, root string) error {
	bb := filepath.Join(root, "usr/bin/busybox")
	out, err := exec.CommandContext(ctx, bb, "--list").Output()
	if err != nil {
		return fmt.Errorf("list busybox applets (%s): %w", bb, err)
	}
	for _, a := range strings.Fields(string(out)) {
		if a == "busybox" || strings.ContainsAny(a, "/[") {
			continue
		}
		for _, dir := range []string{"usr/bin", "usr/sbin"} {
			if _, err := os.Lstat(filepath.Join(root, dir, a)); err == nil {
				goto next
			}
		}
		if err := os.Symlink("busybox", filepath.Join(root, "usr/bin", a)); err != nil {
			return fmt.Errorf("busybox applet %s: %w", a, err)
		}
	next:
	}
	_ = os.Remove(filepath.Join(root, "usr/sbin/init"))
	if err := os.Symlink("../bin/busybox", filepath.Join(root, "usr/sbin/init")); err != nil {
		return fmt.Errorf("init link: %w", err)
	}
	return nil
}

// configFiles writes /etc and the embedded guest scripts.
func configFiles(root string, r Recipe) error {
	files := []struct {
		path string
		perm fs.FileMode
		body []byte
	}{
		{"/etc/inittab", 0o644, guestFile("inittab")},
		{"/etc/cloonix/rcS", 0o755, guestFile("rcS")},
		{"/etc/cloonix/day0", 0o755, guestFile("day0")},
		{"/etc/cloonix/sshd", 0o755, guestFile("sshd")},
		{"/etc/ssh/sshd_config", 0o644, guestFile("sshd_config")},
		{"/etc/cloonix/shutdown", 0o755, guestFile("shutdown")},
		{"/etc/cloonix/udhcpc.script", 0o755, guestFile("udhcpc.script")},
		{"/etc/cloonix/cloudconfig.awk", 0o644, guestFile("cloudconfig.awk")},
		{"/etc/acpi/PWRF/00000080", 0o755, guestFile("poweroff-button")},
		{"/etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")},
		// '*' (not '!'): no password login, but sshd still accepts keys (with
		// UsePAM no it treats a '!' prefix as a locked account).
		{"/etc/shadow", 0o600, []byte("root:*:19000:0:99999:7:::\nsshd:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n")},
		{"/etc/group", 0o644, []byte("root:x:0:\ntty:x:5:\nwheel:x:10:\nadm:x:4:\nsudo:x:27:\nusers:x:100:\nnogroup:x:65534:\n")},
		{"/etc/shells", 0o644, []byte("/bin/sh\n/bin/ash\n/usr/bin/sh\n/usr/bin/ash\n")},
		{"/etc/nsswitch.conf", 0o644, []byte("passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n")},
		{"/etc/hostname", 0o644, []byte("cloonix\n")},
		{"/etc/hosts", 0o644, []byte("127.0.0.1\tlocalhost\n")},
		{"/etc/profile", 0o644, []byte("export PATH=/usr/sbin:/usr/bin:/sbin:/bin\nPS1='\\h:\\w\\$ '\n")},
		{"/etc/os-release", 0o644, []byte("NAME=\"Cloonix " + r.Name + "\"\nID=cloonix\nPRETTY_NAME=\"Cloonix " + r.Name + " guest (Debian packages)\"\n")},
	}
	for _, f := range files {
		dst := filepath.Join(root, f.path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
		if err := os.WriteFile(dst, f.body, f.perm); err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
		if err := os.Chmod(dst, f.perm); err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	for name, body := range r.Hooks {
		if err := os.WriteFile(filepath.Join(root, "etc/cloonix/hooks", name), []byte(body), 0o755); err != nil {
			return fmt.Errorf("write hook %s: %w", name, err)
		}
	}
	for _, f := range r.Files {
		if err := writeGuestFile(root, f); err != nil {
			return err
		}
	}
	return nil
}

// writeGuestFile writes (or appends to) one recipe file in the root tree.
func writeGuestFile(root string, f GuestFile) error {
	if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path {
		return fmt.Errorf("recipe file %q: want a clean absolute guest path", f.Path)
	}
	dst := filepath.Join(root, normalizeGuestPath(f.Path))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", f.Path, err)
	}
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if f.Append {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	out, err := os.OpenFile(dst, flags, f.Mode.Perm())
	if err != nil {
		return fmt.Errorf("write %s: %w", f.Path, err)
	}
	if _, err := out.WriteString(f.Body); err != nil {
		out.Close()
		return fmt.Errorf("write %s: %w", f.Path, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("write %s: %w", f.Path, err)
	}
	if err := os.Chmod(dst, f.Mode.Perm()); err != nil {
		return fmt.Errorf("write %s: %w", f.Path, err)
	}
	return nil
}

// writeModules copies .ko files into dir with an "order" file (load order).
func writeModules(dir string, kos []string) error {
	var order bytes.Buffer
	for _, ko := range kos {
		if err := copyFile(ko, filepath.Join(dir, filepath.Base(ko)), 0o644); err != nil {
			return err
		}
		order.WriteString(filepath.Base(ko) + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "order"), order.Bytes(), 0o644); err != nil {
		return fmt.Errorf("module order: %w", err)
	}
	return nil
}

// writeInitramfs writes a gzip newc cpio with busybox, /init and the modules.
func writeInitramfs(out, busybox string, kos []string) error {
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	c := &cpioWriter{w: gz}
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return fmt.Errorf("initramfs busybox: %w", err)
	}
	var order bytes.Buffer
	steps := []func() error{
		func() error { return c.dir("bin") },
		func() error { return c.dir("dev") },
		func() error { return c.chardev("dev/console", 0o600, 5, 1) },
		func() error { return c.dir("proc") },
		func() error { return c.dir("sys") },
		func() error { return c.dir("newroot") },
		func() error { return c.dir("lib") },
		func() error { return c.dir("lib/modules") },
		func() error { return c.file("bin/busybox", 0o755, bb) },
		func() error { return c.symlink("bin/sh", "busybox") },
		func() error { return c.file("init", 0o755, guestFile("initramfs-init")) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return fmt.Errorf("initramfs: %w", err)
		}
	}
	for _, ko := range kos {
		b, err := os.ReadFile(ko)
		if err != nil {
			return fmt.Errorf("initramfs module: %w", err)
		}
		if err := c.file("lib/modules/"+filepath.Base(ko), 0o644, b); err != nil {
			return fmt.Errorf("initramfs: %w", err)
		}
		order.WriteString(filepath.Base(ko) + "\n")
	}
	if err := c.file("lib/modules/order", 0o644, order.Bytes()); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	if err := c.close(); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	return f.Close()
}

// treeSize sums the sizes of the files under root.
func treeSize(root string) (int64, int, error) {
	var n int64
	var count int
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		count++
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	return n, count, err
}

// writeDisk makes an ext4 image of root with mkfs.ext4 -d and converts it to qcow2.
func writeDisk(ctx context.Context, root, raw, qcow string) error {
	size, count, err := treeSize(root)
	if err != nil {
		return fmt.Errorf("size root tree: %w", err)
	}
	// Room for metadata, plus free space for the guest (overlays hold the writes).
	mib := (size+int64(count)*4096)/(1<<20)*5/4 + 256
	if _, err := runTool(ctx, "", "mkfs.ext4", "-q", "-F", "-L", "cloonix-root", "-E", "root_owner=0:0",
		"-m", "0", "-d", root, raw, fmt.Sprintf("%dM", mib)); err != nil {
		return fmt.Errorf("make ext4: %w", err)
	}
	if _, err := runTool(ctx, "", "qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", raw, qcow); err != nil {
		return fmt.Errorf("convert disk to qcow2: %w", err)
	}
	return nil
}
