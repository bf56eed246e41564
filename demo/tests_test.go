package demo

import (
	"io/fs"
	"path"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/cloonix-go/cloonix/examples/demos"
	"github.com/cloonix-go/cloonix/validate"
)

// TestBuiltinDemosShipTests: every built-in demo's lab file names its tests file, which parses with the lab
// file's VMs and LANs as its topology.
func TestBuiltinDemosShipTests(t *testing.T) {
	ds, err := List(demos.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		labData, err := fs.ReadFile(d.Dir, d.Lab)
		if err != nil {
			t.Fatal(err)
		}
		var l struct {
			Tests string `toml:"tests"`
			LANs  []struct {
				Name string `toml:"name"`
			} `toml:"lan"`
			VMs []struct {
				Name string `toml:"name"`
			} `toml:"vm"`
		}
		if _, err := toml.Decode(string(labData), &l); err != nil {
			t.Fatalf("demo %s: %v", d.Name, err)
		}
		if l.Tests == "" {
			t.Errorf("demo %s: its lab file names no tests file", d.Name)
			continue
		}
		topo := &validate.Topology{}
		for _, v := range l.VMs {
			topo.VMs = append(topo.VMs, v.Name)
		}
		for _, n := range l.LANs {
			topo.LANs = append(topo.LANs, n.Name)
		}
		data, err := fs.ReadFile(d.Dir, path.Join(path.Dir(d.Lab), l.Tests))
		if err != nil {
			t.Fatalf("demo %s: %v", d.Name, err)
		}
		s, err := validate.Parse(d.Name+"/"+l.Tests, data, topo)
		if err != nil {
			t.Errorf("demo %s: %v", d.Name, err)
		} else if len(s.Tests) < 5 {
			t.Errorf("demo %s: only %d tests", d.Name, len(s.Tests))
		}
	}
}
