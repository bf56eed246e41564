// Package tunnel is the tiny client side of the lab's CONNECT protocol: it
// asks a lab daemon, over its UNIX socket, to dial a VM, and hands back the
// socket as a raw byte stream. It does not import net/http, so that
// cloonix-proxy starts fast.
package tunnel

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/cloonix-go/cloonix/labpath"

	"github.com/cloonix-go/cloonix/termsafe"
	"github.com/cloonix-go/cloonix/unixsock"
)

// ViaHeader names the entity (for now a NAT, e.g. "nat") through which the
// daemon dials a CONNECT tunnel; the server reads the same constant.
const ViaHeader = "Cloonix-Via"

// Limits on what the daemon may answer.
const (
	maxHead = 16 << 10
	maxBody = 4 << 10
)

// Error is a refusal by the daemon: an HTTP status and its one-line reason.
type Error struct {
	Status int    // HTTP status, e.g. 404
	Reason string // one line, meant to be shown to the user as is
}

// Error returns the reason.
func (e *Error) Error() string { return e.Reason }

// Connect dials the daemon at socketPath, asks for host:port through entity
// and returns the connection once the daemon has answered 200. From then on
// the connection carries the tunnel's bytes; nothing of them has been read.
// A refusal is returned as *Error; a failure to reach the daemon wraps the
// dial error (os.ErrNotExist / syscall.ECONNREFUSED when no daemon runs).
// ctx bounds the whole exchange.
func Connect(ctx context.Context, socketPath, entity, host string, port uint16) (*net.UnixConn, error) {
	if entity == "" || strings.ContainsAny(entity, "\r\n") {
		return nil, errors.New("entity must be a non-empty name, e.g. nat")
	}
	if err := labpath.CheckHost(host); err != nil {
		return nil, err
	}
	target := net.JoinHostPort(host, strconv.Itoa(int(port)))
	return exchange(ctx, socketPath, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n"+ViaHeader+": "+entity+"\r\n\r\n")
}

// Get asks the daemon at socketPath for a streamed resource (path and query, e.g.
// "/v1/capture?target=lan12") and returns the connection once the daemon has answered 200: from then on it
// carries the body, until the daemon closes it (HTTP/1.0, so no chunking). Refusals are as for Connect; ctx
// bounds the request, not the stream: close the connection to end that.
func Get(ctx context.Context, socketPath, path string) (*net.UnixConn, error) {
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n") {
		return nil, errors.New("tunnel: bad path " + strconv.Quote(path))
	}
	return exchange(ctx, socketPath, "GET "+path+" HTTP/1.0\r\nHost: cloonix\r\n\r\n")
}

// exchange dials the daemon, sends req and reads the answer's head, within ctx.
func exchange(ctx context.Context, socketPath, req string) (*net.UnixConn, error) {
	uc, err := unixsock.Dial(ctx, socketPath) // our directory, our uid at the other end
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = uc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = uc.SetDeadline(time.Unix(1, 0)) })
	err = handshake(uc, req)
	if !stop() && err == nil {
		// ctx ended after the answer but the deadline is now in the past.
		err = ctx.Err()
	}
	if err != nil {
		uc.Close()
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			return nil, errors.Join(cerr, err)
		}
		return nil, err
	}
	_ = uc.SetDeadline(time.Time{})
	return uc, nil
}

func handshake(c *net.UnixConn, req string) error {
	if _, err := c.Write([]byte(req)); err != nil {
		return errors.New("send request: " + err.Error())
	}
	status, length, err := readHead(c)
	if err != nil {
		return err
	}
	if status == 200 {
		return nil
	}
	return &Error{Status: status, Reason: readReason(c, status, length)}
}

// readHead reads the status line and headers one byte at a time, so that no
// byte of the tunnel is consumed. It returns the status and Content-Length
// (-1 if absent).
func readHead(c *net.UnixConn) (status, length int, err error) {
	head := make([]byte, 0, 128)
	var b [1]byte
	for {
		n, err := c.Read(b[:])
		if n == 1 {
			head = append(head, b[0])
			if len(head) >= 4 && string(head[len(head)-4:]) == "\r\n\r\n" {
				break
			}
			if len(head) > maxHead {
				return 0, 0, errors.New("daemon sent an oversized response head")
			}
			continue
		}
		if err != nil {
			if len(head) == 0 {
				return 0, 0, errors.New("daemon closed the connection without answering: " + err.Error())
			}
			return 0, 0, errors.New("read response: " + err.Error())
		}
	}
	lines := strings.Split(string(head[:len(head)-4]), "\r\n")
	f := strings.SplitN(lines[0], " ", 3)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/1.") {
		return 0, 0, errors.New("daemon sent a malformed status line: " + strconv.Quote(lines[0]))
	}
	status, err = strconv.Atoi(f[1])
	if err != nil || status < 100 || status > 599 {
		return 0, 0, errors.New("daemon sent a malformed status line: " + strconv.Quote(lines[0]))
	}
	length = -1
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), "Content-Length") {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
				length = n
			}
		}
	}
	return status, length, nil
}

// readReason reads the error body (bounded) and makes it one line.
func readReason(c *net.UnixConn, status, length int) string {
	limit := maxBody
	if length >= 0 && length < limit {
		limit = length
	}
	buf := make([]byte, 0, limit)
	for len(buf) < limit {
		n, err := c.Read(buf[len(buf):limit])
		buf = buf[:len(buf)+n]
		if err != nil {
			break
		}
	}
	r := strings.TrimSpace(string(buf))
	r = termsafe.Line(strings.ReplaceAll(strings.ReplaceAll(r, "\r", ""), "\n", "; "), maxBody)
	if r == "" {
		r = "daemon refused the tunnel with status " + strconv.Itoa(status)
	}
	return r
}
