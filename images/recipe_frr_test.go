package images

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	builtin "github.com/cloonix-go/cloonix/examples/images"
)

func TestRecipesOrder(t *testing.T) {
	if got := Recipes(); len(got) < 3 || got[0] != "tiny" || !slices.IsSorted(got[1:]) || !slices.Contains(got, "frr") {
		t.Fatalf("Recipes() = %v, want tiny (the base image) first, then the others sorted, frr among them", got)
	}
	if _, err := lookupRecipe("frr"); err != nil {
		t.Fatal(err)
	}
}

func TestFRRRecipe(t *testing.T) {
	r, err := lookupRecipe("frr")
	if err != nil {
		t.Fatal(err)
	}
	pk := r.Packages()
	for _, want := range []string{"frr", "libyang2", "libjson-c5", "libcap2", "libreadline8", "libtinfo6", "libpam0g",
		"libpcre2-8-0", "libaudit1", "libcap-ng0", "busybox-static", "openssh-server"} {
		if !slices.Contains(pk, want) {
			t.Errorf("frr packages %v lack %s", pk, want)
		}
	}
	for _, bin := range []string{"usr/bin/vtysh", "usr/lib/frr/zebra", "usr/lib/frr/ospfd", "usr/lib/frr/bgpd",
		"usr/lib/frr/staticd", "usr/lib/frr/watchfrr"} {
		if !slices.Contains(r.Pick["frr"], bin) {
			t.Errorf("frr recipe does not pick %s", bin)
		}
	}
	if _, ok := tinyRecipe().Pick["frr"]; ok {
		t.Errorf("frrRecipe changed the tiny recipe's Pick map")
	}
	files := map[string]GuestFile{}
	for _, f := range r.Files {
		files[f.Path] = f
	}
	u := RouterUser
	if f := files["/etc/passwd"]; !f.Append || !strings.Contains(f.Body, u+":x:1000:1000:") ||
		!strings.Contains(f.Body, ":/home/"+u+":/usr/bin/vtysh\n") {
		t.Errorf("/etc/passwd addition: %+v", f)
	}
	if f := files["/etc/shells"]; !f.Append || f.Body != "/usr/bin/vtysh\n" {
		t.Errorf("/etc/shells must list vtysh (a valid login shell; chsh and dropbear check it): %+v", f)
	}
	if f := files["/etc/group"]; !strings.Contains(f.Body, "frrvty:x:102:frr,"+u+"\n") {
		t.Errorf("frr and %s must be in frrvty: %q", u, f.Body)
	}
	if f := files["/etc/frr/vtysh.conf"]; !strings.Contains(f.Body, "username "+u+" nopassword\n") ||
		!strings.Contains(f.Body, "username root nopassword\n") {
		t.Errorf("vtysh.conf must spare root and %s the PAM prompt: %q", u, f.Body)
	}
	if !strings.Contains(r.Hooks["50-frr"], "\nruser="+u+"\n") {
		t.Errorf("the frr hook's router user is not %s", u)
	}
	for _, p := range []string{"/usr/sbin/cloonix-frr-reload", "/usr/lib/cloonix/frrctl"} {
		if files[p].Mode != 0o755 {
			t.Errorf("%s: mode %v, want 0755", p, files[p].Mode)
		}
	}
}

// The tiny image's cache key must not move because recipes gained Files.
func TestTinyRecipeJSONHasNoFiles(t *testing.T) {
	b, err := json.Marshal(tinyRecipe())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "Files") {
		t.Errorf("tiny recipe JSON mentions Files (its cache key would change): %s", b)
	}
}

func TestFRRGuestScriptsParse(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skipf("busybox not installed: %v", err)
	}
	for _, name := range []string{"hook", "frrctl", "cloonix-frr-reload"} {
		body, err := fs.ReadFile(builtin.FS, "frr/"+name)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(f, body, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bb, "sh", "-n", f).CombinedOutput(); err != nil {
			t.Errorf("%s: syntax error: %v %s", name, err, out)
		}
		if !strings.HasPrefix(string(body), "#!/bin/sh\n") {
			t.Errorf("%s has no #!/bin/sh line", name)
		}
	}
}

func TestWriteGuestFile(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []GuestFile{
		{Path: "/etc/passwd", Mode: 0o644, Append: true, Body: "admin:x:1000:1000::/home/admin:/usr/bin/vtysh\n"},
		{Path: "/sbin/tool", Mode: 0o755, Body: "#!/bin/sh\n"},
	} {
		if err := writeGuestFile(root, f); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/passwd")); string(b) != "root:x:0:0::/root:/bin/sh\nadmin:x:1000:1000::/home/admin:/usr/bin/vtysh\n" {
		t.Errorf("append: %q", b)
	}
	fi, err := os.Stat(filepath.Join(root, "usr/sbin/tool")) // merged /usr
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("/sbin/tool → /usr/sbin/tool 0755: %v %v", fi, err)
	}
	for _, bad := range []string{"etc/x", "/etc/../x", ""} {
		if err := writeGuestFile(root, GuestFile{Path: bad, Mode: 0o644}); err == nil {
			t.Errorf("path %q accepted", bad)
		}
	}
}
