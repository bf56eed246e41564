package capture

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/cloonix-go/cloonix/lan"
)

// Target is what one pcapng interface of a capture records: a whole LAN (Port nil) or what passes through
// one of its ports, both ways.
type Target struct {
	Name        string // the interface name in the pcapng output: "lan12", "r1:eth1"
	Description string
	LAN         *LAN
	Port        *lan.Port
}

// Limits of a session's queue: past either, frames are dropped and counted, never waited for.
const (
	queueFrames = 8192
	queueBytes  = 16 << 20
)

// statsEvery is how often a session writes interface statistics (the drop counts) into its output, so that
// a reader stopped with Ctrl-C has recent ones.
const statsEvery = time.Second

// Session is one capture. Start it with Start, write it with WriteTo; it ends when WriteTo returns.
type Session struct {
	targets []Target
	start   time.Time
	past    []frame // the recorder's frames from before the start, oldest first
	q       chan frame
	queued  atomic.Int64 // bytes in q
	seen    []atomic.Uint64
	dropped []atomic.Uint64
	stopped sync.Once
}

// frame is one frame for one interface of a session, with its own copy of the bytes.
type frame struct {
	iface   int
	t       int64
	data    []byte
	wireLen int // 0: len(data)
}

// Stats is what a session saw and lost per target.
type Stats struct {
	Target  string `json:"target"`
	Frames  uint64 `json:"frames"`
	Dropped uint64 `json:"dropped"`
}

// Start subscribes a new session to its targets. With last > 0 the session begins with the flight
// recorders' frames of the last that long (each cut to RecorderSnap bytes; the live ones are whole).
func Start(targets []Target, last time.Duration) (*Session, error) {
	if len(targets) == 0 {
		return nil, errors.New("capture: no target")
	}
	s := &Session{
		targets: targets,
		start:   time.Now(),
		q:       make(chan frame, queueFrames),
		seen:    make([]atomic.Uint64, len(targets)),
		dropped: make([]atomic.Uint64, len(targets)),
	}
	var t0 int64
	if last > 0 {
		t0 = s.start.Add(-last).UnixNano()
	}
	for i, tg := range targets {
		tg.LAN.subscribe(subscription{s: s, iface: i, port: tg.Port}, t0, func(iface int, t int64, data []byte, wireLen int) {
			s.seen[iface].Add(1)
			s.past = append(s.past, frame{iface: iface, t: t, data: append([]byte(nil), data...), wireLen: wireLen})
		})
	}
	sort.SliceStable(s.past, func(i, j int) bool { return s.past[i].t < s.past[j].t })
	return s, nil
}

// offer queues a copy of data for interface iface, or counts it dropped when the queue is full. It runs in
// the switch's tap and never blocks.
func (s *Session) offer(iface int, t int64, data []byte) {
	s.seen[iface].Add(1)
	n := int64(len(data))
	// Checked before the copy: a select evaluates what it would send even when it then drops it.
	if s.queued.Load()+n > queueBytes || len(s.q) == cap(s.q) {
		s.dropped[iface].Add(1)
		return
	}
	f := frame{iface: iface, t: t, data: append([]byte(nil), data...)}
	select {
	case s.q <- f:
		s.queued.Add(n)
	default:
		s.dropped[iface].Add(1)
	}
}

// Stop unsubscribes the session from its LANs. WriteTo calls it when it returns; it may be called again.
func (s *Session) Stop() {
	s.stopped.Do(func() {
		done := map[*LAN]bool{}
		for _, tg := range s.targets {
			if !done[tg.LAN] {
				done[tg.LAN] = true
				tg.LAN.unsubscribe(s)
			}
		}
	})
}

// Stats returns the counts so far, per target.
func (s *Session) Stats() []Stats {
	out := make([]Stats, len(s.targets))
	for i, tg := range s.targets {
		out[i] = Stats{Target: tg.Name, Frames: s.seen[i].Load(), Dropped: s.dropped[i].Load()}
	}
	return out
}

// WriteTo writes the session as pcapng to w until ctx is done or a write fails (the reader went away),
// then stops the session. It flushes after each burst of frames, so that a live reader sees them at once,
// and writes interface statistics with the drop counts every second and at the end. It returns nil when
// ctx ended it, the write error otherwise.
func (s *Session) WriteTo(ctx context.Context, w io.Writer) error {
	defer s.Stop()
	bw := bufio.NewWriterSize(w, 256<<10)
	ng, err := s.header(bw)
	if err != nil {
		return err
	}
	for _, f := range s.past {
		if err := s.write(ng, f); err != nil {
			return err
		}
	}
	s.past = nil
	if err := ng.Flush(); err != nil {
		return fmt.Errorf("capture: write: %w", err)
	}
	tick := time.NewTicker(statsEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			s.Stop()
			for len(s.q) > 0 { // what was queued before the end is written too
				if err := s.write(ng, s.next(<-s.q)); err != nil {
					return err
				}
			}
			if err := s.writeStats(ng); err != nil {
				return err
			}
			return nil
		case <-tick.C:
			if err := s.writeStats(ng); err != nil {
				return err
			}
		case f := <-s.q:
			if err := s.write(ng, s.next(f)); err != nil {
				return err
			}
			for more := true; more; {
				select {
				case f := <-s.q:
					if err := s.write(ng, s.next(f)); err != nil {
						return err
					}
				default:
					more = false
				}
			}
			if err := ng.Flush(); err != nil {
				return fmt.Errorf("capture: write: %w", err)
			}
		}
	}
}

// header writes the section header and one interface block per target.
func (s *Session) header(w io.Writer) (*pcapgo.NgWriter, error) {
	var ng *pcapgo.NgWriter
	for i, tg := range s.targets {
		intf := pcapgo.NgInterface{
			Name:                tg.Name,
			Description:         tg.Description,
			LinkType:            layers.LinkTypeEthernet,
			SnapLength:          lan.MaxFrameSize,
			TimestampResolution: 9, // nanoseconds
		}
		var err error
		if i == 0 {
			ng, err = pcapgo.NewNgWriterInterface(w, intf, pcapgo.NgWriterOptions{
				SectionInfo: pcapgo.NgSectionInfo{Application: "cloonix (labd capture)", OS: "cloonix userspace switch"},
			})
		} else {
			_, err = ng.AddInterface(intf)
		}
		if err != nil {
			return nil, fmt.Errorf("capture: pcapng header: %w", err)
		}
	}
	return ng, nil
}

// next takes f off the queue's byte count.
func (s *Session) next(f frame) frame {
	s.queued.Add(-int64(len(f.data)))
	return f
}

func (s *Session) write(ng *pcapgo.NgWriter, f frame) error {
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, f.t), CaptureLength: len(f.data), Length: max(f.wireLen, len(f.data)), InterfaceIndex: f.iface}
	if err := ng.WritePacket(ci, f.data); err != nil {
		return fmt.Errorf("capture: write: %w", err)
	}
	return nil
}

// writeStats writes an interface statistics block per target with the frames seen and dropped so far.
func (s *Session) writeStats(ng *pcapgo.NgWriter) error {
	now := time.Now()
	for i := range s.targets {
		st := pcapgo.NgInterfaceStatistics{
			LastUpdate:      now,
			StartTime:       s.start,
			EndTime:         now,
			PacketsReceived: s.seen[i].Load(),
			PacketsDropped:  s.dropped[i].Load(),
		}
		if err := ng.WriteInterfaceStats(i, st); err != nil {
			return fmt.Errorf("capture: write: %w", err)
		}
	}
	if err := ng.Flush(); err != nil {
		return fmt.Errorf("capture: write: %w", err)
	}
	return nil
}
