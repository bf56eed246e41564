package e2e

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSSHExactCommand runs the product's headline command, exactly as a user types it: no ssh_config, the
// user's own key, the user's own known_hosts.
func TestSSHExactCommand(t *testing.T) {
	name := sharedNATLab(t)
	gen, cfg := sshConfigOf(t, name)
	mustSSH(t, cfg, "vm1", "true") // fills the lab's known_hosts (accept-new)
	known, err := os.ReadFile(filepath.Join(filepath.Dir(gen), "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(known), "\n") {
		if strings.HasPrefix(line, "vm1 ") {
			addUserKnownHost(t, line)
		}
	}
	r := runCmd(t, time.Minute, "sh", "-c",
		fmt.Sprintf("ssh -o BatchMode=yes -o ProxyCommand='cloonix-proxy %s nat %%h' root@vm1 hostname", name))
	if r.code != 0 || strings.TrimSpace(r.stdout) != "vm1" {
		t.Fatalf("the exact command: %s", r)
	}
}

// TestSSHThroughGeneratedConfig uses only the Include line: ssh, scp both ways in both protocols, sftp -b,
// rsync -e ssh, a 64 MiB file with a matching checksum, and the fdpass variant.
func TestSSHThroughGeneratedConfig(t *testing.T) {
	name := sharedNATLab(t)
	gen, cfg := sshConfigOf(t, name)
	if out := mustSSH(t, cfg, "vm2", "hostname"); strings.TrimSpace(out) != "vm2" {
		t.Fatalf("ssh vm2 hostname: %q", out)
	}
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	data := make([]byte, 64<<20)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, data, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	want := hex.EncodeToString(sum[:])
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, []byte("cloonix small file\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	scp := func(args ...string) {
		t.Helper()
		r := runCmd(t, 5*time.Minute, "scp", append([]string{"-F", cfg, "-o", "BatchMode=yes"}, args...)...)
		if r.code != 0 {
			t.Fatalf("scp %v: %s", args, r)
		}
	}
	// Up: the default protocol (SFTP since OpenSSH 9) with the 64 MiB file, then the legacy one.
	start := time.Now()
	scp(big, "vm1:/tmp/big")
	t.Logf("64 MiB scp (SFTP) up: %s", time.Since(start).Round(time.Millisecond))
	if got := strings.Fields(mustSSH(t, cfg, "vm1", "sha256sum /tmp/big")); len(got) == 0 || got[0] != want {
		t.Fatalf("64 MiB file arrived with sha256 %v, want %s", got, want)
	}
	scp("-O", small, "vm1:/tmp/small-legacy")
	// Down, both protocols.
	scp("vm1:/tmp/small-legacy", filepath.Join(dir, "back-sftp"))
	scp("-O", "vm1:/tmp/big", filepath.Join(dir, "back-legacy"))
	for _, f := range []string{"back-sftp", "back-legacy"} {
		got, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "back-sftp" && string(got) != "cloonix small file\n" {
			t.Errorf("%s: %q", f, got)
		}
		if f == "back-legacy" {
			s := sha256.Sum256(got)
			if hex.EncodeToString(s[:]) != want {
				t.Errorf("64 MiB file came back (scp -O) with another checksum")
			}
		}
	}
	// sftp -b.
	batch := filepath.Join(dir, "batch")
	os.WriteFile(batch, []byte("put "+small+" /tmp/small-sftp\nget /tmp/small-sftp "+filepath.Join(dir, "back-batch")+"\n"), 0o600)
	if r := runCmd(t, time.Minute, "sftp", "-F", cfg, "-o", "BatchMode=yes", "-b", batch, "vm1"); r.code != 0 {
		t.Fatalf("sftp -b: %s", r)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "back-batch")); string(got) != "cloonix small file\n" {
		t.Errorf("sftp -b round trip: %q", got)
	}
	// rsync -e ssh.
	if r := runCmd(t, 2*time.Minute, "rsync", "-a", "-e", "ssh -F "+cfg+" -o BatchMode=yes", small, "vm2:/tmp/small-rsync"); r.code != 0 {
		t.Fatalf("rsync: %s", r)
	}
	if out := mustSSH(t, cfg, "vm2", "cat /tmp/small-rsync"); out != "cloonix small file\n" {
		t.Errorf("rsync content: %q", out)
	}
	// ProxyUseFdpass: the proxy hands ssh the socket and exits.
	fd := filepath.Join(filepath.Dir(gen), "ssh_config.fdpass")
	if out := mustSSH(t, fd, "vm1", "hostname"); strings.TrimSpace(out) != "vm1" {
		t.Errorf("fdpass: %q", out)
	}
}

// TestSSHParallelSessions: 20 ssh sessions at once to two VMs all succeed.
func TestSSHParallelSessions(t *testing.T) {
	name := sharedNATLab(t)
	_, cfg := sshConfigOf(t, name)
	mustSSH(t, cfg, "vm1", "true")
	mustSSH(t, cfg, "vm2", "true")
	var wg sync.WaitGroup
	errs := make(chan string, 20)
	for i := 0; i < 20; i++ {
		vm := []string{"vm1", "vm2"}[i%2]
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := sshF(t, cfg, vm, fmt.Sprintf("echo session-%d; hostname", i))
			if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("session-%d\n%s", i, vm)) {
				errs <- fmt.Sprintf("session %d to %s: %s", i, vm, r)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestSSHErrorsReachTheUser: each failure of the tunnel, run through real ssh, shows the proxy's one-line
// reason and a non-zero exit.
func TestSSHErrorsReachTheUser(t *testing.T) {
	name := sharedNATLab(t)
	proxy := func(entity, host string) result {
		return runCmd(t, time.Minute, "ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
			"-o", "UserKnownHostsFile=/dev/null", "-o", fmt.Sprintf("ProxyCommand=cloonix-proxy %s %s %%h", name, entity), "root@"+host, "true")
	}
	cases := []struct {
		what, entity, host, want string
	}{
		{"unknown entity", "nope", "vm1", `cloonix-proxy: `},
		{"unknown VM", "nat", "ghost", "vm1"},
		{"no lease yet", "nat", "nolease", "lease"},
		{"port refused", "nat", "vm1:23", "refused"},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			r := proxy(c.entity, c.host)
			if r.code == 0 {
				t.Fatalf("ssh succeeded: %s", r)
			}
			line := firstLine(r.stderr, "cloonix-proxy: ")
			if line == "" || !strings.Contains(line, c.want) {
				t.Fatalf("stderr lacks a cloonix-proxy line with %q:\n%s", c.want, r.stderr)
			}
			t.Logf("user sees: %s", line)
		})
	}
	t.Run("unknown lab", func(t *testing.T) {
		r := runCmd(t, time.Minute, "ssh", "-o", "BatchMode=yes", "-o", "ProxyCommand=cloonix-proxy nolab nat %h", "root@vm1", "true")
		if line := firstLine(r.stderr, "cloonix-proxy: "); r.code == 0 || !strings.Contains(line, "nolab") {
			t.Fatalf("unknown lab: %s", r)
		}
	})
}

// TestSSHVMNotRunningAndTimeout uses a lab of its own: a paused VM times out, a killed one is "not running".
func TestSSHVMNotRunningAndTimeout(t *testing.T) {
	const name = "e2estop"
	file := writeLab(t, `
version = 1
name = "e2estop"
[nat]
[[vm]]
name = "vm1"
[[vm]]
name = "vm2"
`)
	mustLabd(t, "up", file)
	defer labd(t, "--lab", name, "down", "--purge")
	proxy := func(host string) result {
		return runCmd(t, time.Minute, "ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
			"-o", "UserKnownHostsFile=/dev/null", "-o", fmt.Sprintf("ProxyCommand=cloonix-proxy %s nat %%h", name), "root@"+host, "true")
	}
	// Pause vm1's CPUs: its sshd never answers the SYN, and the daemon gives up with a timeout.
	qmp(t, filepath.Join(env.root, "run", "cloonix", name, "vm1.qmp"), "stop")
	start := time.Now()
	r := proxy("vm1")
	if line := firstLine(r.stderr, "cloonix-proxy: "); r.code == 0 || !strings.Contains(strings.ToLower(line), "tim") {
		t.Errorf("paused VM: want a timeout reason, got %s", r)
	}
	t.Logf("timeout reported after %s", time.Since(start).Round(time.Millisecond))
	_, pid := getStatus(t, name).vm("vm2")
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
	waitFor(t, 10*time.Second, "vm2 crashed", func() bool { s, _ := getStatus(t, name).vm("vm2"); return s == "crashed" })
	r = proxy("vm2")
	if line := firstLine(r.stderr, "cloonix-proxy: "); r.code == 0 || !strings.Contains(line, "not running") {
		t.Errorf("killed VM: want 'not running', got %s", r)
	}
}

// TestSSHHostKeys: a second connection is checked against the lab's known_hosts; a VM whose overlay was
// purged comes back with a new host key and OpenSSH refuses it with its warning. Nothing turns the check off.
func TestSSHHostKeys(t *testing.T) {
	const name = "e2ekeys"
	file := writeLab(t, `
version = 1
name = "e2ekeys"
[nat]
[[vm]]
name = "vm1"
`)
	mustLabd(t, "up", file)
	defer labd(t, "--lab", name, "down", "--purge")
	gen, cfg := sshConfigOf(t, name)
	body, _ := os.ReadFile(gen)
	for _, bad := range []string{"StrictHostKeyChecking no", "UserKnownHostsFile /dev/null"} {
		if strings.Contains(string(body), bad) {
			t.Fatalf("generated ssh_config disables host key checking (%q)", bad)
		}
	}
	mustSSH(t, cfg, "vm1", "true")
	known := filepath.Join(filepath.Dir(gen), "known_hosts")
	if b, err := os.ReadFile(known); err != nil || !strings.Contains(string(b), "vm1 ") {
		t.Fatalf("known_hosts after the first connection: %q, %v", b, err)
	}
	// The second connection is checked: with StrictHostKeyChecking=yes it must pass on the recorded key.
	if r := runCmd(t, time.Minute, "ssh", "-F", cfg, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "vm1", "true"); r.code != 0 {
		t.Fatalf("second connection with strict checking: %s", r)
	}
	mustLabd(t, "--lab", name, "down")
	if err := os.Remove(filepath.Join(stateDir(name), "vms", "vm1", "disk.qcow2")); err != nil {
		t.Fatal(err)
	}
	mustLabd(t, "up", file)
	r := sshF(t, cfg, "vm1", "true")
	if r.code == 0 || !strings.Contains(r.stderr, "REMOTE HOST IDENTIFICATION HAS CHANGED") {
		t.Fatalf("a rebuilt VM with a new host key was not refused: %s", r)
	}
}

// firstLine returns the first line of s that starts with prefix.
func firstLine(s, prefix string) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			return sc.Text()
		}
	}
	return ""
}

// qmp runs one QMP command on a VM's monitor socket.
func qmp(t *testing.T, sock, command string) {
	t.Helper()
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		t.Fatalf("qmp %s: %v", sock, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	rd := bufio.NewReader(c)
	if _, err := rd.ReadString('\n'); err != nil { // greeting
		t.Fatal(err)
	}
	for _, cmd := range []string{"qmp_capabilities", command} {
		fmt.Fprintf(c, "{\"execute\":%q}\n", cmd)
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatalf("qmp %s: %v", cmd, err)
			}
			if strings.Contains(line, "\"return\"") {
				break
			}
			if strings.Contains(line, "\"error\"") {
				t.Fatalf("qmp %s: %s", cmd, line)
			}
		}
	}
}
