package lan

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"
)

// ErrNotConnected is what a stream port's writer returns while its qemu socket is not connected.
var ErrNotConnected = errors.New("lan: stream port not connected")

const (
	streamReadBuffer = 256 << 10
	backoffMin       = 20 * time.Millisecond
	backoffMax       = time.Second
)

// streamWriter writes batches of frames to the current connection of a stream port in one
// writev: length prefixes and small frames are packed into a scratch buffer, large frames go out
// as their own iovec without a copy.
type streamWriter struct {
	conn    atomic.Pointer[net.UnixConn]
	scratch []byte
	iov     [][]byte
	bufs    net.Buffers
}

const (
	scratchSize    = 64 << 10
	copyFrameLimit = 256 // frames up to this size are copied next to their header
)

func newStreamWriter() *streamWriter {
	return &streamWriter{scratch: make([]byte, 0, scratchSize), iov: make([][]byte, 0, 2*maxBatch+2)}
}

// WriteFrames implements FrameWriter.
func (w *streamWriter) WriteFrames(frames [][]byte) error {
	c := w.conn.Load()
	if c == nil {
		return ErrNotConnected
	}
	w.scratch, w.iov = w.scratch[:0], w.iov[:0]
	run := -1 // start in scratch of the iovec being extended, or -1
	for _, f := range frames {
		need := HeaderSize
		if len(f) <= copyFrameLimit {
			need += len(f)
		}
		if len(w.scratch)+need > cap(w.scratch) || len(w.iov)+2 > cap(w.iov) {
			if err := w.flush(c); err != nil {
				return err
			}
			run = -1
		}
		at := len(w.scratch)
		w.scratch = binary.BigEndian.AppendUint32(w.scratch, uint32(len(f)))
		if len(f) <= copyFrameLimit {
			w.scratch = append(w.scratch, f...)
		}
		if run >= 0 {
			w.iov[len(w.iov)-1] = w.scratch[run:len(w.scratch)]
		} else {
			run = at
			w.iov = append(w.iov, w.scratch[at:len(w.scratch)])
		}
		if len(f) > copyFrameLimit {
			w.iov = append(w.iov, f)
			run = -1
		}
	}
	return w.flush(c)
}

// flush writes the pending iovecs and empties them.
func (w *streamWriter) flush(c *net.UnixConn) error {
	if len(w.iov) == 0 {
		return nil
	}
	w.bufs = w.iov
	_, err := w.bufs.WriteTo(c)
	clear(w.iov)
	w.scratch, w.iov = w.scratch[:0], w.iov[:0]
	if err != nil {
		return fmt.Errorf("lan: write frames to stream socket: %w", err)
	}
	return nil
}

// RunQemuPort attaches a port named name to sw and connects it to the qemu stream socket at
// socketPath (qemu runs "-netdev stream,server=on,addr.type=unix,addr.path=socketPath"). Frames
// from qemu go into the switch; frames from the switch go to qemu in batches, one writev each.
// When the connection fails or qemu exits, the port loses carrier (frames to it are dropped) and
// RunQemuPort dials again with backoff, keeping the same port, so its counters survive restarts.
// It returns ctx.Err() once ctx is done, after detaching the port. log may be nil.
func RunQemuPort(ctx context.Context, sw *Switch, name, socketPath string, log *slog.Logger) error {
	return AttachQemuPort(sw, name).Run(ctx, socketPath, log)
}

// QemuPort is a switch port for a qemu stream socket, attached (so it can be found by name and its link
// set) before Run connects it.
type QemuPort struct {
	*Port
	sw *Switch
	w  *streamWriter
}

// AttachQemuPort attaches a port named name to sw, without carrier until Run connects it.
func AttachQemuPort(sw *Switch, name string) *QemuPort {
	w := newStreamWriter()
	return &QemuPort{Port: sw.attach(name, w, false), sw: sw, w: w}
}

// Run is RunQemuPort for an attached port: it connects to socketPath, reconnects when qemu restarts, and
// detaches the port once ctx is done.
func (q *QemuPort) Run(ctx context.Context, socketPath string, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sw, p, w := q.sw, q.Port, q.w
	log = log.With("lan", sw.name, "port", p.name, "socket", socketPath)
	defer p.Detach()
	dec := NewDecoder(nil, streamReadBuffer)
	var d net.Dialer
	backoff := backoffMin
	loggedDown := false
	for {
		c, err := d.DialContext(ctx, "unix", socketPath)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !loggedDown {
				log.Debug("lan: qemu socket not reachable yet, retrying", "err", err)
				loggedDown = true
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, backoffMax)
			continue
		}
		backoff, loggedDown = backoffMin, false
		uc := c.(*net.UnixConn)
		log.Info("lan: connected to qemu")
		err = serveStream(ctx, p, w, dec, uc)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Info("lan: qemu disconnected, reconnecting", "err", err)
	}
}

// serveStream runs one connection of a stream port until it fails or ctx is done.
func serveStream(ctx context.Context, p *Port, w *streamWriter, dec *Decoder, c *net.UnixConn) error {
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	w.conn.Store(c)
	p.setCarrier(true)
	defer func() {
		p.setCarrier(false)
		w.conn.Store(nil)
		_ = c.Close()
	}()
	dec.Reset(c)
	for {
		f, err := dec.Next()
		if err != nil {
			if errors.Is(err, ErrEmptyFrame) {
				p.Input(nil) // counted as a runt
				continue
			}
			return err
		}
		p.Input(f)
	}
}
