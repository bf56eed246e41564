package lab

import (
	"os"
	"testing"

	"github.com/cloonix-go/cloonix/labpath"
)

// FuzzParse checks that no input makes Parse panic, that failures carry positioned problems, and that
// accepted labs hold their invariants.
func FuzzParse(f *testing.F) {
	for _, file := range exampleFiles(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(head + "[[vm]]\nname = \"vm1\"\nnics = { eth0 = \"mgmt\", eth1 = [1, {a = 2}] }\n"))
	f.Add([]byte("name = \"\"\"x\n\"\"\"\n[[vm]]\n'name' = '''y'''\n[vm.nics]\n\"eth0\" = \"a\\\"\"\n"))
	f.Add([]byte("[[vm.nics]]\n[[vm]]\n[a.b.c]\nx.y.z = 1\n[[nat]]\n[[nat]]\n"))
	env := fakeEnv(8192)
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse("f.toml", data, "/nonexistent", env)
		if err != nil {
			ve, ok := err.(*ValidationError)
			if !ok || len(ve.Problems) == 0 {
				t.Fatalf("error %v is not a non-empty *ValidationError", err)
			}
			for _, p := range ve.Problems {
				if p.Line < 1 || p.Col < 1 || p.Msg == "" {
					t.Fatalf("bad problem %+v", p)
				}
			}
			return
		}
		macs := map[string]bool{}
		for _, vm := range l.VMs {
			if labpath.NameProblem(vm.Name) != "" || vm.Kind == nil || vm.MemoryMiB <= 0 || vm.CPUs <= 0 {
				t.Fatalf("accepted bad VM %+v", vm)
			}
			for i, n := range vm.NICs {
				if n.Index != i || macs[n.MAC.String()] {
					t.Fatalf("bad NICs %+v", vm.NICs)
				}
				if _, ok := l.LAN(n.LAN); !ok {
					t.Fatalf("NIC on undeclared LAN %q", n.LAN)
				}
				macs[n.MAC.String()] = true
			}
		}
	})
}
