package netstack

import (
	"net"
	"sync"
)

var copyBufPool = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

type closeWriter interface{ CloseWrite() error }

// Proxy copies bytes both ways between a and b with 256 KiB buffers (see copyBufSize) until both
// directions have ended, then closes both. When one side's reader reaches EOF, the other side gets a
// CloseWrite (a FIN), so half-close works in both directions; on any other error both connections are
// closed at once. It returns the byte counts a→b and b→a.
func Proxy(a, b net.Conn) (aToB, bToA int64) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		aToB = copyHalf(b, a)
	}()
	bToA = copyHalf(a, b)
	wg.Wait()
	_ = a.Close()
	_ = b.Close()
	return aToB, bToA
}

// copyHalf copies src to dst. At EOF it half-closes dst; on an error it closes both.
func copyHalf(dst, src net.Conn) int64 {
	bp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bp)
	buf := *bp
	var total int64
	for {
		nr, rerr := src.Read(buf)
		if nr > 0 {
			nw, werr := dst.Write(buf[:nr])
			total += int64(nw)
			if werr != nil {
				_ = src.Close()
				_ = dst.Close()
				return total
			}
		}
		if rerr != nil {
			if isEOF(rerr) {
				if cw, ok := dst.(closeWriter); ok {
					_ = cw.CloseWrite()
				} else {
					_ = dst.Close()
				}
			} else {
				_ = src.Close()
				_ = dst.Close()
			}
			return total
		}
	}
}
