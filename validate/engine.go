package validate

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// Status is a result's verdict.
type Status string

// The verdicts.
const (
	Pass    Status = "pass"
	Fail    Status = "fail"
	Warn    Status = "warning" // failed, at level "warning"
	Skipped Status = "skipped" // the node cannot run the check, or an earlier stop_on_error failure stopped the run
)

// Result is one test on one node (or on the wire).
type Result struct {
	Test     string        `json:"test"`
	Node     string        `json:"node"` // the VM, or the LAN of a wire check
	Check    string        `json:"check"`
	Status   Status        `json:"status"`
	Observed string        `json:"observed,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	Attempts int           `json:"attempts"`
	Duration time.Duration `json:"-"`
	Seconds  float64       `json:"seconds"`
	Line     int           `json:"line,omitempty"`
	// Output is the last try's raw output (a demo step prints it); not in reports.
	Output string `json:"-"`
}

// Line formats the result as its output line: "PASS r1 name: observed (1.2s)".
func (r Result) String() string {
	s := fmt.Sprintf("%-4s %s %s: ", label(r.Status), r.Node, r.Test)
	switch r.Status {
	case Pass:
		s += r.Observed
	case Skipped:
		s += r.Reason
	default:
		s += r.Reason
		if r.Observed != "" && r.Observed != r.Reason {
			s += "; saw " + r.Observed
		}
	}
	tries := ""
	if r.Attempts > 1 {
		tries = fmt.Sprintf(", %d tries", r.Attempts)
	}
	if r.Status != Skipped {
		s += fmt.Sprintf(" (%.1fs%s)", r.Duration.Seconds(), tries)
	}
	return s
}

func label(s Status) string {
	switch s {
	case Pass:
		return "PASS"
	case Fail:
		return "FAIL"
	case Warn:
		return "WARN"
	}
	return "SKIP"
}

// Options tune a run.
type Options struct {
	// Out receives each result's line as its test finishes (nil: none).
	Out io.Writer
	// Only, when not empty, runs only the tests of these names.
	Only []string
	// Retry is the pause between two tries (default 1s).
	Retry time.Duration
}

// Run runs the suite's tests in order, each on its nodes in parallel, and reports every result.
func Run(ctx context.Context, s *Suite, env Env, o Options) *Report {
	rep := &Report{File: s.File, Started: time.Now(), Results: []Result{}}
	stopped := ""
	for _, t := range s.Tests {
		if len(o.Only) > 0 && !contains(o.Only, t.Name) {
			continue
		}
		if stopped != "" || ctx.Err() != nil {
			why := "not run: " + stopped + " failed (stop_on_error)"
			if stopped == "" {
				why = "not run: interrupted"
			}
			for _, n := range targets(t) {
				r := Result{Test: t.Name, Node: n, Check: t.Check.Name(), Status: Skipped, Reason: why, Line: t.Line}
				rep.add(o, r)
			}
			continue
		}
		results := RunTest(ctx, t, env, o)
		failed := false
		for _, r := range results {
			rep.add(o, r)
			failed = failed || r.Status == Fail
		}
		if failed && t.StopOnError {
			stopped = fmt.Sprintf("%q", t.Name)
		}
	}
	rep.Duration = time.Since(rep.Started)
	return rep
}

func targets(t *Test) []string {
	if w, ok := t.Check.(*WireCheck); ok {
		return []string{w.LAN}
	}
	return t.Nodes
}

// RunTest runs one test on each of its nodes in parallel, each retried until it passes or its wait ends,
// and returns the results in node order.
func RunTest(ctx context.Context, t *Test, env Env, o Options) []Result {
	nodes := targets(t)
	out := make([]Result, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = try(ctx, t, env, n, o)
		}()
	}
	wg.Wait()
	return out
}

// attemptTimeout bounds one try of a node check (an ssh that hangs); a wire check takes its window more.
const attemptTimeout = 60 * time.Second

func try(ctx context.Context, t *Test, env Env, target string, o Options) Result {
	node := target
	if _, wireCheck := t.Check.(*WireCheck); wireCheck {
		node = ""
	}
	retry := o.Retry
	if retry <= 0 {
		retry = time.Second
	}
	start := time.Now()
	r := Result{Test: t.Name, Node: target, Check: t.Check.Name(), Line: t.Line}
	var oc Outcome
	for {
		r.Attempts++
		limit := attemptTimeout
		if w, ok := t.Check.(*WireCheck); ok {
			limit += w.Window
		}
		actx, cancel := context.WithTimeout(ctx, limit)
		oc = t.Check.Run(actx, env, node)
		cancel()
		if oc.Pass || oc.Skip != "" || ctx.Err() != nil || time.Since(start)+retry > t.Wait {
			break
		}
		tm := time.NewTimer(retry)
		select {
		case <-ctx.Done():
		case <-tm.C:
		}
		tm.Stop()
		if ctx.Err() != nil {
			break
		}
	}
	r.Duration = time.Since(start)
	r.Seconds = float64(r.Duration.Round(time.Millisecond)) / float64(time.Second)
	r.Observed, r.Output = oc.Observed, oc.Output
	switch {
	case oc.Skip != "":
		r.Status, r.Reason = Skipped, oc.Skip
	case oc.Pass:
		r.Status = Pass
	default:
		r.Status, r.Reason = Fail, oc.Reason
		if ctx.Err() != nil && r.Reason == "" {
			r.Reason = "interrupted"
		}
		if t.Warning {
			r.Status = Warn
		}
	}
	return r
}

func sortBy[T any](s []T, key func(T) string) {
	sort.Slice(s, func(i, j int) bool { return key(s[i]) < key(s[j]) })
}
