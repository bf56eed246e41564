package main

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/labpath"
)

var proxyBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cloonix-proxy-test")
	if err != nil {
		panic(err)
	}
	proxyBin = filepath.Join(dir, "cloonix-proxy")
	out, err := exec.Command("go", "build", "-o", proxyBin, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// backend dials per host: targets[host] is a TCP address on loopback.
type backend struct{ targets map[string]string }

func (b *backend) Lab(context.Context) (api.LabInfo, error)    { return api.LabInfo{Name: "nemo"}, nil }
func (b *backend) VMs(context.Context) ([]api.VMStatus, error) { return nil, nil }
func (b *backend) Leases(context.Context) ([]api.Lease, error) { return nil, nil }
func (b *backend) Down(context.Context) error                  { return nil }
func (b *backend) Dial(ctx context.Context, entity, host string, port uint16) (net.Conn, error) {
	if entity != "nat" {
		return nil, api.Errorf(api.ErrUnknownEntity, "lab nemo: no entity named %q (known: nat)", entity)
	}
	switch host {
	case "off":
		return nil, api.Errorf(api.ErrNotRunning, "lab nemo: off is not running (state: stopped)")
	case "booting":
		return nil, api.Errorf(api.ErrNoLease, "lab nemo: booting has no DHCP lease yet (state: booting)")
	case "closed":
		return nil, api.Errorf(api.ErrRefused, "lab nemo: closed (10.99.0.10) refused a connection to port %d", port)
	case "slow":
		<-ctx.Done()
		return nil, api.Errorf(api.ErrTimeout, "lab nemo: slow (10.99.0.11) did not answer on port %d in time", port)
	}
	addr, ok := b.targets[host]
	if !ok {
		return nil, api.Errorf(api.ErrUnknownVM, "lab nemo: unknown VM: %s (known: vm1)", host)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// env is a lab environment: XDG dirs in a temp dir, set for this process
// too, and a daemon serving b for lab "nemo".
type env struct {
	vars []string
	dirs labpath.Dirs // lab nemo's
}

func newEnv(t testing.TB, b api.Backend) env {
	root := t.TempDir()
	e := env{vars: []string{"PATH=" + os.Getenv("PATH")}}
	for k, v := range map[string]string{"XDG_RUNTIME_DIR": "run", "XDG_STATE_HOME": "state", "XDG_CONFIG_HOME": "config", "HOME": ""} {
		t.Setenv(k, filepath.Join(root, v))
		e.vars = append(e.vars, k+"="+filepath.Join(root, v))
	}
	var err error
	if e.dirs, err = labpath.For("nemo"); err != nil {
		t.Fatal(err)
	}
	if err := e.dirs.Ensure(); err != nil {
		t.Fatal(err)
	}
	serveLab(t, e.dirs.CtlSocket(), b)
	return e
}

func (e env) command(args ...string) *exec.Cmd {
	c := exec.Command(proxyBin, args...)
	c.Env = e.vars
	return c
}

// serveTCP runs handle for each connection to a new loopback listener and returns its address.
func serveTCP(t testing.TB, handle func(net.Conn)) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return l.Addr().String()
}

// echoServer echoes until EOF, then writes "bye" and half-closes.
func echoServer(t testing.TB, banner string) string {
	return serveTCP(t, func(c net.Conn) {
		io.WriteString(c, banner)
		io.Copy(c, c)
		io.WriteString(c, "bye")
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c)
	})
}

func TestProxyErrors(t *testing.T) {
	e := newEnv(t, &backend{targets: map[string]string{}})
	nobody, err := labpath.CtlSocket("nobody")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ args, want string }{
		{"nemo dog vm1", `lab nemo: no entity named "dog" (known: nat)`},
		{"nemo nat vm9", "lab nemo: unknown VM: vm9 (known: vm1)"},
		{"nemo nat off", "lab nemo: off is not running (state: stopped)"},
		{"nemo nat booting", "lab nemo: booting has no DHCP lease yet (state: booting)"},
		{"nemo nat closed:2222", "lab nemo: closed (10.99.0.10) refused a connection to port 2222"},
		{"nemo nat slow", "lab nemo: slow (10.99.0.11) did not answer on port 22 in time"},
		{"nobody nat vm1", "lab nobody is not running (no daemon on " + nobody + "); start it with: cloonix-labd up LABFILE"},
	}
	for _, c := range cases {
		cmd := e.command(strings.Fields(c.args)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitError {
			t.Errorf("%s: err = %v, want exit %d", c.args, err, exitError)
		}
		if want := "cloonix-proxy: " + c.want + "\n"; stderr.String() != want {
			t.Errorf("%s:\n got stderr %q\nwant        %q", c.args, stderr.String(), want)
		}
	}
	log, err := os.ReadFile(filepath.Join(e.dirs.State, "proxy.log"))
	if err != nil || !strings.Contains(string(log), "no DHCP lease yet") {
		t.Errorf("proxy.log = %q, %v", log, err)
	}
	rootLog, err := os.ReadFile(filepath.Join(filepath.Dir(e.dirs.State), "proxy.log"))
	if err != nil || !strings.Contains(string(rootLog), "lab nobody is not running") {
		t.Errorf("state-root proxy.log = %q, %v", rootLog, err)
	}
}

func TestProxyUsage(t *testing.T) {
	e := env{vars: []string{"HOME=" + t.TempDir()}}
	for _, c := range []struct {
		args string
		code int
		out  string
	}{
		{"-h", 0, "ProxyUseFdpass yes"},
		{"--help", 0, "ansible_paramiko_proxy_command"},
		{"--version", 0, "cloonix-proxy dev"},
		{"nemo nat", 2, "want 3 arguments"},
		{"nemo nat vm1:x", 2, "bad port"},
		{"--bogus nemo nat vm1", 2, "unknown option --bogus"},
		{"../x nat vm1", 2, `lab name "../x" contains '/'`},
		{"Nemo nat vm1", 2, `lab name "Nemo" contains upper case`},
		{"nemo nat a\\b", 2, `host "a\\b" is not a VM name`},
	} {
		out, err := e.command(strings.Fields(c.args)...).CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		if code != c.code || !strings.Contains(string(out), c.out) {
			t.Errorf("%s: exit %d, output %q; want exit %d containing %q", c.args, code, out, c.code, c.out)
		}
	}
}

func TestProxyStdioHalfClose(t *testing.T) {
	e := newEnv(t, &backend{targets: map[string]string{"vm1": echoServer(t, "hello ")}})
	cmd := e.command("nemo", "nat", "vm1:22")
	msg := strings.Repeat("0123456789", 300_000)
	cmd.Stdin = strings.NewReader(msg)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	if string(out) != "hello "+msg+"bye" {
		t.Fatalf("got %d bytes, want %d", len(out), len(msg)+9)
	}
}

func TestProxyConfigSocket(t *testing.T) {
	e := newEnv(t, &backend{targets: map[string]string{"vm1": echoServer(t, "")}})
	// "far" is an alias in the client config for nemo's socket.
	cfg, err := labpath.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Dir(cfg), 0o700)
	// "away" is a remote server whose ssh_config leads to a closed port on loopback (nothing leaves the
	// machine): the proxy says it cannot reach it, naming the server.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(closed.Addr().(*net.TCPAddr).Port)
	closed.Close()
	sshCfg := filepath.Join(t.TempDir(), "ssh_config")
	os.WriteFile(sshCfg, []byte("Host nohost\n  HostName 127.0.0.1\n  Port "+port+"\n  BatchMode yes\n"), 0o600)
	os.WriteFile(cfg, []byte("# servers\n[server.far]\nsocket = \""+e.dirs.CtlSocket()+"\" # local\n[server.away]\nssh = 'me@nohost'\nssh_config = '"+sshCfg+"'\n"), 0o600)
	cmd := e.command("far", "nat", "vm1")
	cmd.Stdin = strings.NewReader("ping")
	out, err := cmd.Output()
	if err != nil || string(out) != "pingbye" {
		t.Fatalf("out %q err %v", out, err)
	}
	out, _ = e.command("away", "nat", "vm1").CombinedOutput()
	if !strings.Contains(string(out), "server away (me@nohost): cannot reach me@nohost: ssh: connect to host 127.0.0.1 port "+port+": Connection refused") {
		t.Errorf("remote entry: %q", out)
	}
}

func TestProxyFDPass(t *testing.T) {
	e := newEnv(t, &backend{targets: map[string]string{"vm1": echoServer(t, "hi ")}})
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "ours"), os.NewFile(uintptr(fds[1]), "theirs")
	defer ours.Close()
	cmd := e.command("--fdpass", "nemo", "nat", "vm1")
	cmd.Stdin, cmd.Stdout = theirs, theirs
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	theirs.Close()
	buf, oob := make([]byte, 1), make([]byte, syscall.CmsgSpace(4))
	n, oobn, _, _, err := syscall.Recvmsg(fds[0], buf, oob, 0)
	if err != nil || n != 1 {
		t.Fatalf("recvmsg: n=%d err=%v", n, err)
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("control messages: %v %v", msgs, err)
	}
	passed, err := syscall.ParseUnixRights(&msgs[0])
	if err != nil || len(passed) != 1 {
		t.Fatalf("rights: %v %v", passed, err)
	}
	f := os.NewFile(uintptr(passed[0]), "tunnel")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "through the fd")
	c.(*net.UnixConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "hi through the fdbye" {
		t.Fatalf("got %q, %v", got, err)
	}
	// Without a socket on stdout, --fdpass explains itself.
	cmd = e.command("--fdpass", "nemo", "nat", "vm1")
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "cloonix-proxy: --fdpass: stdout is not a socket") {
		t.Errorf("fdpass to a pipe: %q", out)
	}
}

// TestProxyEndsWhenSSHIsGone: ssh killed (its stdin to the proxy ends, its end of the proxy's stdout closes)
// while the VM never closes its side, as a hung VM would not. The proxy exits at once; without the hang-up
// watch it would stay until the VM closed, which for a hung VM is TCP's retry time. The half-close case, a
// reader that stays, is TestProxyStdioHalfClose.
func TestProxyEndsWhenSSHIsGone(t *testing.T) {
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	e := newEnv(t, &backend{targets: map[string]string{"vm1": serveTCP(t, func(c net.Conn) {
		io.WriteString(c, "SSH-2.0-hung\r\n")
		<-hold
	})}})
	cmd := e.command("nemo", "nat", "vm1:22")
	cmd.Stdin = strings.NewReader("") // stdin ends at once
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	banner := make([]byte, 14)
	if _, err := io.ReadFull(r, banner); err != nil || string(banner) != "SSH-2.0-hung\r\n" {
		t.Fatalf("banner %q, %v", banner, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("the proxy ended while its stdout still had a reader: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	r.Close() // ssh is gone
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("proxy exit: %v", err)
		}
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the proxy did not end after its stdout's reader went away")
	}
}
