package unixsock

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const nobody = 65534

// asNobody runs python3 code as uid/gid 65534 (the tests run as root in CI).
func asNobody(t *testing.T, code string, args ...string) *exec.Cmd {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test runs a process as another user and needs root; CI runs as root")
	}
	cmd := exec.Command("/usr/bin/python3", append([]string{"-c", code}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	return cmd
}

func TestCheckDir(t *testing.T) {
	dir := t.TempDir()
	priv := filepath.Join(dir, "priv")
	if err := os.Mkdir(priv, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := CheckDir(priv); err != nil {
		t.Errorf("private dir: %v", err)
	}
	open := filepath.Join(dir, "open")
	_ = os.Mkdir(open, 0o755)
	_ = os.Chmod(open, 0o755)
	if err := CheckDir(open); err == nil || !strings.Contains(err.Error(), "chmod 700") {
		t.Errorf("0755 dir: %v", err)
	}
	link := filepath.Join(dir, "link")
	_ = os.Symlink(priv, link)
	if err := CheckDir(link); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("symlink: %v", err)
	}
	other := filepath.Join(dir, "other")
	_ = os.Mkdir(other, 0o700)
	if err := os.Chown(other, nobody, nobody); err == nil {
		if err := CheckDir(other); err == nil || !strings.Contains(err.Error(), "belongs to uid 65534") {
			t.Errorf("dir of another user: %v", err)
		}
	}
}

// TestGuardRefusesOtherUsers: a process of another uid that reaches the socket (its directory opened up on
// purpose here) is disconnected at once; our own connections are served, up to the cap.
func TestGuardRefusesOtherUsers(t *testing.T) {
	dir, err := os.MkdirTemp("", "unixsock-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	_ = os.Chmod(dir, 0o755)
	path := filepath.Join(dir, "ctl.sock")
	raw, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(path, 0o666)
	refusals := make(chan string, 16)
	l := Guard(raw, 2, func(why string) { refusals <- why })
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("hello\n"))
			go func() { time.Sleep(3 * time.Second); c.Close() }()
		}
	}()
	out, err := asNobody(t, `
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(3)
print(repr(s.recv(16)))
`, path).CombinedOutput()
	if err != nil {
		t.Fatalf("client as nobody: %v\n%s", err, out)
	}
	if strings.TrimSpace(string(out)) != "b''" {
		t.Errorf("a process of another uid read %s, want an immediate EOF", out)
	}
	select {
	case why := <-refusals:
		if !strings.Contains(why, "65534") {
			t.Errorf("refusal reported as %q", why)
		}
	case <-time.After(2 * time.Second):
		t.Error("refusal not reported")
	}
	// Our own: served, up to the cap of 2.
	read := func() string {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		b := make([]byte, 16)
		n, _ := c.Read(b)
		return string(b[:n])
	}
	if a, b := read(), read(); a != "hello\n" || b != "hello\n" {
		t.Fatalf("own connections: %q %q", a, b)
	}
	if c := read(); c != "" {
		t.Errorf("a third connection past the cap of 2 was served: %q", c)
	}
}

// TestDialRefusesOtherUsersDaemon: a socket served by a process of another uid is refused by the client.
func TestDialRefusesOtherUsersDaemon(t *testing.T) {
	dir, err := os.MkdirTemp("", "unixsock-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	_ = os.Chmod(dir, 0o777)
	path := filepath.Join(dir, "ctl.sock")
	srv := asNobody(t, `
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(4)
print("ready", flush=True)
c, _ = s.accept()
time.sleep(5)
`, path)
	stdout, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("server as nobody: %q %v", line, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := Dial(ctx, path); err == nil || !strings.Contains(err.Error(), "must be private") {
		t.Errorf("Dial into an open directory: %v", err)
	}
	if _, err := dialOwn(ctx, path); !errors.Is(err, ErrOtherUser) {
		t.Errorf("dial to another user's daemon: %v, want ErrOtherUser", err)
	}
}
