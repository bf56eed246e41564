// Package impair degrades a link the way a WAN, a satellite hop or a bad Wi-Fi does, in labd's userspace
// switch, with no root: delay with jitter (uniform, normal or pareto), loss (random, or Gilbert-Elliott
// bursts), duplication, reordering, corruption, a rate limit with a queue limit, and an MTU. A Spec says
// what; a Stage applies one Spec to one direction of one switch port, from a seed, so that the same seed and
// the same traffic give the same drops.
package impair

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// GE is a Gilbert-Elliott loss model: a good and a bad state, P the chance per frame to go bad, R to come
// back, LossBad and LossGood the loss chance in each (netem's p, r, 1-h, 1-k).
type GE struct {
	P, R, LossBad, LossGood float64
}

// Spec is one direction's impairments. The zero Spec impairs nothing.
type Spec struct {
	Delay, Jitter time.Duration
	Dist          string  // jitter distribution: "uniform" (default), "normal", "pareto"
	Loss          float64 // 0..1, random
	Burst         *GE     // bursty loss instead of Loss
	Duplicate     float64
	Reorder       float64 // the share of frames sent at once, ahead of the delayed ones (needs delay)
	Corrupt       float64 // the share of frames with one bit flipped past the Ethernet header
	RateBits      uint64  // bits per second on the wire, 0: no limit
	Limit         int     // frames waiting at most (delay or rate); 0: DefaultLimit
	MTU           int     // frames whose payload is larger are dropped; 0: none
}

// DefaultLimit is how many frames may wait in a stage, as netem's default limit.
const DefaultLimit = 1000

// Zero reports whether s impairs nothing.
func (s Spec) Zero() bool { return s == Spec{} }

// delays reports whether frames wait in the stage (delay, jitter or rate), rather than pass at once.
func (s Spec) delays() bool { return s.Delay > 0 || s.Jitter > 0 || s.RateBits > 0 }

// Presets are named Specs: `link r1 eth1 set wan`.
var Presets = map[string]string{
	"wan":        "delay=40ms jitter=4ms dist=normal loss=0.1%",
	"satellite":  "delay=300ms jitter=10ms loss=0.5% rate=20mbit",
	"3g":         "delay=100ms jitter=30ms dist=pareto loss=1% rate=2mbit",
	"lossy-wifi": "delay=3ms jitter=8ms loss=ge:2%,25%",
	"dsl":        "delay=15ms jitter=2ms rate=16mbit",
}

// PresetNames lists the presets in order.
func PresetNames() []string {
	var out []string
	for k := range Presets {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Keys are the words Parse takes, for help texts.
const Keys = "delay= jitter= dist=uniform|normal|pareto loss=P% or loss=ge:P%,R%[,BAD%[,GOOD%]] duplicate= reorder= corrupt= rate=10mbit limit= mtu= (or a preset: wan, satellite, 3g, lossy-wifi, dsl)"

// Parse applies words ("delay=50ms", "loss=1%", a preset name, "loss=0" to clear one) to base and returns
// the result: what a word does not name stays as it was.
func Parse(base Spec, words []string) (Spec, error) {
	s := base
	for _, w := range words {
		if p, ok := Presets[w]; ok {
			var err error
			if s, err = Parse(s, strings.Fields(p)); err != nil {
				return base, err
			}
			continue
		}
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			return base, fmt.Errorf("impairment %q: want KEY=VALUE or a preset; keys: %s", w, Keys)
		}
		if err := s.set(k, v); err != nil {
			return base, fmt.Errorf("impairment %s: %w", w, err)
		}
	}
	if err := s.check(); err != nil {
		return base, err
	}
	return s, nil
}

func (s *Spec) set(k, v string) error {
	off := v == "0" || v == "off" || v == "none"
	var err error
	switch k {
	case "delay":
		s.Delay, err = duration(v, off)
	case "jitter":
		s.Jitter, err = duration(v, off)
	case "dist", "distribution":
		switch {
		case off || v == "uniform":
			s.Dist = ""
		case v == "normal" || v == "pareto":
			s.Dist = v
		default:
			err = errors.New("use uniform, normal or pareto")
		}
	case "loss":
		s.Burst, s.Loss = nil, 0
		if rest, ok := strings.CutPrefix(v, "ge:"); ok {
			s.Burst, err = parseGE(rest)
		} else if !off {
			s.Loss, err = percent(v)
		}
	case "duplicate":
		s.Duplicate, err = percentOff(v, off)
	case "reorder":
		s.Reorder, err = percentOff(v, off)
	case "corrupt":
		s.Corrupt, err = percentOff(v, off)
	case "rate":
		if off {
			s.RateBits = 0
		} else {
			s.RateBits, err = rate(v)
		}
	case "limit":
		s.Limit, err = positiveInt(v, off)
	case "mtu":
		s.MTU, err = positiveInt(v, off)
		if err == nil && s.MTU != 0 && (s.MTU < 68 || s.MTU > 65535) {
			err = errors.New("use 68..65535")
		}
	default:
		return fmt.Errorf("unknown key %q; keys: %s", k, Keys)
	}
	return err
}

// check refuses combinations that mean nothing.
func (s Spec) check() error {
	if s.Reorder > 0 && s.Delay == 0 {
		return errors.New("impairment reorder needs a delay (the reordered frames go ahead of the delayed ones): add delay=10ms")
	}
	if s.Jitter > 0 && s.Delay == 0 {
		return errors.New("impairment jitter needs a delay to vary around: add delay=20ms")
	}
	return nil
}

func duration(v string, off bool) (time.Duration, error) {
	if off {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > time.Minute {
		return 0, errors.New("want a duration up to 1m, like 50ms")
	}
	return d, nil
}

func percent(v string) (float64, error) {
	n, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
	if err != nil || !strings.HasSuffix(v, "%") || !(n >= 0 && n <= 100) {
		return 0, errors.New("want a percentage, like 1% or 0.5%")
	}
	return n / 100, nil
}

func percentOff(v string, off bool) (float64, error) {
	if off {
		return 0, nil
	}
	return percent(v)
}

func positiveInt(v string, off bool) (int, error) {
	if off {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, errors.New("want a positive whole number")
	}
	return n, nil
}

func parseGE(v string) (*GE, error) {
	parts := strings.Split(v, ",")
	if len(parts) < 2 || len(parts) > 4 {
		return nil, errors.New("want ge:P%,R%[,BAD%[,GOOD%]]: the chances to go bad and to come back, and to lose a frame in each state")
	}
	g := &GE{LossBad: 1}
	for i, p := range parts {
		x, err := percent(p)
		if err != nil {
			return nil, err
		}
		switch i {
		case 0:
			g.P = x
		case 1:
			g.R = x
		case 2:
			g.LossBad = x
		case 3:
			g.LossGood = x
		}
	}
	return g, nil
}

// rate parses 10mbit, 512kbit, 1gbit, 100000 (bits per second).
func rate(v string) (uint64, error) {
	mult := uint64(1)
	num := strings.ToLower(v)
	for _, u := range []struct {
		suffix string
		m      uint64
	}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1}} {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSuffix(num, u.suffix), u.m
			break
		}
	}
	n, err := strconv.ParseFloat(num, 64)
	if bits := n * float64(mult); err != nil || math.IsNaN(n) || bits < 8000 || bits > 100e9 {
		return 0, errors.New("want a rate from 8kbit to 100gbit, like 10mbit, 512kbit or 1gbit")
	}
	return uint64(n * float64(mult)), nil
}

// String is the Spec in Parse's words, "" for the zero Spec.
func (s Spec) String() string {
	var w []string
	pct := func(k string, x float64) {
		if x > 0 {
			w = append(w, k+"="+strconv.FormatFloat(x*100, 'g', 10, 64)+"%")
		}
	}
	if s.Delay > 0 {
		w = append(w, "delay="+s.Delay.String())
	}
	if s.Jitter > 0 {
		w = append(w, "jitter="+s.Jitter.String())
	}
	if s.Dist != "" {
		w = append(w, "dist="+s.Dist)
	}
	if g := s.Burst; g != nil {
		f := func(x float64) string { return strconv.FormatFloat(x*100, 'g', 10, 64) + "%" }
		w = append(w, "loss=ge:"+f(g.P)+","+f(g.R)+","+f(g.LossBad)+","+f(g.LossGood))
	} else {
		pct("loss", s.Loss)
	}
	pct("duplicate", s.Duplicate)
	pct("reorder", s.Reorder)
	pct("corrupt", s.Corrupt)
	if s.RateBits > 0 {
		switch {
		case s.RateBits%1e6 == 0:
			w = append(w, fmt.Sprintf("rate=%dmbit", s.RateBits/1e6))
		case s.RateBits%1e3 == 0:
			w = append(w, fmt.Sprintf("rate=%dkbit", s.RateBits/1e3))
		default:
			w = append(w, fmt.Sprintf("rate=%dbit", s.RateBits))
		}
	}
	if s.Limit > 0 {
		w = append(w, "limit="+strconv.Itoa(s.Limit))
	}
	if s.MTU > 0 {
		w = append(w, "mtu="+strconv.Itoa(s.MTU))
	}
	return strings.Join(w, " ")
}

// Direction words: "out" is what a VM sends on the NIC (as netem on the guest's interface), "in" what it
// receives, "both" each way.
const (
	Out  = "out"
	In   = "in"
	Both = "both"
)

// SplitDir takes a "dir=out|in|both" word out of words, and returns the direction (Out when none) and
// the other words.
func SplitDir(words []string) (dir string, rest []string, err error) {
	dir = Out
	for _, w := range words {
		if v, ok := strings.CutPrefix(w, "dir="); ok {
			switch v {
			case Out, In, Both:
				dir = v
			default:
				return "", nil, fmt.Errorf("impairment dir=%s: use dir=out (what the VM sends), dir=in (what it receives) or dir=both", v)
			}
			continue
		}
		rest = append(rest, w)
	}
	return dir, rest, nil
}
