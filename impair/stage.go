package impair

import (
	"container/heap"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Stats counts what a stage did.
type Stats struct {
	Passed     uint64 `json:"passed"`
	Lost       uint64 `json:"lost"`
	Duplicated uint64 `json:"duplicated"`
	Corrupted  uint64 `json:"corrupted"`
	Reordered  uint64 `json:"reordered"`
	OverLimit  uint64 `json:"over_limit"` // dropped because Limit frames were already waiting
	TooBig     uint64 `json:"too_big"`    // dropped for the MTU
}

// Seed derives a stage's seed from a lab's seed and the stage's place ("r1/eth1 out"), so that every stage
// has its own stream and the same lab seed replays them all.
func Seed(labSeed uint64, place string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(place))
	return labSeed ^ h.Sum64()
}

// Stage applies a Spec to the frames pushed into it and hands each surviving frame to out: at once, on the
// caller's goroutine, when nothing delays frames; else from the stage's own goroutine when its time comes.
// Push is safe for concurrent use; out is never called concurrently with itself.
type Stage struct {
	spec Spec
	out  func([]byte)

	mu      sync.Mutex
	rng     *rand.Rand
	bad     bool // Gilbert-Elliott state
	q       queue
	seq     uint64
	lastEnd time.Time // when the rate limiter's wire is free
	wake    chan struct{}
	done    chan struct{}
	closed  bool
	outMu   sync.Mutex // out is called by one goroutine at a time

	passed, lost, duplicated, corrupted, reordered, overLimit, tooBig atomic.Uint64
}

// New returns a stage for spec with its own random stream from seed. Close it when done.
func New(spec Spec, seed uint64, out func([]byte)) *Stage {
	s := &Stage{spec: spec, out: out, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	if spec.Limit == 0 {
		s.spec.Limit = DefaultLimit
	}
	if spec.delays() {
		go s.run()
	}
	return s
}

// Spec is what the stage applies.
func (s *Stage) Spec() Spec { return s.spec }

// Stats returns the counts so far.
func (s *Stage) Stats() Stats {
	return Stats{Passed: s.passed.Load(), Lost: s.lost.Load(), Duplicated: s.duplicated.Load(), Corrupted: s.corrupted.Load(),
		Reordered: s.reordered.Load(), OverLimit: s.overLimit.Load(), TooBig: s.tooBig.Load()}
}

// Close stops the stage; frames still waiting are dropped.
func (s *Stage) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
}

// Push applies the stage to one Ethernet frame. The stage copies what it keeps; frame may be reused when
// Push returns.
func (s *Stage) Push(frame []byte) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if s.spec.MTU > 0 && len(frame)-14 > s.spec.MTU {
		s.mu.Unlock()
		s.tooBig.Add(1)
		return
	}
	if s.loses() {
		s.mu.Unlock()
		s.lost.Add(1)
		return
	}
	copies := 1
	if s.spec.Duplicate > 0 && s.rng.Float64() < s.spec.Duplicate {
		copies = 2
		s.duplicated.Add(1)
	}
	var flips [2]int // byte*8+bit to flip in each copy, -1 for none
	for i := range copies {
		flips[i] = -1
		if s.spec.Corrupt > 0 && len(frame) > 14 && s.rng.Float64() < s.spec.Corrupt {
			flips[i] = 14*8 + s.rng.IntN((len(frame)-14)*8)
			s.corrupted.Add(1)
		}
	}
	if !s.spec.delays() {
		s.mu.Unlock()
		s.outMu.Lock()
		for i := range copies {
			s.send(frame, flips[i])
		}
		s.outMu.Unlock()
		return
	}
	now := time.Now()
	for i := range copies {
		if s.q.Len() >= s.spec.Limit {
			s.overLimit.Add(1)
			continue
		}
		at, ahead := now, false
		if s.spec.Reorder > 0 && s.rng.Float64() < s.spec.Reorder {
			s.reordered.Add(1)
			ahead = true // at once, past the delay and the rate limiter's queue
		} else {
			at = now.Add(s.delay())
		}
		if s.spec.RateBits > 0 && !ahead {
			start := at
			if s.lastEnd.After(start) {
				start = s.lastEnd
			}
			wire := time.Duration(float64(len(frame)+24) * 8 * float64(time.Second) / float64(s.spec.RateBits)) // + preamble, FCS, gap
			at = start.Add(wire)
			s.lastEnd = at
		}
		f := append([]byte(nil), frame...)
		if flips[i] >= 0 {
			f[flips[i]/8] ^= 1 << (flips[i] % 8)
		}
		s.seq++
		heap.Push(&s.q, item{at: at, seq: s.seq, frame: f})
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// send hands frame to out, with one bit flipped when flip >= 0 (on a copy). The caller holds outMu.
func (s *Stage) send(frame []byte, flip int) {
	if flip >= 0 {
		frame = append([]byte(nil), frame...)
		frame[flip/8] ^= 1 << (flip % 8)
	}
	s.passed.Add(1)
	s.out(frame)
}

// loses decides the loss of one frame. The caller holds mu.
func (s *Stage) loses() bool {
	if g := s.spec.Burst; g != nil {
		if s.bad {
			if s.rng.Float64() < g.R {
				s.bad = false
			}
		} else if s.rng.Float64() < g.P {
			s.bad = true
		}
		p := g.LossGood
		if s.bad {
			p = g.LossBad
		}
		return p > 0 && s.rng.Float64() < p
	}
	return s.spec.Loss > 0 && s.rng.Float64() < s.spec.Loss
}

// delay draws one frame's delay: Delay plus the jitter's distribution, never below zero. The caller holds mu.
func (s *Stage) delay() time.Duration {
	d := float64(s.spec.Delay)
	j := float64(s.spec.Jitter)
	if j > 0 {
		switch s.spec.Dist {
		case "normal":
			d += s.rng.NormFloat64() * j
		case "pareto":
			// Pareto with shape 3 has mean 1.5 and a long tail: scaled so the mean excursion is j.
			x := math.Pow(1-s.rng.Float64(), -1.0/3) - 1 // mean 0.5
			if s.rng.IntN(2) == 0 {
				x = -x
			}
			d += x * 2 * j
		default:
			d += (2*s.rng.Float64() - 1) * j
		}
	}
	return time.Duration(max(d, 0))
}

// run delivers the waiting frames when their time comes.
func (s *Stage) run() {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var due [][]byte
	for {
		s.mu.Lock()
		now := time.Now()
		for s.q.Len() > 0 && !s.q[0].at.After(now) {
			due = append(due, heap.Pop(&s.q).(item).frame)
		}
		var wait time.Duration = -1
		if s.q.Len() > 0 {
			wait = s.q[0].at.Sub(now)
		}
		s.mu.Unlock()
		if len(due) > 0 {
			s.outMu.Lock()
			for i, f := range due {
				s.send(f, -1)
				due[i] = nil
			}
			s.outMu.Unlock()
			due = due[:0]
			continue
		}
		if wait >= 0 {
			t.Reset(wait)
		}
		select {
		case <-s.done:
			return
		case <-s.wake:
		case <-t.C:
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
	}
}

// item is a frame waiting for its time; seq keeps equal times in push order.
type item struct {
	at    time.Time
	seq   uint64
	frame []byte
}

type queue []item

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if q[i].at.Equal(q[j].at) {
		return q[i].seq < q[j].seq
	}
	return q[i].at.Before(q[j].at)
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(item)) }
func (q *queue) Pop() any {
	old := *q
	it := old[len(old)-1]
	old[len(old)-1] = item{}
	*q = old[:len(old)-1]
	return it
}
