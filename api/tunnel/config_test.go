package tunnel

import (
	"bufio"
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
socket = "esc\"aped"
`
	got, err := parseConfig("c.toml", bufio.NewScanner(strings.NewReader(in)))
	if err != nil {
		t.Fatal(err)
	}
	if got["nemo"]["socket"] != "/run/a b/ctl.sock" || got["far"]["ssh"] != "me@host" || got["far"]["socket"] != `esc"aped` {
		t.Fatalf("got %v", got)
	}
	for _, bad := range []string{"[server.x]\nsocket = 12\n", "[server.x]\nsocket\n", "[server.x\n", "[server.x]\nsocket = \"open\n", "[server.a/b]\n"} {
		if _, err := parseConfig("c.toml", bufio.NewScanner(strings.NewReader(bad))); err == nil || !strings.HasPrefix(err.Error(), "c.toml:") {
			t.Errorf("%q: err = %v, want c.toml:LINE: ...", bad, err)
		}
	}
}

func TestDirs(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("XDG_STATE_HOME", "/st")
	if got := SocketPath("nemo"); !strings.HasPrefix(got, "/tmp/cloonix-") || !strings.HasSuffix(got, "/nemo/ctl.sock") {
		t.Errorf("SocketPath = %q", got)
	}
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/7")
	if got := SocketPath("nemo"); got != "/run/user/7/cloonix/nemo/ctl.sock" {
		t.Errorf("SocketPath = %q", got)
	}
	if got := StateDir("nemo"); got != "/st/cloonix/nemo" {
		t.Errorf("StateDir = %q", got)
	}
}
