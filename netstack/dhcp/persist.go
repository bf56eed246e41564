package dhcp

import (
	"slices"
	"time"
)

// persistLocked schedules writing the bound leases. The first change after a
// quiet second is written at once; later ones are batched for up to
// saveInterval, so a guest spamming renewals cannot cause an fsync storm.
// Close writes what is pending.
func (s *Server) persistLocked() {
	if s.cfg.LeaseFile == "" || s.closed {
		return
	}
	s.dirty = true
	if s.flushTimer != nil {
		return
	}
	if wait := saveInterval - time.Since(s.lastSave); wait > 0 {
		s.flushTimer = time.AfterFunc(wait, s.flush)
		return
	}
	s.saveLocked()
}

func (s *Server) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushTimer = nil
	if s.dirty && !s.closed {
		s.saveLocked()
	}
}

// saveLocked writes the bound leases now; failures are logged, not returned,
// because the DHCP reply must still go out.
func (s *Server) saveLocked() {
	bound := s.boundLocked()
	s.lastSave, s.dirty = time.Now(), false
	if err := saveLeases(s.cfg.LeaseFile, bound); err != nil {
		s.log.Error("cannot save leases", "err", err)
	}
}

// boundLocked returns the bound rows (expired or not) sorted by IP.
func (s *Server) boundLocked() []Lease {
	var bound []Lease
	for _, e := range s.byMAC {
		if e.bound {
			bound = append(bound, e.lease)
		}
	}
	slices.SortFunc(bound, func(a, b Lease) int { return a.IP.Compare(b.IP) })
	return bound
}

// Close writes pending lease changes to Config.LeaseFile. The server still
// answers afterwards but no longer writes the file.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flushTimer != nil {
		s.flushTimer.Stop()
		s.flushTimer = nil
	}
	if s.closed {
		return nil
	}
	s.closed = true
	if !s.dirty || s.cfg.LeaseFile == "" {
		return nil
	}
	bound := s.boundLocked()
	s.dirty = false
	if err := saveLeases(s.cfg.LeaseFile, bound); err != nil {
		return err
	}
	return nil
}
