package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

// testHost is a host in a network namespace that the test makes, reached from this machine over a veth
// pair with addresses from 198.18.0.0/15 (the benchmarking range): traffic to it never leaves the machine.
type testHost struct {
	ns   string
	addr string
}

// netnsHost makes the namespace and the veth pair; they are removed when the test ends.
func netnsHost(t *testing.T) testHost {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test makes a network namespace (ip netns add) and needs root; CI runs as root")
	}
	id := os.Getpid() % 10000
	h := testHost{ns: fmt.Sprintf("cloonixe2e%d", id), addr: "198.18.0.2"}
	outer, inner := fmt.Sprintf("clx%dh", id), fmt.Sprintf("clx%dn", id)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	_ = exec.Command("ip", "netns", "del", h.ns).Run()
	_ = exec.Command("ip", "link", "del", outer).Run()
	run("netns", "add", h.ns)
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", outer).Run()
		_ = exec.Command("ip", "netns", "del", h.ns).Run()
	})
	run("link", "add", outer, "type", "veth", "peer", "name", inner)
	run("link", "set", inner, "netns", h.ns)
	run("addr", "add", "198.18.0.1/30", "dev", outer)
	run("link", "set", outer, "up")
	run("-n", h.ns, "addr", "add", h.addr+"/30", "dev", inner)
	run("-n", h.ns, "link", "set", inner, "up")
	run("-n", h.ns, "link", "set", "lo", "up")
	return h
}

// serveHTTP serves dir over HTTP on the test host (busybox httpd inside the namespace).
func (h testHost) serveHTTP(t *testing.T, dir string, port int) (stop func()) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", h.ns, "busybox", "httpd", "-f", "-p", fmt.Sprintf("%s:%d", h.addr, port), "-h", dir)
	if err := cmd.Start(); err != nil {
		t.Fatalf("busybox httpd in %s: %v", h.ns, err)
	}
	// Wait until it listens (from this machine, over the veth).
	deadline := time.Now().Add(5 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("%s:%d", h.addr, port), time.Second); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("httpd on %s:%d never answered", h.addr, port)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
}
