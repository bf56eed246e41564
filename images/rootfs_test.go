package images

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDropPaths(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"usr/lib/py/test/a.py", "usr/lib/py/keep.py", "usr/lib/py/dyn/_testcapi.so", "usr/lib/py/dyn/_json.so"} {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// /lib is merged into /usr/lib, as for package files.
	if err := dropPaths(root, []string{"/usr/lib/py/test", "/lib/py/dyn/_test*.so"}); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]bool{"usr/lib/py/test": false, "usr/lib/py/dyn/_testcapi.so": false,
		"usr/lib/py/keep.py": true, "usr/lib/py/dyn/_json.so": true} {
		if _, err := os.Stat(filepath.Join(root, f)); (err == nil) != want {
			t.Errorf("%s: exists=%v, want %v", f, err == nil, want)
		}
	}
	if err := dropPaths(root, []string{"/usr/lib/py/test"}); err == nil || !strings.Contains(err.Error(), "matches nothing") {
		t.Errorf("a glob matching nothing: got %v", err)
	}
	for _, bad := range []string{"usr/lib", "/usr/../etc", "/usr/lib/[x"} {
		if err := dropPaths(root, []string{bad}); err == nil {
			t.Errorf("dropPaths(%q) accepted a bad glob", bad)
		}
	}
}
