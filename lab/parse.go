package lab

import (
	"fmt"

	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/tomlfile"
)

// Parse parses, validates and resolves lab file data. name is used in problem positions and as
// Lab.File; dir is the directory relative paths (images, day-0 files) are resolved against.
func Parse(name string, data []byte, dir string, env Env) (*Lab, error) {
	doc, raw, err := tomlfile.Decode(name, data)
	if err != nil {
		return nil, err
	}
	p := &parser{Doc: doc, dir: dir, env: env, images: map[string]imageResult{}}
	l := p.lab(raw)
	if err := p.Err(); err != nil {
		return nil, err
	}
	return l, nil
}

type imageResult struct {
	ref       ImageRef
	msg, fix  string
	validated bool
}

// parser walks the decoded TOML; its Doc collects the problems with their source positions.
type parser struct {
	*tomlfile.Doc
	dir    string
	env    Env
	images map[string]imageResult
	// lastFileErr is the error of checkFile's last open, nil when it opened.
	lastFileErr error
}

// checkName reports an invalid name at the value at path.
func (p *parser) checkName(path []string, what, name string) bool {
	why := labpath.NameProblem(name)
	if why == "" {
		return true
	}
	p.ValProblem(path, fmt.Sprintf("%s name %q %s", what, name, why), labpath.NameFix(name))
	return false
}

// unique records name in seen, or reports a duplicate at path.
func (p *parser) unique(seen map[string]tomlfile.Pos, path []string, what, name string) bool {
	at := p.Where(path, true)
	if prev, dup := seen[name]; dup {
		p.Add(at, fmt.Sprintf("duplicate %s name %q (first at line %d)", what, name, prev.Line),
			"give each one its own name")
		return false
	}
	seen[name] = at
	return true
}
