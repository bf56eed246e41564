// Package lograte bounds how often a message that a guest can trigger at packet rate is logged: one per
// interval, with the count of those held back in between, so a flood shows in the log as one line every few
// seconds instead of filling the disk.
package lograte

import (
	"sync"
	"time"
)

// Limiter lets one message through per Every. The zero value lets every message through; it is safe for
// concurrent use.
type Limiter struct {
	Every time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// Allow reports whether to log now, and how many messages were held back since the last one let through.
func (l *Limiter) Allow(now time.Time) (ok bool, held int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < l.Every {
		l.suppressed++
		return false, 0
	}
	held = l.suppressed
	l.last, l.suppressed = now, 0
	return true, held
}
