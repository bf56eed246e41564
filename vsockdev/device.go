package vsockdev

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/cloonix-go/cloonix/virtq"
)

// BufAlloc is the receive buffer each host end of a stream offers the guest (its credit).
const BufAlloc = 256 << 10

// Queue numbers.
const (
	rxQueue = 0
	txQueue = 1
)

// Bounds on what a guest can make the device hold: replies (RSTs) queued for a guest that posts no rx
// buffers, and the credit a guest may advertise (Linux offers 256 KiB).
const (
	maxQueuedReplies = 4096
	maxPeerCredit    = 1 << 20
)

// closeWait is how long a closed stream waits for the guest's RST before it sends its own and forgets it.
const closeWait = 8 * time.Second

// Device is one VM's virtio-vsock device. It implements vhostuser.Device.
type Device struct {
	cid uint64
	log *slog.Logger

	mu       sync.Mutex
	rx, tx   *virtq.Queue
	notifyRx func()
	notifyTx func()
	out      []packet // waiting for rx buffers
	conns    map[connKey]*Conn
	nextPort uint32
	bad      int // malformed guest packets or chains, counted
}

type connKey struct{ host, guest uint32 }

type packet struct {
	hdr  Header
	data []byte
}

// New makes the device for a guest of context id cid (3 or more).
func New(cid uint64, log *slog.Logger) *Device {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Device{cid: cid, log: log, conns: map[connKey]*Conn{}, nextPort: 49152}
}

// Features implements vhostuser.Device: none beyond VERSION_1 (stream sockets only).
func (d *Device) Features() uint64 { return 0 }

// Config implements vhostuser.Device: the guest's CID, a little-endian u64.
func (d *Device) Config() []byte { return binary.LittleEndian.AppendUint64(nil, d.cid) }

// NumQueues implements vhostuser.Device: rx and tx (the event queue stays qemu's).
func (d *Device) NumQueues() int { return 2 }

// Attach implements vhostuser.Device.
func (d *Device) Attach(i int, q *virtq.Queue, notify func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch i {
	case rxQueue:
		d.rx, d.notifyRx = q, notify
		d.flushRx()
	case txQueue:
		d.tx, d.notifyTx = q, notify
	}
}

// Stopped implements vhostuser.Stopper: the guest's driver stopped (a reset, a reboot), so it forgot every
// stream; the host ends show a reset instead of waiting for bytes that cannot come.
func (d *Device) Stopped(i int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns {
		c.finish(syscall.ECONNRESET)
	}
	d.out = nil
}

// Kick implements vhostuser.Device.
func (d *Device) Kick(i int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch i {
	case rxQueue:
		d.flushRx()
	case txQueue:
		d.drainTx()
	}
}

// Bad counts the malformed chains and packets the guest sent.
func (d *Device) Bad() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.bad
}

// send queues a packet to the guest and writes what the rx buffers take. Called with d.mu held.
func (d *Device) send(h Header, data []byte) {
	h.SrcCID, h.DstCID, h.Type = HostCID, d.cid, TypeStream
	h.Len = uint32(len(data))
	d.out = append(d.out, packet{hdr: h, data: data})
	d.flushRx()
}

// flushRx writes queued packets into the guest's rx buffers, splitting data to fit. Called with d.mu held.
func (d *Device) flushRx() {
	if d.rx == nil || len(d.out) == 0 {
		return
	}
	wrote := false
	for len(d.out) > 0 {
		c, err := d.rx.Pop()
		if err != nil {
			d.badChain("rx", err)
			if errors.Is(err, virtq.ErrRing) {
				break
			}
			wrote = true // Pop gave the bad chain back as used
			continue
		}
		if c == nil {
			break
		}
		room := c.WritableLen() - HeaderLen
		if room < 0 || (room == 0 && len(d.out[0].data) > 0) {
			d.badChain("rx", fmt.Errorf("rx buffer of %d bytes", c.WritableLen()))
			d.rx.Push(c.Head, 0)
			wrote = true
			continue
		}
		p := &d.out[0]
		n := min(room, len(p.data))
		h := p.hdr
		h.Len = uint32(n)
		buf := make([]byte, HeaderLen, HeaderLen+n)
		h.Put(buf)
		buf = append(buf, p.data[:n]...)
		scatter(c.Writable, buf)
		d.rx.Push(c.Head, uint32(len(buf)))
		wrote = true
		if n < len(p.data) {
			p.data = p.data[n:]
		} else {
			d.out[0] = packet{}
			d.out = d.out[1:]
		}
	}
	if wrote && d.notifyRx != nil {
		d.notifyRx()
	}
}

// scatter copies b into the buffers in order.
func scatter(bufs [][]byte, b []byte) {
	for _, w := range bufs {
		if len(b) == 0 {
			return
		}
		n := copy(w, b)
		b = b[n:]
	}
}

// gather returns the first max bytes of the buffers, one slice.
func gather(bufs [][]byte, max int) []byte {
	var out []byte
	for _, r := range bufs {
		if len(out) >= max {
			break
		}
		out = append(out, r[:min(len(r), max-len(out))]...)
	}
	return out
}

func (d *Device) badChain(q string, err error) {
	d.bad++
	if d.bad <= 10 || d.bad%1000 == 0 {
		d.log.Warn("vsock: malformed descriptor chain from the guest", "queue", q, "err", err, "count", d.bad)
	}
}

// drainTx handles every packet the guest put on the tx queue. Called with d.mu held.
func (d *Device) drainTx() {
	if d.tx == nil {
		return
	}
	used := false
	for {
		c, err := d.tx.Pop()
		if err != nil {
			d.badChain("tx", err)
			if errors.Is(err, virtq.ErrRing) {
				break
			}
			used = true
			continue
		}
		if c == nil {
			break
		}
		raw := gather(c.Readable, HeaderLen+MaxData)
		d.tx.Push(c.Head, 0)
		used = true
		d.receive(raw)
	}
	if used && d.notifyTx != nil {
		d.notifyTx()
	}
}

// receive handles one packet from the guest. Called with d.mu held.
func (d *Device) receive(raw []byte) {
	h, err := ParseHeader(raw)
	if err != nil || int(h.Len) > len(raw)-HeaderLen || h.Len > MaxData {
		d.bad++
		return
	}
	data := raw[HeaderLen : HeaderLen+int(h.Len)]
	if h.SrcCID != d.cid || h.DstCID != HostCID {
		d.bad++
		return
	}
	reply := Header{SrcPort: h.DstPort, DstPort: h.SrcPort}
	rst := func() {
		if h.Op == OpRST {
			return // an RST is never answered
		}
		if len(d.out) >= maxQueuedReplies {
			d.bad++ // a guest that posts no rx buffers: drop the answer rather than grow
			return
		}
		reply.Op = OpRST
		d.send(reply, nil)
	}
	if h.Type != TypeStream {
		rst()
		return
	}
	c := d.conns[connKey{host: h.DstPort, guest: h.SrcPort}]
	if c == nil {
		// A stream the host does not know, or a guest's REQUEST: the guest may not open streams to the host.
		rst()
		return
	}
	c.peerBufAlloc, c.peerFwdCnt = h.BufAlloc, h.FwdCnt
	switch h.Op {
	case OpResponse:
		if c.state == stateConnecting {
			c.state = stateOpen
		}
	case OpRW:
		if c.state != stateOpen || c.peerDone {
			c.reset()
			return
		}
		if len(c.in)+len(data) > BufAlloc {
			d.bad++
			d.log.Warn("vsock: the guest sent past its credit; resetting the stream", "port", h.SrcPort)
			c.reset()
			return
		}
		c.in = append(c.in, data...)
	case OpCreditUpdate:
	case OpCreditRequest:
		c.sendCredit()
	case OpShutdown:
		if h.Flags&ShutdownSend != 0 {
			c.peerDone = true
		}
		if h.Flags&ShutdownRcv != 0 {
			c.peerNoRecv = true
		}
		if c.peerDone && c.peerNoRecv {
			// Both directions closed by the guest: end the stream.
			rst()
			c.finish(io.EOF)
		}
	case OpRST:
		if c.state == stateConnecting {
			c.finish(errRefused)
		} else {
			c.finish(syscall.ECONNRESET)
		}
	case OpRequest:
		c.reset()
	}
	c.cond.Broadcast()
}

var errRefused = errors.New("refused")

// Dial opens a stream to the guest's vsock port and returns once the guest accepted. It fails when the
// guest's driver is not running, nothing listens on the port (the guest answered RST), or ctx ends.
func (d *Device) Dial(ctx context.Context, port uint32) (*Conn, error) {
	d.mu.Lock()
	if d.rx == nil || d.tx == nil {
		d.mu.Unlock()
		return nil, errors.New("the guest's vsock driver is not running (no virtio-vsock queues yet)")
	}
	var key connKey
	for i := 0; ; i++ {
		if i > 16384 {
			d.mu.Unlock()
			return nil, errors.New("no free host vsock port")
		}
		key = connKey{host: d.nextPort, guest: port}
		d.nextPort++
		if d.nextPort == 0 || d.nextPort < 49152 {
			d.nextPort = 49152
		}
		if d.conns[key] == nil {
			break
		}
	}
	c := &Conn{d: d, key: key, state: stateConnecting}
	c.cond = sync.NewCond(&d.mu)
	d.conns[key] = c
	d.send(Header{Op: OpRequest, SrcPort: key.host, DstPort: port, BufAlloc: BufAlloc}, nil)
	stop := context.AfterFunc(ctx, func() {
		d.mu.Lock()
		c.cond.Broadcast()
		d.mu.Unlock()
	})
	defer stop()
	for c.state == stateConnecting && ctx.Err() == nil {
		c.cond.Wait()
	}
	defer d.mu.Unlock()
	switch {
	case c.state == stateOpen:
		return c, nil
	case errors.Is(c.err, errRefused):
		return nil, fmt.Errorf("nothing listens on the guest's vsock port %d: %w", port, syscall.ECONNREFUSED)
	case c.err != nil:
		return nil, c.err
	}
	c.reset()
	return nil, fmt.Errorf("the guest did not answer on vsock port %d: %w", port, ctx.Err())
}

// Conn states.
const (
	stateConnecting = iota
	stateOpen
	stateDone
)

// Conn is the host end of a vsock stream. It is a net.Conn with CloseWrite.
type Conn struct {
	d    *Device
	key  connKey
	cond *sync.Cond // on d.mu

	state                    int
	err                      error // why the stream ended
	in                       []byte
	peerDone                 bool // the guest sends no more
	peerNoRecv               bool // the guest receives no more
	wroteShut                bool
	closed                   bool
	peerBufAlloc, peerFwdCnt uint32
	txCnt                    uint32 // bytes sent
	fwdCnt                   uint32 // bytes our reader took
	sentFwdCnt               uint32 // fwdCnt the guest was last told
	rdl, wdl                 time.Time
}

// header is a packet header of this stream with the host's credit. Called with d.mu held.
func (c *Conn) header(op uint16) Header {
	c.sentFwdCnt = c.fwdCnt
	return Header{Op: op, SrcPort: c.key.host, DstPort: c.key.guest, BufAlloc: BufAlloc, FwdCnt: c.fwdCnt}
}

func (c *Conn) sendCredit() { c.d.send(c.header(OpCreditUpdate), nil) }

// finish ends the stream with err and forgets it. Called with d.mu held.
func (c *Conn) finish(err error) {
	if c.state == stateDone {
		return
	}
	c.state, c.err = stateDone, err
	delete(c.d.conns, c.key)
	c.cond.Broadcast()
}

// reset sends RST and ends the stream. Called with d.mu held.
func (c *Conn) reset() {
	if c.state != stateDone {
		c.d.send(c.header(OpRST), nil)
		c.finish(syscall.ECONNRESET)
	}
}

// wait waits on the cond until done or the deadline dl passes; it tells whether the deadline passed.
func (c *Conn) wait(dl time.Time) bool {
	if !dl.IsZero() {
		if !time.Now().Before(dl) {
			return true
		}
		t := time.AfterFunc(time.Until(dl), func() {
			c.d.mu.Lock()
			c.cond.Broadcast()
			c.d.mu.Unlock()
		})
		defer t.Stop()
	}
	c.cond.Wait()
	return false
}

// Read implements net.Conn.
func (c *Conn) Read(p []byte) (int, error) {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	for len(c.in) == 0 {
		switch {
		case c.closed:
			return 0, net.ErrClosed
		case c.peerDone || c.state == stateDone:
			if c.err != nil && !errors.Is(c.err, io.EOF) && c.state == stateDone {
				return 0, c.err
			}
			return 0, io.EOF
		}
		if c.wait(c.rdl) {
			return 0, os.ErrDeadlineExceeded
		}
	}
	n := copy(p, c.in)
	c.in = c.in[n:]
	if len(c.in) == 0 {
		c.in = nil
	}
	c.fwdCnt += uint32(n)
	if c.state == stateOpen && c.fwdCnt-c.sentFwdCnt >= BufAlloc/4 {
		c.sendCredit()
	}
	return n, nil
}

// credit is how much the guest can take now. Called with d.mu held.
func (c *Conn) credit() uint32 {
	inFlight := c.txCnt - c.peerFwdCnt
	if int32(inFlight) < 0 {
		inFlight = 0 // the guest claims to have taken more than it was sent: nothing is in flight
	}
	alloc := min(c.peerBufAlloc, maxPeerCredit)
	if inFlight >= alloc {
		return 0
	}
	return alloc - inFlight
}

// Write implements net.Conn: it sends p as RW packets within the guest's credit, waiting for credit.
func (c *Conn) Write(p []byte) (int, error) {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	sent := 0
	for sent < len(p) {
		switch {
		case c.closed:
			return sent, net.ErrClosed
		case c.wroteShut:
			return sent, errors.New("vsock: write after CloseWrite")
		case c.state == stateDone || c.peerNoRecv:
			if c.err != nil && !errors.Is(c.err, io.EOF) {
				return sent, c.err
			}
			return sent, syscall.EPIPE
		}
		cr := c.credit()
		if cr == 0 {
			if c.wait(c.wdl) {
				return sent, os.ErrDeadlineExceeded
			}
			continue
		}
		n := min(int(cr), len(p)-sent, MaxData)
		data := append([]byte(nil), p[sent:sent+n]...)
		c.d.send(c.header(OpRW), data)
		c.txCnt += uint32(n)
		sent += n
	}
	return sent, nil
}

// CloseWrite sends SHUTDOWN(send): the guest's reader sees the end, the other direction goes on.
func (c *Conn) CloseWrite() error {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	if c.state == stateOpen && !c.wroteShut {
		c.wroteShut = true
		h := c.header(OpShutdown)
		h.Flags = ShutdownSend
		c.d.send(h, nil)
	}
	return nil
}

// Close implements net.Conn: SHUTDOWN both ways, then RST when the guest has not sent its own within 8 s.
func (c *Conn) Close() error {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	c.cond.Broadcast()
	if c.state != stateOpen {
		c.finish(net.ErrClosed)
		return nil
	}
	h := c.header(OpShutdown)
	h.Flags = ShutdownSend | ShutdownRcv
	c.d.send(h, nil)
	time.AfterFunc(closeWait, func() {
		c.d.mu.Lock()
		defer c.d.mu.Unlock()
		c.reset()
	})
	return nil
}

// Addr is a vsock address.
type Addr struct {
	CID  uint64
	Port uint32
}

// Network implements net.Addr.
func (a Addr) Network() string { return "vsock" }

// String implements net.Addr.
func (a Addr) String() string { return fmt.Sprintf("vsock:%d:%d", a.CID, a.Port) }

// LocalAddr implements net.Conn.
func (c *Conn) LocalAddr() net.Addr { return Addr{HostCID, c.key.host} }

// RemoteAddr implements net.Conn.
func (c *Conn) RemoteAddr() net.Addr { return Addr{c.d.cid, c.key.guest} }

// SetDeadline implements net.Conn.
func (c *Conn) SetDeadline(t time.Time) error { return c.setDeadlines(&t, &t) }

// SetReadDeadline implements net.Conn.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.setDeadlines(&t, nil) }

// SetWriteDeadline implements net.Conn.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.setDeadlines(nil, &t) }

// setDeadlines sets the read and/or write deadline and wakes waiters to look at it.
func (c *Conn) setDeadlines(r, w *time.Time) error {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	if r != nil {
		c.rdl = *r
	}
	if w != nil {
		c.wdl = *w
	}
	c.cond.Broadcast()
	return nil
}
