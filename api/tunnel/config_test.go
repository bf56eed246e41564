package tunnel

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	in := `# client config
[defaults]
socket = 12
[server.nemo]
socket = "/run/a b/ctl.sock" # comment
[server."far"]
ssh = 'me@host'
lab = "cisco"
[server.esc]
socket = "esc\"aped"
`
	got, err := parseConfig("c.toml", bufio.NewScanner(strings.NewReader(in)))
	if err != nil {
		t.Fatal(err)
	}
	if got["nemo"]["socket"] != "/run/a b/ctl.sock" || got["far"]["ssh"] != "me@host" || got["esc"]["socket"] != `esc"aped` || got["far"]["lab"] != "cisco" {
		t.Fatalf("got %v", got)
	}
	for _, bad := range []string{"[server.x]\nsocket = 12\n", "[server.x]\nsocket\n", "[server.x\n", "[server.x]\nsocket = \"open\n", "[server.a/b]\n",
		"[server.x]\nsshh = \"a@b\"\n", "[server.x]\nssh = \"a@b\"\nsocket = \"/s\"\n", "[server.x]\nssh = \"-oProxyCommand=x\"\n",
		"[server.x]\nssh = \"a@b\"\nlab = \"Bad_Name\"\n", "[server.x]\nlab = \"y\"\n"} {
		if _, err := parseConfig("c.toml", bufio.NewScanner(strings.NewReader(bad))); err == nil || !strings.HasPrefix(err.Error(), "c.toml:") {
			t.Errorf("%q: err = %v, want c.toml:LINE: ...", bad, err)
		}
	}
}

func TestResolve(t *testing.T) {
	root := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/7")
	t.Setenv("XDG_CONFIG_HOME", root)
	if err := os.MkdirAll(filepath.Join(root, "cloonix"), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := "[server.far]\nsocket = \"/x/ctl.sock\"\n[server.away]\nssh = 'me@host'\n"
	if err := os.WriteFile(filepath.Join(root, "cloonix", "config.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := Resolve("nemo"); err != nil || got.Socket != "/run/user/7/cloonix/nemo/ctl.sock" || got.Config != "" {
		t.Errorf("Resolve(nemo) = %+v, %v", got, err)
	}
	if got, err := Resolve("far"); err != nil || got.Socket != "/x/ctl.sock" || got.Config == "" {
		t.Errorf("Resolve(far) = %+v, %v", got, err)
	}
	if got, err := Resolve("away"); err != nil || got.Remote == nil || got.Remote.Dest != "me@host" || got.Remote.Lab != "away" || got.Remote.Name != "away" {
		t.Errorf("Resolve(away) = %+v, %v", got, err)
	}
	if _, err := Resolve("../x"); err == nil {
		t.Error("Resolve(../x) succeeded")
	}
	// Without HOME or XDG_CONFIG_HOME there is no config to read: the name is the local lab, and no file
	// relative to the working directory is read.
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", "")
	if got, err := Resolve("far"); err != nil || got.Socket != "/run/user/7/cloonix/far/ctl.sock" {
		t.Errorf("Resolve(far) without HOME = %+v, %v", got, err)
	}
}
