package fakeguest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// ServeQemuServer plays qemu's "-netdev stream,server=on" side: it listens on the unix socket path and
// attaches the guest to each accepted connection in turn (a reconnecting switch gets a fresh link),
// until ctx is done. ready, if not nil, is closed once the socket is listening.
func (g *Guest) ServeQemuServer(ctx context.Context, path string, ready chan<- struct{}) error {
	_ = os.Remove(path)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return fmt.Errorf("fake guest: listen on qemu socket %s: %w", path, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	defer ln.Close()
	if ready != nil {
		close(ready)
	}
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("fake guest: accept on qemu socket %s: %w", path, err)
		}
		done := g.AttachStream(c)
		select {
		case <-done:
		case <-ctx.Done():
			_ = c.Close()
			<-done
			return ctx.Err()
		}
	}
}

// ServeQemuClient plays qemu's "-netdev stream,server=off" side (what gvproxy -listen-qemu expects): it
// connects to the unix socket path, retrying until the peer listens, and serves the connection until
// it fails or ctx is done.
func (g *Guest) ServeQemuClient(ctx context.Context, path string) error {
	var d net.Dialer
	var c net.Conn
	for {
		var err error
		c, err = d.DialContext(ctx, "unix", path)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	err := <-g.AttachStream(c)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("fake guest: qemu socket %s: %w", path, err)
}

// ServeSink accepts TCP connections on port; it reads each one to EOF (the peer's half-close),
// discarding the bytes, answers the byte count as 8 bytes big-endian, and closes. The count lets a
// throughput client stop its clock only once the guest has every byte. It reads with a 256 KiB
// buffer: io.Copy into io.Discard reads 8 KiB at a time, which made the guest's receive path, not the
// NAT, the limit of a throughput benchmark. It returns when ctx is done.
func (g *Guest) ServeSink(ctx context.Context, port uint16) error {
	return g.serve(ctx, port, func(c net.Conn) {
		n, err := Sink(c)
		if err == nil {
			_, _ = c.Write(binary.BigEndian.AppendUint64(nil, uint64(n)))
		}
	})
}

// Sink reads r to EOF with a 256 KiB buffer and returns the byte count.
func Sink(r io.Reader) (int64, error) {
	buf := make([]byte, 256<<10)
	return io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf)
}

// ServeEcho1 accepts TCP connections on port; on each it reads one byte, writes it back and closes
// (the connect + 1 byte + close latency test).
func (g *Guest) ServeEcho1(ctx context.Context, port uint16) error {
	return g.serve(ctx, port, func(c net.Conn) {
		var one [1]byte
		if _, err := io.ReadFull(c, one[:]); err == nil {
			_, _ = c.Write(one[:])
		}
	})
}

func (g *Guest) serve(ctx context.Context, port uint16, handle func(net.Conn)) error {
	l, err := g.Listen(port)
	if err != nil {
		return fmt.Errorf("fake guest: listen on TCP port %d: %w", port, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = l.Close() })
	defer stop()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return ctx.Err()
			}
			return fmt.Errorf("fake guest: accept on TCP port %d: %w", port, err)
		}
		go func() {
			defer c.Close()
			handle(c)
		}()
	}
}

// ServeEchoStream accepts TCP connections on port; on each it echoes whatever it reads, as it arrives,
// until EOF (the request/response test: 1 byte each way, many times on one open connection, like
// netperf's TCP_RR).
func (g *Guest) ServeEchoStream(ctx context.Context, port uint16) error {
	return g.serve(ctx, port, func(c net.Conn) {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
}
