package validate

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/tomlfile"
)

var testTopo = &Topology{VMs: []string{"r2", "r1", "r3", "h1"}, LANs: []string{"lan13", "lan12", "lan99"}}

// fullTests has every check kind, each with its defaults where it can.
const fullTests = `# every check of a tests file
wait = "5s"

[[test]]
name = "r1 and r2 are OSPF neighbors"
nodes = ["r1", "r2"]
ospf = { neighbor = "2.2.2.2" }

[[test]]
name = "BGP with r2"
node = "r1"
bgp = { neighbor = "10.0.12.2", min_prefixes = 1 }
wait = "60s"
stop_on_error = true

[[test]]
name = "no BGP with r3"
node = "r1"
bgp = { neighbor = "10.0.13.3", present = false, state = "active" }
wait = "0s"

[[test]]
name = "route to lan2"
node = "r1"
route = { prefix = "192.168.2.0/24", nexthop = "10.0.12.2", interface = "eth1" }
level = "warning"

[[test]]
name = "no v6 route"
node = "r1"
route = { prefix = "2001:db8::/32", present = false }
level = "error"

[[test]]
name = "ping h2"
node = "h1"
ping = { target = "192.168.2.10" }

[[test]]
name = "h2 is not reachable"
node = "h1"
ping = { target = "192.168.2.10", count = 5, reachable = false }

[[test]]
name = "trace to h2"
node = "h1"
traceroute = { target = "192.168.2.10", path = ["10.0.12.2", "192.168.2.10"], avoid = ["10.0.13.3"] }

[[test]]
name = "eth1 is up"
node = "r1"
interface = { name = "eth1" }

[[test]]
name = "eth2 is down"
node = "r1"
interface = { name = "eth2", state = "down" }

[[test]]
name = "FRR version"
node = "r1"
command = { cmd = "show version", user = "root", match = '(?m)^FRRouting', not_match = 'error', expr = 'len(lines) > 0' }

[[test]]
name = "OSPF on lan12"
wire = { lan = "lan12", seen = "ospf", from = ["r1", "r2"] }

[[test]]
name = "BGP session on the wire"
wire = { lan = "lan12", window = "70s", established = "tcp/179", between = ["r1", "r2"] }

[[test]]
name = "no drops"
wire = { lan = "lan13", window = "5s", drops = 0 }

[[test]]
name = "silence"
wire = { lan = "lan99", window = "200ms", none = "any" }
`

func TestParseFull(t *testing.T) {
	s, err := Parse("tests.toml", []byte(fullTests), testTopo)
	if err != nil {
		t.Fatal(err)
	}
	if s.File != "tests.toml" || len(s.Tests) != 15 {
		t.Fatalf("suite %q has %d tests, want 15", s.File, len(s.Tests))
	}
	byName := map[string]*Test{}
	for _, tt := range s.Tests {
		byName[tt.Name] = tt
	}
	get := func(name string) *Test {
		t.Helper()
		tt := byName[name]
		if tt == nil {
			t.Fatalf("no test %q", name)
		}
		return tt
	}

	// The test's own keys, with the top-level wait as the default.
	o := get("r1 and r2 are OSPF neighbors")
	if !reflect.DeepEqual(o.Nodes, []string{"r1", "r2"}) || o.Wait != 5*time.Second || o.StopOnError || o.Warning || o.Line != 4 {
		t.Errorf("ospf test = %+v", o)
	}
	if c, ok := o.Check.(*OSPFCheck); !ok || *c != (OSPFCheck{Neighbor: "2.2.2.2", State: "full", Present: true}) {
		t.Errorf("ospf check = %#v, want state full and present by default", o.Check)
	}
	b := get("BGP with r2")
	if !reflect.DeepEqual(b.Nodes, []string{"r1"}) || b.Wait != 60*time.Second || !b.StopOnError || b.Line != 9 {
		t.Errorf("bgp test = %+v", b)
	}
	if c, ok := b.Check.(*BGPCheck); !ok || *c != (BGPCheck{Neighbor: "10.0.12.2", State: "established", MinPrefixes: 1, Present: true}) {
		t.Errorf("bgp check = %#v, want state established by default", b.Check)
	}
	nb := get("no BGP with r3")
	if nb.Wait != 0 {
		t.Errorf("wait = \"0s\" gave %v", nb.Wait)
	}
	if c, ok := nb.Check.(*BGPCheck); !ok || *c != (BGPCheck{Neighbor: "10.0.13.3", State: "active", MinPrefixes: -1, Present: false}) {
		t.Errorf("bgp check without min_prefixes = %#v, want MinPrefixes -1 (not checked)", nb.Check)
	}
	r := get("route to lan2")
	if !r.Warning || r.Wait != 5*time.Second {
		t.Errorf("route test = %+v, want level warning", r)
	}
	want := RouteCheck{Prefix: netip.MustParsePrefix("192.168.2.0/24"), NextHop: netip.MustParseAddr("10.0.12.2"), Interface: "eth1", Present: true}
	if c, ok := r.Check.(*RouteCheck); !ok || *c != want {
		t.Errorf("route check = %#v, want %#v", r.Check, want)
	}
	r6 := get("no v6 route")
	if r6.Warning {
		t.Error(`level = "error" gave a warning`)
	}
	if c, ok := r6.Check.(*RouteCheck); !ok || c.Present || c.NextHop.IsValid() || c.Prefix != netip.MustParsePrefix("2001:db8::/32") {
		t.Errorf("v6 route check = %#v", r6.Check)
	}
	if c, ok := get("ping h2").Check.(*PingCheck); !ok || *c != (PingCheck{Target: netip.MustParseAddr("192.168.2.10"), Count: 3, Reachable: true}) {
		t.Errorf("ping check = %#v, want count 3, reachable by default", get("ping h2").Check)
	}
	if c, ok := get("h2 is not reachable").Check.(*PingCheck); !ok || c.Count != 5 || c.Reachable {
		t.Errorf("ping check = %#v", get("h2 is not reachable").Check)
	}
	tr, ok := get("trace to h2").Check.(*TracerouteCheck)
	if !ok || addrList(tr.Path) != "10.0.12.2 192.168.2.10" || addrList(tr.Avoid) != "10.0.13.3" || tr.Target.String() != "192.168.2.10" {
		t.Errorf("traceroute check = %#v", get("trace to h2").Check)
	}
	if c, ok := get("eth1 is up").Check.(*InterfaceCheck); !ok || *c != (InterfaceCheck{Interface: "eth1", Up: true}) {
		t.Errorf("interface check = %#v, want up by default", get("eth1 is up").Check)
	}
	if c, ok := get("eth2 is down").Check.(*InterfaceCheck); !ok || c.Up {
		t.Errorf("interface check = %#v, want down", get("eth2 is down").Check)
	}
	cmd, ok := get("FRR version").Check.(*CommandCheck)
	if !ok || cmd.Cmd != "show version" || cmd.User != "root" || cmd.Match.String() != "(?m)^FRRouting" ||
		cmd.NotMatch.String() != "error" || cmd.Expr == nil || cmd.ExprSource != "len(lines) > 0" {
		t.Errorf("command check = %#v", get("FRR version").Check)
	}

	wires := []struct {
		name, lan, mode, filter string
		window                  time.Duration
		nodes                   []string
	}{
		{"OSPF on lan12", "lan12", "seen", "ospf", 10 * time.Second, []string{"r1", "r2"}},
		{"BGP session on the wire", "lan12", "established", "tcp/179", 70 * time.Second, []string{"r1", "r2"}},
		{"no drops", "lan13", "drops", "", 5 * time.Second, nil},
		{"silence", "lan99", "none", "any", 200 * time.Millisecond, nil},
	}
	for _, w := range wires {
		tt := get(w.name)
		c, ok := tt.Check.(*WireCheck)
		if !ok {
			t.Errorf("%s: check %T, want a wire check", w.name, tt.Check)
			continue
		}
		if c.LAN != w.lan || c.Mode != w.mode || c.Filter.String() != w.filter || c.Window != w.window ||
			!reflect.DeepEqual(c.Nodes, w.nodes) || c.MaxDrops != 0 || tt.Nodes != nil {
			t.Errorf("%s: %+v (filter %q), want lan %s mode %s filter %q window %v nodes %v", w.name, c, c.Filter, w.lan, w.mode, w.filter, w.window, w.nodes)
		}
	}
	// Every check names itself with its key in the file.
	for _, tt := range s.Tests {
		if !strings.Contains(fullTests, tt.Check.Name()+" = {") {
			t.Errorf("check %T is named %q, not a key of the file", tt.Check, tt.Check.Name())
		}
	}
}

func TestParseDefaultsWithoutTopology(t *testing.T) {
	// No top-level wait: one try. No topology: any name goes.
	s, err := Parse("t.toml", []byte(`[[test]]
name = "x"
node = "anything"
ospf = { neighbor = "9.9.9.9" }
[[test]]
name = "y"
wire = { lan = "anylan", seen = "bgp" }
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Tests[0].Wait != 0 || s.Tests[0].Nodes[0] != "anything" {
		t.Errorf("test = %+v", s.Tests[0])
	}
	if c := s.Tests[1].Check.(*WireCheck); c.Window != 10*time.Second || c.Nodes != nil {
		t.Errorf("wire check = %+v, want window 10s, any sender", c)
	}
	// An empty file is a suite without tests.
	if s, err := Parse("t.toml", nil, testTopo); err != nil || len(s.Tests) != 0 {
		t.Errorf("empty file: %v, %v", s, err)
	}
}

func TestLoad(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tests.toml")
	if err := os.WriteFile(file, []byte(fullTests), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(file, testTopo)
	if err != nil || s.File != file || len(s.Tests) != 15 {
		t.Fatalf("Load = %v, %v", s, err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.toml"), nil); err == nil || !strings.HasPrefix(err.Error(), "tests file: ") {
		t.Errorf("Load of a missing file: %v", err)
	}
}

// test1 is a valid test's start; a mistake's case appends its lines (from line 4).
const test1 = "[[test]]\nname = \"t1\"\nnode = \"r1\"\n"

func TestParseMistakes(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string // every problem, in file order
	}{
		{"syntax", test1 + "ospf = { neighbor = \"2.2.2.2\" \n",
			[]string{`tests.toml:4:31: TOML syntax: expected a comma or an inline table terminator '}', but got end of file instead; fix the syntax (see https://toml.io/en/v1.0.0)`}},
		{"unknown top key", "wiat = \"10s\"\n" + test1 + "ospf = { neighbor = \"2.2.2.2\" }\n",
			[]string{`tests.toml:1:1: unknown key "wiat" in the tests file; did you mean "wait"? known keys: wait, test`}},
		{"unknown test key", test1 + "ospf = { neighbor = \"2.2.2.2\" }\nstop_on_eror = true\n",
			[]string{`tests.toml:5:1: unknown key "stop_on_eror" in a test; did you mean "stop_on_error"? known keys: name, node, nodes, wait, stop_on_error, level, ospf, bgp, route, ping, traceroute, interface, command, wire`}},
		{"unknown check key", test1 + "ospf = { neigbor = \"2.2.2.2\" }\n",
			[]string{
				`tests.toml:4:1: an ospf check has no neighbor; add it: neighbor = "2.2.2.2"`,
				`tests.toml:4:10: unknown key "neigbor" in an ospf check; did you mean "neighbor"? known keys: neighbor, state, present`,
			}},
		{"no check", test1,
			[]string{`tests.toml:1:1: test "t1" has no check; give it one of: ospf, bgp, route, ping, traceroute, interface, command, wire`}},
		{"two checks", test1 + "ospf = { neighbor = \"2.2.2.2\" }\nbgp = { neighbor = \"10.0.12.2\" }\n",
			[]string{`tests.toml:5:1: test "t1" has several checks (ospf, bgp); give each check its own [[test]]`}},
		{"node and nodes", test1 + "nodes = [\"r1\", \"r2\"]\nospf = { neighbor = \"2.2.2.2\" }\n",
			[]string{`tests.toml:4:1: a test has node and nodes; keep one of them`}},
		{"no node", "[[test]]\nname = \"t1\"\nospf = { neighbor = \"2.2.2.2\" }\n",
			[]string{`tests.toml:1:1: test "t1" runs on no node; say where it runs: node = "r1" or nodes = ["r1", "r2"]`}},
		{"node not in topology", "[[test]]\nname = \"t1\"\nnodes = [\"r1\", \"r9\"]\nospf = { neighbor = \"2.2.2.2\" }\n",
			[]string{`tests.toml:3:9: "r9" is not a VM of the lab; use one of: h1, r1, r2, r3`}},
		{"LAN not in topology", "[[test]]\nname = \"t1\"\nwire = { lan = \"lan21\", seen = \"ospf\" }\n",
			[]string{`tests.toml:3:16: "lan21" is not a LAN of the lab; use one of: lan12, lan13, lan99`}},
		{"bad duration", test1 + "ospf = { neighbor = \"2.2.2.2\" }\nwait = \"10\"\n",
			[]string{`tests.toml:5:8: wait "10" is not a duration; write it like "500ms", "10s" or "2m"`}},
		{"negative top-level wait", "wait = \"-1s\"\n",
			[]string{`tests.toml:1:8: wait "-1s" is not a duration; write it like "500ms", "10s" or "2m"`}},
		{"bad window", "[[test]]\nname = \"t1\"\nwire = { lan = \"lan12\", window = \"ten\", seen = \"ospf\" }\n",
			[]string{`tests.toml:3:34: window "ten" is not a duration; write it like "500ms", "10s" or "2m"`}},
		{"bad IP", test1 + "bgp = { neighbor = \"10.0.12.256\" }\n",
			[]string{`tests.toml:4:20: "10.0.12.256" is not an IP address; write it like 10.0.12.2 or 2001:db8::2`}},
		{"bad path hop", test1 + "traceroute = { target = \"192.168.2.10\", path = [\"10.0.12.2\", \"r2\"] }\n",
			[]string{`tests.toml:4:48: "r2" is not an IP address; write it like 10.0.12.2 or 2001:db8::2`}},
		{"prefix with host bits", test1 + "route = { prefix = \"192.168.2.1/24\" }\n",
			[]string{`tests.toml:4:20: prefix 192.168.2.1/24 has host bits set; write the network: 192.168.2.0/24`}},
		{"not a prefix", test1 + "route = { prefix = \"192.168.2.0\" }\n",
			[]string{`tests.toml:4:20: "192.168.2.0" is not a prefix; write it like 192.168.2.0/24`}},
		{"bad regexp", test1 + "command = { cmd = \"uname\", match = '(Linux' }\n",
			[]string{"tests.toml:4:36: match is not a regular expression: error parsing regexp: missing closing ): `(Linux`; " +
				"write an RE2 expression (https://github.com/google/re2/wiki/Syntax), in 'single quotes' so backslashes stay"}},
		{"bad expr", test1 + "command = { cmd = \"uname\", expr = 'len(lines) >' }\n",
			[]string{`tests.toml:4:35: expr: unexpected token EOF (1:12); write an expr-lang expression over output, lines and json that is true or false (https://expr-lang.org/docs/language-definition)`}},
		{"expr not bool", test1 + "command = { cmd = \"uname\", expr = 'len(lines)' }\n",
			[]string{`tests.toml:4:35: expr: expected bool, but got int; write an expr-lang expression over output, lines and json that is true or false (https://expr-lang.org/docs/language-definition)`}},
		{"command checks nothing", test1 + "command = { cmd = \"uname\" }\n",
			[]string{`tests.toml:4:1: a command check has nothing to check; add match, not_match or expr`}},
		{"wire with two modes", "[[test]]\nname = \"t1\"\nwire = { lan = \"lan12\", seen = \"ospf\", none = \"bgp\" }\n",
			[]string{`tests.toml:3:1: a wire check needs exactly one of seen, none, established and drops; for example: seen = "ospf", from = ["r1", "r2"]`}},
		{"wire with no mode", "[[test]]\nname = \"t1\"\nwire = { lan = \"lan12\" }\n",
			[]string{`tests.toml:3:1: a wire check needs exactly one of seen, none, established and drops; for example: seen = "ospf", from = ["r1", "r2"]`}},
		{"established between one node", "[[test]]\nname = \"t1\"\nwire = { lan = \"lan12\", established = \"bgp\", between = [\"r1\"] }\n",
			[]string{`tests.toml:3:56: between names 1 nodes, not 2; between = ["r1", "r2"]`}},
		{"established without between", "[[test]]\nname = \"t1\"\nwire = { lan = \"lan12\", established = \"bgp\" }\n",
			[]string{`tests.toml:3:1: an established check has no between; name the two ends: between = ["r1", "r2"]`}},
		{"from with established", "[[test]]\nname = \"t1\"\nwire = { lan = \"lan12\", established = \"bgp\", from = [\"r1\", \"r2\"] }\n",
			[]string{`tests.toml:3:46: from goes with seen; remove it`}},
		{"between with seen", "[[test]]\nname = \"t1\"\nwire = { lan = \"lan12\", seen = \"bgp\", between = [\"r1\", \"r2\"] }\n",
			[]string{`tests.toml:3:39: between goes with established; remove it`}},
		{"from names a stranger", "[[test]]\nname = \"t1\"\nwire = { lan = \"lan12\", seen = \"ospf\", from = [\"r1\", \"x9\"] }\n",
			[]string{`tests.toml:3:47: "x9" is not a VM of the lab; use one of: h1, r1, r2, r3`}},
		{"bad filter", "[[test]]\nname = \"t1\"\nwire = { lan = \"lan12\", seen = \"osfp\" }\n",
			[]string{`tests.toml:3:32: unknown filter "osfp": use one of any, arp, ip, ipv4, ipv6, icmp, icmpv6, ospf, bgp, bfd, vrrp, isis, stp, lldp, dhcp, dns, tcp, udp, tcp/PORT, udp/PORT or net:PREFIX`}},
		{"negative drops", "[[test]]\nname = \"t1\"\nwire = { lan = \"lan13\", drops = -1 }\n",
			[]string{`tests.toml:3:33: drops must not be negative; write the most drops allowed: drops = 0`}},
		{"zero window", "[[test]]\nname = \"t1\"\nwire = { lan = \"lan13\", window = \"0s\", drops = 0 }\n",
			[]string{`tests.toml:3:34: a wire check's window must be longer than 0; write it like window = "10s"`}},
		{"duplicate test name", test1 + "ospf = { neighbor = \"2.2.2.2\" }\n\n" + test1 + "bgp = { neighbor = \"10.0.12.2\" }\n",
			[]string{`tests.toml:7:8: duplicate test name "t1" (first at line 1); give each test its own name`}},
		{"nodes on a wire check", "[[test]]\nname = \"t1\"\nnodes = [\"r1\", \"r2\"]\nwire = { lan = \"lan12\", seen = \"ospf\" }\n",
			[]string{`tests.toml:3:1: test "t1" checks the wire, which runs on the switch, not on nodes; remove nodes; name the nodes in the wire check (from, between)`}},
		{"no name", "[[test]]\nnode = \"r1\"\nospf = { neighbor = \"2.2.2.2\" }\n",
			[]string{`tests.toml:1:1: a test has no name; give it one: name = "r1 sees r2"`}},
		{"name not a string", "[[test]]\nname = 3\nnode = \"r1\"\nospf = { neighbor = \"2.2.2.2\" }\n",
			[]string{`tests.toml:2:8: name must be a string, not the integer 3; write it like name = "r1 sees r2"`}},
		{"bad level", test1 + "ospf = { neighbor = \"2.2.2.2\" }\nlevel = \"warn\"\n",
			[]string{`tests.toml:5:9: level "warn" is not a level; write level = "warning" or level = "error" (the default)`}},
		{"check not a table", test1 + "ospf = \"2.2.2.2\"\n",
			[]string{"tests.toml:4:8: ospf must be a table, not the string \"2.2.2.2\"; write it inline: ospf = { ... } (see `go doc github.com/cloonix-go/cloonix/validate`)"}},
		{"test not an array of tables", "test = \"all\"\n",
			[]string{`tests.toml:1:8: test must be an array of tables; write each test as [[test]] with its keys below`}},
		{"ping count out of range", test1 + "ping = { target = \"192.168.2.10\", count = 0 }\n",
			[]string{`tests.toml:4:43: count 0 is out of range; send 1 to 100 echo requests: count = 3`}},
		{"negative min_prefixes", test1 + "bgp = { neighbor = \"10.0.12.2\", min_prefixes = -2 }\n",
			[]string{`tests.toml:4:48: min_prefixes must not be negative; write it like min_prefixes = 1`}},
		{"interface state", test1 + "interface = { name = \"eth1\", state = \"UP\" }\n",
			[]string{`tests.toml:4:38: interface state "UP" is not up or down; write state = "up" or state = "down"`}},
		{"empty node list", "[[test]]\nname = \"t1\"\nnodes = []\nospf = { neighbor = \"2.2.2.2\" }\n",
			[]string{`tests.toml:3:9: test "t1" has an empty node list; name its nodes: nodes = ["r1", "r2"]`}},
		{"every problem at once, in file order", "wait = \"x\"\n" + test1 + "ospf = { neighbor = \"2.2.2\" }\n[[test]]\nname = \"t2\"\nnode = \"r7\"\nping = { target = \"h2\" }\n",
			[]string{
				`tests.toml:1:8: wait "x" is not a duration; write it like "500ms", "10s" or "2m"`,
				`tests.toml:5:21: "2.2.2" is not an IP address; write it like 10.0.12.2 or 2001:db8::2`,
				`tests.toml:8:8: "r7" is not a VM of the lab; use one of: h1, r1, r2, r3`,
				`tests.toml:9:19: "h2" is not an IP address; write it like 10.0.12.2 or 2001:db8::2`,
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Parse("tests.toml", []byte(c.src), testTopo)
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", s)
			}
			var ve *tomlfile.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T %v, want a *tomlfile.ValidationError", err, err)
			}
			var got []string
			for _, p := range ve.Problems {
				got = append(got, p.String())
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("problems:\n%s\nwant:\n%s\nsource:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"), c.src)
			}
			if err.Error() != strings.Join(c.want, "\n") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

// TestParseMistakePositions checks, independently of the messages, that each problem's line:col is where
// the offending text starts in the source.
func TestParseMistakePositions(t *testing.T) {
	cases := []struct{ src, at string }{
		{test1 + "bgp = { neighbor = \"10.0.12.256\" }\n", `"10.0.12.256"`},
		{test1 + "route = { prefix = \"192.168.2.1/24\" }\n", `"192.168.2.1/24"`},
		{test1 + "command = { cmd = \"uname\", expr = 'len(lines) >' }\n", `'len(lines) >'`},
		{test1 + "command = { cmd = \"uname\", match = '(Linux' }\n", `'(Linux'`},
		{test1 + "ospf = { neighbor = \"2.2.2.2\" }\nstop_on_eror = true\n", `stop_on_eror`},
		{test1 + "ospf = { neighbor = \"2.2.2.2\" }\nwait = \"10\"\n", `"10"`},
		{test1 + "ospf = { neighbor = \"2.2.2.2\" }\nbgp = { neighbor = \"10.0.12.2\" }\n", `bgp`},
		{"[[test]]\nname = \"t1\"\nwire = { lan = \"lan12\", established = \"bgp\", from = [\"r1\", \"r2\"] }\n", `from`},
		{"[[test]]\nname = \"t1\"\nwire = { lan = \"lan12\", established = \"bgp\", between = [\"r1\"] }\n", `["r1"]`},
		{"[[test]]\nname = \"t1\"\nwire = { lan = \"lan13\", drops = -1 }\n", `-1`},
		{"[[test]]\nname = \"t1\"\nwire = { lan = \"lan12\", seen = \"osfp\" }\n", `"osfp"`},
		{"[[test]]\nname = \"t1\"\nwire = { lan = \"lan12\", seen = \"ospf\", from = [\"r1\", \"x9\"] }\n", `["r1", "x9"]`},
		{"wait = \"5s\"\n[[test]]\nname = \"t1\"\nnode = \"r1\"\nospf = { neighbor = \"2.2.2.2\", state = 1 }\n", `1 }`},
		{"[[test]]\nname = \"t1\"\nwire = { lan = \"lan21\", seen = \"ospf\" }\n", `"lan21"`},
		{"[[test]]\nname = \"t1\"\nnodes = [\"r1\", \"r2\"]\nwire = { lan = \"lan12\", seen = \"ospf\" }\n", `nodes`},
		{test1 + "ospf = { neighbor = \"2.2.2.2\" }\n\n" + test1 + "bgp = { neighbor = \"10.0.12.2\" }\n", `"t1"` + "\nnode = \"r1\"\nbgp"},
	}
	for _, c := range cases {
		_, err := Parse("tests.toml", []byte(c.src), testTopo)
		var ve *tomlfile.ValidationError
		if !errors.As(err, &ve) || len(ve.Problems) != 1 {
			t.Errorf("%q: %v, want one problem", c.src, err)
			continue
		}
		p := ve.Problems[0]
		lines := strings.Split(c.src, "\n")
		if p.Line < 1 || p.Line > len(lines) || p.Col < 1 || p.Col > len(lines[p.Line-1]) {
			t.Errorf("%s: position out of the source", p)
			continue
		}
		rest := strings.Join(lines[p.Line-1:], "\n")[p.Col-1:]
		if !strings.HasPrefix(rest, c.at) {
			t.Errorf("%s points at %q, want %q", p, clip(rest, 30), c.at)
		}
	}
}
