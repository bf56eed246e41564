package link

import (
	"errors"
	"io"
	"net"
	"sync"

	"github.com/cloonix-go/cloonix/lan"
)

// This file speaks qemu's -netdev stream framing for the fake test guest and the NAT's test harness with
// package lan's codec, the one production LAN ports (lan.RunQemuPort) use.

const maxPending = 8 << 20 // bytes queued toward a slow stream peer before frames are dropped

// StreamPort is a FramePort that writes to a stream socket in batches: Input appends the framed frame to
// a pending buffer, and one writer goroutine writes everything pending with one Write call.
type StreamPort struct {
	conn    net.Conn
	mu      sync.Mutex
	cond    *sync.Cond
	pending []byte
	closed  bool
	done    chan struct{}
	Drops   uint64 // frames dropped because the peer is too slow or they are too big (read under no lock; for tests)
}

// NewStreamPort starts the writer goroutine for conn.
func NewStreamPort(conn net.Conn) *StreamPort {
	p := &StreamPort{conn: conn, done: make(chan struct{}), pending: make([]byte, 0, 1<<20)}
	p.cond = sync.NewCond(&p.mu)
	go p.writer()
	return p
}

// Input implements FramePort.
func (p *StreamPort) Input(frame []byte) {
	p.mu.Lock()
	wake := len(p.pending) == 0 // the writer sleeps only on an empty buffer: wake it once per batch
	ok := !p.closed && len(p.pending)+lan.HeaderSize+len(frame) <= maxPending
	if ok {
		var err error
		p.pending, err = lan.AppendFrame(p.pending, frame) // fails only on a frame qemu would refuse
		ok = err == nil
	}
	if !ok {
		p.Drops++
	}
	p.mu.Unlock()
	if ok && wake {
		p.cond.Signal()
	}
}

func (p *StreamPort) writer() {
	defer close(p.done)
	spare := make([]byte, 0, 1<<20)
	for {
		p.mu.Lock()
		for len(p.pending) == 0 && !p.closed {
			p.cond.Wait()
		}
		if p.closed {
			p.mu.Unlock()
			return
		}
		buf := p.pending
		p.pending = spare[:0]
		p.mu.Unlock()
		if _, err := p.conn.Write(buf); err != nil {
			p.Close()
			return
		}
		spare = buf
	}
}

// Close stops the writer and closes the connection.
func (p *StreamPort) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	p.cond.Broadcast()
	_ = p.conn.Close()
}

// ReadStream reads framed frames from r with lan's Decoder and hands each to deliver until r fails. The
// frames are valid only during deliver.
func ReadStream(r io.Reader, deliver func(frames [][]byte)) error {
	dec := lan.NewDecoder(r, 512<<10)
	batch := make([][]byte, 1)
	for {
		f, err := dec.Next()
		if errors.Is(err, lan.ErrEmptyFrame) {
			continue
		}
		if err != nil {
			return err
		}
		batch[0] = f
		deliver(batch)
	}
}
