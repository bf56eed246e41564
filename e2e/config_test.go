package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const configLabTOML = `
version = 1
name = "e2ecfg"

[nat]

[[vm]]
name = "vm1"
image = "tiny"

[[vm]]
name = "vm2"
image = "tiny"
`

// scpLogger wraps the system scp: it logs its argv to $CLOONIX_SCP_LOG, then runs the real scp. With it
// first on PATH, the test sees which protocol config push chose while the copy stays real.
const scpLogger = `#!/bin/sh
echo "$*" >> "$CLOONIX_SCP_LOG"
exec %s "$@"
`

// TestConfigPushSave pushes shell configurations into tiny VMs with `cloonix-labd config push`, saves them
// back with `config save`, and checks the error paths: a refused script, an unknown VM, a VM that is not
// running, a lab that is not up. The scp -O path is proven on a VM whose SFTP server was removed, the
// situation IOS-XE is always in.
func TestConfigPushSave(t *testing.T) {
	const name = "e2ecfg"
	file := writeLab(t, configLabTOML)
	mustLabd(t, "up", file)
	t.Cleanup(func() { labd(t, "--lab", name, "down") })
	_, cfg := sshConfigOf(t, name)

	realSCP, err := exec.LookPath("scp")
	if err != nil {
		t.Fatal(err)
	}
	wrapDir := t.TempDir()
	scpLog := filepath.Join(wrapDir, "scp.log")
	if err := os.WriteFile(filepath.Join(wrapDir, "scp"), []byte(strings.Replace(scpLogger, "%s", realSCP, 1)), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", wrapDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("CLOONIX_SCP_LOG", scpLog)
	lastSCP := func() string {
		b, _ := os.ReadFile(scpLog)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		return lines[len(lines)-1]
	}

	dir := t.TempDir()
	script := filepath.Join(dir, "vm1.sh")
	body := "#!/bin/sh\n# cloonix e2e configuration\necho configured-$(hostname) > /tmp/marker\necho applied-ok\n"
	os.WriteFile(script, []byte(body), 0o644)

	t.Run("push", func(t *testing.T) {
		start := time.Now()
		r := labd(t, "--lab", name, "config", "push", "vm1", script)
		if r.code != 0 || !strings.Contains(r.stdout, "applied-ok") {
			t.Fatalf("config push: %s", r)
		}
		t.Logf("MEASURE config push (scp + load over the proxy) = %s", time.Since(start).Round(time.Millisecond))
		if l := lastSCP(); strings.Contains(" "+l+" ", " -O ") || !strings.Contains(l, "root@vm1:/tmp/cloonix-push.sh") {
			t.Errorf("linux push should use SFTP scp as root, scp ran with: %s", l)
		}
		if got := strings.TrimSpace(mustSSH(t, cfg, "vm1", "cat /tmp/marker")); got != "configured-vm1" {
			t.Errorf("the script did not run on vm1: marker %q", got)
		}
	})

	t.Run("save", func(t *testing.T) {
		out := mustLabd(t, "--lab", name, "config", "save", "vm1")
		if out != body {
			t.Errorf("config save vm1 printed %q, want the pushed file", out)
		}
		saved := filepath.Join(dir, "saved.sh")
		mustLabd(t, "--lab", name, "config", "save", "vm1", saved)
		if b, _ := os.ReadFile(saved); string(b) != body {
			t.Errorf("config save vm1 FILE wrote %q", b)
		}
		all := filepath.Join(dir, "all")
		out = mustLabd(t, "--lab", name, "config", "save", "--all", all)
		b1, err1 := os.ReadFile(filepath.Join(all, "vm1.cfg"))
		b2, err2 := os.ReadFile(filepath.Join(all, "vm2.cfg"))
		if err1 != nil || err2 != nil || string(b1) != body || !strings.Contains(string(b2), "no configuration pushed yet") {
			t.Errorf("save --all: vm1 %q (%v), vm2 %q (%v); output:\n%s", b1, err1, b2, err2, out)
		}
	})

	// vm2 loses its SFTP server, as IOS-XE never had one: the default (SFTP) copy must fail, scp -O must work.
	t.Run("scp-O", func(t *testing.T) {
		mustSSH(t, cfg, "vm2", "rm -f /usr/lib/sftp-server /usr/lib/openssh/sftp-server")
		s2 := filepath.Join(dir, "vm2.sh")
		os.WriteFile(s2, []byte("echo legacy-copy-ok\n"), 0o644)
		r := labd(t, "--lab", name, "config", "push", "vm2", s2)
		if r.code == 0 {
			t.Fatalf("push over SFTP succeeded without an SFTP server on vm2: %s", r)
		}
		r = labd(t, "--lab", name, "config", "push", "--scp", "legacy", "vm2", s2)
		if r.code != 0 || !strings.Contains(r.stdout, "legacy-copy-ok") {
			t.Fatalf("config push --scp legacy: %s", r)
		}
		if l := lastSCP(); !strings.HasPrefix(l, "-O ") {
			t.Errorf("--scp legacy ran scp without -O: %s", l)
		}
		if r := labd(t, "--lab", name, "config", "push", "--scp", "rsync", "vm2", s2); r.code == 0 || !strings.Contains(r.stderr, "auto, legacy") {
			t.Errorf("a bad --scp value: %s", r)
		}
	})

	t.Run("refused", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.sh")
		os.WriteFile(bad, []byte("echo about-to-fail\necho 'ip: RTNETLINK answers: File exists' >&2\nexit 3\n"), 0o644)
		r := labd(t, "--lab", name, "config", "push", "vm1", bad)
		if r.code == 0 {
			t.Fatalf("a failing script was reported as pushed: %s", r)
		}
		for _, want := range []string{"vm1 refused", "exit status 3", "RTNETLINK answers: File exists", "about-to-fail"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("error lacks %q: %s", want, r)
			}
		}
	})

	t.Run("bad-input", func(t *testing.T) {
		cases := []struct {
			args []string
			want string
		}{
			{[]string{"--lab", name, "config", "push", "nosuch", script}, `has no VM "nosuch" (known: vm1, vm2)`},
			{[]string{"--lab", name, "config", "push", "vm1", filepath.Join(dir, "missing.cfg")}, "no such file"},
			{[]string{"--lab", name, "config", "push", "vm1"}, "usage: cloonix-labd config push"},
			{[]string{"--lab", name, "config", "save", "nosuch"}, `has no VM "nosuch"`},
			{[]string{"--lab", "e2enolab", "config", "save", "vm1"}, "lab e2enolab is not up"},
		}
		for _, c := range cases {
			r := labd(t, c.args...)
			if r.code == 0 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
				t.Errorf("%v: want one error line with %q, got %s", c.args, c.want, r)
			}
		}
	})

	t.Run("not-running", func(t *testing.T) {
		_, pid := getStatus(t, name).vm("vm2")
		if pid == 0 {
			t.Fatal("vm2 has no pid")
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "vm2 to be reported crashed", func() bool {
			st, _ := getStatus(t, name).vm("vm2")
			return st == "crashed"
		})
		r := labd(t, "--lab", name, "config", "push", "vm2", script)
		if r.code == 0 || !strings.Contains(r.stderr, "VM vm2 is crashed, not running") {
			t.Errorf("push to a crashed VM: %s", r)
		}
		r = labd(t, "--lab", name, "config", "save", "--all", filepath.Join(dir, "all2"))
		if r.code == 0 || !strings.Contains(r.stderr, "vm2 is crashed") || !strings.Contains(r.stdout, "vm1") {
			t.Errorf("save --all with a crashed VM should save vm1 and fail naming vm2: %s", r)
		}
	})
}

// TestConfigFRR pushes an frr.conf into an FRR router (cloonix-frr-reload applies it), saves the running
// configuration back, and checks that vtysh's refusal of a bad line comes back as the error.
func TestConfigFRR(t *testing.T) {
	if r := labd(t, "image", "build", "frr"); r.code != 0 {
		t.Fatalf("image build frr: %s", r)
	}
	const name = "e2ecfgfrr"
	file := writeLab(t, `
version = 1
name = "e2ecfgfrr"
[nat]
[[vm]]
name = "r1"
kind = "frr"
`)
	mustLabd(t, "up", file)
	t.Cleanup(func() { labd(t, "--lab", name, "down") })
	dir := t.TempDir()
	good := filepath.Join(dir, "r1.conf")
	os.WriteFile(good, []byte("frr defaults traditional\nhostname r1\nservice integrated-vtysh-config\n!\ninterface lo\n ip address 9.9.9.9/32\n!\nrouter ospf\n ospf router-id 9.9.9.9\n!\n"), 0o644)
	start := time.Now()
	r := labd(t, "--lab", name, "config", "push", "r1", good)
	if r.code != 0 {
		t.Fatalf("config push r1 (frr): %s", r)
	}
	t.Logf("MEASURE frr config push (scp + cloonix-frr-reload) = %s", time.Since(start).Round(time.Millisecond))
	saved := mustLabd(t, "--lab", name, "config", "save", "r1")
	for _, want := range []string{"ip address 9.9.9.9/32", "ospf router-id 9.9.9.9"} {
		if !strings.Contains(saved, want) {
			t.Errorf("saved running-config lacks %q:\n%s", want, saved)
		}
	}
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("interface lo\n ip addresss 1.2.3.4/32\n"), 0o644)
	r = labd(t, "--lab", name, "config", "push", "--replace", "r1", bad)
	if r.code == 0 || !strings.Contains(r.stderr, "r1 refused") {
		t.Errorf("a bad frr.conf was not refused: %s", r)
	}
	t.Logf("refused push answered: %s", r.stderr)
}
