package tomlfile

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func mustDecode(t *testing.T, src string) (*Doc, map[string]any) {
	t.Helper()
	d, raw, err := Decode("f.toml", []byte(src))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return d, raw
}

// problems returns the lines of d.Err(), or nil.
func problems(t *testing.T, d *Doc) []string {
	t.Helper()
	err := d.Err()
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is a %T, not *ValidationError", err, err)
	}
	return strings.Split(ve.Error(), "\n")
}

func TestSyntaxError(t *testing.T) {
	d, raw, err := Decode("f.toml", []byte("version = 1\nname = \"nemo\nvm = 1\n"))
	var ve *ValidationError
	if !errors.As(err, &ve) || d != nil || raw != nil {
		t.Fatalf("Decode = %v, %v, %v; want nil, nil, *ValidationError", d, raw, err)
	}
	want := "f.toml:2:13: TOML syntax: strings cannot contain newlines; fix the syntax (see https://toml.io/en/v1.0.0)"
	if len(ve.Problems) != 1 || ve.Error() != want {
		t.Fatalf("error %q, want %q", ve.Error(), want)
	}
}

func TestUnknownKey(t *testing.T) {
	d, raw := mustDecode(t, "name = \"x\"\n[vm]\n  nmae = \"y\"\n  colour = 1\n")
	d.Unknown(raw, nil, []string{"name", "vm"}, "the file")
	vm, ok := Table(raw["vm"])
	if !ok {
		t.Fatalf("vm is %s", TypeName(raw["vm"]))
	}
	d.Unknown(vm, []string{"vm"}, []string{"name", "kind"}, "[vm]")
	want := []string{
		`f.toml:3:3: unknown key "nmae" in [vm]; did you mean "name"? known keys: name, kind`,
		`f.toml:4:3: unknown key "colour" in [vm]; remove it; known keys: name, kind`,
	}
	if got := problems(t, d); !slices.Equal(got, want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestWrongType(t *testing.T) {
	d, raw := mustDecode(t, "[t]\ncount = \"3\"\nname   = 7\non = \"yes\"\nok = true\nn = 4\n")
	tab, _ := Table(raw["t"])
	base := []string{"t"}
	if _, ok := d.Int(tab, base, "count", "count = 3"); ok {
		t.Error("Int accepted a string")
	}
	if _, ok := d.Str(tab, base, "name", `name = "x"`); ok {
		t.Error("Str accepted an integer")
	}
	if _, ok := d.Bool(tab, base, "on"); ok {
		t.Error("Bool accepted a string")
	}
	if b, ok := d.Bool(tab, base, "ok"); !ok || !b {
		t.Errorf("Bool(ok) = %v, %v", b, ok)
	}
	if n, ok := d.Int(tab, base, "n", "n = 1"); !ok || n != 4 {
		t.Errorf("Int(n) = %v, %v", n, ok)
	}
	if _, ok := d.Str(tab, base, "absent", `absent = "x"`); ok {
		t.Error("Str found an absent key")
	}
	want := []string{
		`f.toml:2:9: count must be an integer, not the string "3"; write it like count = 3`,
		`f.toml:3:10: name must be a string, not the integer 7; write it like name = "x"`,
		`f.toml:4:6: on must be true or false, not the string "yes"; write on = true or on = false (no quotes)`,
	}
	if got := problems(t, d); !slices.Equal(got, want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestWhere(t *testing.T) {
	src := `top = 1 # a comment
"quoted key" = 'x'
dotted.key = 2
s = """
multi "line"
"""
arr = [1,
  [2, 3],
  { in = 4 },
]
[[vm]]
name = "a"
[[vm]]
  name = "b"
  nics = { eth0 = "mgmt", eth1 = "l" }
[vm.impair]
eth0 = "loss=1%"
[[vm.disk]]
size = 1
[[vm.disk]]
size = 2
[nat]
after = 'it'
`
	d, _ := mustDecode(t, src)
	cases := []struct {
		path  []string
		value bool
		want  Pos
	}{
		{[]string{"top"}, false, Pos{1, 1}},
		{[]string{"top"}, true, Pos{1, 7}},
		{[]string{"quoted key"}, true, Pos{2, 16}},
		{[]string{"dotted", "key"}, false, Pos{3, 1}},
		{[]string{"dotted", "key"}, true, Pos{3, 14}},
		{[]string{"s"}, true, Pos{4, 5}},
		{[]string{"arr", "1"}, true, Pos{8, 3}},
		{[]string{"arr", "1", "1"}, true, Pos{8, 7}},
		{[]string{"arr", "2", "in"}, false, Pos{9, 5}},
		{[]string{"arr", "2", "in"}, true, Pos{9, 10}},
		{[]string{"vm", "0"}, false, Pos{11, 1}},
		{[]string{"vm", "0", "name"}, true, Pos{12, 8}},
		{[]string{"vm", "1"}, false, Pos{13, 1}},
		{[]string{"vm", "1", "name"}, false, Pos{14, 3}},
		{[]string{"vm", "1", "nics", "eth1"}, false, Pos{15, 27}},
		{[]string{"vm", "1", "nics", "eth1"}, true, Pos{15, 34}},
		{[]string{"vm", "1", "impair"}, false, Pos{16, 1}},
		{[]string{"vm", "1", "impair", "eth0"}, true, Pos{17, 8}},
		{[]string{"vm", "1", "disk", "1", "size"}, true, Pos{21, 8}},
		{[]string{"nat", "after"}, true, Pos{23, 9}},
		// Unknown paths fall back to the nearest enclosing key, then to 1:1.
		{[]string{"vm", "1", "nics", "eth9"}, true, Pos{15, 3}},
		{[]string{"vm", "7"}, false, Pos{1, 1}},
		{[]string{"nowhere"}, true, Pos{1, 1}},
		{nil, true, Pos{1, 1}},
	}
	for _, c := range cases {
		if got := d.Where(c.path, c.value); got != c.want {
			t.Errorf("Where(%q, %v) = %d:%d, want %d:%d", c.path, c.value, got.Line, got.Col, c.want.Line, c.want.Col)
		}
	}
}

func TestSortedKeysAndProblemOrder(t *testing.T) {
	d, raw := mustDecode(t, "zeta = 1\nalpha = 2\n[mid]\n")
	if got, want := d.SortedKeys(raw, nil), []string{"zeta", "alpha", "mid"}; !slices.Equal(got, want) {
		t.Errorf("SortedKeys = %q, want %q", got, want)
	}
	if d.Err() != nil {
		t.Fatalf("Err with no problems = %v", d.Err())
	}
	d.ValProblem([]string{"alpha"}, "second", "")
	d.KeyProblem([]string{"zeta"}, "first", "fix it")
	d.Add(Pos{Line: 2, Col: 9}, "third", "")
	d.Add(Pos{Line: 2, Col: 9}, "fourth", "")
	want := []string{"f.toml:1:1: first; fix it", "f.toml:2:9: second", "f.toml:2:9: third", "f.toml:2:9: fourth"}
	if got := problems(t, d); !slices.Equal(got, want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	ps := d.Problems()
	ps[0].Msg = "changed"
	if d.Problems()[0].Msg != "first" {
		t.Error("Problems returned the Doc's own slice")
	}
}

func TestClosest(t *testing.T) {
	cands := []string{"name", "memory", "kind", "linux"}
	for s, want := range map[string]string{"nmae": "name", "memroy": "memory", "KIND": "kind", "linx": "linux", "zzzzzz": "", "": ""} {
		if got := Closest(s, cands); got != want {
			t.Errorf("Closest(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestTypeNameAndTables(t *testing.T) {
	_, raw := mustDecode(t, "s = \"x\"\ni = 3\nf = 1.5\nb = false\nt = {}\na = [1]\nit = [{x = 1}, {y = 2}]\nmixed = [{x = 1}, 2]\nwhen = 1979-05-27\n[[arr]]\n[[arr]]\n")
	for k, want := range map[string]string{"s": `the string "x"`, "i": "the integer 3", "f": "the float 1.5", "b": "false",
		"t": "a table", "a": "an array", "arr": "an array"} {
		if got := TypeName(raw[k]); got != want {
			t.Errorf("TypeName(%s) = %q, want %q", k, got, want)
		}
	}
	if got := TypeName(raw["when"]); !strings.HasPrefix(got, "a ") {
		t.Errorf("TypeName(date) = %q", got)
	}
	for k, n := range map[string]int{"arr": 2, "it": 2, "mixed": -1, "a": -1, "t": -1} {
		ts, ok := Tables(raw[k])
		if ok != (n >= 0) || ok && len(ts) != n {
			t.Errorf("Tables(%s) = %d tables, %v; want %d", k, len(ts), ok, n)
		}
	}
	if _, ok := Table(raw["t"]); !ok {
		t.Error("Table(t) is not a table")
	}
	if _, ok := Table(raw["arr"]); ok {
		t.Error("Table(arr) is a table")
	}
	if got := Child([]string{"a"}, "b", "c"); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("Child = %q", got)
	}
}

// walk calls f on every path of a decoded value.
func walk(v any, path []string, f func([]string)) {
	f(path)
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			walk(e, Child(path, k), f)
		}
	case []map[string]any:
		for i, e := range v {
			walk(e, Child(path, fmt.Sprint(i)), f)
		}
	case []any:
		for i, e := range v {
			walk(e, Child(path, fmt.Sprint(i)), f)
		}
	}
}

// FuzzDecode checks that no input makes Decode panic, that a syntax error is one positioned problem, and
// that every path of an accepted file has a position inside the file.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("a = 1\n[[b]]\nc = { d = [1, {e = 2}] }\n"))
	f.Add([]byte("name = \"\"\"x\n\"\"\"\n[[vm]]\n'name' = '''y'''\n[vm.nics]\n\"eth0\" = \"a\\\"\"\n"))
	f.Add([]byte("[[vm.nics]]\n[[vm]]\n[a.b.c]\nx.y.z = 1\n[[nat]]\n[[nat]]\n"))
	f.Add([]byte("x = \"\\"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, raw, err := Decode("f.toml", data)
		if err != nil {
			ve, ok := err.(*ValidationError)
			if !ok || len(ve.Problems) != 1 || ve.Problems[0].Line < 1 || ve.Problems[0].Col < 1 {
				t.Fatalf("error %#v is not one positioned problem", err)
			}
			return
		}
		lines := strings.Count(string(data), "\n") + 1
		walk(raw, nil, func(p []string) {
			for _, value := range []bool{false, true} {
				if at := d.Where(p, value); at.Line < 1 || at.Col < 1 || at.Line > lines {
					t.Fatalf("Where(%q, %v) = %+v, outside the file", p, value, at)
				}
			}
		})
	})
}
