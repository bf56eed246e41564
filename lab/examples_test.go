package lab

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func exampleFiles(t testing.TB) []string {
	files, err := filepath.Glob("../examples/labs/*.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("found %d example labs, want at least two-vms.toml and triangle.toml", len(files))
	}
	return files
}

// TestExamplesParse loads every example lab with a fake environment (vendor qcow2 files are simulated).
func TestExamplesParse(t *testing.T) {
	fakeQcow2Open(t)
	for _, f := range exampleFiles(t) {
		l, err := Load(f, fakeEnv(20000))
		if err != nil {
			t.Errorf("%s:\n%v", f, err)
			continue
		}
		if len(l.VMs) == 0 {
			t.Errorf("%s: no VMs", f)
		}
		for _, vm := range l.VMs {
			if len(vm.NICs) == 0 {
				t.Errorf("%s: VM %s has no NIC, so nothing can reach it", f, vm.Name)
			}
		}
	}
	l, err := Load("../examples/labs/two-vms.toml", fakeEnv(20000))
	if err != nil || l.Name != "nemo" || len(l.VMs) != 2 || len(l.NATs) != 1 {
		t.Errorf("two-vms: %+v %v", l, err)
	}
	l, err = Load("../examples/labs/triangle.toml", fakeEnv(20000))
	if err != nil || len(l.VMs) != 3 || len(l.LANs) != 4 {
		t.Errorf("triangle: %+v %v", l, err)
	}
}

// TestExamplesCommented keeps the examples explanatory: at least a third of their lines are comments.
func TestExamplesCommented(t *testing.T) {
	for _, f := range exampleFiles(t) {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		var lines, comments int
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			lines++
			if strings.Contains(sc.Text(), "#") {
				comments++
			}
		}
		fh.Close()
		if comments*3 < lines {
			t.Errorf("%s: %d of %d lines have comments", f, comments, lines)
		}
	}
}
