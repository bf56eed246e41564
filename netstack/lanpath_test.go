package netstack

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// TestDialVMThroughLAN checks the production dial-in path (NAT → lan.Switch → lan.RunQemuPort → qemu
// stream socket → guest listening as qemu does): bytes reach the guest's sink, whose count comes back
// after the half-close, and the 1-byte echo answers.
func TestDialVMThroughLAN(t *testing.T) {
	h := newLANHarness(t, 1500)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() { _ = h.guest.ServeSink(ctx, 5001) }()
	go func() { _ = h.guest.ServeEcho1(ctx, 7) }()

	c, err := dialListening(ctx, h, 5001)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const total = 8 << 20
	buf := make([]byte, 256<<10)
	for sent := 0; sent < total; sent += len(buf) {
		if _, err := c.Write(buf); err != nil {
			t.Fatalf("write after %d bytes: %v", sent, err)
		}
	}
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	var cnt [8]byte
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, cnt[:]); err != nil {
		t.Fatalf("read the sink's count: %v", err)
	}
	if got := binary.BigEndian.Uint64(cnt[:]); got != total {
		t.Fatalf("guest sink got %d bytes, want %d", got, total)
	}

	e, err := dialListening(ctx, h, 7)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	_ = e.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := e.Write([]byte{'q'}); err != nil {
		t.Fatal(err)
	}
	one := make([]byte, 1)
	if _, err := io.ReadFull(e, one); err != nil || one[0] != 'q' {
		t.Fatalf("echo: %q, %v; want \"q\"", one, err)
	}
	if n, err := e.Read(one); err != io.EOF {
		t.Fatalf("after the echo: read %d, %v; want EOF (the guest closes)", n, err)
	}
}

// dialListening dials r1's port, retrying while the guest refuses: its listener starts on a goroutine.
func dialListening(ctx context.Context, h *harness, port uint16) (net.Conn, error) {
	for {
		c, err := h.dial(ctx, port)
		if errors.Is(err, syscall.ECONNREFUSED) && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		return c, err
	}
}
