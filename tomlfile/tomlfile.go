// Package tomlfile reads a TOML file into generic values and reports problems at the position of the
// offending key or value, each as "FILE:LINE:COL: what is wrong; how to fix it". A validator walks the
// decoded tables with a Doc's readers (Str, Int, Bool, Unknown), which report wrong types and unknown keys
// themselves, and adds its own problems with KeyProblem and ValProblem; Err gives them all at once, in
// file order.
//
// A key is named by its path from the top of the file: table and key names, with the elements of an array
// (of tables or of values) by their index in decimal, so the name of the second [[vm]] is
// []string{"vm", "1", "name"}.
package tomlfile

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// Pos is a position in a file: a 1-based line and column, the column in bytes.
type Pos struct{ Line, Col int }

// Doc is one decoded file: where its keys and values are, and the problems found so far.
type Doc struct {
	File     string // the file as named to Decode, the File of every problem
	pos      positions
	problems []Problem
}

// syntaxFix is the fix of every TOML syntax error.
const syntaxFix = "fix the syntax (see https://toml.io/en/v1.0.0)"

// Decode parses data as TOML; name is the file name used in problems. A syntax error is returned as a
// *ValidationError with one problem, at the position the TOML parser gives (then the Doc and the map are
// nil).
func Decode(name string, data []byte) (*Doc, map[string]any, error) {
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, nil, &ValidationError{Problems: []Problem{syntaxProblem(name, err)}}
	}
	if raw == nil {
		raw = map[string]any{}
	}
	return &Doc{File: name, pos: scanPositions(string(data))}, raw, nil
}

func syntaxProblem(name string, err error) Problem {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		line, col := pe.Position.Line, pe.Position.Col
		if line < 1 {
			line = 1
		}
		if col < 1 {
			col = 1
		}
		return Problem{File: name, Line: line, Col: col, Msg: "TOML syntax: " + pe.Message, Fix: syntaxFix}
	}
	return Problem{File: name, Line: 1, Col: 1, Msg: "TOML: " + err.Error(), Fix: syntaxFix}
}

// Where returns the position of the value at path (value true) or of its key (a table's header is the key
// of the table), falling back to the nearest enclosing key or table header, then to 1:1.
func (d *Doc) Where(path []string, value bool) Pos {
	for n := len(path); n > 0; n-- {
		k := pathKey(path[:n])
		if value && n == len(path) {
			if v, ok := d.pos.val[k]; ok {
				return v
			}
		}
		if v, ok := d.pos.key[k]; ok {
			return v
		}
		if v, ok := d.pos.val[k]; ok {
			return v
		}
	}
	return Pos{Line: 1, Col: 1}
}

// Add records a problem at a position.
func (d *Doc) Add(at Pos, msg, fix string) {
	d.problems = append(d.problems, Problem{File: d.File, Line: at.Line, Col: at.Col, Msg: msg, Fix: fix})
}

// KeyProblem records a problem at the key (or table header) at path.
func (d *Doc) KeyProblem(path []string, msg, fix string) { d.Add(d.Where(path, false), msg, fix) }

// ValProblem records a problem at the value at path.
func (d *Doc) ValProblem(path []string, msg, fix string) { d.Add(d.Where(path, true), msg, fix) }

// Problems returns the problems recorded so far, in file order (problems at the same position in the
// order they were recorded).
func (d *Doc) Problems() []Problem {
	ps := slices.Clone(d.problems)
	sortProblems(ps)
	return ps
}

// Err returns nil when no problem was recorded, else a *ValidationError holding them all in file order.
func (d *Doc) Err() error {
	if len(d.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: d.Problems()}
}

// Child returns a new path: p followed by elems (p itself is not changed).
func Child(p []string, elems ...string) []string {
	out := make([]string, 0, len(p)+len(elems))
	return append(append(out, p...), elems...)
}

// Table returns v as a table ([t], an inline table, or a dotted key's parent).
func Table(v any) (map[string]any, bool) {
	t, ok := v.(map[string]any)
	return t, ok
}

// Tables returns v as an array of tables ([[t]], or an array of inline tables).
func Tables(v any) ([]map[string]any, bool) {
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

// SortedKeys returns t's keys in file order (then by name for keys whose position is unknown); base is
// the path of t.
func (d *Doc) SortedKeys(t map[string]any, base []string) []string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := d.Where(Child(base, keys[i]), false), d.Where(Child(base, keys[j]), false)
		if a != b {
			return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
		}
		return keys[i] < keys[j]
	})
	return keys
}

// Unknown records a problem at every key of t (whose path is base) that is not in allowed, with a "did
// you mean" when one is close. where names t in the message: `unknown key "nmae" in WHERE`.
func (d *Doc) Unknown(t map[string]any, base []string, allowed []string, where string) {
	for _, k := range d.SortedKeys(t, base) {
		if slices.Contains(allowed, k) {
			continue
		}
		fix := "remove it; known keys: " + strings.Join(allowed, ", ")
		if c := Closest(k, allowed); c != "" {
			fix = fmt.Sprintf("did you mean %q? known keys: %s", c, strings.Join(allowed, ", "))
		}
		d.KeyProblem(Child(base, k), fmt.Sprintf("unknown key %q in %s", k, where), fix)
	}
}

// Str reads the optional string key of t (whose path is base). ok is false when the key is absent, or
// when it is not a string: that is recorded as a problem whose fix is "write it like " + example.
func (d *Doc) Str(t map[string]any, base []string, key, example string) (string, bool) {
	v, present := t[key]
	if !present {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		d.ValProblem(Child(base, key), fmt.Sprintf("%s must be a string, not %s", key, TypeName(v)),
			"write it like "+example)
		return "", false
	}
	return s, true
}

// Int reads the optional integer key of t, as Str reads a string.
func (d *Doc) Int(t map[string]any, base []string, key, example string) (int64, bool) {
	v, present := t[key]
	if !present {
		return 0, false
	}
	n, ok := v.(int64)
	if !ok {
		d.ValProblem(Child(base, key), fmt.Sprintf("%s must be an integer, not %s", key, TypeName(v)),
			"write it like "+example)
		return 0, false
	}
	return n, true
}

// Bool reads the optional boolean key of t, as Str reads a string (the fix shows both values).
func (d *Doc) Bool(t map[string]any, base []string, key string) (bool, bool) {
	v, present := t[key]
	if !present {
		return false, false
	}
	b, ok := v.(bool)
	if !ok {
		d.ValProblem(Child(base, key), fmt.Sprintf("%s must be true or false, not %s", key, TypeName(v)),
			fmt.Sprintf("write %s = true or %s = false (no quotes)", key, key))
		return false, false
	}
	return b, true
}

// TypeName describes a decoded value for a message: `the string "x"`, "the integer 3", "true", "a table",
// "an array".
func TypeName(v any) string {
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
