package lan

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Config fields left zero.
const (
	DefaultQueueLen   = 1024
	DefaultQueueBytes = 16 << 20
	DefaultAgeTime    = 300 * time.Second
)

// Config describes one LAN. The zero value of every field picks a sensible default.
type Config struct {
	// Name names the LAN in logs.
	Name string
	// MTU bounds the frames the switch forwards to MTU+18 bytes (Ethernet header and one VLAN tag).
	// 0 allows frames up to MaxFrameSize.
	MTU int
	// QueueLen is the number of frames each port may have waiting for its writer (default 1024).
	QueueLen int
	// QueueBytes bounds the bytes waiting per port as well (default 16 MiB), so that a stuck port
	// on a jumbo-frame LAN does not pin QueueLen × 64 KiB of memory.
	QueueBytes int
	// AgeTime is how long a learned MAC stays valid without traffic from it (default 300 s).
	AgeTime time.Duration
	// Now is the clock used for MAC aging, read on every frame. nil means a coarse clock that a
	// goroutine of the switch updates every 100 ms from time.Now (reading the system clock per frame
	// cost a third of the forwarding time on this machine kind). Tests inject their own.
	Now func() time.Time
}

// Tap sees every frame a port accepts, as it is switched: in is the port it came from, dst the one port it
// goes to (in itself when the switch filters it, as its destination sits behind in), nil when it is flooded
// to every other port. It runs on in's input goroutine, must not block, and must not keep frame after it
// returns.
type Tap func(in, dst *Port, frame []byte)

// portTable is an immutable snapshot of the attached ports. Writers replace it under Switch.mu.
type portTable struct {
	byID []*Port // index is the port id; nil where no port is attached
	list []*Port // attached ports, in attach order
}

// Switch is a learning Ethernet switch: one per LAN. Its methods are safe for concurrent use.
type Switch struct {
	name       string
	log        *slog.Logger
	clock      func() time.Time
	age        int64 // ns
	refresh    int64 // ns
	maxFrame   int
	queueLen   int
	queueBytes int64

	coarse atomic.Int64 // UnixNano, when clock is nil
	stop   chan struct{}

	ports atomic.Pointer[portTable]
	tap   atomic.Pointer[Tap]
	macs  macTable

	mu     sync.Mutex // serialises Attach, Detach and Close
	nextID uint16
	closed bool
}

// New returns a switch with no ports. log may be nil.
func New(cfg Config, log *slog.Logger) *Switch {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Switch{
		name:       cfg.Name,
		log:        log.With("lan", cfg.Name),
		clock:      cfg.Now,
		age:        int64(cfg.AgeTime),
		maxFrame:   MaxFrameSize,
		queueLen:   cfg.QueueLen,
		queueBytes: int64(cfg.QueueBytes),
	}
	if s.clock == nil {
		s.coarse.Store(time.Now().UnixNano())
		s.stop = make(chan struct{})
		go s.tick()
	}
	if s.age <= 0 {
		s.age = int64(DefaultAgeTime)
	}
	s.refresh = min(s.age/8, int64(time.Second))
	if cfg.MTU > 0 {
		s.maxFrame = min(cfg.MTU+18, MaxFrameSize)
	}
	if s.queueLen <= 0 {
		s.queueLen = DefaultQueueLen
	}
	if s.queueBytes <= 0 {
		s.queueBytes = DefaultQueueBytes
	}
	s.ports.Store(&portTable{})
	return s
}

// Name returns the LAN name from Config.
func (s *Switch) Name() string { return s.name }

func (s *Switch) now() int64 {
	if s.clock == nil {
		return s.coarse.Load()
	}
	return s.clock().UnixNano()
}

// coarseTick is the resolution of the default clock.
const coarseTick = 100 * time.Millisecond

// tick keeps the coarse clock current until Close.
func (s *Switch) tick() {
	t := time.NewTicker(coarseTick)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			s.coarse.Store(now.UnixNano())
		case <-s.stop:
			return
		}
	}
}

// Attach adds a port that sends the switch's frames to w, and starts the port's writer goroutine.
// The port's link is up. The caller feeds the port's incoming frames to Port.Input.
// After Close, Attach returns a port that is already detached.
func (s *Switch) Attach(name string, w FrameWriter) *Port {
	return s.attach(name, w, true)
}

// attach is Attach with the initial carrier state.
func (s *Switch) attach(name string, w FrameWriter, carrier bool) *Port {
	p := &Port{
		sw:   s,
		name: name,
		w:    w,
		q:    newFrameQueue(s.queueLen, s.queueBytes),
		done: make(chan struct{}),
	}
	p.up.Store(true)
	p.carrier.Store(carrier)

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		p.detached.Store(true)
		close(p.done)
		return p
	}
	old := s.ports.Load()
	if len(old.list) >= portIDMask {
		s.log.Error("lan: too many ports, not attaching", "port", name)
		p.detached.Store(true)
		close(p.done)
		return p
	}
	// Ids go round-robin so that a freed id is reused as late as possible.
	for {
		s.nextID++
		if s.nextID == 0 {
			s.nextID = 1
		}
		if int(s.nextID) >= len(old.byID) || old.byID[s.nextID] == nil {
			break
		}
	}
	p.id = s.nextID
	nt := &portTable{
		byID: make([]*Port, max(len(old.byID), int(p.id)+1)),
		list: make([]*Port, 0, len(old.list)+1),
	}
	copy(nt.byID, old.byID)
	nt.byID[p.id] = p
	nt.list = append(append(nt.list, old.list...), p)
	s.ports.Store(nt)
	go p.writeLoop()
	s.log.Debug("lan: port attached", "port", name, "id", p.id)
	return p
}

// detach removes p from the port table; it reports false if p was not attached.
func (s *Switch) detach(p *Port) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.ports.Load()
	if int(p.id) >= len(old.byID) || old.byID[p.id] != p {
		return false
	}
	nt := &portTable{byID: make([]*Port, len(old.byID)), list: make([]*Port, 0, len(old.list))}
	copy(nt.byID, old.byID)
	nt.byID[p.id] = nil
	for _, q := range old.list {
		if q != p {
			nt.list = append(nt.list, q)
		}
	}
	s.ports.Store(nt)
	return true
}

// Ports returns the attached ports in attach order.
func (s *Switch) Ports() []*Port {
	return append([]*Port(nil), s.ports.Load().list...)
}

// Port returns the attached port with that name, or nil.
func (s *Switch) Port(name string) *Port {
	for _, p := range s.ports.Load().list {
		if p.name == name {
			return p
		}
	}
	return nil
}

// SetTap installs t to see every accepted frame (nil removes it). Only one tap is active.
func (s *Switch) SetTap(t Tap) {
	if t == nil {
		s.tap.Store(nil)
		return
	}
	s.tap.Store(&t)
}

// Close detaches every port and stops the switch's clock goroutine. Ports attached later are born
// detached.
func (s *Switch) Close() {
	s.mu.Lock()
	if !s.closed && s.stop != nil {
		close(s.stop)
	}
	s.closed = true
	s.mu.Unlock()
	for _, p := range s.Ports() {
		p.Detach()
	}
}

// String names the switch for logs.
func (s *Switch) String() string { return fmt.Sprintf("lan %q", s.name) }
