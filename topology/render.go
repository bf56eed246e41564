package topology

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// Formats are the formats Render knows, in the order `graph --format` lists them.
var Formats = []string{"dot", "mermaid", "json", "svg"}

// ErrNoGraphviz is Render's error for svg when Graphviz's dot is not installed.
var ErrNoGraphviz = errors.New("svg needs Graphviz's dot, which is not on PATH; install the graphviz package, or use --format dot")

// Render writes g in format (one of Formats). svg runs Graphviz's dot on the DOT text.
func Render(ctx context.Context, g Graph, format string) ([]byte, error) {
	switch format {
	case "dot":
		return []byte(g.DOT()), nil
	case "mermaid":
		return []byte(g.Mermaid()), nil
	case "json":
		b, err := json.MarshalIndent(g, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("topology: json: %w", err)
		}
		return append(b, '\n'), nil
	case "svg":
		dot, err := exec.LookPath("dot")
		if err != nil {
			return nil, ErrNoGraphviz
		}
		cmd := exec.CommandContext(ctx, dot, "-Tsvg")
		cmd.Stdin = strings.NewReader(g.DOT())
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("topology: dot -Tsvg: %v: %s", err, strings.TrimSpace(errb.String()))
		}
		return out.Bytes(), nil
	}
	return nil, fmt.Errorf("unknown graph format %q; use one of %s", format, strings.Join(Formats, ", "))
}

// dotQuote makes s a DOT double-quoted string (any name is then a valid ID).
func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// DOT is the graph in Graphviz's language: VMs as boxes, LANs as ellipses, NATs as hexagons, one edge per NIC
// labelled with its name; down links dashed red, impaired ones orange with the impairment.
func (g Graph) DOT() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph %s {\n", dotQuote(g.Lab))
	b.WriteString("  layout=dot; rankdir=TB; overlap=false; fontname=\"Helvetica\";\n")
	b.WriteString("  node [fontname=\"Helvetica\", fontsize=11]; edge [fontname=\"Helvetica\", fontsize=9];\n")
	for _, n := range g.Nodes {
		attrs := []string{"label=" + dotQuote(strings.Join(n.lines(), "\n"))}
		switch n.Type {
		case TypeVM:
			attrs = append(attrs, "shape=box", "style=\"rounded,filled\"", "fillcolor="+dotQuote(vmColour(n)))
		case TypeLAN:
			attrs = append(attrs, "shape=ellipse", "style=filled", "fillcolor=\"#e8eef7\"")
		case TypeNAT:
			attrs = append(attrs, "shape=hexagon", "style=filled", "fillcolor=\"#f3e8f7\"")
		}
		fmt.Fprintf(&b, "  %s [%s];\n", dotQuote(n.ID), strings.Join(attrs, ", "))
	}
	for _, e := range g.Edges {
		attrs := []string{}
		if l := e.label(); l != "" {
			attrs = append(attrs, "label="+dotQuote(l))
		}
		switch {
		case e.Down():
			attrs = append(attrs, "style=dashed", "color=\"#c0392b\"")
		case e.Out != "" || e.In != "":
			attrs = append(attrs, "color=\"#e67e22\"", "penwidth=2")
		}
		fmt.Fprintf(&b, "  %s -- %s [%s];\n", dotQuote(e.From), dotQuote(e.To), strings.Join(attrs, ", "))
	}
	b.WriteString("}\n")
	return b.String()
}

// mermaidID makes a node ID Mermaid accepts: letters, digits and underscores only. Lab names are DNS labels
// (no underscore), so "vm:r-1" → "vm_r_1" cannot meet another name's ID; the type prefix keeps Mermaid's
// keywords (end, graph, subgraph…) from being an ID.
func mermaidID(id string) string {
	return strings.NewReplacer(":", "_", "-", "_", ".", "_").Replace(id)
}

// mermaidText makes s a Mermaid quoted label: double quotes and the characters Mermaid reads as markup become
// entity codes, lines become <br/>.
func mermaidText(s string) string {
	s = strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;", "|", "#124;").Replace(s)
	return `"` + strings.ReplaceAll(s, "\n", "<br/>") + `"`
}

// Mermaid is the graph as a Mermaid flowchart: VMs as rounded boxes, LANs as stadiums, NATs as hexagons;
// down links dotted.
func (g Graph) Mermaid() string {
	var b strings.Builder
	fmt.Fprintf(&b, "---\ntitle: %s\n---\nflowchart TB\n", mermaidText(g.Lab))
	for _, n := range g.Nodes {
		label := mermaidText(strings.Join(n.lines(), "\n"))
		switch n.Type {
		case TypeVM:
			fmt.Fprintf(&b, "  %s(%s)\n", mermaidID(n.ID), label)
		case TypeLAN:
			fmt.Fprintf(&b, "  %s([%s])\n", mermaidID(n.ID), label)
		case TypeNAT:
			fmt.Fprintf(&b, "  %s{{%s}}\n", mermaidID(n.ID), label)
		}
	}
	for _, e := range g.Edges {
		link := "---"
		if e.Down() {
			link = "-.-"
		}
		if l := e.label(); l != "" {
			fmt.Fprintf(&b, "  %s %s|%s| %s\n", mermaidID(e.From), link, mermaidText(l), mermaidID(e.To))
		} else {
			fmt.Fprintf(&b, "  %s %s %s\n", mermaidID(e.From), link, mermaidID(e.To))
		}
	}
	b.WriteString("  classDef lan fill:#e8eef7,stroke:#5b7db1\n  classDef nat fill:#f3e8f7,stroke:#8e5bb1\n")
	for _, typ := range []string{TypeLAN, TypeNAT} {
		var ids []string
		for _, n := range g.Nodes {
			if n.Type == typ {
				ids = append(ids, mermaidID(n.ID))
			}
		}
		if len(ids) > 0 {
			fmt.Fprintf(&b, "  class %s %s\n", strings.Join(ids, ","), typ)
		}
	}
	return b.String()
}

// lines is a node's label: its name, then what kind of thing it is, then its live state.
func (n Node) lines() []string {
	l := []string{n.Name}
	switch n.Type {
	case TypeVM:
		l = append(l, n.Kind)
		if n.State != "" {
			s := n.State
			if n.Accel != "" {
				s += " (" + n.Accel + ")"
			}
			l = append(l, s)
		}
		if n.IP != "" {
			l = append(l, n.IP)
		}
	case TypeLAN:
		if n.MTU > 0 {
			l = append(l, fmt.Sprintf("mtu %d", n.MTU))
		}
	case TypeNAT:
		l = append(l, "NAT "+n.Subnet)
	}
	return l
}

// label is an edge's label: the NIC, then "down" or its impairments.
func (e Edge) label() string {
	l := e.NIC
	switch {
	case e.Down() && e.Up != nil && !*e.Up:
		l += " down"
	case e.Down():
		l += " no carrier"
	}
	if e.Out != "" {
		l += "\nout: " + e.Out
	}
	if e.In != "" {
		l += "\nin: " + e.In
	}
	return l
}

// vmColour fills a VM by its state: running green, booting yellow, stopped grey, crashed red; white when
// the graph is the file's alone.
func vmColour(n Node) string {
	switch n.State {
	case "running":
		return "#d5f5e3"
	case "booting", "created", "stopping":
		return "#fcf3cf"
	case "crashed":
		return "#f5b7b1"
	case "stopped", "unknown":
		return "#e5e7e9"
	}
	return "#ffffff"
}
