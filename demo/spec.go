package demo

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/expr-lang/expr/vm"

	"github.com/cloonix-go/cloonix/validate"
)

// StepsFile is the name of a demo's steps file inside its directory.
const StepsFile = "steps.toml"

// ImagePlaceholder is replaced in the lab file by the absolute path given with --image.
const ImagePlaceholder = "{{image}}"

// Actions a step can take (the do key).
const (
	ActBuild  = "build"
	ActUp     = "up"
	ActPush   = "push"
	ActRun    = "run"
	ActExpect = "expect"
	ActWait   = "wait"
	ActLink   = "link"
	ActSleep  = "sleep"
	ActDown   = "down"
	// ActValidate runs the demo's tests file (file, default tests.toml) with package validate.
	ActValidate = "validate"
	// ActImpair sets or clears impairments on a VM's NIC (the switch's, as `cloonix-labd link VM NIC set`).
	ActImpair = "impair"
	// ActCopy copies a file from one VM to another (from = "r1:/path", to = "r2:/path"), through the host.
	ActCopy = "copy"
)

// Demo is one parsed demo.
type Demo struct {
	Name  string `toml:"-"` // the directory name
	Dir   fs.FS  `toml:"-"` // the demo's directory
	Title string `toml:"title"`
	Lab   string `toml:"lab"`
	// Takes is how long the demo plays on the project's machine kind (2 cores, TCG, images cached), as
	// measured and written by hand into steps.toml; `cloonix-labd demo` lists it.
	Takes    Duration `toml:"takes"`
	Next     string   `toml:"next"`
	Requires Requires `toml:"requires"`
	Steps    []Step   `toml:"step"`
}

// Requires is what a demo needs before it starts.
type Requires struct {
	Images    []string `toml:"images"`     // project images to build first
	Image     string   `toml:"image"`      // describes the file --image must name; "" when none is needed
	MemoryMiB int      `toml:"memory_mib"` // host memory the lab needs
}

// Step is one line of the demo.
type Step struct {
	Name     string   `toml:"name"`
	Do       string   `toml:"do"`
	VM       string   `toml:"vm"`
	VMs      []string `toml:"vms"`
	User     string   `toml:"user"`
	Cmd      string   `toml:"cmd"`
	File     string   `toml:"file"`
	Replace  bool     `toml:"replace"`
	Match    string   `toml:"match"`
	NotMatch string   `toml:"not_match"`
	Timeout  Duration `toml:"timeout"`
	NIC      string   `toml:"nic"`
	State    string   `toml:"state"`
	Print    bool     `toml:"print"`
	// Expr is an expect or wait step's expression over the output (package validate's command check).
	Expr string `toml:"expr"`
	// Set, Dir and Clear are an impair step's: the words set on the NIC (`link VM NIC set` words), their
	// direction (out, in or both; default out), or clear = true to remove them.
	Set   string `toml:"set"`
	Dir   string `toml:"dir"`
	Clear bool   `toml:"clear"`
	// From and To are a copy step's ends, VM:/absolute/path, read and written as User (default root).
	From string `toml:"from"`
	To   string `toml:"to"`

	match, notMatch *regexp.Regexp
	expr            *vm.Program
}

// Duration is a time.Duration written as "30s" in the steps file.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: %w (write it like \"30s\" or \"2m\")", b, err)
	}
	d.Duration = v
	return nil
}

// Targets are the VMs the step acts on.
func (s *Step) Targets() []string {
	if s.VM != "" {
		return append([]string{s.VM}, s.VMs...)
	}
	return s.VMs
}

// Label is the step's name in the output.
func (s *Step) Label() string {
	if s.Name != "" {
		return s.Name
	}
	if t := s.Targets(); len(t) > 0 {
		return s.Do + " " + strings.Join(t, ",")
	}
	return s.Do
}

// defaultTimeout is how long a wait step waits when the steps file gives no timeout.
const defaultTimeout = 60 * time.Second

// List returns the demos found in the subdirectories of root (each holding a steps.toml), sorted by name.
func List(root fs.FS) ([]*Demo, error) {
	ents, err := fs.ReadDir(root, ".")
	if err != nil {
		return nil, fmt.Errorf("list demos: %w", err)
	}
	var out []*Demo
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		if _, err := fs.Stat(root, path.Join(e.Name(), StepsFile)); err != nil {
			continue
		}
		d, err := Load(root, e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Names returns the names of the demos under root.
func Names(root fs.FS) []string {
	ds, _ := List(root)
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.Name
	}
	return names
}

// Load parses and checks the demo in directory name of root.
func Load(root fs.FS, name string) (*Demo, error) {
	if name == "" || strings.ContainsAny(name, "/\\") || name == "." || name == ".." {
		return nil, fmt.Errorf("demo name %q is not valid; list the demos with: cloonix-labd demo", name)
	}
	dir, err := fs.Sub(root, name)
	if err != nil {
		return nil, fmt.Errorf("demo %s: %w", name, err)
	}
	data, err := fs.ReadFile(dir, StepsFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no demo named %q; known demos: %s", name, strings.Join(Names(root), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("demo %s: %w", name, err)
	}
	return Parse(name, dir, data)
}

// Parse parses a steps file and checks every step; dir is the demo's directory (for the lab and pushed
// files). Errors name the file, the step and how to fix it.
func Parse(name string, dir fs.FS, data []byte) (*Demo, error) {
	d := &Demo{Name: name, Dir: dir}
	md, err := toml.Decode(string(data), d)
	if err != nil {
		return nil, fmt.Errorf("demo %s: %s: %w", name, StepsFile, err)
	}
	if un := md.Undecoded(); len(un) > 0 {
		keys := make([]string, len(un))
		for i, k := range un {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("demo %s: %s: unknown keys %s; see `go doc github.com/cloonix-go/cloonix/demo` for the format",
			name, StepsFile, strings.Join(keys, ", "))
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if d.Title == "" {
		bad("title is missing; add a one-line title")
	}
	if d.Lab == "" {
		d.Lab = "lab.toml"
	}
	if _, err := fs.Stat(dir, d.Lab); err != nil {
		bad("lab file %s: %v", d.Lab, err)
	}
	if len(d.Steps) == 0 {
		bad("no [[step]]; add at least one")
	}
	for i := range d.Steps {
		s := &d.Steps[i]
		where := fmt.Sprintf("step %d (%s)", i+1, s.Label())
		targets := s.Targets()
		needVM := func() {
			if len(targets) == 0 {
				bad("%s: %s needs vm = \"NAME\" or vms = [...]", where, s.Do)
			}
		}
		switch s.Do {
		case ActBuild, ActUp, ActDown:
		case ActSleep:
			if s.Timeout.Duration <= 0 {
				bad("%s: sleep needs timeout = \"2s\"", where)
			}
		case ActPush:
			needVM()
			if s.File == "" {
				bad("%s: push needs file = \"{vm}.conf\"", where)
			}
			for _, vm := range targets {
				f := strings.ReplaceAll(s.File, "{vm}", vm)
				if _, err := fs.Stat(dir, f); err != nil {
					bad("%s: file %s: %v", where, f, err)
				}
			}
		case ActRun, ActExpect, ActWait:
			needVM()
			if s.Cmd == "" {
				bad("%s: %s needs cmd = \"...\"", where, s.Do)
			}
			if s.Do != ActRun && s.Match == "" && s.NotMatch == "" && s.Expr == "" {
				bad("%s: %s needs match = \"REGEXP\" (or not_match, or expr)", where, s.Do)
			}
			if s.Expr != "" {
				if s.expr, err = validate.CompileExpr(s.Expr); err != nil {
					bad("%s: expr: %v", where, err)
				}
			}
		case ActValidate:
			f := s.File
			if f == "" {
				f = "tests.toml"
			}
			if _, err := fs.Stat(dir, f); err != nil {
				bad("%s: tests file %s: %v", where, f, err)
			}
		case ActCopy:
			for _, end := range []string{s.From, s.To} {
				vm, p, ok := strings.Cut(end, ":")
				if !ok || vm == "" || !strings.HasPrefix(p, "/") {
					bad("%s: copy needs from = \"VM:/path\" and to = \"VM:/path\", not %q", where, end)
				}
			}
		case ActImpair:
			needVM()
			if s.NIC == "" || (s.Set == "") == !s.Clear {
				bad("%s: impair needs nic = \"eth1\" and set = \"loss=100%%\" or clear = true", where)
			}
			if s.Dir != "" && s.Dir != "out" && s.Dir != "in" && s.Dir != "both" {
				bad("%s: impair dir is out, in or both, not %q", where, s.Dir)
			}
		case ActLink:
			needVM()
			if s.NIC == "" || (s.State != "up" && s.State != "down") {
				bad("%s: link needs nic = \"eth1\" and state = \"up\" or \"down\"", where)
			}
		case "":
			bad("%s: do is missing; one of build, up, push, run, expect, wait, validate, link, impair, copy, sleep, down", where)
		default:
			bad("%s: unknown action do = %q; one of build, up, push, run, expect, wait, validate, link, impair, copy, sleep, down", where, s.Do)
		}
		if s.Match != "" {
			if s.match, err = regexp.Compile(s.Match); err != nil {
				bad("%s: match: %v", where, err)
			}
		}
		if s.NotMatch != "" {
			if s.notMatch, err = regexp.Compile(s.NotMatch); err != nil {
				bad("%s: not_match: %v", where, err)
			}
		}
		if s.Do == ActWait && s.Timeout.Duration == 0 {
			s.Timeout.Duration = defaultTimeout
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("demo %s: %s:\n  %s", name, StepsFile, strings.Join(problems, "\n  "))
	}
	return d, nil
}

// test is an expect or wait step as the validate test it runs: a command check on each of its VMs, retried
// for a wait step's timeout.
func (s *Step) test() *validate.Test {
	t := &validate.Test{Name: s.Label(), Nodes: s.Targets(),
		Check: &validate.CommandCheck{Cmd: s.Cmd, User: s.User, Match: s.match, NotMatch: s.notMatch, Expr: s.expr, ExprSource: s.Expr}}
	if s.Do == ActWait {
		t.Wait = s.Timeout.Duration
	}
	return t
}
