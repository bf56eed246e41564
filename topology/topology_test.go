package topology

import (
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/lab"
)

// dashed is a lab whose every name has dashes, the case that breaks naive DOT and Mermaid output.
const dashed = `
name = "my-lab"
[[nat]]
name = "nat-a"
lan = "mgmt-net"
[[lan]]
name = "core-1-2"
[[vm]]
name = "r-1"
kind = "frr"
nics = { eth1 = "core-1-2" }
[[vm]]
name = "end"
nics = { eth1 = "core-1-2" }
`

func parse(t *testing.T, src string) *lab.Lab {
	t.Helper()
	l, err := lab.Parse("lab.toml", []byte(src), t.TempDir(), lab.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func live(up bool) *Live {
	return &Live{
		VMs: []api.VMStatus{{Name: "r-1", State: api.StateRunning, Accel: "tcg", IP: "10.99.0.10"}},
		Links: []api.LinkStatus{
			{VM: "r-1", NIC: "eth1", LAN: "core-1-2", Up: up, Carrier: true, Out: "delay=50ms", RxFrames: 7, TxFrames: 9},
			{VM: "end", NIC: "eth1", LAN: "core-1-2", Up: true, Carrier: true},
		},
	}
}

func TestFromLab(t *testing.T) {
	g := FromLab(parse(t, dashed), nil)
	var ids []string
	for _, n := range g.Nodes {
		ids = append(ids, n.ID)
	}
	if got := strings.Join(ids, " "); got != "vm:r-1 vm:end lan:core-1-2 lan:mgmt-net nat:nat-a" {
		t.Errorf("nodes %s", got)
	}
	ids = nil
	for _, e := range g.Edges {
		ids = append(ids, e.ID+"="+e.From+">"+e.To)
	}
	want := "nat-port:nat-a=nat:nat-a>lan:mgmt-net r-1:eth0=vm:r-1>lan:mgmt-net r-1:eth1=vm:r-1>lan:core-1-2 end:eth0=vm:end>lan:mgmt-net end:eth1=vm:end>lan:core-1-2"
	if got := strings.Join(ids, " "); got != want {
		t.Errorf("edges\n%s, want\n%s", got, want)
	}
	if g.Live || g.Nodes[0].State != "" || g.Edges[2].Up != nil {
		t.Errorf("a file's graph carries live state: %+v", g)
	}

	g = FromLab(parse(t, dashed), live(false))
	if !g.Live || g.Nodes[0].State != "running" || g.Nodes[0].IP != "10.99.0.10" || g.Nodes[1].State != "unknown" {
		t.Errorf("live nodes %+v", g.Nodes[:2])
	}
	e := g.Edges[2]
	if !e.Down() || e.Out != "delay=50ms" || e.RxFrames != 7 || e.TxFrames != 9 {
		t.Errorf("live edge %+v", e)
	}
	if g.Edges[4].Down() {
		t.Errorf("an up link is down: %+v", g.Edges[4])
	}
}

// TestDOTIsValid has Graphviz read the DOT of a lab with dashed names (test.sh installs graphviz).
func TestDOTIsValid(t *testing.T) {
	if _, err := exec.LookPath("dot"); err != nil {
		t.Skip("Graphviz's dot is not installed (test.sh installs it)")
	}
	for _, lv := range []*Live{nil, live(false)} {
		g := FromLab(parse(t, dashed), lv)
		svg, err := Render(context.Background(), g, "svg")
		if err != nil {
			t.Fatalf("dot rejects:\n%s\n%v", g.DOT(), err)
		}
		for _, want := range []string{"<svg", ">r&#45;1<", ">core&#45;1&#45;2<", ">nat&#45;a<"} { // dot writes - as &#45;
			if !strings.Contains(string(svg), want) {
				t.Errorf("svg lacks %q", want)
			}
		}
	}
	dot := FromLab(parse(t, dashed), live(false)).DOT()
	if !strings.Contains(dot, `"vm:r-1" -- "lan:core-1-2" [label="eth1 down\nout: delay=50ms", style=dashed`) {
		t.Errorf("the down, impaired link is not drawn so:\n%s", dot)
	}
}

var (
	mermaidNode = regexp.MustCompile(`^  ([A-Za-z][A-Za-z0-9_]*)(\("[^"]*"\)|\(\["[^"]*"\]\)|\{\{"[^"]*"\}\})$`)
	mermaidEdge = regexp.MustCompile(`^  ([A-Za-z][A-Za-z0-9_]*) (---|-\.-)(\|"[^"]*"\|)? ([A-Za-z][A-Za-z0-9_]*)$`)
)

// TestMermaid checks every line against Mermaid's flowchart grammar for the shapes used: IDs of letters,
// digits and underscores (a dash would start an edge, "end" closes a subgraph), labels quoted.
func TestMermaid(t *testing.T) {
	g := FromLab(parse(t, dashed), live(false))
	m := g.Mermaid()
	lines := strings.Split(strings.TrimSpace(m), "\n")
	if lines[0] != "---" || lines[1] != `title: "my-lab"` || lines[3] != "flowchart TB" {
		t.Fatalf("header:\n%s", m)
	}
	ids := map[string]bool{}
	for _, l := range lines[4:] {
		switch {
		case mermaidNode.MatchString(l):
			id := mermaidNode.FindStringSubmatch(l)[1]
			if ids[id] {
				t.Errorf("node ID %s twice", id)
			}
			ids[id] = true
		case mermaidEdge.MatchString(l):
			sm := mermaidEdge.FindStringSubmatch(l)
			if !ids[sm[1]] || !ids[sm[4]] {
				t.Errorf("edge between unknown nodes: %q", l)
			}
		case strings.HasPrefix(l, "  classDef "), strings.HasPrefix(l, "  class "):
		default:
			t.Errorf("not a flowchart line: %q", l)
		}
	}
	if !ids["vm_end"] || !ids["lan_core_1_2"] || !strings.Contains(m, `vm_r_1 -.-|"eth1 down<br/>out: delay=50ms"| lan_core_1_2`) {
		t.Errorf("mermaid:\n%s", m)
	}
	if got := mermaidText(`a"b<c>|`); got != `"a#quot;b#lt;c#gt;#124;"` {
		t.Errorf("mermaidText %s", got)
	}
}

func TestJSONAndFormats(t *testing.T) {
	g := FromLab(parse(t, dashed), live(true))
	b, err := Render(context.Background(), g, "json")
	if err != nil {
		t.Fatal(err)
	}
	var back Graph
	if err := json.Unmarshal(b, &back); err != nil || len(back.Nodes) != 5 || len(back.Edges) != 5 || !back.Live {
		t.Fatalf("json round trip: %v %+v", err, back)
	}
	if _, err := Render(context.Background(), g, "png"); err == nil || !strings.Contains(err.Error(), "dot, mermaid, json, svg") {
		t.Errorf("unknown format: %v", err)
	}
}
