package relay

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.DialTCP("tcp", nil, l.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

// TestBothHalfClose: a client's FIN reaches the server after all its bytes, the server's answer still comes
// back, and Both returns once both directions have ended.
func TestBothHalfClose(t *testing.T) {
	client, a := tcpPair(t)
	b, server := tcpPair(t)
	done := make(chan struct{})
	go func() { Both(a, b); close(done) }()
	msg := bytes.Repeat([]byte("cloonix"), BufSize) // several buffers' worth
	go func() {
		_, _ = client.Write(msg)
		_ = client.CloseWrite()
	}()
	if got, err := io.ReadAll(server); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("server read %d bytes (%v), want %d then EOF", len(got), err, len(msg))
	}
	_, _ = server.Write([]byte("bye"))
	_ = server.CloseWrite()
	if got, err := io.ReadAll(client); err != nil || string(got) != "bye" {
		t.Fatalf("client read %q (%v) after its half-close, want bye", got, err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Both did not return after both directions ended")
	}
}
