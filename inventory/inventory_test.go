package inventory

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloonix-go/cloonix/kind"
	"github.com/cloonix-go/cloonix/lab"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func mustKind(t *testing.T, name string) *kind.Kind {
	t.Helper()
	k, err := kind.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("inventory differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestRenderGolden covers every kind: a Linux host, an FRR router, an IOS-XE router, a legacy (SHA-1 only)
// IOS-XE router, and a VM no NAT reaches.
func TestRenderGolden(t *testing.T) {
	o := Options{
		Lab:        "nemo",
		Ed25519Key: "/state/nemo/id_ed25519",
		RSAKey:     "/state/nemo/id_rsa",
		KnownHosts: "/state/nemo/known_hosts",
		Hosts: []Host{
			{Name: "r1", Kind: mustKind(t, "frr"), Via: "nat"},
			{Name: "h1", Kind: mustKind(t, "linux"), Via: "nat"},
			{Name: "c8k", Kind: mustKind(t, "iosxe"), Via: "nat"},
			{Name: "csr", Kind: mustKind(t, "iosxe"), Via: "mgmt2", SSHLegacy: true},
			{Name: "island", Kind: mustKind(t, "linux")},
		},
	}
	got, err := Render(o)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "nemo.yml", got)
	s := string(got)
	for _, want := range []string{
		`ansible_paramiko_proxy_command: "cloonix-proxy nemo nat %h"`,
		`ansible_libssh_proxy_command: "cloonix-proxy nemo mgmt2 %h"`,
		`ansible_network_os: "cisco.ios.ios"`,
		`ansible_network_os: "frr.frr.frr"`,
		`ansible_connection: "ansible.builtin.ssh"`,
		`-o ProxyCommand=\"cloonix-proxy nemo nat %h\" -o UserKnownHostsFile=/state/nemo/known_hosts -o StrictHostKeyChecking=accept-new`,
		"# island: left out",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("inventory lacks %s", want)
		}
	}
	if strings.Contains(s, "\n        island:") {
		t.Error("the unreachable VM is listed as a host")
	}
}

func TestRenderRejectsBadNames(t *testing.T) {
	for _, o := range []Options{
		{Lab: "a b"},
		{Lab: "ok", Hosts: []Host{{Name: "x%y", Kind: mustKind(t, "linux"), Via: "nat"}}},
		{Lab: "ok", Hosts: []Host{{Name: "x"}}},
	} {
		if _, err := Render(o); err == nil {
			t.Errorf("Render(%+v) succeeded, want an error", o)
		}
	}
}

func TestRenderEmpty(t *testing.T) {
	got, err := Render(Options{Lab: "empty"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), "children: {}") {
		t.Errorf("empty inventory has no empty children map:\n%s", got)
	}
}

func TestShellJoin(t *testing.T) {
	got := shellJoin([]string{"-o", "ProxyCommand=cloonix-proxy l nat %h", "-o", `UserKnownHostsFile=/a b/"k"`, "plain"})
	want := `-o ProxyCommand="cloonix-proxy l nat %h" -o UserKnownHostsFile="/a b/\"k\"" plain`
	if got != want {
		t.Errorf("shellJoin = %s, want %s", got, want)
	}
}

// TestFromLab resolves a lab file and checks which NAT each VM goes through: the one on its NIC 0's LAN.
func TestFromLab(t *testing.T) {
	src := `
version = 1
name = "tri"
[nat]
[[lan]]
name = "lan12"
[[lan]]
name = "side"
[[vm]]
name = "r1"
kind = "frr"
nics = { eth1 = "lan12" }
[[vm]]
name = "h1"
nics = { eth0 = "side", eth1 = "mgmt" }
`
	env := lab.Env{
		ResolveImage: func(name string) (lab.ImageRef, error) {
			return lab.ImageRef{Name: name, Disk: "/c/" + name + ".qcow2", Kernel: "/c/k", Initrd: "/c/i"}, nil
		},
		HostMemoryMiB: func() (int, error) { return 8192, nil },
	}
	l, err := lab.Parse("lab.toml", []byte(src), t.TempDir(), env)
	if err != nil {
		t.Fatal(err)
	}
	o := FromLab(l, "/st/tri")
	if o.Lab != "tri" || o.KnownHosts != "/st/tri/known_hosts" || o.Ed25519Key != "/st/tri/id_ed25519" {
		t.Errorf("options %+v", o)
	}
	via := map[string]string{}
	for _, h := range o.Hosts {
		via[h.Name] = h.Via
	}
	if via["r1"] != "nat" || via["h1"] != "" {
		t.Errorf("via = %v, want r1 through nat and h1 (eth0 off the NAT's LAN) through none", via)
	}
}

// TestIOSXEVarsParsed hands the golden inventory to ansible-inventory, so Ansible's own parser says what
// every IOS-XE host gets (issue 17 item 1): paramiko keeps ssh-rsa signatures, libssh accepts ssh-rsa for
// the key and the host key, and the ssh arguments allow ssh-rsa; an FRR or Linux host gets none of it.
func TestIOSXEVarsParsed(t *testing.T) {
	if _, err := exec.LookPath("ansible-inventory"); err != nil {
		t.Skip("ansible-inventory not installed: the IOS-XE variables were not parsed by Ansible")
	}
	vars := func(host string) map[string]any {
		out, err := exec.Command("ansible-inventory", "-i", "testdata/nemo.yml", "--host", host).Output()
		if err != nil {
			t.Fatalf("ansible-inventory --host %s: %v", host, err)
		}
		m := map[string]any{}
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("ansible-inventory --host %s: %v\n%s", host, err, out)
		}
		return m
	}
	for _, host := range []string{"c8k", "csr"} {
		v := vars(host)
		if v["ansible_paramiko_use_rsa_sha2_algorithms"] != false {
			t.Errorf("%s: ansible_paramiko_use_rsa_sha2_algorithms = %v, want false", host, v["ansible_paramiko_use_rsa_sha2_algorithms"])
		}
		for _, k := range []string{"ansible_libssh_publickey_algorithms", "ansible_libssh_hostkeys"} {
			if s, _ := v[k].(string); !strings.HasPrefix(s, "ssh-rsa,") {
				t.Errorf("%s: %s = %v, want ssh-rsa first", host, k, v[k])
			}
		}
		if s, _ := v["ansible_ssh_common_args"].(string); !strings.Contains(s, "PubkeyAcceptedAlgorithms=+ssh-rsa") {
			t.Errorf("%s: ansible_ssh_common_args %q lacks PubkeyAcceptedAlgorithms=+ssh-rsa", host, s)
		}
	}
	for _, host := range []string{"r1", "h1"} {
		if v := vars(host); v["ansible_paramiko_use_rsa_sha2_algorithms"] != nil || v["ansible_libssh_publickey_algorithms"] != nil {
			t.Errorf("%s got the IOS-XE ssh-rsa variables: %v", host, v)
		}
	}
}
