package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// fakeBackend answers from fixed data; vm1 dials an echo server that
// half-closes after echoing.
type fakeBackend struct {
	echo      string // TCP address of the echo server
	downs     atomic.Int32
	vmActions atomic.Int32 // VMAction calls that reached the backend
}

func (f *fakeBackend) Lab(context.Context) (LabInfo, error) {
	return LabInfo{Name: "nemo", PID: 42, Accel: "tcg"}, nil
}
func (f *fakeBackend) VMs(context.Context) ([]VMStatus, error) {
	return []VMStatus{{Name: "vm1", Kind: "linux", State: StateRunning, IP: "10.0.2.15"}}, nil
}
func (f *fakeBackend) Leases(context.Context) ([]Lease, error) {
	return nil, errors.New("leases\nbroken")
}
func (f *fakeBackend) Down(context.Context) error { f.downs.Add(1); return nil }

// VMAction knows vm1 (running, so a start is refused) and off (stopped, so a stop is refused).
func (f *fakeBackend) VMAction(_ context.Context, vm, action string) (VMStatus, error) {
	f.vmActions.Add(1)
	switch {
	case vm == "vm1" && action == VMStop, vm == "off" && action == VMStart:
		state := map[string]VMState{VMStop: StateStopped, VMStart: StateBooting}[action]
		return VMStatus{Name: vm, Kind: "linux", State: state}, nil
	case vm == "vm1":
		return VMStatus{}, Errorf(ErrRunning, "vm vm1 runs already")
	case vm == "off":
		return VMStatus{}, Errorf(ErrNotRunning, "vm off is stopped already; start it with: cloonix-labd --lab nemo vm start off")
	}
	return VMStatus{}, Errorf(ErrUnknownVM, "lab nemo: no VM named %q (VMs: off, vm1)", vm)
}

func (f *fakeBackend) Dial(ctx context.Context, entity, host string, port uint16) (net.Conn, error) {
	if entity != "nat" {
		return nil, Errorf(ErrUnknownEntity, `lab nemo: no entity named %q (known: nat)`, entity)
	}
	switch host {
	case "vm1":
		var d net.Dialer
		return d.DialContext(ctx, "tcp", f.echo)
	case "off":
		return nil, Errorf(ErrNotRunning, "lab nemo: off is not running (state: stopped)")
	case "booting":
		return nil, Errorf(ErrNoLease, "lab nemo: booting has no DHCP lease yet (state: booting)")
	case "closed":
		return nil, Errorf(ErrRefused, "lab nemo: closed refused a connection to port %d", port)
	case "slow":
		<-ctx.Done()
		return nil, ctx.Err()
	case "gone":
		return nil, fmt.Errorf("lab nemo: NAT nat is closed: %w", net.ErrClosed)
	}
	return nil, Errorf(ErrUnknownVM, "lab nemo: unknown VM: %s (known: vm1, off, booting)", host)
}

// startEcho runs a TCP echo server on loopback that echoes until EOF, then
// writes "bye" and closes its write side.
func startEcho(t testing.TB) string {
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
				io.Copy(c, c)
				c.Write([]byte("bye"))
				c.(*net.TCPConn).CloseWrite()
				io.Copy(io.Discard, c)
			}()
		}
	}()
	return l.Addr().String()
}

// startServer serves a fakeBackend on a socket in a private directory.
func startServer(t testing.TB) (sock string, fb *fakeBackend) {
	fb = &fakeBackend{echo: startEcho(t)}
	sock = filepath.Join(t.TempDir(), "run", "api.sock")
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(fb, nil)
	s.DialTimeout = 200 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return sock, fb
}
