package validate

import (
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/cloonix-go/cloonix/tomlfile"
	"github.com/cloonix-go/cloonix/wire"
)

// Suite is a parsed tests file.
type Suite struct {
	File  string // as named to Parse
	Tests []*Test
}

// Test is one test of a suite: a check run on each of its nodes (none for a wire check).
type Test struct {
	Name        string
	Nodes       []string // empty for a wire check
	Check       Check
	Wait        time.Duration // retry for up to this long; 0 is one try
	StopOnError bool          // a failure stops the tests after this one
	Warning     bool          // level = "warning": a failure is a warning
	Line        int           // where the test starts in its file
}

// Topology is what a tests file may name: the lab's VMs and LANs. Parse checks names against it when given.
type Topology struct {
	VMs  []string
	LANs []string
}

func (t *Topology) hasVM(n string) bool  { return t == nil || contains(t.VMs, n) }
func (t *Topology) hasLAN(n string) bool { return t == nil || contains(t.LANs, n) }

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// checkKeys are the keys naming a check; a test has exactly one.
var checkKeys = []string{"ospf", "bgp", "route", "ping", "traceroute", "interface", "command", "wire"}

var testKeys = append([]string{"name", "node", "nodes", "wait", "stop_on_error", "level"}, checkKeys...)

// Load reads and parses a tests file.
func Load(file string, topo *Topology) (*Suite, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("tests file: %w", err)
	}
	return Parse(file, data, topo)
}

// Parse parses a tests file. Every problem is located (*tomlfile.ValidationError); topo, when not nil, is
// what the test may name.
func Parse(name string, data []byte, topo *Topology) (*Suite, error) {
	doc, raw, err := tomlfile.Decode(name, data)
	if err != nil {
		return nil, err
	}
	p := &parser{Doc: doc, topo: topo}
	s := &Suite{File: name}
	doc.Unknown(raw, nil, []string{"wait", "test"}, "the tests file")
	defWait := p.duration(raw, nil, "wait", 0)
	tests, ok := tomlfile.Tables(raw["test"])
	if _, present := raw["test"]; present && !ok {
		doc.ValProblem([]string{"test"}, "test must be an array of tables", "write each test as [[test]] with its keys below")
	}
	seen := map[string]int{}
	for i, t := range tests {
		base := []string{"test", fmt.Sprint(i)}
		if test := p.test(t, base, defWait); test != nil {
			if prev, dup := seen[test.Name]; dup {
				doc.ValProblem(tomlfile.Child(base, "name"), fmt.Sprintf("duplicate test name %q (first at line %d)", test.Name, prev),
					"give each test its own name")
			} else {
				seen[test.Name] = test.Line
			}
			s.Tests = append(s.Tests, test)
		}
	}
	if err := doc.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

type parser struct {
	*tomlfile.Doc
	topo *Topology
}

func (p *parser) test(t map[string]any, base []string, defWait time.Duration) *Test {
	p.Unknown(t, base, testKeys, "a test")
	test := &Test{Line: p.Where(base, false).Line}
	var ok bool
	if test.Name, ok = p.Str(t, base, "name", `name = "r1 sees r2"`); !ok || strings.TrimSpace(test.Name) == "" {
		if _, present := t["name"]; !present || ok {
			p.KeyProblem(base, "a test has no name", `give it one: name = "r1 sees r2"`)
		}
		return nil
	}
	var names []string
	var check string
	for _, k := range checkKeys {
		if _, present := t[k]; present {
			names = append(names, k)
		}
	}
	switch len(names) {
	case 0:
		p.KeyProblem(base, fmt.Sprintf("test %q has no check", test.Name), "give it one of: "+strings.Join(checkKeys, ", "))
		return nil
	case 1:
		check = names[0]
	default:
		p.KeyProblem(tomlfile.Child(base, names[1]), fmt.Sprintf("test %q has several checks (%s)", test.Name, strings.Join(names, ", ")),
			"give each check its own [[test]]")
		return nil
	}
	test.Wait = p.duration(t, base, "wait", defWait)
	test.StopOnError, _ = p.Bool(t, base, "stop_on_error")
	if lvl, ok := p.Str(t, base, "level", `level = "warning"`); ok {
		switch lvl {
		case "error":
		case "warning":
			test.Warning = true
		default:
			p.ValProblem(tomlfile.Child(base, "level"), fmt.Sprintf("level %q is not a level", lvl), `write level = "warning" or level = "error" (the default)`)
		}
	}
	test.Nodes = p.nodes(t, base, check == "wire", test.Name)
	cb := tomlfile.Child(base, check)
	ct, ok := tomlfile.Table(t[check])
	if !ok {
		p.ValProblem(cb, fmt.Sprintf("%s must be a table, not %s", check, tomlfile.TypeName(t[check])),
			fmt.Sprintf("write it inline: %s = { ... } (see `go doc github.com/cloonix-go/cloonix/validate`)", check))
		return nil
	}
	c := p.check(check, ct, cb)
	if c == nil {
		return nil
	}
	test.Check = c
	return test
}

// nodes reads node/nodes: required for node checks, refused for wire checks.
func (p *parser) nodes(t map[string]any, base []string, wireCheck bool, name string) []string {
	_, one := t["node"]
	_, many := t["nodes"]
	if wireCheck {
		for _, k := range []string{"node", "nodes"} {
			if _, present := t[k]; present {
				p.KeyProblem(tomlfile.Child(base, k), fmt.Sprintf("test %q checks the wire, which runs on the switch, not on nodes", name),
					"remove "+k+"; name the nodes in the wire check (from, between)")
			}
		}
		return nil
	}
	var out []string
	switch {
	case one && many:
		p.KeyProblem(tomlfile.Child(base, "nodes"), "a test has node and nodes", "keep one of them")
		return nil
	case one:
		if n, ok := p.Str(t, base, "node", `node = "r1"`); ok {
			out = []string{n}
		}
	case many:
		out = p.strings(t, base, "nodes", `nodes = ["r1", "r2"]`)
		if out != nil && len(out) == 0 {
			p.ValProblem(tomlfile.Child(base, "nodes"), fmt.Sprintf("test %q has an empty node list", name), `name its nodes: nodes = ["r1", "r2"]`)
		}
	default:
		p.KeyProblem(base, fmt.Sprintf("test %q runs on no node", name), `say where it runs: node = "r1" or nodes = ["r1", "r2"]`)
		return nil
	}
	key := "node"
	if many {
		key = "nodes"
	}
	for _, n := range out {
		p.vm(tomlfile.Child(base, key), n)
	}
	return out
}

func (p *parser) vm(path []string, n string) bool {
	if p.topo.hasVM(n) {
		return true
	}
	p.ValProblem(path, fmt.Sprintf("%q is not a VM of the lab", n), "use one of: "+strings.Join(sorted(p.topo.VMs), ", "))
	return false
}

func sorted(l []string) []string {
	out := append([]string(nil), l...)
	sort.Strings(out)
	return out
}

// strings reads an optional array of strings; nil when absent or wrong (reported).
func (p *parser) strings(t map[string]any, base []string, key, example string) []string {
	v, present := t[key]
	if !present {
		return nil
	}
	arr, ok := v.([]any)
	out := []string{}
	for _, e := range arr {
		s, isStr := e.(string)
		if !isStr {
			ok = false
			break
		}
		out = append(out, s)
	}
	if !ok {
		p.ValProblem(tomlfile.Child(base, key), fmt.Sprintf("%s must be an array of strings, not %s", key, tomlfile.TypeName(v)), "write it like "+example)
		return nil
	}
	return out
}

// duration reads an optional duration ("10s"), def when absent.
func (p *parser) duration(t map[string]any, base []string, key string, def time.Duration) time.Duration {
	s, ok := p.Str(t, base, key, key+` = "10s"`)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		p.ValProblem(tomlfile.Child(base, key), fmt.Sprintf("%s %q is not a duration", key, s), `write it like "500ms", "10s" or "2m"`)
		return def
	}
	return d
}

// required reads a required string key of a check.
func (p *parser) required(t map[string]any, base []string, key, example, check string) (string, bool) {
	s, ok := p.Str(t, base, key, example)
	if !ok {
		if _, present := t[key]; !present {
			p.KeyProblem(base, fmt.Sprintf("%s check has no %s", check, key), "add it: "+example)
		}
		return "", false
	}
	return s, true
}

// The states an ospf or bgp check may ask for (case does not matter), as FRR and IOS-XE print them.
var (
	ospfStates = []string{"full", "2way", "init", "down", "attempt", "exstart", "exchange", "loading"}
	bgpStates  = []string{"established", "idle", "connect", "active", "opensent", "openconfirm"}
)

// oneOf reports v at path unless it is one of list, ignoring case.
func (p *parser) oneOf(path []string, what, v string, list []string) bool {
	for _, e := range list {
		if strings.EqualFold(e, v) {
			return true
		}
	}
	p.ValProblem(path, fmt.Sprintf("%q is not %s", v, what), "use one of: "+strings.Join(list, ", "))
	return false
}

func (p *parser) boolOr(t map[string]any, base []string, key string, def bool) bool {
	if b, ok := p.Bool(t, base, key); ok {
		return b
	}
	return def
}

func (p *parser) addr(path []string, s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		p.ValProblem(path, fmt.Sprintf("%q is not an IP address", s), "write it like 10.0.12.2 or 2001:db8::2")
		return netip.Addr{}, false
	}
	return a, true
}

func (p *parser) regexp(t map[string]any, base []string, key string) *regexp.Regexp {
	s, ok := p.Str(t, base, key, key+` = '(?m)^FRRouting'`)
	if !ok {
		return nil
	}
	re, err := regexp.Compile(s)
	if err != nil {
		p.ValProblem(tomlfile.Child(base, key), fmt.Sprintf("%s is not a regular expression: %v", key, err),
			"write an RE2 expression (https://github.com/google/re2/wiki/Syntax), in 'single quotes' so backslashes stay")
		return nil
	}
	return re
}

// check parses the check table of the given kind.
func (p *parser) check(name string, t map[string]any, base []string) Check {
	switch name {
	case "ospf":
		p.Unknown(t, base, []string{"neighbor", "state", "present"}, "an ospf check")
		id, ok := p.required(t, base, "neighbor", `neighbor = "2.2.2.2"`, "an ospf")
		if !ok {
			return nil
		}
		if _, ok := p.addr(tomlfile.Child(base, "neighbor"), id); !ok {
			return nil
		}
		st, ok := p.Str(t, base, "state", `state = "full"`)
		if !ok {
			st = "full"
		} else if !p.oneOf(tomlfile.Child(base, "state"), "an OSPF neighbor state", st, ospfStates) {
			return nil
		}
		return &OSPFCheck{Neighbor: id, State: st, Present: p.boolOr(t, base, "present", true)}
	case "bgp":
		p.Unknown(t, base, []string{"neighbor", "state", "min_prefixes", "present"}, "a bgp check")
		n, ok := p.required(t, base, "neighbor", `neighbor = "10.0.12.2"`, "a bgp")
		if !ok {
			return nil
		}
		if _, ok := p.addr(tomlfile.Child(base, "neighbor"), n); !ok {
			return nil
		}
		st, ok := p.Str(t, base, "state", `state = "established"`)
		if !ok {
			st = "established"
		} else if !p.oneOf(tomlfile.Child(base, "state"), "a BGP session state", st, bgpStates) {
			return nil
		}
		c := &BGPCheck{Neighbor: n, State: st, MinPrefixes: -1, Present: p.boolOr(t, base, "present", true)}
		if v, ok := p.Int(t, base, "min_prefixes", "min_prefixes = 1"); ok {
			if v < 0 {
				p.ValProblem(tomlfile.Child(base, "min_prefixes"), "min_prefixes must not be negative", "write it like min_prefixes = 1")
			}
			c.MinPrefixes = int(v)
		}
		return c
	case "route":
		p.Unknown(t, base, []string{"prefix", "nexthop", "interface", "present"}, "a route check")
		s, ok := p.required(t, base, "prefix", `prefix = "192.168.2.0/24"`, "a route")
		if !ok {
			return nil
		}
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			p.ValProblem(tomlfile.Child(base, "prefix"), fmt.Sprintf("%q is not a prefix", s), "write it like 192.168.2.0/24")
			return nil
		}
		if pfx != pfx.Masked() {
			p.ValProblem(tomlfile.Child(base, "prefix"), fmt.Sprintf("prefix %s has host bits set", s), "write the network: "+pfx.Masked().String())
			return nil
		}
		c := &RouteCheck{Prefix: pfx, Present: p.boolOr(t, base, "present", true)}
		if nh, ok := p.Str(t, base, "nexthop", `nexthop = "10.0.12.2"`); ok {
			if c.NextHop, ok = p.addr(tomlfile.Child(base, "nexthop"), nh); !ok {
				return nil
			}
		}
		c.Interface, _ = p.Str(t, base, "interface", `interface = "eth1"`)
		return c
	case "ping":
		p.Unknown(t, base, []string{"target", "count", "reachable"}, "a ping check")
		s, ok := p.required(t, base, "target", `target = "192.168.2.10"`, "a ping")
		if !ok {
			return nil
		}
		a, ok := p.addr(tomlfile.Child(base, "target"), s)
		if !ok {
			return nil
		}
		c := &PingCheck{Target: a, Count: 3, Reachable: p.boolOr(t, base, "reachable", true)}
		if n, ok := p.Int(t, base, "count", "count = 3"); ok {
			if n < 1 || n > 100 {
				p.ValProblem(tomlfile.Child(base, "count"), fmt.Sprintf("count %d is out of range", n), "send 1 to 100 echo requests: count = 3")
			}
			c.Count = int(n)
		}
		return c
	case "traceroute":
		p.Unknown(t, base, []string{"target", "path", "avoid"}, "a traceroute check")
		s, ok := p.required(t, base, "target", `target = "192.168.2.10"`, "a traceroute")
		if !ok {
			return nil
		}
		a, ok := p.addr(tomlfile.Child(base, "target"), s)
		if !ok {
			return nil
		}
		c := &TracerouteCheck{Target: a}
		for _, k := range []string{"path", "avoid"} {
			for _, h := range p.strings(t, base, k, k+` = ["10.0.12.2"]`) {
				ha, ok := p.addr(tomlfile.Child(base, k), h)
				if !ok {
					return nil
				}
				if k == "path" {
					c.Path = append(c.Path, ha)
				} else {
					c.Avoid = append(c.Avoid, ha)
				}
			}
		}
		return c
	case "interface":
		p.Unknown(t, base, []string{"name", "state"}, "an interface check")
		n, ok := p.required(t, base, "name", `name = "eth1"`, "an interface")
		if !ok {
			return nil
		}
		st, ok := p.Str(t, base, "state", `state = "up"`)
		if !ok {
			st = "up"
		}
		if st != "up" && st != "down" {
			p.ValProblem(tomlfile.Child(base, "state"), fmt.Sprintf("interface state %q is not up or down", st), `write state = "up" or state = "down"`)
			return nil
		}
		return &InterfaceCheck{Interface: n, Up: st == "up"}
	case "command":
		p.Unknown(t, base, []string{"cmd", "user", "match", "not_match", "expr"}, "a command check")
		cmd, ok := p.required(t, base, "cmd", `cmd = "show version"`, "a command")
		if !ok {
			return nil
		}
		c := &CommandCheck{Cmd: cmd, Match: p.regexp(t, base, "match"), NotMatch: p.regexp(t, base, "not_match")}
		c.User, _ = p.Str(t, base, "user", `user = "root"`)
		if src, ok := p.Str(t, base, "expr", `expr = 'len(lines) > 2'`); ok {
			prog, err := CompileExpr(src)
			if err != nil {
				p.ValProblem(tomlfile.Child(base, "expr"), "expr: "+oneLine(err.Error()),
					"write an expr-lang expression over output, lines and json that is true or false (https://expr-lang.org/docs/language-definition)")
				return nil
			}
			c.Expr, c.ExprSource = prog, src
		}
		if c.Match == nil && c.NotMatch == nil && c.Expr == nil {
			if _, m := t["match"]; !m {
				if _, n := t["not_match"]; !n {
					if _, e := t["expr"]; !e {
						p.KeyProblem(base, "a command check has nothing to check", "add match, not_match or expr")
					}
				}
			}
			return nil
		}
		return c
	case "wire":
		return p.wire(t, base)
	}
	return nil
}

func (p *parser) wire(t map[string]any, base []string) Check {
	p.Unknown(t, base, []string{"lan", "window", "last", "seen", "from", "none", "established", "between", "drops"}, "a wire check")
	lan, ok := p.required(t, base, "lan", `lan = "lan12"`, "a wire")
	if !ok {
		return nil
	}
	if !p.topo.hasLAN(lan) {
		p.ValProblem(tomlfile.Child(base, "lan"), fmt.Sprintf("%q is not a LAN of the lab", lan), "use one of: "+strings.Join(sorted(p.topo.LANs), ", "))
		return nil
	}
	c := &WireCheck{LAN: lan, Window: p.duration(t, base, "window", 10*time.Second), Last: p.duration(t, base, "last", 0)}
	if c.Window == 0 {
		p.ValProblem(tomlfile.Child(base, "window"), "a wire check's window must be longer than 0", `write it like window = "10s"`)
		return nil
	}
	var modes []string
	for _, k := range []string{"seen", "none", "established", "drops"} {
		if _, present := t[k]; present {
			modes = append(modes, k)
		}
	}
	if len(modes) != 1 {
		p.KeyProblem(base, "a wire check needs exactly one of seen, none, established and drops", `for example: seen = "ospf", from = ["r1", "r2"]`)
		return nil
	}
	c.Mode = modes[0]
	if c.Last > 0 && c.Mode == "drops" {
		p.KeyProblem(tomlfile.Child(base, "last"), "drops compares counters over the window; last goes with seen, none and established", "remove last")
		return nil
	}
	filter := func(key string) bool {
		s, ok := p.Str(t, base, key, key+` = "ospf"`)
		if !ok {
			return false
		}
		f, err := wire.ParseFilter(s)
		if err != nil {
			p.ValProblem(tomlfile.Child(base, key), err.Error(), "")
			return false
		}
		c.Filter = f
		return true
	}
	nodes := func(key string, n int) bool {
		if _, present := t[key]; !present {
			return true
		}
		list := p.strings(t, base, key, key+` = ["r1", "r2"]`)
		for _, v := range list {
			if !p.vm(tomlfile.Child(base, key), v) {
				return false
			}
		}
		if list == nil {
			return false // reported
		}
		if n > 0 && len(list) != n {
			p.ValProblem(tomlfile.Child(base, key), fmt.Sprintf("%s names %d nodes, not %d", key, len(list), n), key+` = ["r1", "r2"]`)
			return false
		}
		if n == 2 && list[0] == list[1] {
			p.ValProblem(tomlfile.Child(base, key), fmt.Sprintf("%s names %s twice", key, list[0]), `name the two ends: between = ["r1", "r2"]`)
			return false
		}
		c.Nodes = list
		return true
	}
	for _, k := range []string{"from", "between"} {
		if _, present := t[k]; present && !(k == "from" && c.Mode == "seen" || k == "between" && c.Mode == "established") {
			p.KeyProblem(tomlfile.Child(base, k), fmt.Sprintf("%s goes with %s", k, map[string]string{"from": "seen", "between": "established"}[k]), "remove it")
			return nil
		}
	}
	switch c.Mode {
	case "seen":
		if !filter("seen") || !nodes("from", 0) {
			return nil
		}
	case "none":
		if !filter("none") {
			return nil
		}
	case "established":
		if !filter("established") {
			return nil
		}
		if _, present := t["between"]; !present {
			p.KeyProblem(base, "an established check has no between", `name the two ends: between = ["r1", "r2"]`)
			return nil
		}
		if !nodes("between", 2) {
			return nil
		}
	case "drops":
		n, ok := p.Int(t, base, "drops", "drops = 0")
		if !ok {
			return nil
		}
		if n < 0 {
			p.ValProblem(tomlfile.Child(base, "drops"), "drops must not be negative", "write the most drops allowed: drops = 0")
			return nil
		}
		c.MaxDrops = uint64(n)
	}
	return c
}

// CompileExpr compiles a command check's expression (expr-lang) over output, lines and json; it must be
// boolean.
func CompileExpr(src string) (*vm.Program, error) {
	return expr.Compile(src, expr.Env(exprEnv{}), expr.AsBool())
}

// exprEnv is what a command check's expression sees.
type exprEnv struct {
	Output string   `expr:"output"`
	Lines  []string `expr:"lines"`
	JSON   any      `expr:"json"`
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}
