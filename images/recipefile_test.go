package images

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// userImage writes NAME/image.toml (and extra files) into a fresh user image directory.
func userImage(t *testing.T, name, toml string, files map[string]string) string {
	t.Helper()
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	dir := filepath.Join(cfg, "cloonix", "images", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, RecipeFile), []byte(toml), 0o644)
	for n, body := range files {
		os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644)
	}
	return dir
}

// builtinRecipes are the built-in images' names, with no user image around.
func builtinRecipes(t *testing.T) []string {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	return Recipes()
}

func TestUserImageExtendsABuiltin(t *testing.T) {
	builtins := builtinRecipes(t)
	userImage(t, "keepalived", `name = "keepalived"
base = "frr"
whole = ["keepalived"]
libs = ["libnl-3-200"]
[pick]
frr = ["usr/bin/vtysh"]
[hooks]
60-keepalived = "start"
[[file]]
path = "/etc/keepalived/keepalived.conf"
source = "keepalived.conf"
`, map[string]string{"start": "#!/bin/sh\nkeepalived\n", "keepalived.conf": "vrrp_instance v1 {}\n"})
	if got := Recipes(); !slices.Equal(got, append(builtins, "keepalived")) {
		t.Errorf("Recipes() = %v, want the built-ins (tiny first) then the user's", got)
	}
	r, err := lookupRecipe("keepalived")
	if err != nil {
		t.Fatal(err)
	}
	frr, _ := lookupRecipe("frr")
	if r.Name != "keepalived" || r.Kernel != frr.Kernel || r.Append != frr.Append {
		t.Errorf("scalars not inherited: %+v", r)
	}
	if !slices.Contains(r.Whole, "keepalived") || !slices.Contains(r.Whole, "busybox-static") || !slices.Contains(r.Libs, "libyang2") ||
		r.Libs[len(r.Libs)-1] != "libnl-3-200" {
		t.Errorf("lists not extended: whole %v libs %v", r.Whole, r.Libs)
	}
	if !slices.Equal(r.Pick["frr"], []string{"usr/bin/vtysh"}) || r.Pick["openssh-server"] == nil {
		t.Errorf("pick: an entry replaces the base's, the others stay: %v", r.Pick)
	}
	if r.Hooks["50-frr"] == "" || r.Hooks["60-keepalived"] != "#!/bin/sh\nkeepalived\n" {
		t.Errorf("hooks: %v", r.Hooks)
	}
	if f := r.Files[len(r.Files)-1]; f.Path != "/etc/keepalived/keepalived.conf" || f.Mode != 0o644 || f.Body != "vrrp_instance v1 {}\n" {
		t.Errorf("file: %+v", f)
	}
	if again, _ := lookupRecipe("frr"); !slices.Equal(again.Pick["frr"], frr.Pick["frr"]) || len(again.Pick["frr"]) < 6 {
		t.Errorf("extending frr changed frr: %v", again.Pick["frr"])
	}
}

func TestImageFileMistakes(t *testing.T) {
	base := func(string) (Recipe, error) { return tinyRecipe(), nil }
	for _, c := range []struct{ toml, want string }{
		{"name = \"x\"\nbase = \"tiny\"\nwhole = \"busybox\"\n", "x/image.toml:3:9: whole must be an array of strings, not the string \"busybox\""},
		{"name = \"y\"\nbase = \"tiny\"\n", "x/image.toml:1:8: the image is named \"y\" but its directory is x"},
		{"name = \"x\"\nbase = \"tiny\"\nlbis = []\n", "x/image.toml:3:1: unknown key \"lbis\" in an image file; did you mean \"libs\"?"},
		{"name = \"x\"\n", "x/image.toml:1:1: the image has no kernel"},
		{"name = \"x\"\nbase = \"tiny\"\n[[file]]\npath = \"/etc/a\"\nsource = \"missing\"\n", "x/image.toml:5:10: missing: no such file beside the image file"},
		{"name = \"x\"\nbase = \"tiny\"\n[[file]]\npath = \"/etc/a\"\nsource = \"../etc/passwd\"\n", "x/image.toml:5:10: \"../etc/passwd\" is not a file name beside the image file"},
		{"name = \"x\"\nbase = \"tiny\"\n[[file]]\npath = \"/etc/a\"\n", "x/image.toml:3:1: a [[file]] needs body or source"},
		{"name = \"x\"\nbase = \"tiny\"\n[[file]]\npath = \"/etc/a\"\nbody = \"\"\nmode = \"9\"\n", "x/image.toml:6:8: mode \"9\" is not an octal permission"},
		{"name = \"x\"\nbase = \"tiny\"\n[hooks]\n50-x = \"nohook\"\n", "x/image.toml:4:8: nohook: no such file beside the image file"},
		{"name = \"x\"\nbase = [\n", "x/image.toml:2:"},
	} {
		_, err := parseRecipe("x/image.toml", "x", []byte(c.toml), fstest.MapFS{}, base)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %s", c.toml, err, c.want)
		}
	}
}

func TestUserImageLookupProblems(t *testing.T) {
	builtins := builtinRecipes(t)
	userImage(t, "frr", "name = \"frr\"\nbase = \"tiny\"\n", nil)
	if _, err := lookupRecipe("frr"); err == nil || !strings.Contains(err.Error(), "has the name of a built-in image; rename its directory") {
		t.Errorf("a user image shadowing frr: %v", err)
	}
	dir := userImage(t, "a", "name = \"a\"\nbase = \"b\"\n", nil)
	os.MkdirAll(filepath.Join(filepath.Dir(dir), "b"), 0o755)
	os.WriteFile(filepath.Join(filepath.Dir(dir), "b", RecipeFile), []byte("name = \"b\"\nbase = \"a\"\n"), 0o644)
	if _, err := lookupRecipe("a"); err == nil || !strings.Contains(err.Error(), "its bases loop: a -> b -> a") {
		t.Errorf("a base loop: %v", err)
	}
	if _, err := lookupRecipe("nope"); err == nil || !strings.Contains(err.Error(), `unknown image "nope": known images are `+strings.Join(builtins, ", ")+`, a, b (your own go in `) {
		t.Errorf("an unknown image: %v", err)
	}
}
