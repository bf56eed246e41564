package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// natLab is a lab of two tiny VMs behind a NAT that many tests share, so it boots once per run. A test that
// needs something the others must not see (a killed VM, a purged overlay) uses a lab of its own.
const natLabName = "e2enat"

const natLabTOML = `
version = 1
name = "e2enat"

[nat]

[[lan]]
name = "side"

[[vm]]
name = "vm1"
image = "tiny"

[[vm]]
name = "vm2"
image = "tiny"

# nolease has a NIC on the NAT's LAN, but the guest runs DHCP on eth0 only, and its eth0 is elsewhere:
# it never gets a lease, which the proxy's "no lease yet" error needs.
[[vm]]
name = "nolease"
image = "tiny"
[vm.nics]
eth0 = "side"
eth1 = "mgmt"
`

var natLab struct {
	once sync.Once
	err  error
	file string
}

// sharedNATLab brings the shared lab up once and returns its name.
func sharedNATLab(t *testing.T) string {
	t.Helper()
	natLab.once.Do(func() {
		dir, err := os.MkdirTemp(env.root, "natlab-")
		if err != nil {
			natLab.err = err
			return
		}
		natLab.file = filepath.Join(dir, "lab.toml")
		if err := os.WriteFile(natLab.file, []byte(natLabTOML), 0o644); err != nil {
			natLab.err = err
			return
		}
		ensureUserKey(t)
		start := time.Now()
		r := labd(t, "up", natLab.file)
		if r.code != 0 {
			natLab.err = fmt.Errorf("up: %s", r)
			return
		}
		t.Logf("shared lab up (sshd answering through the NAT) in %s", time.Since(start).Round(time.Millisecond))
	})
	if natLab.err != nil {
		t.Fatalf("shared NAT lab: %v", natLab.err)
	}
	return natLabName
}

// sshConfigOf returns the generated ssh_config of a lab and writes a config holding only the Include line,
// as a user's ~/.ssh/config would.
func sshConfigOf(t testing.TB, labName string) (generated, includeOnly string) {
	t.Helper()
	out := mustLabd(t, "--lab", labName, "ssh-config")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	generated = lines[0]
	include := lines[len(lines)-1]
	if !strings.HasPrefix(include, "Include ") {
		t.Fatalf("ssh-config's last line is not an Include line:\n%s", out)
	}
	includeOnly = filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(includeOnly, []byte(include+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return generated, includeOnly
}

// sshF runs a command on a VM with `ssh -F cfg`.
func sshF(t testing.TB, cfg, vm string, command ...string) result {
	t.Helper()
	args := append([]string{"-F", cfg, "-o", "BatchMode=yes", "-o", "ConnectTimeout=20", vm}, command...)
	return runCmd(t, 2*time.Minute, "ssh", args...)
}

// mustSSH is sshF that fails the test on a non-zero exit.
func mustSSH(t testing.TB, cfg, vm string, command ...string) string {
	t.Helper()
	r := sshF(t, cfg, vm, command...)
	if r.code != 0 {
		t.Fatalf("ssh %s %s: %s", vm, strings.Join(command, " "), r)
	}
	return r.stdout
}

// inParallel runs f(0) … f(n-1) at once and reports each non-empty answer as an error.
func inParallel(t testing.TB, n int, f func(i int) string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if e := f(i); e != "" {
				errs <- e
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
