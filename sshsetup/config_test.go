package sshsetup

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloonix-go/cloonix/kind"
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

// modernEntries are two hosts with modern ssh servers.
var modernEntries = []HostEntry{{Name: "h1", User: "root", Via: "nat"}, {Name: "r1", User: "frr", Via: "nat"}}

func TestRenderGolden(t *testing.T) {
	cases := []struct {
		name    string
		entries []HostEntry
		fdpass  bool
		proxy   string
	}{
		{"modern", modernEntries, false, ""},
		{"legacy", []HostEntry{{Name: "c8k", User: "admin", Via: "nat", SCPLegacy: true, SSHRSA: true, IdentitiesOnly: true},
			{Name: "csr1", User: "admin", Via: "nat", LegacyAlgorithms: true, SCPLegacy: true, SSHRSA: true, IdentitiesOnly: true},
			{Name: "h1", User: "root", Via: "nat2"}, {Name: "island", User: "root"}}, false, ""},
		{"fdpass", []HostEntry{{Name: "h1", User: "root", Via: "nat"}}, true, "/opt/cloonix bin/cloonix-proxy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := testOptions()
			o.Entries, o.ProxyPath = c.entries, c.proxy
			got, err := renderSSHConfig(o, c.fdpass)
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
		o.Entries = []HostEntry{{Name: name, Via: "nat"}}
		if _, err := renderSSHConfig(o, false); err == nil {
			t.Errorf("VM name %q accepted", name)
		}
	}
	o := testOptions()
	o.Entries = []HostEntry{{Name: "a", Via: "nat"}, {Name: "a", Via: "nat"}}
	if _, err := renderSSHConfig(o, false); err == nil {
		t.Error("duplicate VM accepted")
	}
}

// TestWriteSSHConfigs writes both variants: the plain one is the modern golden file, the other uses
// ProxyUseFdpass.
func TestWriteSSHConfigs(t *testing.T) {
	dir := t.TempDir()
	o := testOptions()
	o.Entries = modernEntries
	plain, fd := filepath.Join(dir, "ssh_config"), filepath.Join(dir, "ssh_config.fdpass")
	if err := WriteSSHConfigs(plain, fd, o); err != nil {
		t.Fatal(err)
	}
	p, _ := os.ReadFile(plain)
	f, _ := os.ReadFile(fd)
	want, _ := os.ReadFile(filepath.Join("testdata", "modern.golden"))
	if string(p) != string(want) || !strings.Contains(string(f), "ProxyUseFdpass yes") {
		t.Errorf("variants differ from modern.golden or lack ProxyUseFdpass:\n%s\n%s", p, f)
	}
	if got := IncludeLine("/a b/ssh_config"); got != `Include "/a b/ssh_config"` {
		t.Errorf("IncludeLine = %q", got)
	}
}

// TestVsockEntries: a VM with vsock gets a second alias NAME.vsock over vsock (same host key), and one no
// NAT reaches is reached over vsock under its own name.
func TestVsockEntries(t *testing.T) {
	k, err := kind.Lookup("linux")
	if err != nil {
		t.Fatal(err)
	}
	o := ConfigOptions{Lab: "nemo", Keys: Keys{Ed25519Path: "/s/id_ed25519", RSAPath: "/s/id_rsa"}, KnownHosts: "/s/known_hosts",
		Entries: []HostEntry{EntryFor("vm1", k, "nat", true, false), EntryFor("vm2", k, "", true, false), EntryFor("vm3", k, "nat", false, false)}}
	b, err := renderSSHConfig(o, false)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{
		"\nHost vm1\n    User root\n    ProxyCommand cloonix-proxy nemo nat %n\n",
		"\nHost vm1.vsock\n    User root\n    ProxyCommand cloonix-proxy nemo vsock vm1\n",
		"    HostKeyAlias vm1\n",
		"\nHost vm2\n    User root\n    ProxyCommand cloonix-proxy nemo vsock %n\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("ssh_config lacks %q:\n%s", want, got)
		}
	}
	for _, not := range []string{"Host vm2.vsock", "Host vm3.vsock"} {
		if strings.Contains(got, not) {
			t.Errorf("ssh_config has %q:\n%s", not, got)
		}
	}
}
