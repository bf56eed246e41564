package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/api/tunnel"
	"github.com/cloonix-go/cloonix/labpath"
)

// agreeVars are the variables that decide where a lab's files are.
var agreeVars = []string{"XDG_RUNTIME_DIR", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "HOME", "TMPDIR"}

// TestProxyAndDaemonAgree puts a daemon where cloonix-labd puts it (labpath.For, Dirs.Ensure, a listener on
// Dirs.CtlSocket, as `cloonix-labd serve` does) and runs the real cloonix-proxy in the same environment: it
// must reach the VM. The environments are the ones that once split them: TMPDIR other than /tmp without
// XDG_RUNTIME_DIR (the daemon listened in $TMPDIR, the proxy dialled /tmp and said the lab was not
// running), relative XDG values (which must be ignored, not resolved against the working directory) and no
// HOME.
func TestProxyAndDaemonAgree(t *testing.T) {
	cases := []struct {
		name string
		env  func(root string) map[string]string
	}{
		{"TMPDIR", func(root string) map[string]string {
			return map[string]string{"TMPDIR": root + "/tmp", "HOME": root}
		}},
		{"relative XDG", func(root string) map[string]string {
			return map[string]string{"TMPDIR": root + "/tmp", "HOME": root,
				"XDG_RUNTIME_DIR": "run", "XDG_STATE_HOME": "state", "XDG_CONFIG_HOME": "config", "XDG_CACHE_HOME": "cache"}
		}},
		{"no HOME", func(root string) map[string]string {
			return map[string]string{"TMPDIR": root + "/tmp", "XDG_STATE_HOME": root + "/state"}
		}},
		{"XDG_RUNTIME_DIR", func(root string) map[string]string {
			return map[string]string{"XDG_RUNTIME_DIR": root + "/run", "HOME": root}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			cwd := filepath.Join(root, "cwd") // where relative XDG values would land if they were honoured
			for _, d := range []string{cwd, root + "/tmp", root + "/run"} {
				if err := os.Mkdir(d, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			env := c.env(root)
			setAgreeEnv(t, env)

			// The daemon's side.
			dirs, err := labpath.For("nemo")
			if err != nil {
				t.Fatal(err)
			}
			if err := dirs.Ensure(); err != nil {
				t.Fatal(err)
			}
			// The proxy's side, in process.
			if target, err := tunnel.Resolve("nemo"); err != nil || target.Socket != dirs.CtlSocket() {
				t.Fatalf("proxy resolves nemo to %q (%v), the daemon listens on %q", target.Socket, err, dirs.CtlSocket())
			}
			serveLab(t, dirs.CtlSocket(), &backend{targets: map[string]string{"vm1": echoServer(t, "hello ")}})

			// The proxy's side, the real binary.
			cmd := proxyIn(cwd, env, "nemo", "nat", "vm1")
			cmd.Stdin = strings.NewReader("ping")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil || string(out) != "hello pingbye" {
				t.Fatalf("cloonix-proxy: %v, stdout %q, stderr %s", err, out, stderr.String())
			}
			if ents, _ := os.ReadDir(cwd); len(ents) > 0 {
				t.Errorf("the working directory got %s: a relative XDG value was used", ents[0].Name())
			}
		})
	}
}

// TestProxyWithoutStateRoot: with neither HOME nor XDG_STATE_HOME the daemon cannot run and says what to
// set; the proxy still looks for the socket in the same runtime root, says the lab is not running, and
// writes no proxy.log relative to the working directory.
func TestProxyWithoutStateRoot(t *testing.T) {
	root := t.TempDir()
	cwd := filepath.Join(root, "cwd")
	if err := os.Mkdir(cwd, 0o700); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TMPDIR": root}
	setAgreeEnv(t, env)
	if _, err := labpath.For("nemo"); err == nil || !strings.Contains(err.Error(), "set HOME") {
		t.Fatalf("labpath.For without HOME: %v", err)
	}
	cmd := proxyIn(cwd, env, "nemo", "nat", "vm1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatal("cloonix-proxy succeeded with no daemon")
	}
	sock, err := labpath.CtlSocket("nemo")
	if err != nil || filepath.Dir(filepath.Dir(sock)) != filepath.Join(root, "cloonix-"+strconv.Itoa(os.Geteuid())) {
		t.Fatalf("CtlSocket(nemo) = %s, %v; want it under $TMPDIR/cloonix-EUID", sock, err)
	}
	if want := "cloonix-proxy: lab nemo is not running (no daemon on " + sock + "); start it with: cloonix-labd up LABFILE\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
	if ents, _ := os.ReadDir(cwd); len(ents) > 0 {
		t.Errorf("the working directory got %s", ents[0].Name())
	}
}

// setAgreeEnv sets vars in this process for the rest of the test, and the other agreeVars to "", which the
// rules take as unset (labpath's own tests unset them for real); the proxy gets exactly vars (proxyIn).
func setAgreeEnv(t *testing.T, vars map[string]string) {
	for _, k := range agreeVars {
		t.Setenv(k, vars[k])
	}
}

// proxyIn is a cloonix-proxy command with exactly vars (and PATH) as its environment, run in dir.
func proxyIn(dir string, vars map[string]string, args ...string) *exec.Cmd {
	cmd := env{vars: []string{"PATH=" + os.Getenv("PATH")}}.command(args...)
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Dir = dir
	return cmd
}

// serveLab serves b on the control socket sock until the test ends; its dials time out after 100 ms.
func serveLab(t testing.TB, sock string, b api.Backend) {
	l, err := api.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	s := api.NewServer(b, nil)
	s.DialTimeout = 100 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx, l); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}
