package webview

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/cloonix-go/cloonix/api"
)

// LiveInterval is how often the live stream samples the switch counters.
const LiveInterval = time.Second

// liveLink is a link in the live state: the daemon's status and the rates since the last sample.
type liveLink struct {
	api.LinkStatus
	ID string `json:"id"` // "r1:eth1"
	// Frames and bytes per second the switch delivered from the VM (Rx, after its out impairments) and to it.
	RxFPS float64 `json:"rx_fps"`
	TxFPS float64 `json:"tx_fps"`
	RxBPS float64 `json:"rx_bps"`
	TxBPS float64 `json:"tx_bps"`
	// OneWay is "out" (only from the VM) or "in" (only to it) when, over the last OneWayWindow, the link
	// carried at least OneWayFrames frames one way and none the other; "" otherwise.
	OneWay string `json:"one_way,omitempty"`
}

// A link is shown carrying traffic one way only when, over the last OneWayWindow, one direction carried at
// least OneWayFrames frames and the other none: an OSPF hello a second one way and nothing back shows, a
// host's lone ARP or router solicitation does not. The window is time, not samples: an event makes an extra
// sample.
const (
	OneWayWindow = 5 * time.Second
	OneWayFrames = 3
)

// liveState is one message of the live stream.
type liveState struct {
	Time     time.Time      `json:"time"`
	VMs      []api.VMStatus `json:"vms"`
	Links    []liveLink     `json:"links"`
	Captures []string       `json:"captures"` // targets of the captures running
	Error    string         `json:"error,omitempty"`
}

// sample is a link's counters at one time.
type sample struct {
	at               time.Time
	rx, tx           uint64 // frames delivered each way
	rxBytes, txBytes uint64
}

// delivered are the frames and bytes the switch passed each way: what it counted minus what the
// impairments dropped (the counters count before the impairments).
func delivered(ls api.LinkStatus, at time.Time) sample {
	s := sample{at: at, rx: ls.RxFrames, tx: ls.TxFrames, rxBytes: ls.RxBytes, txBytes: ls.TxBytes}
	if st := ls.OutStats; st != nil {
		s.rx = sub(s.rx, st.Lost+st.OverLimit+st.TooBig)
	}
	if st := ls.InStats; st != nil {
		s.tx = sub(s.tx, st.Lost+st.OverLimit+st.TooBig)
	}
	return s
}

func sub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

// rates turns samples into rates, keeping each link's samples of the last OneWayWindow for OneWay.
type rates struct {
	hist map[string][]sample // per link, oldest first; the first is at or before the window's start
}

func newRates() *rates { return &rates{hist: map[string][]sample{}} }

func (r *rates) add(links []api.LinkStatus, at time.Time) []liveLink {
	out := make([]liveLink, 0, len(links))
	for _, ls := range links {
		l := liveLink{LinkStatus: ls, ID: ls.VM + ":" + ls.NIC}
		now := delivered(ls, at)
		h := r.hist[l.ID]
		if n := len(h); n > 0 && now.at.After(h[n-1].at) {
			prev := h[n-1]
			dt := now.at.Sub(prev.at).Seconds()
			l.RxFPS, l.TxFPS = float64(sub(now.rx, prev.rx))/dt, float64(sub(now.tx, prev.tx))/dt
			l.RxBPS, l.TxBPS = float64(sub(now.rxBytes, prev.rxBytes))*8/dt, float64(sub(now.txBytes, prev.txBytes))*8/dt
		}
		h = append(h, now)
		for len(h) > 1 && !h[1].at.After(at.Add(-OneWayWindow)) {
			h = h[1:]
		}
		r.hist[l.ID] = h
		l.OneWay = oneWay(h, at)
		out = append(out, l)
	}
	return out
}

// oneWay is "out" or "in" when the samples span the whole window and one direction carried OneWayFrames
// frames or more over it and the other none.
func oneWay(h []sample, at time.Time) string {
	if len(h) < 2 || h[0].at.After(at.Add(-OneWayWindow)) {
		return ""
	}
	first, last := h[0], h[len(h)-1]
	out, in := sub(last.rx, first.rx), sub(last.tx, first.tx)
	switch {
	case out >= OneWayFrames && in == 0:
		return "out"
	case in >= OneWayFrames && out == 0:
		return "in"
	}
	return ""
}

// captures follows the captures running from the lab's capture events.
type captures map[string]int

func (c captures) apply(e api.Event) {
	if e.Kind != "capture" {
		return
	}
	var targets []string
	switch e.What {
	case "started":
		targets = strings.Fields(e.Detail)
	case "stopped": // "lan12 r1:eth1: 12 frames, 0 dropped"
		if i := strings.LastIndex(e.Detail, ": "); i >= 0 {
			targets = strings.Fields(e.Detail[:i])
		}
	}
	for _, t := range targets {
		if e.What == "started" {
			c[t]++
		} else if c[t]--; c[t] <= 0 {
			delete(c, t)
		}
	}
}

func (c captures) list() []string {
	l := make([]string, 0, len(c))
	for t := range c {
		l = append(l, t)
	}
	sort.Strings(l)
	return l
}

// live is GET /api/live?lab=NAME: server-sent events, "state" (liveState) every LiveInterval and at once
// after each lab event, and "event" (api.Event) for each event of the lab.
func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, err := s.client(ctx, r.URL.Query().Get("lab"))
	if err != nil {
		fail(w, err)
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	evc := make(chan api.Event, 64)
	go followEvents(ctx, c, evc)

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	send := func(kind string, v any) bool {
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", kind, b); err != nil {
			return false
		}
		fl.Flush()
		return true
	}
	rt, caps := newRates(), captures{}
	state := func() bool {
		st := liveState{Time: time.Now(), Captures: caps.list()}
		qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		vms, err := c.VMs(qctx)
		var links []api.LinkStatus
		if err == nil {
			links, err = c.Links(qctx)
		}
		if err != nil {
			st.Error = err.Error()
		}
		st.VMs, st.Links = vms, rt.add(links, st.Time)
		return send("state", st)
	}
	if !state() {
		return
	}
	tick := time.NewTicker(LiveInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-evc:
			if !ok {
				send("state", liveState{Time: time.Now(), Error: "the lab's daemon ended its event stream (lab down?)"})
				return
			}
			caps.apply(e)
			if !send("event", e) {
				return
			}
			// Take the other events already queued before sampling, so a burst costs one sample.
			for drained := false; !drained; {
				select {
				case e, ok := <-evc:
					if !ok {
						drained = true
						break
					}
					caps.apply(e)
					if !send("event", e) {
						return
					}
				default:
					drained = true
				}
			}
			if !state() {
				return
			}
		case <-tick.C:
			if !state() {
				return
			}
		}
	}
}

// followEvents sends the lab's events (those it kept, then new ones) to evc until ctx is done or the stream
// ends, then closes evc.
func followEvents(ctx context.Context, c *api.Client, evc chan<- api.Event) {
	defer close(evc)
	conn, err := c.Stream(ctx, "/"+api.Version+"/events?since=0")
	if err != nil {
		return
	}
	defer conn.Close()
	go func() { <-ctx.Done(); conn.Close() }()
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e api.Event
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		select {
		case evc <- e:
		case <-ctx.Done():
			return
		}
	}
}
