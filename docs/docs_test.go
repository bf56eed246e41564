// Package docs_test checks that docs/ARCHITECTURE.md tells the truth about the code: its package table has
// one row per package, in an order where every package imports only packages below it, and each row's
// imports column names exactly the module's packages that package imports (go list).
package docs_test

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestPackageTable compares the package table of ARCHITECTURE.md with `go list`. In the imports column,
// remarks in parentheses are ignored and "—" means none.
func TestPackageTable(t *testing.T) {
	rows, order := packageTable(t)
	out, err := exec.Command("go", "list", "-f", "{{if .GoFiles}}{{.Module.Path}} {{.ImportPath}}{{range .Imports}} {{.}}{{end}}{{end}}", "../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		mod, pkg := f[0]+"/", strings.TrimPrefix(f[1], f[0]+"/")
		listed[pkg] = true
		var imports []string
		for _, imp := range f[2:] {
			if strings.HasPrefix(imp, mod) {
				imports = append(imports, strings.TrimPrefix(imp, mod))
			}
		}
		slices.Sort(imports)
		want, ok := rows[pkg]
		if !ok {
			t.Errorf("ARCHITECTURE.md: package %s has no row in the package table; add one (imports: %s)", pkg, column(imports))
			continue
		}
		if !slices.Equal(want, imports) {
			t.Errorf("ARCHITECTURE.md: the imports of %s are %q, not %q; fix its row", pkg, column(imports), column(want))
		}
		for _, imp := range imports {
			if i := slices.Index(order, imp); i >= 0 && i < slices.Index(order, pkg) {
				t.Errorf("ARCHITECTURE.md: %s imports %s, which its table lists above it; move the row", pkg, imp)
			}
		}
	}
	for _, pkg := range order {
		if !listed[pkg] {
			t.Errorf("ARCHITECTURE.md: the package table has a row for %s, which is no package; remove it", pkg)
		}
	}
}

var (
	rowRE    = regexp.MustCompile("^\\| `([^`]+)` \\|.*\\| ([^|]*) \\|$")
	remarkRE = regexp.MustCompile(`\([^)]*\)`)
)

// packageTable parses the table under "## Packages and their contracts": package → sorted imports, and the
// packages in the table's order.
func packageTable(t *testing.T) (map[string][]string, []string) {
	doc, err := os.ReadFile("ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(doc), "\n## Packages and their contracts\n")
	if !ok {
		t.Fatal(`ARCHITECTURE.md has no section "## Packages and their contracts"`)
	}
	rows := map[string][]string{}
	var order []string
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, "### ") {
			break
		}
		m := rowRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var imports []string
		for _, imp := range strings.Split(remarkRE.ReplaceAllString(m[2], ""), ",") {
			if imp = strings.Trim(strings.TrimSpace(imp), "`"); imp != "" && imp != "—" {
				imports = append(imports, imp)
			}
		}
		slices.Sort(imports)
		rows[m[1]] = imports
		order = append(order, m[1])
	}
	if len(order) == 0 {
		t.Fatal("ARCHITECTURE.md: no rows in the package table")
	}
	return rows, order
}

// column writes imports as the table does.
func column(imports []string) string {
	if len(imports) == 0 {
		return "—"
	}
	return strings.Join(imports, ", ")
}
