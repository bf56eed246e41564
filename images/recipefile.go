package images

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	builtin "github.com/cloonix-go/cloonix/examples/images"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/tomlfile"
)

// RecipeFile is the name of an image's definition in its directory.
const RecipeFile = "image.toml"

// source is a directory of image definitions: the built-in ones (embedded) or the user's own.
type source struct {
	where string // for messages: "built-in" or the directory
	fsys  fs.FS
}

// sources are where image names are looked up: the built-in images, then the user's own directory
// (labpath.UserImages), whose names may not shadow a built-in one.
func sources() []source {
	s := []source{{where: "built-in", fsys: builtin.FS}}
	if dir, err := labpath.UserImages(); err == nil {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			s = append(s, source{where: dir, fsys: os.DirFS(dir)})
		}
	}
	return s
}

// Recipes returns the names of the images this package can build: the built-in ones (the base image,
// "tiny", first), then the user's own, sorted.
func Recipes() []string {
	var names []string
	for i, s := range sources() {
		var these []string
		ents, _ := fs.ReadDir(s.fsys, ".")
		for _, e := range ents {
			if _, err := fs.Stat(s.fsys, path.Join(e.Name(), RecipeFile)); err == nil && e.IsDir() {
				these = append(these, e.Name())
			}
		}
		sort.Slice(these, func(a, b int) bool {
			if i == 0 && (these[a] == "tiny") != (these[b] == "tiny") {
				return these[a] == "tiny"
			}
			return these[a] < these[b]
		})
		names = append(names, these...)
	}
	return names
}

// lookupRecipe reads the named image's definition (and its base's).
func lookupRecipe(name string) (Recipe, error) {
	return loadRecipe(name, nil)
}

func loadRecipe(name string, chain []string) (Recipe, error) {
	for _, c := range chain {
		if c == name {
			return Recipe{}, fmt.Errorf("image %s: its bases loop: %s", chain[0], strings.Join(append(chain, name), " -> "))
		}
	}
	var found *source
	for _, s := range sources() {
		if _, err := fs.Stat(s.fsys, path.Join(name, RecipeFile)); err == nil {
			if found != nil {
				return Recipe{}, fmt.Errorf("image %s in %s has the name of a built-in image; rename its directory", name, s.where)
			}
			found = &s
		}
	}
	if found == nil || labpath.NameProblem(name) != "" {
		dir, _ := labpath.UserImages()
		return Recipe{}, fmt.Errorf("unknown image %q: known images are %s (your own go in %s/NAME/%s)", name,
			strings.Join(Recipes(), ", "), dir, RecipeFile)
	}
	sub, err := fs.Sub(found.fsys, name)
	if err != nil {
		return Recipe{}, err
	}
	data, err := fs.ReadFile(sub, RecipeFile)
	if err != nil {
		return Recipe{}, fmt.Errorf("image %s: %w", name, err)
	}
	file := name + "/" + RecipeFile
	if found.where != "built-in" {
		file = filepath.Join(found.where, name, RecipeFile)
	}
	return parseRecipe(file, name, data, sub, func(base string) (Recipe, error) {
		return loadRecipe(base, append(chain, name))
	})
}

// recipeKeys are the keys of an image file.
var recipeKeys = []string{"name", "base", "kernel", "append", "whole", "libs", "drop", "modules", "late_modules",
	"boot_modules", "pick", "program", "hooks", "file"}

// parseRecipe reads an image file: dir holds the files it names; base resolves its base image. Lists extend
// the base's, tables (pick, hooks) add to or replace its entries, scalars replace it. Every problem is located.
func parseRecipe(file, name string, data []byte, dir fs.FS, base func(string) (Recipe, error)) (Recipe, error) {
	doc, raw, err := tomlfile.Decode(file, data)
	if err != nil {
		return Recipe{}, err
	}
	p := &recipeParser{Doc: doc}
	doc.Unknown(raw, nil, recipeKeys, "an image file")
	var r Recipe
	if n, ok := doc.Str(raw, nil, "name", `name = "`+name+`"`); !ok || n != name {
		if ok {
			doc.ValProblem([]string{"name"}, fmt.Sprintf("the image is named %q but its directory is %s", n, name), `name it as its directory: name = "`+name+`"`)
		} else if _, present := raw["name"]; !present {
			doc.Add(tomlfile.Pos{Line: 1, Col: 1}, "the image file has no name", `add name = "`+name+`" at the top`)
		}
	}
	if b, ok := doc.Str(raw, nil, "base", `base = "tiny"`); ok {
		br, err := base(b)
		if err != nil {
			doc.ValProblem([]string{"base"}, err.Error(), "name an image that exists: base = \"tiny\"")
		} else {
			r = br.clone()
		}
	}
	r.Name = name
	if k, ok := doc.Str(raw, nil, "kernel", `kernel = "linux-image-cloud-amd64"`); ok {
		r.Kernel = k
	}
	if a, ok := doc.Str(raw, nil, "append", `append = "console=ttyS0 …"`); ok {
		r.Append = a
	}
	r.Whole = append(r.Whole, p.list(raw, "whole")...)
	r.Libs = append(r.Libs, p.list(raw, "libs")...)
	r.Drop = append(r.Drop, p.list(raw, "drop")...)
	r.Modules = append(r.Modules, p.list(raw, "modules")...)
	r.LateModules = append(r.LateModules, p.list(raw, "late_modules")...)
	r.BootModules = append(r.BootModules, p.list(raw, "boot_modules")...)
	if t, ok := p.table(raw, "pick"); ok {
		for _, pkg := range doc.SortedKeys(t, []string{"pick"}) {
			if r.Pick == nil {
				r.Pick = map[string][]string{}
			}
			r.Pick[pkg] = p.list(t, pkg, "pick")
		}
	}
	if t, ok := p.table(raw, "hooks"); ok {
		for _, h := range doc.SortedKeys(t, []string{"hooks"}) {
			src, ok := doc.Str(t, []string{"hooks"}, h, h+` = "hook"`)
			if !ok {
				continue
			}
			body, ok := p.read(dir, []string{"hooks", h}, src)
			if !ok {
				continue
			}
			if r.Hooks == nil {
				r.Hooks = map[string]string{}
			}
			r.Hooks[h] = body
		}
	}
	progs, _ := tomlfile.Tables(raw["program"])
	for i, t := range progs {
		b := []string{"program", strconv.Itoa(i)}
		doc.Unknown(t, b, []string{"name", "path"}, "a [[program]]")
		n, ok1 := doc.Str(t, b, "name", `name = "cloonix-vsock-bridge"`)
		gp, ok2 := doc.Str(t, b, "path", `path = "/usr/sbin/cloonix-vsock-bridge"`)
		if !ok1 || !ok2 {
			doc.KeyProblem(b, "a [[program]] needs name and path", `name = "cloonix-vsock-bridge" and path = "/usr/sbin/cloonix-vsock-bridge"`)
			continue
		}
		r.Programs = append(r.Programs, HostProgram{Name: n, Path: gp})
	}
	files, _ := tomlfile.Tables(raw["file"])
	for i, t := range files {
		b := []string{"file", strconv.Itoa(i)}
		doc.Unknown(t, b, []string{"path", "mode", "append", "body", "source"}, "a [[file]]")
		f := GuestFile{Mode: 0o644}
		var ok bool
		if f.Path, ok = doc.Str(t, b, "path", `path = "/etc/motd"`); !ok || !strings.HasPrefix(f.Path, "/") {
			doc.KeyProblem(b, "a [[file]] needs an absolute path", `path = "/etc/motd"`)
			continue
		}
		if m, ok := doc.Str(t, b, "mode", `mode = "0644"`); ok {
			v, err := strconv.ParseUint(m, 8, 32)
			if err != nil || v > 0o7777 {
				doc.ValProblem(tomlfile.Child(b, "mode"), fmt.Sprintf("mode %q is not an octal permission", m), `write it like mode = "0755"`)
			}
			f.Mode = fs.FileMode(v)
		}
		f.Append, _ = doc.Bool(t, b, "append")
		body, hasBody := doc.Str(t, b, "body", `body = "text"`)
		src, hasSrc := doc.Str(t, b, "source", `source = "motd"`)
		switch {
		case hasBody == hasSrc:
			doc.KeyProblem(b, "a [[file]] needs body or source (one of them)", `body = "text", or source = "a file beside image.toml"`)
			continue
		case hasSrc:
			if body, ok = p.read(dir, tomlfile.Child(b, "source"), src); !ok {
				continue
			}
		}
		f.Body = body
		r.Files = append(r.Files, f)
	}
	if r.Kernel == "" {
		doc.Add(tomlfile.Pos{Line: 1, Col: 1}, "the image has no kernel", `add kernel = "linux-image-cloud-amd64", or base = "tiny"`)
	}
	if err := doc.Err(); err != nil {
		return Recipe{}, err
	}
	return r, nil
}

type recipeParser struct{ *tomlfile.Doc }

// list reads an array of strings at key (under base when given).
func (p *recipeParser) list(t map[string]any, key string, base ...string) []string {
	v, present := t[key]
	if !present {
		return nil
	}
	arr, ok := v.([]any)
	var out []string
	for _, e := range arr {
		s, isStr := e.(string)
		if !isStr {
			ok = false
			break
		}
		out = append(out, s)
	}
	if !ok {
		p.ValProblem(tomlfile.Child(base, key), fmt.Sprintf("%s must be an array of strings, not %s", key, tomlfile.TypeName(v)),
			fmt.Sprintf(`write it like %s = ["a", "b"]`, key))
		return nil
	}
	return out
}

func (p *recipeParser) table(t map[string]any, key string) (map[string]any, bool) {
	v, present := t[key]
	if !present {
		return nil, false
	}
	tt, ok := tomlfile.Table(v)
	if !ok {
		p.ValProblem([]string{key}, fmt.Sprintf("%s must be a table, not %s", key, tomlfile.TypeName(v)), "write it as ["+key+"] with its entries below")
	}
	return tt, ok
}

// read reads a file the image file names, beside it.
func (p *recipeParser) read(dir fs.FS, at []string, name string) (string, bool) {
	if !fs.ValidPath(name) || strings.Contains(name, "/") {
		p.ValProblem(at, fmt.Sprintf("%q is not a file name beside the image file", name), "name a file in the image's directory")
		return "", false
	}
	b, err := fs.ReadFile(dir, name)
	if err != nil {
		msg := err.Error()
		if errors.Is(err, fs.ErrNotExist) {
			msg = name + ": no such file beside the image file"
		}
		p.ValProblem(at, msg, "put the file in the image's directory")
		return "", false
	}
	return string(b), true
}

// clone copies the recipe's slices and maps, so that extending a base leaves the base as it was.
func (r Recipe) clone() Recipe {
	c := r
	c.Whole = append([]string(nil), r.Whole...)
	c.Libs = append([]string(nil), r.Libs...)
	c.Drop = append([]string(nil), r.Drop...)
	c.Modules = append([]string(nil), r.Modules...)
	c.LateModules = append([]string(nil), r.LateModules...)
	c.BootModules = append([]string(nil), r.BootModules...)
	c.Programs = append([]HostProgram(nil), r.Programs...)
	c.Files = append([]GuestFile(nil), r.Files...)
	if r.Pick != nil {
		c.Pick = map[string][]string{}
		for k, v := range r.Pick {
			c.Pick[k] = append([]string(nil), v...)
		}
	}
	if r.Hooks != nil {
		c.Hooks = map[string]string{}
		for k, v := range r.Hooks {
			c.Hooks[k] = v
		}
	}
	return c
}
