// Package relay copies a byte stream between two connections, both ways, through one pool of large buffers,
// and passes a half-close on: when one side's reader ends, the other side's writer is closed (a FIN) while the
// other direction keeps running. The NAT's egress flows, the control API's tunnels and cloonix-proxy use it.
// It imports only io and sync, so cloonix-proxy keeps its small import set.
package relay

import (
	"io"
	"sync"
)

// BufSize is the size of each direction's copy buffer. Through the NAT it sets the throughput: gVisor's gonet
// sends what one Write gives it as one segment train (netstack/tuning.go has the figures).
const BufSize = 256 << 10

var pool = sync.Pool{New: func() any { b := make([]byte, BufSize); return &b }}

// Copy copies src to dst through a pooled BufSize buffer until src ends, then half-closes dst: CloseWrite
// when dst has it, else Close. It returns the bytes written and the first error, nil after a clean end.
// ReadFrom and WriteTo are bypassed on purpose: a net.Conn's fall back to 32 KiB copies between unlike
// connections.
func Copy(dst io.Writer, src io.Reader) (int64, error) {
	bp := pool.Get().(*[]byte)
	n, err := io.CopyBuffer(onlyWriter{dst}, onlyReader{src}, *bp)
	pool.Put(bp)
	if err != nil {
		return n, err
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		return n, cw.CloseWrite()
	}
	if c, ok := dst.(io.Closer); ok {
		return n, c.Close()
	}
	return n, nil
}

// Both copies a to b and b to a until both directions have ended, then closes both. A direction that fails
// (an error other than its reader's end, or a half-close that fails) closes both at once, so that the other
// direction ends too.
func Both(a, b io.ReadWriteCloser) {
	var once sync.Once
	closeBoth := func() { once.Do(func() { _ = a.Close(); _ = b.Close() }) }
	done := make(chan struct{})
	go func() {
		defer close(done)
		GrowStack()
		if _, err := Copy(b, a); err != nil {
			closeBoth()
		}
	}()
	GrowStack()
	if _, err := Copy(a, b); err != nil {
		closeBoth()
	}
	<-done
	closeBoth()
}

// onlyWriter and onlyReader hide ReadFrom and WriteTo, so that io.CopyBuffer uses the pooled buffer.
type onlyWriter struct{ io.Writer }
type onlyReader struct{ io.Reader }

// growFrame is the stack frame GrowStack asks for. A write into a gVisor connection (gonet → TCP → IP →
// link endpoint → LAN switch) runs about 20 KiB deep; 24 KiB plus what the caller already uses makes the
// runtime give the goroutine a 32 KiB stack or more.
const growFrame = 24 << 10

// GrowStack makes the calling goroutine's stack big enough for a gVisor write path at once, while the
// stack is still shallow. A new goroutine starts with a small stack that the runtime doubles, copying
// every frame each time, when a call runs out of it; through gVisor's deep send path that cost 6-13% of
// the NAT's CPU per short connection (bench/nat.sh's connect + 1 byte + close, profiled). Growing once at
// the top copies only a few frames. Call it first thing in a goroutine that will write into a gonet
// connection.
func GrowStack() { growStack(0) }

//go:noinline
func growStack(i int) byte {
	var frame [growFrame]byte
	return frame[i] // the read keeps the array (and so the frame) from being optimised away
}
