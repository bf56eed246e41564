package capture

import (
	"sync"
	"time"

	"github.com/cloonix-go/cloonix/lan"
)

// DefaultRecorderBytes is the flight recorder's size per LAN when the lab file does not set one.
const DefaultRecorderBytes = 4 << 20

// LAN is the capture side of one switch: its flight recorder and the live captures on it. It is the
// switch's only tap, installed while the recorder is on or a capture runs, so that a LAN with neither pays
// nothing.
type LAN struct {
	name string
	sw   *lan.Switch

	base     time.Time // frames are stamped with the monotonic clock from here (half the cost of time.Now)
	baseNano int64

	mu   sync.Mutex // held per frame, briefly: the tap runs on every port's input goroutine
	ring ring
	subs []subscription
}

// subscription is one target of a session on this LAN.
type subscription struct {
	s     *Session
	iface int
	port  *lan.Port // nil: the whole LAN
}

// NewLAN takes over sw's tap. recorderBytes is the flight recorder's size (0 turns it off).
func NewLAN(name string, sw *lan.Switch, recorderBytes int) *LAN {
	now := time.Now()
	l := &LAN{name: name, sw: sw, base: now, baseNano: now.UnixNano(), ring: ring{size: max(recorderBytes, 0)}}
	l.retap()
	return l
}

// Name is the LAN's name.
func (l *LAN) Name() string { return l.name }

// Switch is the LAN's switch.
func (l *LAN) Switch() *lan.Switch { return l.sw }

// RecorderBytes is the flight recorder's size, 0 when it is off.
func (l *LAN) RecorderBytes() int { return l.ring.size }

// retap installs the tap when something wants frames, and removes it otherwise. The caller holds l.mu or
// is NewLAN.
func (l *LAN) retap() {
	if l.ring.size > 0 || len(l.subs) > 0 {
		l.sw.SetTap(l.tap)
	} else {
		l.sw.SetTap(nil)
	}
}

// tap is the switch's tap: it stamps the frame, keeps it in the ring and offers it to the captures that
// match it. Nothing in it blocks.
func (l *LAN) tap(in, dst *lan.Port, frame []byte) {
	t := l.baseNano + int64(time.Since(l.base))
	l.mu.Lock()
	if l.ring.size > 0 {
		l.ring.add(t, in.ID(), idOf(dst), frame)
	}
	for _, sub := range l.subs {
		if matches(sub.port, in, dst) {
			sub.s.offer(sub.iface, t, frame)
		}
	}
	l.mu.Unlock()
}

// idOf is p's id, 0 (no port) for nil.
func idOf(p *lan.Port) uint16 {
	if p == nil {
		return 0
	}
	return p.ID()
}

// matchesID is matches for port ids (0: flooded, or any port).
func matchesID(p, in, dst uint16) bool {
	return p == 0 || in == p || dst == p || (dst == 0 && in != p)
}

// matches tells whether a frame from in to dst (nil: flooded) passed through port p (nil: any port).
func matches(p, in, dst *lan.Port) bool {
	return p == nil || in == p || dst == p || (dst == nil && in != p)
}

// subscribe adds a session's target and, under the same lock, hands back the recorder's frames since t0
// (t0 0: none), so that none is lost or doubled between the past and the live part.
func (l *LAN) subscribe(sub subscription, t0 int64, past func(iface int, t int64, frame []byte, wireLen int)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t0 > 0 {
		l.ring.since(t0, func(rec record, frame []byte) {
			if matchesID(idOf(sub.port), rec.in, rec.dst) {
				past(sub.iface, rec.t, frame, int(rec.wireLen))
			}
		})
	}
	l.subs = append(l.subs, sub)
	l.retap()
}

// unsubscribe removes every target of s.
func (l *LAN) unsubscribe(s *Session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	kept := l.subs[:0:0]
	for _, sub := range l.subs {
		if sub.s != s {
			kept = append(kept, sub)
		}
	}
	l.subs = kept
	l.retap()
}

// Recorded tells how many frames the flight recorder holds and how far back they reach.
func (l *LAN) Recorded() (frames int, span time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ring.len(), l.ring.span(time.Now())
}
