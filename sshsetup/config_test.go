package sshsetup

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testOptions() ConfigOptions {
	return ConfigOptions{
		Lab: "nemo",
		Keys: Keys{
			Ed25519Path: "/home/u/.local/state/cloonix/nemo/id_ed25519",
			RSAPath:     "/home/u/.local/state/cloonix/nemo/id_rsa",
		},
		KnownHosts: "/home/u/.local/state/cloonix/nemo/known_hosts",
	}
}

func TestRenderGolden(t *testing.T) {
	cases := []struct {
		name    string
		entries []HostEntry
		fdpass  bool
		proxy   string
	}{
		{"modern", []HostEntry{{Name: "h1", User: "root"}, {Name: "r1", User: "frr"}}, false, ""},
		{"legacy", []HostEntry{{Name: "csr1", User: "admin", LegacyAlgorithms: true, SCPLegacy: true}, {Name: "h1", User: "root", Via: "nat2"}}, false, ""},
		{"fdpass", []HostEntry{{Name: "h1", User: "root"}}, true, "/opt/cloonix bin/cloonix-proxy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := testOptions()
			o.Entries, o.FDPass, o.ProxyPath = c.entries, c.fdpass, c.proxy
			got, err := RenderSSHConfig(o)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("ssh_config differs from %s:\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}

func TestRenderRejectsBadNames(t *testing.T) {
	for _, name := range []string{"", "r 1", "r*", "a:b", "a/b", "x,y", "h%n"} {
		o := testOptions()
		o.Entries = []HostEntry{{Name: name}}
		if _, err := RenderSSHConfig(o); err == nil {
			t.Errorf("VM name %q accepted", name)
		}
	}
	o := testOptions()
	o.Entries = []HostEntry{{Name: "a"}, {Name: "a"}}
	if _, err := RenderSSHConfig(o); err == nil {
		t.Error("duplicate VM accepted")
	}
}

func TestWriteSSHConfigsAndInclude(t *testing.T) {
	dir := t.TempDir()
	o := testOptions()
	o.Entries = []HostEntry{{Name: "h1", User: "root"}}
	plain, fd, err := WriteSSHConfigs(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := os.ReadFile(plain)
	f, _ := os.ReadFile(fd)
	if strings.Contains(string(p), "ProxyUseFdpass") || !strings.Contains(string(f), "ProxyUseFdpass yes") {
		t.Errorf("variants mixed up:\n%s\n%s", p, f)
	}
	if got := IncludeLine("/a b/ssh_config"); got != `Include "/a b/ssh_config"` {
		t.Errorf("IncludeLine = %q", got)
	}
}

func TestWriteSSHConfigPositional(t *testing.T) {
	o := testOptions()
	path := filepath.Join(t.TempDir(), "ssh_config")
	if err := WriteSSHConfig(path, o.Lab, o.Keys, o.KnownHosts, []HostEntry{{Name: "h1", User: "root"}, {Name: "r1", User: "frr"}}, false); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want, _ := os.ReadFile(filepath.Join("testdata", "modern.golden"))
	if string(got) != string(want) {
		t.Errorf("positional WriteSSHConfig differs from modern.golden:\n%s", got)
	}
}
