package vsockdev

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cloonix-go/cloonix/relay"
	"github.com/cloonix-go/cloonix/unixsock"
)

// The control protocol of a vsock back-end helper, on its UNIX socket: the client sends "CONNECT <port>\n",
// the helper dials the guest's port and answers "OK\n", then the connection carries the stream; or it answers
// "ERR <reason>\n" and closes. "ERR refused" means nothing listens on that port.

// dialTimeout bounds how long the helper waits for the guest to accept a stream.
const dialTimeout = 15 * time.Second

// ServeControl answers control connections on l (a socket of this user only) with streams of d, until ctx
// ends.
func ServeControl(ctx context.Context, l net.Listener, d *Device) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	l = unixsock.Guard(l, 512, nil)
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("vsock control: %w", err)
		}
		go serveControlConn(ctx, c, d)
	}
}

func serveControlConn(ctx context.Context, c net.Conn, d *Device) {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := readLine(c)
	if err != nil {
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	arg, ok := strings.CutPrefix(line, "CONNECT ")
	port, perr := strconv.ParseUint(arg, 10, 32)
	if !ok || perr != nil {
		fmt.Fprintf(c, "ERR bad request %q; send CONNECT <port>\n", line)
		c.Close()
		return
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	vc, err := d.Dial(dctx, uint32(port))
	cancel()
	if err != nil {
		reason := err.Error()
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			reason = "refused"
		case errors.Is(err, context.DeadlineExceeded):
			reason = "timeout"
		}
		fmt.Fprintf(c, "ERR %s\n", reason)
		c.Close()
		return
	}
	if _, err := c.Write([]byte("OK\n")); err != nil {
		vc.Close()
		c.Close()
		return
	}
	relay.Both(c, vc)
}

// readLine reads one short line a byte at a time (nothing after it is consumed).
func readLine(c net.Conn) (string, error) {
	var b []byte
	one := make([]byte, 1)
	for len(b) < 512 {
		if _, err := c.Read(one); err != nil {
			return "", err
		}
		if one[0] == '\n' {
			return string(b), nil
		}
		b = append(b, one[0])
	}
	return "", errors.New("line too long")
}

// ErrRefused is DialControl's error when nothing listens on the guest's port.
var ErrRefused = errors.New("nothing listens on that vsock port")

// ErrTimeout is DialControl's error when the guest did not answer in time.
var ErrTimeout = errors.New("the guest did not answer in time")

// DialControl asks the vsock helper at path for a stream to the guest's port and returns it once the guest
// accepted.
func DialControl(ctx context.Context, path string, port uint32) (net.Conn, error) {
	c, err := unixsock.Dial(ctx, path)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := fmt.Fprintf(c, "CONNECT %d\n", port); err != nil {
		c.Close()
		return nil, err
	}
	line, err := readLine(c)
	if err != nil {
		c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("the vsock helper closed the connection: %w", err)
	}
	if line != "OK" {
		c.Close()
		reason := strings.TrimPrefix(line, "ERR ")
		switch reason {
		case "refused":
			return nil, fmt.Errorf("vsock port %d: %w", port, ErrRefused)
		case "timeout":
			return nil, fmt.Errorf("vsock port %d: %w", port, ErrTimeout)
		}
		return nil, errors.New(reason)
	}
	if !stop() {
		c.Close()
		return nil, ctx.Err()
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}
