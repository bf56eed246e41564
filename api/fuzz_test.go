package api

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// scriptConn is a net.Conn that reads a fixed input then EOF and records
// what is written.
type scriptConn struct {
	r      io.Reader
	mu     sync.Mutex
	out    bytes.Buffer
	closed chan struct{}
	once   sync.Once
}

func (c *scriptConn) Read(p []byte) (int, error) { return c.r.Read(p) }
func (c *scriptConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}
func (c *scriptConn) Close() error                     { c.once.Do(func() { close(c.closed) }); return nil }
func (c *scriptConn) LocalAddr() net.Addr              { return &net.UnixAddr{Name: "fuzz", Net: "unix"} }
func (c *scriptConn) RemoteAddr() net.Addr             { return &net.UnixAddr{Name: "fuzz", Net: "unix"} }
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// oneConnListener hands out one connection, then blocks until closed.
type oneConnListener struct {
	c    chan net.Conn
	done chan struct{}
	once sync.Once
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.c:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}
func (l *oneConnListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *oneConnListener) Addr() net.Addr { return &net.UnixAddr{Name: "fuzz", Net: "unix"} }

// panicLog fails the fuzz run if net/http recovered a handler panic.
type panicLog struct{ t *testing.T }

func (p panicLog) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte("panic")) {
		p.t.Errorf("handler panicked: %s", b)
	}
	return len(b), nil
}

func FuzzServeRequest(f *testing.F) {
	for _, s := range []string{
		"GET /v1/lab HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /v1/vms HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/leases HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /v1/down HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
		"CONNECT vm1:22 HTTP/1.1\r\nHost: vm1:22\r\nCloonix-Via: nat\r\n\r\nSSH-2.0-x\r\n",
		"CONNECT booting:22 HTTP/1.1\r\nHost: booting:22\r\nCloonix-Via: nat\r\n\r\n",
		"CONNECT [::1]:22 HTTP/1.1\r\nCloonix-Via: dog\r\n\r\n",
		"POST /v1/down HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\n",
		"\x00\xff\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	echo := startEcho(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		fb := &fakeBackend{echo: echo}
		s := NewServer(fb, slog.New(slog.DiscardHandler))
		s.DialTimeout = 20 * time.Millisecond
		hs := s.httpServer()
		hs.ErrorLog.SetOutput(panicLog{t})
		conn := &scriptConn{r: bytes.NewReader(in), closed: make(chan struct{})}
		l := &oneConnListener{c: make(chan net.Conn, 1), done: make(chan struct{})}
		l.c <- conn
		go hs.Serve(l)
		select {
		case <-conn.closed:
		case <-time.After(5 * time.Second):
			t.Fatalf("connection not closed for input %q", in)
		}
		hs.Close()
		s.closeTunnels()
		s.wg.Wait()
		conn.mu.Lock()
		out := append([]byte(nil), conn.out.Bytes()...)
		conn.mu.Unlock()
		if len(out) == 0 {
			return // input ended before a complete request
		}
		br := bufio.NewReader(bytes.NewReader(out))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("invalid response %q to %q: %v", out, in, err)
		}
		if resp.StatusCode < 100 || resp.StatusCode > 599 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if resp.StatusCode >= 400 {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			if strings.Contains(strings.TrimRight(string(body), "\n"), "\n") {
				t.Fatalf("reason not one line: %q", body)
			}
		}
	})
}
