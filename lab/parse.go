package lab

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/cloonix-go/cloonix/labpath"
)

// Parse parses, validates and resolves lab file data. name is used in problem positions and as
// Lab.File; dir is the directory relative paths (images, day-0 files) are resolved against.
func Parse(name string, data []byte, dir string, env Env) (*Lab, error) {
	p := &parser{file: name, dir: dir, env: env, images: map[string]imageResult{}}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, &ValidationError{Problems: []Problem{p.syntaxProblem(err)}}
	}
	p.pos = scanPositions(string(data))
	l := p.lab(raw)
	if len(p.problems) > 0 {
		sortProblems(p.problems)
		return nil, &ValidationError{Problems: p.problems}
	}
	return l, nil
}

type imageResult struct {
	ref       ImageRef
	msg, fix  string
	validated bool
}

// parser walks the decoded TOML and collects problems with their source positions.
type parser struct {
	file, dir string
	env       Env
	pos       positions
	problems  []Problem
	images    map[string]imageResult
	// lastFileErr is the error of checkFile's last open, nil when it opened.
	lastFileErr error
}

func (p *parser) syntaxProblem(err error) Problem {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		line, col := pe.Position.Line, pe.Position.Col
		if line < 1 {
			line = 1
		}
		if col < 1 {
			col = 1
		}
		return Problem{File: p.file, Line: line, Col: col, Msg: "TOML syntax: " + pe.Message,
			Fix: "fix the syntax (see https://toml.io/en/v1.0.0)"}
	}
	return Problem{File: p.file, Line: 1, Col: 1, Msg: "TOML: " + err.Error(), Fix: "fix the syntax (see https://toml.io/en/v1.0.0)"}
}

// where returns the position of the value at path (value true) or of its key, falling back to the
// nearest enclosing key or table header, then to 1:1.
func (p *parser) where(path []string, value bool) pos {
	for n := len(path); n > 0; n-- {
		k := pathKey(path[:n])
		if value && n == len(path) {
			if v, ok := p.pos.val[k]; ok {
				return v
			}
		}
		if v, ok := p.pos.key[k]; ok {
			return v
		}
		if v, ok := p.pos.val[k]; ok {
			return v
		}
	}
	return pos{Line: 1, Col: 1}
}

func (p *parser) add(at pos, msg, fix string) {
	p.problems = append(p.problems, Problem{File: p.file, Line: at.Line, Col: at.Col, Msg: msg, Fix: fix})
}

// keyProblem reports at the key (or table header) at path.
func (p *parser) keyProblem(path []string, msg, fix string) { p.add(p.where(path, false), msg, fix) }

// valProblem reports at the value at path.
func (p *parser) valProblem(path []string, msg, fix string) { p.add(p.where(path, true), msg, fix) }

func toTable(v any) (map[string]any, bool) {
	t, ok := v.(map[string]any)
	return t, ok
}

func toTables(v any) ([]map[string]any, bool) {
	switch v := v.(type) {
	case []map[string]any:
		return v, true
	case []any:
		out := make([]map[string]any, 0, len(v))
		for _, e := range v {
			t, ok := e.(map[string]any)
			if !ok {
				return nil, false
			}
			out = append(out, t)
		}
		return out, true
	}
	return nil, false
}

// sortedKeys returns t's keys in file order (then by name for keys the scanner did not place).
func (p *parser) sortedKeys(t map[string]any, base []string) []string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := p.where(child(base, keys[i]), false), p.where(child(base, keys[j]), false)
		if a != b {
			return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
		}
		return keys[i] < keys[j]
	})
	return keys
}

// unknown reports every key of t not in allowed.
func (p *parser) unknown(t map[string]any, base []string, allowed []string, where string) {
	for _, k := range p.sortedKeys(t, base) {
		if contains(allowed, k) {
			continue
		}
		fix := "remove it; known keys: " + strings.Join(allowed, ", ")
		if c := closest(k, allowed); c != "" {
			fix = fmt.Sprintf("did you mean %q? known keys: %s", c, strings.Join(allowed, ", "))
		}
		p.keyProblem(child(base, k), fmt.Sprintf("unknown key %q in %s", k, where), fix)
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// str reads an optional string. ok is false when the key is absent or not a string (then reported).
func (p *parser) str(t map[string]any, base []string, key, example string) (string, bool) {
	v, present := t[key]
	if !present {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		p.valProblem(child(base, key), fmt.Sprintf("%s must be a string, not %s", key, tomlType(v)),
			"write it like "+example)
		return "", false
	}
	return s, true
}

// integer reads an optional integer.
func (p *parser) integer(t map[string]any, base []string, key, example string) (int64, bool) {
	v, present := t[key]
	if !present {
		return 0, false
	}
	n, ok := v.(int64)
	if !ok {
		p.valProblem(child(base, key), fmt.Sprintf("%s must be an integer, not %s", key, tomlType(v)),
			"write it like "+example)
		return 0, false
	}
	return n, true
}

// boolean reads an optional boolean.
func (p *parser) boolean(t map[string]any, base []string, key string) (bool, bool) {
	v, present := t[key]
	if !present {
		return false, false
	}
	b, ok := v.(bool)
	if !ok {
		p.valProblem(child(base, key), fmt.Sprintf("%s must be true or false, not %s", key, tomlType(v)),
			fmt.Sprintf("write %s = true or %s = false (no quotes)", key, key))
		return false, false
	}
	return b, true
}

func tomlType(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", v)
	case int64:
		return fmt.Sprintf("the integer %d", v)
	case float64:
		return fmt.Sprintf("the float %v", v)
	case bool:
		return fmt.Sprintf("%v", v)
	case map[string]any:
		return "a table"
	case []map[string]any, []any:
		return "an array"
	}
	return fmt.Sprintf("a %T", v)
}

// checkName reports an invalid name at the value at path.
func (p *parser) checkName(path []string, what, name string) bool {
	why := labpath.NameProblem(name)
	if why == "" {
		return true
	}
	p.valProblem(path, fmt.Sprintf("%s name %q %s", what, name, why), labpath.NameFix(name))
	return false
}

// unique records name in seen, or reports a duplicate at path.
func (p *parser) unique(seen map[string]pos, path []string, what, name string) bool {
	at := p.where(path, true)
	if prev, dup := seen[name]; dup {
		p.add(at, fmt.Sprintf("duplicate %s name %q (first at line %d)", what, name, prev.Line),
			"give each one its own name")
		return false
	}
	seen[name] = at
	return true
}
