package lan

import (
	"sync"
	"sync/atomic"
)

// FrameWriter takes frames from the switch toward one peer. The switch calls WriteFrames from the
// port's single writer goroutine with a batch of one or more frames, each a whole Ethernet frame.
// The frames are valid only during the call. A WriteFrames that blocks holds up only its own port:
// the port's queue fills and further frames to it are dropped and counted.
type FrameWriter interface {
	WriteFrames(frames [][]byte) error
}

// PortStats counts a port's traffic. Rx is toward the switch, Tx toward the peer.
type PortStats struct {
	RxFrames, RxBytes uint64
	TxFrames, TxBytes uint64
	Drops             uint64 // frames for this port dropped because its queue was full
	DropsLinkDown     uint64 // frames dropped either way because the link was down or unplugged
	DropsTooBig       uint64 // incoming frames longer than the LAN's MTU allows
	DropsRunt         uint64 // incoming frames shorter than an Ethernet header
	TxErrors          uint64 // frames in batches that WriteFrames failed
}

const (
	maxBatch      = 128
	maxBatchBytes = 256 << 10
)

// Port is one port of a Switch. Input is called by one goroutine (the peer's reader); the other
// methods are safe for concurrent use.
type Port struct {
	sw   *Switch
	name string
	id   uint16
	w    FrameWriter

	q *frameQueue

	up       atomic.Bool // administrative link state (SetLinkUp)
	carrier  atomic.Bool // the peer is connected (RunQemuPort)
	detached atomic.Bool
	done     chan struct{}
	doneOnce sync.Once

	fromPeer, toPeer atomic.Pointer[Shaper] // impairments of each direction (package impair), nil when none
	wmu              sync.Mutex             // serialises WriteFrames between the writer and a toPeer shaper

	_  [64]byte
	rx struct{ frames, bytes, runt, tooBig atomic.Uint64 }
	_  [64]byte
	tx struct{ frames, bytes, errors atomic.Uint64 }
	_  [64]byte
	dr struct{ queue, linkDown atomic.Uint64 }
}

// Shaper takes a port's frames in one direction and hands them on, maybe later, maybe changed or dropped
// (package impair's Stage). Push must copy what it keeps and must not block.
type Shaper interface {
	Push(frame []byte)
}

// SetShapers installs the port's impairments: fromPeer sees the frames the peer sends before they are
// switched (and hands them to Forward), toPeer the frames for the peer before they are written (and hands
// them to WriteToPeer). nil removes one.
func (p *Port) SetShapers(fromPeer, toPeer Shaper) {
	store := func(a *atomic.Pointer[Shaper], s Shaper) {
		if s == nil {
			a.Store(nil)
		} else {
			a.Store(&s)
		}
	}
	store(&p.fromPeer, fromPeer)
	store(&p.toPeer, toPeer)
}

// Name returns the name given to Attach.
func (p *Port) Name() string { return p.name }

// ID is the port's number on its switch, unique among its attached ports (a detached port's may be reused,
// as late as possible).
func (p *Port) ID() uint16 { return p.id }

// Input switches one frame that arrived from the port's peer. The switch copies what it keeps, so
// frame may be reused as soon as Input returns. Input never blocks on other ports.
func (p *Port) Input(frame []byte) {
	if p.detached.Load() {
		return
	}
	if !p.up.Load() || !p.carrier.Load() {
		p.dr.linkDown.Add(1)
		return
	}
	s := p.sw
	n := len(frame)
	if n < MinFrameSize {
		p.rx.runt.Add(1)
		return
	}
	if n > s.maxFrame {
		p.rx.tooBig.Add(1)
		return
	}
	p.rx.frames.Add(1)
	p.rx.bytes.Add(uint64(n))
	if sh := p.fromPeer.Load(); sh != nil {
		(*sh).Push(frame)
		return
	}
	p.forward(frame)
}

// Forward switches a frame from the port's peer that Input has counted (a fromPeer shaper calls it, maybe
// later, from its own goroutine). Like Input it never blocks on other ports.
func (p *Port) Forward(frame []byte) {
	if p.detached.Load() || !p.up.Load() || !p.carrier.Load() {
		return
	}
	p.forward(frame)
}

// forward is Forward once the port's state is checked.
func (p *Port) forward(frame []byte) {
	s := p.sw
	tap := s.tap.Load()

	now := s.now()
	if frame[6]&1 == 0 { // never learn a group address as a source
		s.macs.learn(macKey(frame[6:12]), p.id, now, s.age, s.refresh)
	}
	tbl := s.ports.Load()
	if frame[0]&1 == 0 {
		if id := s.macs.lookup(macKey(frame[0:6]), now, s.age); id != 0 {
			if id == p.id {
				if tap != nil {
					(*tap)(p, p, frame)
				}
				return // the destination sits behind the source port: filter, never echo
			}
			if int(id) < len(tbl.byID) {
				if d := tbl.byID[id]; d != nil {
					if tap != nil {
						(*tap)(p, d, frame)
					}
					if d.ready() {
						d.enqueue(getBuf(frame, 1))
					}
					return
				}
			}
		}
	}
	if tap != nil {
		(*tap)(p, nil, frame)
	}
	// Broadcast, multicast or unknown unicast: flood to every other port.
	var scratch [16]*Port // on the stack: Forward may run on two goroutines (Input's and a shaper's)
	targets := scratch[:0]
	for _, d := range tbl.list {
		if d != p && d.ready() {
			targets = append(targets, d)
		}
	}
	if len(targets) == 0 {
		return
	}
	b := getBuf(frame, int32(len(targets)))
	for i, d := range targets {
		d.enqueue(b)
		targets[i] = nil
	}
}

// ready reports whether frames may be queued to p, and counts a link-down drop if not.
func (p *Port) ready() bool {
	if p.up.Load() && p.carrier.Load() && !p.detached.Load() {
		return true
	}
	p.dr.linkDown.Add(1)
	return false
}

// enqueue hands b to p's writer, or drops it when p's queue is full.
func (p *Port) enqueue(b *frameBuf) {
	if !p.q.push(b) {
		p.dr.queue.Add(1)
		b.release()
	}
}

// writeLoop is the port's writer goroutine: it takes the whole queue at once and writes it to the
// FrameWriter in batches of up to maxBatch frames or maxBatchBytes bytes.
func (p *Port) writeLoop() {
	spare := make([]*frameBuf, 0, p.sw.queueLen)
	frames := make([][]byte, 0, maxBatch)
	failing := false
	for {
		select {
		case <-p.q.notify:
		case <-p.done:
			p.release(p.q.takeAll(spare))
			return
		}
		taken := p.q.takeAll(spare)
		for rest := taken; len(rest) > 0; {
			n, size := 0, 0
			for n < len(rest) && n < maxBatch && size < maxBatchBytes {
				size += len(rest[n].data)
				n++
			}
			batch := rest[:n]
			rest = rest[n:]
			if !p.up.Load() || !p.carrier.Load() {
				p.dr.linkDown.Add(uint64(n))
				continue
			}
			if sh := p.toPeer.Load(); sh != nil {
				for _, b := range batch {
					(*sh).Push(b.data)
				}
				continue
			}
			for _, b := range batch {
				frames = append(frames, b.data)
			}
			p.wmu.Lock()
			err := p.w.WriteFrames(frames)
			p.wmu.Unlock()
			if err != nil {
				p.tx.errors.Add(uint64(n))
				if !failing {
					p.sw.log.Warn("lan: write to port failed", "port", p.name, "frames", n, "err", err)
					failing = true
				}
			} else {
				p.tx.frames.Add(uint64(n))
				p.tx.bytes.Add(uint64(size))
				failing = false
			}
			clear(frames)
			frames = frames[:0]
		}
		p.release(taken)
		spare = taken[:0]
	}
}

// WriteToPeer writes one frame to the port's peer now (a toPeer shaper calls it when the frame's time
// comes), counted as the writer counts its batches.
func (p *Port) WriteToPeer(frame []byte) {
	if p.detached.Load() || !p.up.Load() || !p.carrier.Load() {
		p.dr.linkDown.Add(1)
		return
	}
	p.wmu.Lock()
	err := p.w.WriteFrames([][]byte{frame})
	p.wmu.Unlock()
	if err != nil {
		p.tx.errors.Add(1)
		return
	}
	p.tx.frames.Add(1)
	p.tx.bytes.Add(uint64(len(frame)))
}

// release drops the queue's references to bufs.
func (p *Port) release(bufs []*frameBuf) {
	for i, b := range bufs {
		b.release()
		bufs[i] = nil
	}
}

// Detach removes the port from its switch, forgets the MACs learned on it and stops its writer
// goroutine once any WriteFrames in progress returns. Input on a detached port does nothing.
// Detach does not wait and may be called more than once.
func (p *Port) Detach() {
	p.doneOnce.Do(func() {
		p.detached.Store(true)
		if p.sw.detach(p) {
			p.sw.macs.flush(p.id)
			p.sw.log.Debug("lan: port detached", "port", p.name)
		}
		close(p.done)
	})
}

// SetLinkUp takes the port's link up or down. While it is down, frames are dropped both ways and
// counted in DropsLinkDown, and the MACs learned on the port are forgotten.
func (p *Port) SetLinkUp(up bool) {
	if p.up.Swap(up) != up {
		if !up {
			p.sw.macs.flush(p.id)
		}
		p.sw.log.Info("lan: port link changed", "port", p.name, "up", up)
	}
}

// LinkUp reports the state set by SetLinkUp.
func (p *Port) LinkUp() bool { return p.up.Load() }

// Carrier reports whether the port's peer is connected. In-process ports always have carrier;
// RunQemuPort's port has it while the qemu socket is connected.
func (p *Port) Carrier() bool { return p.carrier.Load() }

// setCarrier records whether the peer is connected; losing it forgets the port's MACs.
func (p *Port) setCarrier(on bool) {
	if p.carrier.Swap(on) != on && !on {
		p.sw.macs.flush(p.id)
	}
}

// Stats returns a snapshot of the port's counters.
func (p *Port) Stats() PortStats {
	return PortStats{
		RxFrames:      p.rx.frames.Load(),
		RxBytes:       p.rx.bytes.Load(),
		TxFrames:      p.tx.frames.Load(),
		TxBytes:       p.tx.bytes.Load(),
		Drops:         p.dr.queue.Load(),
		DropsLinkDown: p.dr.linkDown.Load(),
		DropsTooBig:   p.rx.tooBig.Load(),
		DropsRunt:     p.rx.runt.Load(),
		TxErrors:      p.tx.errors.Load(),
	}
}
