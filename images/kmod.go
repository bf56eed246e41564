package images

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// modIndex maps module names (with '-' as '_') to .ko files of one kernel.
type modIndex struct {
	version string
	path    map[string]string
	builtin map[string]bool
}

func modName(s string) string {
	s = strings.TrimSuffix(filepath.Base(s), ".ko")
	return strings.ReplaceAll(s, "-", "_")
}

// indexModules indexes the modules of the single kernel in an extracted
// linux-image package.
func indexModules(kernelRoot string) (*modIndex, error) {
	vers, _ := filepath.Glob(filepath.Join(kernelRoot, "lib/modules/*"))
	if len(vers) != 1 {
		return nil, fmt.Errorf("kernel package: want one lib/modules/VERSION, found %d", len(vers))
	}
	idx := &modIndex{version: filepath.Base(vers[0]), path: map[string]string{}, builtin: map[string]bool{}}
	err := filepath.WalkDir(vers[0], func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".ko") {
			idx.path[modName(p)] = p
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index kernel modules: %w", err)
	}
	if b, err := os.ReadFile(filepath.Join(vers[0], "modules.builtin")); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			idx.builtin[modName(sc.Text())] = true
		}
	}
	return idx, nil
}

// moduleDepends reads the depends= field of a .ko's .modinfo section.
func moduleDepends(ko string) ([]string, error) {
	f, err := elf.Open(ko)
	if err != nil {
		return nil, fmt.Errorf("read module %s: %w", ko, err)
	}
	defer f.Close()
	s := f.Section(".modinfo")
	if s == nil {
		return nil, nil
	}
	data, err := s.Data()
	if err != nil {
		return nil, fmt.Errorf("read .modinfo of %s: %w", ko, err)
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			if len(v) == 0 {
				return nil, nil
			}
			var deps []string
			for _, d := range strings.Split(string(v), ",") {
				deps = append(deps, modName(d))
			}
			return deps, nil
		}
	}
	return nil, nil
}

// order returns the .ko files for names and their dependencies, dependencies
// first. Built-in modules are skipped; unknown ones are an error. Modules in
// skip (already loaded earlier) are left out.
func (m *modIndex) order(names []string, skip map[string]bool) ([]string, error) {
	var out []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n string) error
	visit = func(n string) error {
		n = modName(n)
		if state[n] == 2 || skip[n] {
			return nil
		}
		if state[n] == 1 {
			return fmt.Errorf("kernel module dependency cycle at %s", n)
		}
		p, ok := m.path[n]
		if !ok {
			if m.builtin[n] {
				state[n] = 2
				return nil
			}
			return fmt.Errorf("kernel module %s is neither in kernel %s nor built in; fix the recipe's Modules", n, m.version)
		}
		state[n] = 1
		deps, err := moduleDepends(p)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[n] = 2
		out = append(out, p)
		return nil
	}
	for _, n := range names {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return out, nil
}
