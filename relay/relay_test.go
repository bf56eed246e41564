package relay

import (
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// unixPair returns the two ends of a connected unix socket (which, unlike net.Pipe, can half-close).
func unixPair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(t.TempDir(), "s"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan *net.UnixConn, 1)
	go func() {
		c, _ := ln.AcceptUnix()
		accepted <- c
	}()
	c, err := net.DialUnix("unix", nil, ln.Addr().(*net.UnixAddr))
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

// TestBothCopiesAndPassesHalfClose: bytes go both ways, and a client's half-close reaches the far end
// while the answer still comes back.
func TestBothCopiesAndPassesHalfClose(t *testing.T) {
	client, a := unixPair(t)
	b, server := unixPair(t)
	done := make(chan struct{})
	go func() { defer close(done); Both(a, b) }()

	go func() {
		req, err := io.ReadAll(server) // to the client's half-close
		if err == nil {
			_, _ = server.Write(append([]byte("got "), req...))
		}
		server.Close()
	}()
	if _, err := client.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if err := client.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(client)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "got ping" {
		t.Fatalf("got %q, want %q", got, "got ping")
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Both did not return after both directions ended")
	}
}

// TestGrowStack: a goroutine that grew its stack up front still runs deep calls correctly.
func TestGrowStack(t *testing.T) {
	res := make(chan int, 1)
	go func() {
		GrowStack()
		res <- deep(2000)
	}()
	if got := <-res; got != 2000 {
		t.Fatalf("deep(2000) = %d", got)
	}
}

//go:noinline
func deep(n int) int {
	if n == 0 {
		return 0
	}
	return deep(n-1) + 1
}
