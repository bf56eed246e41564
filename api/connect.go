package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/cloonix-go/cloonix/api/tunnel"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/relay"
)

// connectOK is written on a hijacked connection once the backend has dialled.
const connectOK = "HTTP/1.1 200 Connection established\r\n\r\n"

// ParseTarget splits a CONNECT target "host:port" and checks both parts. The
// host is a VM name (or address); the port is 1..65535.
func ParseTarget(target string) (host string, port uint16, err error) {
	h, p, err := net.SplitHostPort(target)
	if err != nil {
		return "", 0, Errorf(ErrBadRequest, "bad CONNECT target %q: want VM:PORT, e.g. r1:22", oneLine(target))
	}
	if labpath.CheckHost(h) != nil {
		return "", 0, Errorf(ErrBadRequest, "bad CONNECT target %q: empty or invalid host; want VM:PORT, e.g. r1:22", oneLine(target))
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return "", 0, Errorf(ErrBadRequest, "bad CONNECT target %q: port must be 1..65535", oneLine(target))
	}
	return h, uint16(n), nil
}

func (s *Server) serveConnect(w http.ResponseWriter, r *http.Request) {
	via := r.Header.Get(tunnel.ViaHeader)
	if via == "" {
		writeError(w, http.StatusBadRequest, "CONNECT needs the header "+tunnel.ViaHeader+": <entity>, e.g. "+tunnel.ViaHeader+": nat")
		return
	}
	if r.ContentLength != 0 {
		writeError(w, http.StatusBadRequest, "CONNECT must not have a body")
		return
	}
	host, port, err := ParseTarget(r.Host)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if _, ok := w.(http.Hijacker); !ok {
		writeError(w, http.StatusInternalServerError, errHijack.Error())
		return
	}
	timeout := s.DialTimeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	start := time.Now()
	up, err := s.b.Dial(ctx, via, host, port)
	cancel()
	if err != nil {
		st := StatusOf(err)
		reason := Reason(err)
		if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrTimeout) {
			reason = fmt.Sprintf("connecting to %s port %d via %s timed out after %s", host, port, via, time.Since(start).Round(time.Millisecond))
		}
		s.log.Info("tunnel dial failed", "via", via, "host", host, "port", port, "status", st, "err", err)
		w.Header().Set("Connection", "close")
		writeError(w, st, reason)
		return
	}
	down, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		s.log.Warn("tunnel hijack failed", "err", err)
		return
	}
	_ = down.SetDeadline(time.Time{})
	if _, err := io.WriteString(down, connectOK); err != nil {
		up.Close()
		down.Close()
		return
	}
	// Bytes the client sent after the request head, already buffered.
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		if _, err := up.Write(b); err != nil {
			up.Close()
			down.Close()
			return
		}
	}
	s.log.Debug("tunnel open", "via", via, "host", host, "port", port, "dial", time.Since(start))
	if !s.track(down, up) {
		return
	}
	go func() {
		defer s.wg.Done()
		defer s.untrack(down, up)
		relay.Both(down, up)
	}()
}

// track registers a tunnel so that Serve can close it at shutdown. It
// returns false (and closes both) if the server is shutting down.
func (s *Server) track(a, b net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tunnels == nil {
		a.Close()
		b.Close()
		return false
	}
	s.tunnels[a] = struct{}{}
	s.tunnels[b] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(a, b net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tunnels, a)
	delete(s.tunnels, b)
}

func (s *Server) closeTunnels() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.tunnels {
		c.Close()
	}
	s.tunnels = nil
}
