package remote

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

func TestCheckHello(t *testing.T) {
	s := Server{Name: "nemo", Dest: "alice@labhost", Lab: "nemo"}
	if err := s.checkHello(strings.TrimSpace(Hello("v1.2"))); err != nil {
		t.Errorf("own hello: %v", err)
	}
	if err := s.checkHello("bash: cloonix-labd: command not found"); !errors.Is(err, errNoHello) {
		t.Errorf("no hello: %v", err)
	}
	old := s.checkHello("cloonix-remote 0 v0.9")
	if old == nil || !strings.Contains(old.Error(), "upgrade `cloonix-labd` and `cloonix-proxy` on alice@labhost") {
		t.Errorf("older server: %v", old)
	}
	newer := s.checkHello("cloonix-remote 99 v9")
	if newer == nil || !strings.Contains(newer.Error(), "on this machine") {
		t.Errorf("newer server: %v", newer)
	}
	if err := s.checkHello("cloonix-remote x\x1b[2J"); err == nil || strings.Contains(err.Error(), "\x1b") {
		t.Errorf("malformed hello: %v", err)
	}
}

// exitErr is a real *exec.ExitError with the given code.
func exitErr(t *testing.T, code string) error {
	err := exec.Command("sh", "-c", "exit "+code).Run()
	if err == nil {
		t.Fatal("no exit error")
	}
	return err
}

func TestExplain(t *testing.T) {
	s := Server{Name: "nemo", Dest: "alice@labhost", Lab: "cisco", SSHConfig: "/c/ssh config"}
	for _, c := range []struct {
		code, stderr string
		hello        error
		want         string
	}{
		{"255", "Host key verification failed.\r\n", errNoHello, "ssh does not trust the host key of alice@labhost (unknown, or changed): check its fingerprint, then accept it with: ssh -F '/c/ssh config' -o BatchMode=no -o StrictHostKeyChecking=ask alice@labhost true"},
		{"255", "alice@labhost: Permission denied (publickey).\n", errNoHello, "alice@labhost refused the ssh login (alice@labhost: Permission denied (publickey).): authorize your key there (ssh-copy-id -F '/c/ssh config' alice@labhost)"},
		{"255", "ssh: connect to host labhost port 22: Connection refused\n", errNoHello, "cannot reach alice@labhost: ssh: connect to host labhost port 22: Connection refused"},
		{"127", "sh: 1: cloonix-labd: not found\n", errNoHello, "no `cloonix-labd` on the PATH of alice@labhost"},
		{"3", "No help topic for 'remote'\n", errNoHello, "older than remote servers"},
		{"3", "cloonix-labd: lab cisco is not up on this server\n", nil, "server nemo: lab cisco is not up on alice@labhost; start it with: cloonix-labd --server nemo up LABFILE"},
		{"1", "cloonix-labd: lab.toml:3:1: something\n", nil, "server nemo (alice@labhost): cloonix-labd: lab.toml:3:1: something"},
	} {
		err := s.explain(exitErr(t, c.code), c.hello, []byte(c.stderr))
		var re *Error
		if !errors.As(err, &re) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("exit %s, %q: got %q, want it to contain %q", c.code, c.stderr, err, c.want)
		}
	}
	// A remote command whose stderr was passed through: nothing more to print, its exit code kept.
	err := s.explain(exitErr(t, "4"), nil, nil)
	var re *Error
	if !errors.As(err, &re) || re.Msg != "" || re.ExitCode() != 4 {
		t.Errorf("passed-through failure: %#v", err)
	}
}

func TestHoldWriter(t *testing.T) {
	var out bytes.Buffer
	h := &holdWriter{out: &out}
	h.Write([]byte("ssh noise\n"))
	if out.Len() != 0 || string(h.bytes()) != "ssh noise\n" {
		t.Fatalf("held: out %q, held %q", out.String(), h.bytes())
	}
	h.release()
	h.Write([]byte("progress\n"))
	if out.String() != "ssh noise\nprogress\n" || len(h.bytes()) != 0 {
		t.Fatalf("released: out %q, held %q", out.String(), h.bytes())
	}
}

func TestKeysDiffer(t *testing.T) {
	a := Server{Name: "a", Dest: "u@h", Lab: "x"}
	b := a
	b.Lab = "y"
	if a.key(false) != b.key(false) || a.key(true) == b.key(true) {
		t.Error("one master per destination, one forward per lab")
	}
	c := a
	c.SSHConfig = "/f"
	if a.key(false) == c.key(false) {
		t.Error("another ssh_config is another master")
	}
}

func TestFindHello(t *testing.T) {
	out := []byte("Welcome to labhost!\nlast login: never\n" + Hello("v1") + "socket /run/x.sock\n")
	h, rest := findHello(out)
	if h != strings.TrimSpace(Hello("v1")) || string(rest) != "socket /run/x.sock\n" {
		t.Errorf("after a chatty login: %q %q", h, rest)
	}
	if h, _ := findHello([]byte("bash: cloonix-labd: command not found\n")); h != "" {
		t.Errorf("no hello found %q", h)
	}
}
