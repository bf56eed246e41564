package images

import (
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// libDirs are the directories the dynamic loader searches in a Debian guest.
var libDirs = []string{
	"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib", "/lib", "/usr/lib64", "/lib64",
}

// elfDeps is what the loader needs for one ELF file.
type elfDeps struct {
	Interp  string
	Needed  []string
	RunPath []string
}

// readELFDeps returns the ELF dependencies of file, or ok=false if it is not ELF.
func readELFDeps(file string) (deps elfDeps, ok bool, err error) {
	fh, err := os.Open(file)
	if err != nil {
		return deps, false, fmt.Errorf("read %s: %w", file, err)
	}
	defer fh.Close()
	magic := make([]byte, 4)
	if n, _ := fh.ReadAt(magic, 0); n < 4 || string(magic) != elf.ELFMAG {
		return deps, false, nil
	}
	f, err := elf.NewFile(fh)
	if err != nil {
		return deps, false, fmt.Errorf("parse ELF %s: %w", file, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return deps, true, fmt.Errorf("read interpreter of %s: %w", file, err)
			}
			deps.Interp = strings.TrimRight(string(b), "\x00")
		}
	}
	if f.Section(".dynamic") == nil {
		return deps, true, nil
	}
	if deps.Needed, err = f.ImportedLibraries(); err != nil {
		return deps, true, fmt.Errorf("read NEEDED of %s: %w", file, err)
	}
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		vals, _ := f.DynString(tag)
		for _, v := range vals {
			deps.RunPath = append(deps.RunPath, strings.Split(v, ":")...)
		}
	}
	return deps, true, nil
}

// resolveIn follows symlinks of p (absolute, inside the guest) within root and
// returns the host path of the final file, or "" if it does not exist there.
func resolveIn(root, p string) string {
	p = path.Clean("/" + p)
	for hops := 0; hops < 40; hops++ {
		parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
		cur := "/"
		restart := false
		for i, part := range parts {
			next := path.Join(cur, part)
			fi, err := os.Lstat(filepath.Join(root, next))
			if err != nil {
				return ""
			}
			if fi.Mode()&fs.ModeSymlink != 0 {
				target, err := os.Readlink(filepath.Join(root, next))
				if err != nil {
					return ""
				}
				if !path.IsAbs(target) {
					target = path.Join(cur, target)
				}
				p = path.Join(append([]string{target}, parts[i+1:]...)...)
				restart = true
				break
			}
			cur = next
		}
		if !restart {
			return filepath.Join(root, cur)
		}
	}
	return ""
}

// libPool indexes the shared libraries that library-only packages offer.
type libPool map[string]string // file name → host path of the resolved file

// addPackage indexes every *.so* file of one extracted package.
func (lp libPool) addPackage(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.Contains(d.Name(), ".so") {
			return nil
		}
		if _, seen := lp[d.Name()]; seen {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if real := resolveIn(dir, "/"+filepath.ToSlash(rel)); real != "" {
			lp[d.Name()] = real
		}
		return nil
	})
}

// MissingLibError lists libraries no package of the recipe provides.
type MissingLibError struct {
	Missing []string // "FILE needs LIB"
}

func (e *MissingLibError) Error() string {
	return "shared libraries not provided by any recipe package (add the package to the recipe's Libs): " +
		strings.Join(e.Missing, "; ")
}

// completeLibs walks every ELF file in the root tree, copies each needed
// library (and the dynamic loader) from the pool into /usr/lib/x86_64-linux-gnu,
// recursively, and fails naming every library it cannot find. It returns the
// libraries it copied.
func completeLibs(root string, pool libPool) ([]string, error) {
	var queue []string // guest paths
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			queue = append(queue, "/"+filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk root tree: %w", err)
	}
	var copied, missing []string
	install := func(name string) (string, error) {
		src := pool[name]
		if src == "" {
			return "", nil
		}
		dst := "/usr/lib/x86_64-linux-gnu/" + name
		if err := copyFile(src, filepath.Join(root, dst), 0o755); err != nil {
			return "", err
		}
		copied = append(copied, name)
		queue = append(queue, dst)
		return dst, nil
	}
	for len(queue) > 0 {
		gp := queue[0]
		queue = queue[1:]
		deps, ok, err := readELFDeps(filepath.Join(root, gp))
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if deps.Interp != "" && resolveIn(root, deps.Interp) == "" {
			dst, err := install(path.Base(deps.Interp))
			if err != nil {
				return nil, err
			}
			if dst == "" {
				missing = append(missing, gp+" needs loader "+deps.Interp)
			} else if err := symlinkIn(root, deps.Interp, dst); err != nil {
				return nil, err
			}
		}
		for _, lib := range deps.Needed {
			if findLib(root, gp, lib, deps.RunPath) {
				continue
			}
			dst, err := install(lib)
			if err != nil {
				return nil, err
			}
			if dst == "" {
				missing = append(missing, gp+" needs "+lib)
			}
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return copied, &MissingLibError{Missing: missing}
	}
	return copied, nil
}

func findLib(root, from, lib string, runpath []string) bool {
	dirs := make([]string, 0, len(runpath)+len(libDirs))
	for _, d := range runpath {
		dirs = append(dirs, strings.ReplaceAll(strings.ReplaceAll(d, "${ORIGIN}", path.Dir(from)), "$ORIGIN", path.Dir(from)))
	}
	dirs = append(dirs, libDirs...)
	for _, d := range dirs {
		if resolveIn(root, path.Join(d, lib)) != "" {
			return true
		}
	}
	return false
}

// symlinkIn makes guest path link point at guest path target (made relative).
func symlinkIn(root, link, target string) error {
	link = normalizeGuestPath(link)
	rel, err := filepath.Rel(path.Dir(link), target)
	if err != nil {
		return fmt.Errorf("symlink %s: %w", link, err)
	}
	host := filepath.Join(root, link)
	if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
		return fmt.Errorf("symlink %s: %w", link, err)
	}
	_ = os.Remove(host)
	if err := os.Symlink(rel, host); err != nil {
		return fmt.Errorf("symlink %s: %w", link, err)
	}
	return nil
}
