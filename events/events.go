// Package events is a lab's event hub: the daemon publishes what changes (VM states, links, captures,
// leases), the hub numbers each event, keeps the last ones, and hands them to every subscriber through a
// bounded queue of its own, so that a slow reader loses events (and is told how many) but never holds up
// the daemon.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/cloonix-go/cloonix/api"
)

// Sizes: how many events the hub keeps for late subscribers, and how many may wait for one reader.
const (
	keep     = 1024
	queueLen = 256
)

// Hub numbers, keeps and distributes events. The zero value is not usable: call New.
type Hub struct {
	mu   sync.Mutex
	seq  uint64
	hist []api.Event // the last keep events, oldest first
	subs map[*sub]struct{}
	now  func() time.Time
}

type sub struct {
	ch   chan api.Event
	lost uint64 // events dropped since the last delivered one; under Hub.mu
}

// New returns an empty hub.
func New() *Hub { return &Hub{subs: map[*sub]struct{}{}, now: time.Now} }

// Publish stamps e with the next number and the time, keeps it and offers it to every subscriber.
func (h *Hub) Publish(e api.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	e.Seq = h.seq
	if e.Time.IsZero() {
		e.Time = h.now()
	}
	if len(h.hist) == keep {
		copy(h.hist, h.hist[1:])
		h.hist = h.hist[:keep-1]
	}
	h.hist = append(h.hist, e)
	for s := range h.subs {
		select {
		case s.ch <- e:
		default:
			s.lost++
		}
	}
}

// Subscribe returns the kept events numbered after since (none when since is the current number; all kept
// with since 0), a channel of the events that follow, and a function that ends the subscription.
func (h *Hub) Subscribe(since uint64) (past []api.Event, live <-chan api.Event, lost func() uint64, cancel func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.hist {
		if e.Seq > since {
			past = append(past, e)
		}
	}
	s := &sub{ch: make(chan api.Event, queueLen)}
	h.subs[s] = struct{}{}
	lost = func() uint64 {
		h.mu.Lock()
		defer h.mu.Unlock()
		n := s.lost
		s.lost = 0
		return n
	}
	cancel = func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.subs, s)
	}
	return past, s.ch, lost, cancel
}

// Seq is the number of the last event published.
func (h *Hub) Seq() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq
}

// Stream writes the events after since, then the live ones as they come, as JSON lines to w until ctx
// ends or a write fails. When the reader was too slow and events were dropped for it, an event of kind
// "events" says how many before the next one.
func (h *Hub) Stream(ctx context.Context, since uint64, w io.Writer) error {
	past, live, lost, cancel := h.Subscribe(since)
	defer cancel()
	enc := json.NewEncoder(w)
	for _, e := range past {
		if err := enc.Encode(e); err != nil {
			return nil // the reader went away
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-live:
			if n := lost(); n > 0 {
				if err := enc.Encode(api.Event{Time: h.now(), Kind: "events", What: "lost", Detail: fmt.Sprintf("%d events dropped: the reader was too slow", n)}); err != nil {
					return nil
				}
			}
			if err := enc.Encode(e); err != nil {
				return nil
			}
		}
	}
}
