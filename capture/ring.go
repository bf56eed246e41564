package capture

import "time"

// RecorderSnap is how much of each frame the flight recorder keeps: every header and a routing protocol's
// packets whole, while a bulk transfer's 1500-byte (or 64 KiB) frames cost the forwarding path a short copy
// and leave room for many more frames.
const RecorderSnap = 256

// record is one frame in the ring: where its kept bytes are in the arena, its length on the wire, when it
// was seen and where it went.
type record struct {
	t       int64 // UnixNano
	off, n  int32
	wireLen int32
	in, dst uint16 // lan.Port.ID; dst 0 when flooded
}

// ring is the flight recorder: frames laid one after another in an arena of fixed size, wrapping round,
// the oldest overwritten first. The arena is allocated on the first frame. Not safe for concurrent use.
type ring struct {
	size  int
	arena []byte
	recs  []record // oldest first, from head
	head  int
	w     int // where the next frame goes
}

// add keeps a copy of frame's first RecorderSnap bytes.
func (r *ring) add(t int64, in, dst uint16, frame []byte) {
	wire := len(frame)
	frame = frame[:min(wire, RecorderSnap)]
	n := len(frame)
	if n > r.size || n == 0 {
		return
	}
	if r.arena == nil {
		r.arena = make([]byte, r.size)
	}
	if r.w+n > r.size {
		// Wrap. What lies past the write offset is the previous round, the oldest of all: it goes first.
		for r.head < len(r.recs) && int(r.recs[r.head].off) >= r.w {
			r.head++
		}
		r.w = 0
	}
	for r.head < len(r.recs) {
		o := r.recs[r.head]
		if int(o.off) >= r.w+n || int(o.off+o.n) <= r.w {
			break
		}
		r.head++
	}
	copy(r.arena[r.w:], frame)
	if r.head > 0 && r.head >= len(r.recs)/2 {
		r.recs = append(r.recs[:0], r.recs[r.head:]...)
		r.head = 0
	}
	r.recs = append(r.recs, record{t: t, in: in, dst: dst, off: int32(r.w), n: int32(n), wireLen: int32(wire)})
	r.w += n
}

// since calls f for each kept frame seen at or after t0, oldest first. The frame is valid only during f.
func (r *ring) since(t0 int64, f func(rec record, frame []byte)) {
	for _, rec := range r.recs[r.head:] {
		if rec.t >= t0 {
			f(rec, r.arena[rec.off:rec.off+rec.n])
		}
	}
}

// len is the number of frames kept.
func (r *ring) len() int { return len(r.recs) - r.head }

// span is how far back the ring reaches: the age of its oldest frame at now.
func (r *ring) span(now time.Time) time.Duration {
	if r.len() == 0 {
		return 0
	}
	return now.Sub(time.Unix(0, r.recs[r.head].t))
}
