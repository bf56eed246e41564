package vsockdev

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/virtq"
)

// guest plays the Linux driver on two rings in one region of fake guest memory: it posts rx buffers, reads
// what the device wrote into them, and puts packets on the tx ring.
type guest struct {
	t       *testing.T
	mem     *virtq.Memory
	data    []byte
	d       *Device
	rx      ringState
	tx      ringState
	seen    uint16 // rx used entries read
	bufs    map[uint16]uint64
	pending []packet
}

type ringState struct {
	base uint64 // desc table; avail at +0x1000, used at +0x2000
	next uint16
	free uint16
}

const gbase = 0x100000
const qnum = 64

func newGuest(t *testing.T) *guest {
	data := make([]byte, 8<<20)
	g := &guest{t: t, data: data, mem: &virtq.Memory{Regions: []virtq.Region{{GuestPhys: gbase, User: gbase, Data: data}}},
		rx: ringState{base: gbase + 0x1000}, tx: ringState{base: gbase + 0x10000}, bufs: map[uint16]uint64{}}
	g.d = New(3, nil)
	rq, err := virtq.New(g.mem, qnum, g.rx.base, g.rx.base+0x1000, g.rx.base+0x2000, 0)
	if err != nil {
		t.Fatal(err)
	}
	tq, err := virtq.New(g.mem, qnum, g.tx.base, g.tx.base+0x1000, g.tx.base+0x2000, 0)
	if err != nil {
		t.Fatal(err)
	}
	g.d.Attach(txQueue, tq, func() {})
	g.d.Attach(rxQueue, rq, func() {})
	return g
}

func (g *guest) at(gpa uint64) []byte { return g.data[gpa-gbase:] }

func (g *guest) desc(r *ringState, i uint16, addr uint64, n uint32, flags, next uint16) {
	d := g.at(r.base + 16*uint64(i))
	binary.LittleEndian.PutUint64(d, addr)
	binary.LittleEndian.PutUint32(d[8:], n)
	binary.LittleEndian.PutUint16(d[12:], flags)
	binary.LittleEndian.PutUint16(d[14:], next)
}

func (g *guest) offer(r *ringState, head uint16) {
	binary.LittleEndian.PutUint16(g.at(r.base+0x1000+4+2*uint64(r.next%qnum)), head)
	r.next++
	binary.LittleEndian.PutUint16(g.at(r.base+0x1000+2), r.next)
}

// postRx posts n rx buffers of 3776 bytes (what Linux 6.1 posts: one writable descriptor).
func (g *guest) postRx(n int) {
	g.d.mu.Lock()                          // guest memory is shared with the device: in the test, under its lock
	n = min(n, qnum-int(g.rx.next-g.seen)) // never more than the ring holds
	for i := 0; i < n; i++ {
		slot := g.rx.free % qnum
		g.rx.free++
		addr := uint64(gbase + 0x100000 + uint64(slot)*4096)
		g.desc(&g.rx, slot, addr, 3776, 2, 0)
		g.bufs[slot] = addr
		g.offer(&g.rx, slot)
	}
	g.d.mu.Unlock()
	g.d.Kick(rxQueue)
}

// recv returns the packets the device wrote since the last call.
func (g *guest) recv() []packet {
	g.d.mu.Lock() // guest memory is shared with the device: in the test, under its lock
	defer g.d.mu.Unlock()
	used := g.at(g.rx.base + 0x2000)
	idx := binary.LittleEndian.Uint16(used[2:])
	var out []packet
	for ; g.seen != idx; g.seen++ {
		e := used[4+8*int(g.seen%qnum):]
		id, n := binary.LittleEndian.Uint32(e), binary.LittleEndian.Uint32(e[4:])
		b := g.at(g.bufs[uint16(id)])[:n]
		h, err := ParseHeader(b)
		if err != nil {
			g.t.Fatalf("device wrote a bad packet: %v", err)
		}
		if int(h.Len) != int(n)-HeaderLen {
			g.t.Fatalf("used len %d for a packet of %d data bytes", n, h.Len)
		}
		out = append(out, packet{hdr: h, data: append([]byte(nil), b[HeaderLen:]...)})
	}
	return out
}

// send puts one packet on the tx ring (header and data in two descriptors, as Linux does) and kicks.
func (g *guest) send(h Header, data []byte) {
	g.d.mu.Lock() // guest memory is shared with the device: in the test, under its lock
	h.Len = uint32(len(data))
	slot := (g.tx.next * 2) % qnum
	addr := uint64(gbase + 0x200000 + uint64(slot)*0x10000)
	h.Put(g.at(addr))
	copy(g.at(addr+0x100), data)
	g.desc(&g.tx, slot, addr, HeaderLen, 1, slot+1)
	g.desc(&g.tx, slot+1, addr+0x100, uint32(len(data)), 0, 0)
	g.offer(&g.tx, slot)
	g.d.mu.Unlock()
	g.d.Kick(txQueue)
}

// from is a header of a packet from the guest's port gp to the host's port hp.
func from(op uint16, gp, hp uint32, bufAlloc, fwd uint32) Header {
	return Header{SrcCID: 3, DstCID: HostCID, SrcPort: gp, DstPort: hp, Type: TypeStream, Op: op, BufAlloc: bufAlloc, FwdCnt: fwd}
}

// waitPacket waits for the next packet with op from the device.
func (g *guest) waitPacket(op uint16) packet {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, p := range g.recv() {
			if p.hdr.Op == op {
				return p
			}
			g.pending = append(g.pending, p)
		}
		time.Sleep(time.Millisecond)
	}
	g.t.Fatalf("no packet with op %d from the device", op)
	return packet{}
}

// dial opens a stream from the host and lets the guest accept it with buf_alloc.
func (g *guest) dial(port, bufAlloc uint32) *Conn {
	g.postRx(32)
	type res struct {
		c   *Conn
		err error
	}
	done := make(chan res, 1)
	go func() {
		c, err := g.d.Dial(context.Background(), port)
		done <- res{c, err}
	}()
	req := g.waitPacket(OpRequest)
	if req.hdr.DstPort != port || req.hdr.SrcCID != HostCID || req.hdr.DstCID != 3 || req.hdr.BufAlloc != BufAlloc {
		g.t.Fatalf("request %+v", req.hdr)
	}
	g.send(from(OpResponse, port, req.hdr.SrcPort, bufAlloc, 0), nil)
	r := <-done
	if r.err != nil {
		g.t.Fatal(r.err)
	}
	return r.c
}

func TestStream(t *testing.T) {
	g := newGuest(t)
	c := g.dial(22, 256<<10)
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	rw := g.waitPacket(OpRW)
	if string(rw.data) != "hello" || rw.hdr.DstPort != 22 {
		t.Fatalf("RW %+v %q", rw.hdr, rw.data)
	}
	g.send(from(OpRW, 22, rw.hdr.SrcPort, 256<<10, 5), []byte("world"))
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "world" {
		t.Fatalf("read %q %v", buf[:n], err)
	}
	c.Close()
	if sh := g.waitPacket(OpShutdown); sh.hdr.Flags != ShutdownSend|ShutdownRcv {
		t.Errorf("close sent shutdown flags %d", sh.hdr.Flags)
	}
}

func TestHalfCloseAndEOF(t *testing.T) {
	g := newGuest(t)
	c := g.dial(22, 256<<10)
	req := c.key.host
	h := from(OpShutdown, 22, req, 256<<10, 0)
	h.Flags = ShutdownSend
	g.send(h, nil)
	if _, err := c.Read(make([]byte, 4)); !errors.Is(err, io.EOF) {
		t.Fatalf("read after the guest's SHUTDOWN(send): %v", err)
	}
	if _, err := c.Write([]byte("still")); err != nil {
		t.Fatalf("write after the guest's SHUTDOWN(send): %v", err)
	}
	if rw := g.waitPacket(OpRW); string(rw.data) != "still" {
		t.Fatalf("RW %q", rw.data)
	}
	c.CloseWrite()
	if sh := g.waitPacket(OpShutdown); sh.hdr.Flags != ShutdownSend {
		t.Errorf("CloseWrite sent flags %d", sh.hdr.Flags)
	}
}

func TestRefused(t *testing.T) {
	g := newGuest(t)
	g.postRx(4)
	done := make(chan error, 1)
	go func() {
		_, err := g.d.Dial(context.Background(), 2222)
		done <- err
	}()
	req := g.waitPacket(OpRequest)
	g.send(from(OpRST, 2222, req.hdr.SrcPort, 0, 0), nil)
	if err := <-done; !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial to a port with no listener: %v", err)
	}
}

// TestCredit: the host never sends more than the guest's credit, and sends more when the guest's reader
// takes data (CREDIT_UPDATE).
func TestCredit(t *testing.T) {
	g := newGuest(t)
	c := g.dial(22, 1000)
	wrote := make(chan error, 1)
	go func() {
		_, err := c.Write(make([]byte, 2500))
		wrote <- err
	}()
	got := 0
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		for _, p := range g.recv() {
			if p.hdr.Op == OpRW {
				got += len(p.data)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got != 1000 {
		t.Fatalf("sent %d bytes against a credit of 1000", got)
	}
	select {
	case <-wrote:
		t.Fatal("the write finished without credit")
	default:
	}
	g.send(from(OpCreditUpdate, 22, c.key.host, 1000, 1000), nil)
	g.postRx(32)
	g.send(from(OpCreditUpdate, 22, c.key.host, 1000, 2000), nil)
	g.postRx(32)
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	for _, p := range g.recv() {
		if p.hdr.Op == OpRW {
			got += len(p.data)
		}
	}
	if got != 2500 {
		t.Fatalf("sent %d of 2500 bytes", got)
	}
}

// TestGuestMisbehaves: past the credit, unknown streams, guest-opened streams, bad headers. None stalls or
// crashes the device; a good stream goes on.
func TestGuestMisbehaves(t *testing.T) {
	g := newGuest(t)
	good := g.dial(22, 256<<10)
	bad := g.dial(23, 256<<10)
	// Past the credit the host offered (BufAlloc): the stream is reset.
	big := make([]byte, MaxData)
	for i := 0; i < BufAlloc/MaxData+1; i++ {
		g.send(from(OpRW, 23, bad.key.host, 256<<10, 0), big)
	}
	g.waitPacket(OpRST)
	if _, err := bad.Read(make([]byte, 1)); err == nil {
		// data before the reset may be read; the stream must end
		for {
			if _, err := bad.Read(make([]byte, 1<<20)); err != nil {
				break
			}
		}
	}
	// A stream the host does not know gets RST; a guest-opened stream too.
	g.send(from(OpRW, 99, 40000, 0, 0), []byte("x"))
	if p := g.waitPacket(OpRST); p.hdr.DstPort != 99 {
		t.Errorf("RST to %d", p.hdr.DstPort)
	}
	g.send(from(OpRequest, 1234, 22, 0, 0), nil)
	if p := g.waitPacket(OpRST); p.hdr.DstPort != 1234 {
		t.Errorf("RST to %d", p.hdr.DstPort)
	}
	// Wrong CID, wrong type, short packets: dropped or RST, counted.
	h := from(OpRW, 22, good.key.host, 256<<10, 0)
	h.SrcCID = 7
	g.send(h, []byte("spoof"))
	h = from(OpRW, 22, good.key.host, 256<<10, 0)
	h.Type = 2
	g.send(h, []byte("seqpacket"))
	g.d.mu.Lock()
	g.d.receive([]byte{1, 2, 3})
	g.d.mu.Unlock()
	if g.d.Bad() < 2 {
		t.Errorf("bad packets counted: %d", g.d.Bad())
	}
	// The good stream still works.
	g.send(from(OpRW, 22, good.key.host, 256<<10, 0), []byte("alive"))
	buf := make([]byte, 16)
	n, err := good.Read(buf)
	if err != nil || string(buf[:n]) != "alive" {
		t.Fatalf("good stream after the bad packets: %q %v", buf[:n], err)
	}
}

func TestDialWithoutDriver(t *testing.T) {
	d := New(3, nil)
	if _, err := d.Dial(context.Background(), 22); err == nil {
		t.Fatal("dial without queues succeeded")
	}
}

func TestDialTimeout(t *testing.T) {
	g := newGuest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := g.d.Dial(ctx, 22); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("dial the guest never answers: %v", err)
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	h := Header{SrcCID: 1, DstCID: 2, SrcPort: 3, DstPort: 4, Len: 5, Type: 6, Op: 7, Flags: 8, BufAlloc: 9, FwdCnt: 10}
	got, err := ParseHeader(h.Marshal())
	if err != nil || got != h {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := ParseHeader(make([]byte, 43)); err == nil {
		t.Fatal("short header parsed")
	}
}

// FuzzReceive feeds the device what a guest may put on its tx ring: it must not panic, and the device stays
// usable.
func FuzzReceive(f *testing.F) {
	f.Add(from(OpRW, 22, 49152, 100, 0).Marshal())
	f.Add(append(from(OpShutdown, 22, 49152, 0, 0).Marshal(), 1, 2, 3))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		d := New(3, nil)
		d.mu.Lock()
		d.conns[connKey{host: 49152, guest: 22}] = &Conn{d: d, key: connKey{49152, 22}, state: stateOpen}
		d.conns[connKey{host: 49152, guest: 22}].cond = sync.NewCond(&d.mu)
		d.receive(raw)
		d.mu.Unlock()
	})
}

// TestRepliesBounded: a guest that posts no rx buffers and sends packets for unknown streams cannot make the
// device queue answers without bound; a corrupt ring does not spin it.
func TestRepliesBounded(t *testing.T) {
	g := newGuest(t)
	for i := 0; i < maxQueuedReplies+500; i++ {
		g.send(from(OpRW, uint32(1000+i), 40000, 0, 0), []byte("x"))
	}
	g.d.mu.Lock()
	queued := len(g.d.out)
	g.d.mu.Unlock()
	if queued > maxQueuedReplies {
		t.Fatalf("%d replies queued for a guest with no rx buffers", queued)
	}
	g.d.mu.Lock()
	binary.LittleEndian.PutUint16(g.at(g.rx.base+0x1000+2), g.rx.next+1000) // an available index far ahead
	g.d.mu.Unlock()
	done := make(chan struct{})
	go func() { g.d.Kick(rxQueue); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a corrupt rx ring stalled the device")
	}
}

// TestStoppedResetsStreams: when the guest's driver stops (reset, reboot), open streams end at once.
func TestStoppedResetsStreams(t *testing.T) {
	g := newGuest(t)
	c := g.dial(22, 256<<10)
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	g.d.Stopped(rxQueue)
	select {
	case err := <-done:
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("read after the driver stopped: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a read on a stream the guest forgot did not end")
	}
}
