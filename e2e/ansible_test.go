package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ansible runs an ansible command from a directory without an ansible.cfg (one in the current directory would
// be read silently and could override the inventory's proxy settings).
func ansible(t *testing.T, args ...string) result {
	t.Helper()
	return runCmd(t, 3*time.Minute, "ansible", args...)
}

// TestAnsibleInventory keeps the OSPF demo's lab up, writes its inventory with `cloonix-labd inventory` and
// drives it with Debian's Ansible: the Linux hosts over ansible.builtin.ssh, the FRR routers over
// ansible.netcommon.network_cli (paramiko) with a vtysh command, both through cloonix-proxy.
func TestAnsibleInventory(t *testing.T) {
	if _, err := exec.LookPath("ansible"); err != nil {
		t.Fatalf("ansible is not installed (scripts/setup.sh installs Debian's ansible): %v", err)
	}
	r := keepDemoLab(t, "ospf")
	if !strings.Contains(r.stdout, "ssh_config") || !strings.Contains(r.stdout, "Include ") {
		t.Errorf("--keep did not print what to do next:\n%s", r.stdout)
	}

	out := mustLabd(t, "--lab", "ospf", "inventory")
	inv := strings.TrimSpace(strings.SplitN(out, "\n", 2)[0])
	if inv != filepath.Join(stateDir("ospf"), "inventory.yml") {
		t.Fatalf("inventory written to %q, want the lab's state directory", inv)
	}
	body, err := os.ReadFile(inv)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("inventory:\n%s", body)

	graph := ansible(t, "-i", inv, "--list-hosts", "all")
	for _, h := range []string{"r1", "r2", "r3", "h1", "h2"} {
		if !strings.Contains(graph.stdout, h) {
			t.Errorf("ansible does not list host %s: %s", h, graph)
		}
	}

	t.Run("linux raw", func(t *testing.T) {
		r := ansible(t, "-i", inv, "linux", "-m", "ansible.builtin.raw", "-a", "hostname")
		if r.code != 0 || !strings.Contains(r.stdout, "h1 | CHANGED") || !strings.Contains(r.stdout, "h2 | CHANGED") {
			t.Fatalf("ansible raw on the Linux hosts: %s", r)
		}
	})
	t.Run("linux ping", func(t *testing.T) {
		// The ping module is Python: the tiny image carries python3 for Ansible's modules.
		r := ansible(t, "-i", inv, "linux", "-m", "ansible.builtin.ping")
		if r.code != 0 || strings.Count(r.stdout, `"ping": "pong"`) != 2 {
			t.Fatalf("ansible -m ping: %s", r)
		}
	})
	t.Run("frr network_cli", func(t *testing.T) {
		start := time.Now()
		r := ansible(t, "-i", inv, "frr", "-m", "ansible.netcommon.cli_command", "-a", `command="show ip ospf neighbor"`)
		t.Logf("cli_command on 3 routers took %s", time.Since(start).Round(100*time.Millisecond))
		if r.code != 0 {
			t.Fatalf("ansible cli_command on the routers: %s", r)
		}
		for _, want := range []string{"r1 | SUCCESS", "r2 | SUCCESS", "r3 | SUCCESS", "1.1.1.1           1 Full/-", "2.2.2.2           1 Full/-", "3.3.3.3           1 Full/-"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("cli_command output lacks %q: %s", want, r)
			}
		}
	})
	t.Run("frr facts", func(t *testing.T) {
		r := ansible(t, "-i", inv, "r1", "-m", "frr.frr.frr_facts", "-a", "gather_subset=default")
		if r.code != 0 || !strings.Contains(r.stdout, `"ansible_net_hostname": "r1"`) {
			t.Fatalf("frr.frr.frr_facts: %s", r)
		}
	})
	// The routers' host keys are not checked (paramiko reads only ~/.ssh/known_hosts): nothing may be written
	// there either.
	home, _ := os.UserHomeDir()
	if b, err := os.ReadFile(filepath.Join(home, ".ssh", "known_hosts")); err == nil {
		for _, h := range []string{"r1 ", "r2 ", "r3 "} {
			if strings.Contains(string(b), "\n"+h) || strings.HasPrefix(string(b), h) {
				t.Errorf("ansible wrote router %s into ~/.ssh/known_hosts", strings.TrimSpace(h))
			}
		}
	}
}
