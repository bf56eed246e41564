package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/api/tunnel"
)

func TestClientManagement(t *testing.T) {
	sock, fb := startServer(t)
	c := NewClient(sock)
	ctx := context.Background()
	lab, err := c.Lab(ctx)
	if err != nil || lab.Name != "nemo" || lab.PID != 42 {
		t.Fatalf("Lab = %+v, %v", lab, err)
	}
	vms, err := c.VMs(ctx)
	if err != nil || len(vms) != 1 || vms[0].IP != "10.0.2.15" {
		t.Fatalf("VMs = %+v, %v", vms, err)
	}
	_, err = c.Leases(ctx)
	var ae *tunnel.Error
	if !errors.As(err, &ae) || ae.Status != 502 || ae.Reason != "leases; broken" {
		t.Fatalf("Leases err = %#v", err)
	}
	if err := c.Down(ctx); err != nil || fb.downs.Load() != 1 {
		t.Fatalf("Down = %v (downs %d)", err, fb.downs.Load())
	}
}

func TestConnectHalfClose(t *testing.T) {
	sock, _ := startServer(t)
	conn, err := NewClient(sock).Connect(context.Background(), "nat", "vm1", 22)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msg := strings.Repeat("x", 1<<20)
	go func() {
		io.WriteString(conn, msg)
		conn.(*net.UnixConn).CloseWrite()
	}()
	got, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != msg+"bye" {
		t.Fatalf("got %d bytes, want %d (+bye)", len(got), len(msg))
	}
}

func TestConnectErrors(t *testing.T) {
	sock, _ := startServer(t)
	cases := []struct {
		entity, host string
		status       int
		reason       string
	}{
		{"dog", "vm1", 404, `lab nemo: no entity named "dog" (known: nat)`},
		{"nat", "vm9", 404, "lab nemo: unknown VM: vm9 (known: vm1, off, booting)"},
		{"nat", "off", 409, "lab nemo: off is not running (state: stopped)"},
		{"nat", "booting", 409, "lab nemo: booting has no DHCP lease yet (state: booting)"},
		{"nat", "closed", 502, "lab nemo: closed refused a connection to port 22"},
		{"nat", "slow", 504, "connecting to slow port 22 via nat timed out after"},
		{"nat", "gone", 503, "lab nemo: NAT nat is closed"},
	}
	for _, c := range cases {
		_, err := tunnel.Connect(context.Background(), sock, c.entity, c.host, 22)
		var te *tunnel.Error
		if !errors.As(err, &te) {
			t.Errorf("%s/%s: err = %v, want *tunnel.Error", c.entity, c.host, err)
			continue
		}
		if te.Status != c.status || !strings.HasPrefix(te.Reason, c.reason) {
			t.Errorf("%s/%s: got %d %q, want %d %q", c.entity, c.host, te.Status, te.Reason, c.status, c.reason)
		}
	}
}

// rawRequest sends raw bytes and returns the parsed response.
func rawRequest(t *testing.T, sock, req string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%q: no valid response: %v", req, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp, string(body)
}

func TestMalformedRequests(t *testing.T) {
	sock, _ := startServer(t)
	big := strings.Repeat("a", MaxHeaderBytes+4096)
	cases := []struct {
		name, req string
		status    int
	}{
		{"garbage", "\x00\x01\x02 hello\r\n\r\n", 400},
		{"no version", "GET /v1/lab\r\n\r\n", 400},
		{"bad version", "GET /v1/lab HTTP/9.9\r\nHost: x\r\n\r\n", 505},
		{"connect no via", "CONNECT vm1:22 HTTP/1.1\r\nHost: vm1:22\r\n\r\n", 400},
		{"connect no port", "CONNECT vm1 HTTP/1.1\r\nHost: vm1\r\nCloonix-Via: nat\r\n\r\n", 400},
		{"connect port 0", "CONNECT vm1:0 HTTP/1.1\r\nHost: vm1:0\r\nCloonix-Via: nat\r\n\r\n", 400},
		{"connect port big", "CONNECT vm1:70000 HTTP/1.1\r\nHost: vm1:70000\r\nCloonix-Via: nat\r\n\r\n", 400},
		{"connect empty host", "CONNECT :22 HTTP/1.1\r\nHost: :22\r\nCloonix-Via: nat\r\n\r\n", 400},
		{"connect body", "CONNECT vm1:22 HTTP/1.1\r\nHost: vm1:22\r\nCloonix-Via: nat\r\nContent-Length: 3\r\n\r\nabc", 400},
		{"huge header", "GET /v1/lab HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n", 431},
		{"bad content length", "POST /v1/down HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400},
		{"unknown path", "GET /v2/lab HTTP/1.1\r\nHost: x\r\n\r\n", 404},
		{"wrong method", "DELETE /v1/lab HTTP/1.1\r\nHost: x\r\n\r\n", 405},
		{"get down", "GET /v1/down HTTP/1.1\r\nHost: x\r\n\r\n", 405},
		{"ok", "GET /v1/lab HTTP/1.1\r\nHost: x\r\n\r\n", 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := rawRequest(t, sock, c.req)
			if resp.StatusCode != c.status {
				t.Errorf("status %d %q, want %d", resp.StatusCode, body, c.status)
			}
			if resp.StatusCode >= 400 && strings.Count(strings.TrimRight(body, "\n"), "\n") != 0 {
				t.Errorf("reason is not one line: %q", body)
			}
		})
	}
}

func TestListen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lab")
	sock := filepath.Join(dir, "api.sock")
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(sock)
	di, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Errorf("modes: socket %o dir %o", fi.Mode().Perm(), di.Mode().Perm())
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if _, err := Listen(sock); err == nil || !strings.Contains(err.Error(), "already answers") {
		t.Errorf("second Listen on a live socket: %v", err)
	}
	// Make it stale: close the listener without unlinking.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	l2, err := Listen(sock)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	l2.Close()
	os.Chmod(dir, 0o755)
	if _, err := Listen(sock); err == nil || !strings.Contains(err.Error(), "chmod 700") {
		t.Errorf("open directory accepted: %v", err)
	}
}

// TestVMAction: POST /v1/vm through the client gives the VM's status after the action; the backend's
// refusals keep their status and one-line reason; a request the server cannot take (bad JSON, no vm, an
// unknown action) is a 400 in one line that never reaches the backend.
func TestVMAction(t *testing.T) {
	sock, fb := startServer(t)
	c := NewClient(sock)
	ctx := context.Background()
	st, err := c.VMAction(ctx, "vm1", VMStop)
	if err != nil || st.Name != "vm1" || st.State != StateStopped {
		t.Fatalf("stop vm1 = %+v, %v", st, err)
	}
	if st, err := c.VMAction(ctx, "off", VMStart); err != nil || st.State != StateBooting {
		t.Fatalf("start off = %+v, %v", st, err)
	}
	refusals := []struct {
		vm, action string
		status     int
		reason     string
	}{
		{"vm9", VMStop, 404, `lab nemo: no VM named "vm9" (VMs: off, vm1)`},
		{"off", VMStop, 409, "vm off is stopped already; start it with: cloonix-labd --lab nemo vm start off"},
		{"vm1", VMStart, 409, "vm vm1 runs already"},
	}
	for _, r := range refusals {
		_, err := c.VMAction(ctx, r.vm, r.action)
		var te *tunnel.Error
		if !errors.As(err, &te) || te.Status != r.status || te.Reason != r.reason {
			t.Errorf("%s %s: err = %#v, want %d %q", r.action, r.vm, err, r.status, r.reason)
		}
	}
	before := fb.vmActions.Load()
	bad := []struct{ name, body, reason string }{
		{"unknown action", `{"vm":"vm1","action":"reboot"}`, `unknown action "reboot"; use "stop" or "start"`},
		{"no action", `{"vm":"vm1"}`, `unknown action ""`},
		{"no vm", `{"action":"stop"}`, "needs vm and action"},
		{"bad json", `{"vm":`, "vm request: unexpected EOF"},
		{"unknown field", `{"vm":"vm1","action":"stop","force":true}`, `unknown field "force"`},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			req := fmt.Sprintf("POST /v1/vm HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(b.body), b.body)
			resp, body := rawRequest(t, sock, req)
			if resp.StatusCode != 400 || !strings.Contains(body, b.reason) || strings.Count(strings.TrimRight(body, "\n"), "\n") != 0 {
				t.Errorf("status %d %q, want 400 with %q in one line", resp.StatusCode, body, b.reason)
			}
		})
	}
	if n := fb.vmActions.Load(); n != before {
		t.Errorf("%d bad requests reached the backend", n-before)
	}
	if resp, _ := rawRequest(t, sock, "GET /v1/vm HTTP/1.1\r\nHost: x\r\n\r\n"); resp.StatusCode != 405 {
		t.Errorf("GET /v1/vm: status %d, want 405", resp.StatusCode)
	}
}
