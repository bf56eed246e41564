package validate

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

var (
	ospfFull = &OSPFCheck{Neighbor: "2.2.2.2", State: "full", Present: true}
	fastOpts = Options{Retry: 5 * time.Millisecond}
)

// ospfInit is the captured output with 2.2.2.2 still in Init.
var ospfInit = strings.Replace(frrOSPFNeighborJSON, `"nbrState":"Full\/-","converged":"Full","role":"DROther","upTimeInMsec":6292`,
	`"nbrState":"Init\/DROther","converged":"Init","role":"DROther","upTimeInMsec":6292`, 1)

func TestRunTestRetriesUntilPass(t *testing.T) {
	env := newEnv(t, labKinds)
	env.seq[r1OSPF] = []answer{ok(ospfInit), ok(ospfInit), ok(frrOSPFNeighborJSON)}
	test := &Test{Name: "r1 sees r2", Nodes: []string{"r1"}, Check: ospfFull, Wait: 5 * time.Second, Line: 7}
	start := time.Now()
	res := RunTest(context.Background(), test, env, fastOpts)
	if len(res) != 1 {
		t.Fatalf("%d results", len(res))
	}
	r := res[0]
	if r.Status != Pass || r.Attempts != 3 || r.Observed != "neighbor 2.2.2.2 Full/-" || r.Reason != "" ||
		r.Test != "r1 sees r2" || r.Node != "r1" || r.Check != "ospf" || r.Line != 7 || r.Output != frrOSPFNeighborJSON {
		t.Errorf("result %+v, want a pass at the third try", r)
	}
	if el := time.Since(start); el > 2*time.Second || r.Duration > el || r.Duration < 10*time.Millisecond {
		t.Errorf("took %v (result %v): want two pauses of 5ms, not the whole wait", el, r.Duration)
	}
	if r.Seconds != float64(r.Duration.Round(time.Millisecond))/float64(time.Second) {
		t.Errorf("Seconds = %v for %v", r.Seconds, r.Duration)
	}
	if !strings.HasPrefix(r.String(), "PASS r1 r1 sees r2: neighbor 2.2.2.2 Full/- (0.") || !strings.HasSuffix(r.String(), "s, 3 tries)") {
		t.Errorf("line %q", r.String())
	}
}

func TestRunTestOneTryWithoutWait(t *testing.T) {
	env := newEnv(t, labKinds)
	env.seq[r1OSPF] = []answer{ok(ospfInit), ok(frrOSPFNeighborJSON)}
	res := RunTest(context.Background(), &Test{Name: "t", Nodes: []string{"r1"}, Check: ospfFull}, env, fastOpts)
	r := res[0]
	if r.Status != Fail || r.Attempts != 1 || r.Reason != "neighbor 2.2.2.2 is Init/DROther, want full" ||
		r.Observed != "2.2.2.2 Init/DROther, 3.3.3.3 Full/-" {
		t.Errorf("result %+v, want one failed try", r)
	}
	if n := len(env.Calls()); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

func TestRunTestGivesUpAtWait(t *testing.T) {
	env := newEnv(t, labKinds).answer("r1", "", "show ip ospf neighbor json", ospfInit, nil)
	start := time.Now()
	r := RunTest(context.Background(), &Test{Name: "t", Nodes: []string{"r1"}, Check: ospfFull, Wait: 60 * time.Millisecond},
		env, Options{Retry: 10 * time.Millisecond})[0]
	el := time.Since(start)
	if r.Status != Fail || r.Attempts < 2 || r.Attempts > 7 || r.Reason != "neighbor 2.2.2.2 is Init/DROther, want full" {
		t.Errorf("result %+v, want a failure after a few tries", r)
	}
	if el > 60*time.Millisecond+500*time.Millisecond {
		t.Errorf("took %v, want about the wait (60ms)", el)
	}
	if !strings.Contains(r.String(), "tries)") || !strings.HasPrefix(r.String(), "FAIL r1 t: neighbor 2.2.2.2 is Init/DROther, want full; saw 2.2.2.2 Init/DROther, 3.3.3.3 Full/- (") {
		t.Errorf("line %q", r.String())
	}
}

func TestRunTestSkipIsNotRetried(t *testing.T) {
	env := newEnv(t, labKinds)
	r := RunTest(context.Background(), &Test{Name: "t", Nodes: []string{"h1"}, Check: ospfFull, Wait: time.Minute}, env, fastOpts)[0]
	if r.Status != Skipped || r.Attempts != 1 || r.Reason != "a linux node has no OSPF" {
		t.Errorf("result %+v", r)
	}
	if s := r.String(); s != "SKIP h1 t: a linux node has no OSPF" {
		t.Errorf("line %q", s)
	}
}

func TestRunTestNodeOrderAndParallel(t *testing.T) {
	env := newEnv(t, labKinds).answer("r1", "", "show ip ospf neighbor json", frrOSPFNeighborJSON, nil).
		answer("r2", "", "show ip ospf neighbor json", ospfInit, nil)
	// r2 answers last: its result still comes first, as its node does.
	env.delay = map[string]time.Duration{"r2": 150 * time.Millisecond, "r1": 100 * time.Millisecond, "h1": 100 * time.Millisecond}
	start := time.Now()
	res := RunTest(context.Background(), &Test{Name: "t", Nodes: []string{"r2", "r1", "h1"}, Check: ospfFull}, env, fastOpts)
	el := time.Since(start)
	var got []string
	for _, r := range res {
		got = append(got, r.Node+" "+string(r.Status))
	}
	if strings.Join(got, ", ") != "r2 fail, r1 pass, h1 skipped" {
		t.Errorf("results %v, want in node order", got)
	}
	if el >= 340*time.Millisecond {
		t.Errorf("took %v: the nodes did not run in parallel", el)
	}
}

func TestRunStopOnError(t *testing.T) {
	env := newEnv(t, labKinds).answer("r1", "", "show ip ospf neighbor json", ospfInit, nil).
		answer("h1", "", h1Ping[len("h1||"):], busyboxPingOK, nil)
	ping := &PingCheck{Target: ip("192.168.2.10"), Count: 3, Reachable: true}
	s := &Suite{File: "tests.toml", Tests: []*Test{
		{Name: "ping first", Nodes: []string{"h1"}, Check: ping, Line: 1},
		{Name: "adjacency", Nodes: []string{"r1", "r2"}, Check: ospfFull, StopOnError: true, Line: 5},
		{Name: "after", Nodes: []string{"h1"}, Check: ping, Line: 10},
		{Name: "wire after", Check: &WireCheck{LAN: "lan12", Window: time.Second, Mode: "drops"}, Line: 14},
	}}
	var out bytes.Buffer
	rep := Run(context.Background(), s, env, Options{Out: &out, Retry: time.Millisecond})
	rep.Finish()
	var got []string
	for _, r := range rep.Results {
		got = append(got, r.Test+"/"+r.Node+" "+string(r.Status)+" "+r.Reason)
	}
	want := []string{
		"ping first/h1 pass ",
		"adjacency/r1 fail neighbor 2.2.2.2 is Init/DROther, want full",
		"adjacency/r2 fail fake: no answer for \"r2||show ip ospf neighbor json\"",
		`after/h1 skipped not run: "adjacency" failed (stop_on_error)`,
		`wire after/lan12 skipped not run: "adjacency" failed (stop_on_error)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("results:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if sk := rep.Results[3]; sk.Attempts != 0 || sk.Check != "ping" || sk.Line != 10 {
		t.Errorf("skipped result %+v", sk)
	}
	if rep.Results[4].Check != "wire" {
		t.Errorf("wire result %+v", rep.Results[4])
	}
	// Each result's line was printed as it came, in order.
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("printed %q", out.String())
	}
	for i, r := range rep.Results {
		if lines[i] != r.String() {
			t.Errorf("line %d = %q, want %q", i, lines[i], r.String())
		}
	}
	if lines[3] != `SKIP h1 after: not run: "adjacency" failed (stop_on_error)` {
		t.Errorf("skip line %q", lines[3])
	}
	if rep.Summary != (Summary{Results: 5, Passed: 1, Failed: 2, Skipped: 2}) || rep.ExitCode != 1 {
		t.Errorf("summary %+v, exit code %d", rep.Summary, rep.ExitCode)
	}
	if rep.File != "tests.toml" || rep.Started.IsZero() || rep.Duration <= 0 {
		t.Errorf("report %+v", rep)
	}
}

func TestRunWarningLevel(t *testing.T) {
	env := newEnv(t, labKinds).answer("r1", "", "show ip ospf neighbor json", ospfInit, nil).
		answer("r1", "", "show bgp summary json", frrBGPSummaryJSON, nil)
	s := &Suite{Tests: []*Test{
		{Name: "bgp", Nodes: []string{"r1"}, Check: &BGPCheck{Neighbor: "10.0.12.2", State: "established", MinPrefixes: -1, Present: true}},
		{Name: "adjacency", Nodes: []string{"r1"}, Check: ospfFull, Warning: true, StopOnError: true},
		{Name: "bgp again", Nodes: []string{"r1"}, Check: &BGPCheck{Neighbor: "10.0.12.2", State: "established", MinPrefixes: -1, Present: true}},
	}}
	rep := Run(context.Background(), s, env, fastOpts)
	rep.Finish()
	w := rep.Results[1]
	if w.Status != Warn || w.Reason != "neighbor 2.2.2.2 is Init/DROther, want full" {
		t.Errorf("warning result %+v", w)
	}
	if !strings.HasPrefix(w.String(), "WARN r1 adjacency: neighbor 2.2.2.2 is Init/DROther, want full; saw 2.2.2.2 Init/DROther, 3.3.3.3 Full/- (0.") {
		t.Errorf("line %q", w.String())
	}
	// A warning is no failure: the test after stop_on_error still runs.
	if rep.Results[2].Status != Pass {
		t.Errorf("after a warning: %+v", rep.Results[2])
	}
	if rep.Summary != (Summary{Results: 3, Passed: 2, Warnings: 1}) || rep.ExitCode != 3 {
		t.Errorf("summary %+v, exit code %d, want 3", rep.Summary, rep.ExitCode)
	}
}

func TestRunAllSkipped(t *testing.T) {
	env := newEnv(t, labKinds)
	s := &Suite{Tests: []*Test{
		{Name: "ospf", Nodes: []string{"h1"}, Check: ospfFull},
		{Name: "bgp", Nodes: []string{"h1"}, Check: &BGPCheck{Neighbor: "10.0.12.2", State: "established", MinPrefixes: -1, Present: true}},
		{Name: "no bgp", Nodes: []string{"h1"}, Check: &BGPCheck{Neighbor: "10.0.13.3", Present: false}, Wait: time.Minute},
	}}
	rep := Run(context.Background(), s, env, fastOpts)
	rep.Finish()
	if rep.Summary != (Summary{Results: 3, Skipped: 3}) || rep.ExitCode != 2 {
		t.Errorf("summary %+v, exit code %d, want 2; results %+v", rep.Summary, rep.ExitCode, rep.Results)
	}
	// An empty suite runs no test either.
	empty := Run(context.Background(), &Suite{}, env, fastOpts)
	empty.Finish()
	if empty.ExitCode != 2 || empty.Summary != (Summary{}) {
		t.Errorf("empty suite: %+v", empty)
	}
}

func TestRunOnlyAndInterrupted(t *testing.T) {
	env := newEnv(t, labKinds).answer("r1", "", "show ip ospf neighbor json", frrOSPFNeighborJSON, nil)
	s := &Suite{Tests: []*Test{
		{Name: "a", Nodes: []string{"r1"}, Check: ospfFull},
		{Name: "b", Nodes: []string{"r1"}, Check: ospfFull},
		{Name: "c", Nodes: []string{"r1"}, Check: ospfFull},
	}}
	rep := Run(context.Background(), s, env, Options{Only: []string{"c", "a"}, Retry: time.Millisecond})
	rep.Finish()
	if len(rep.Results) != 2 || rep.Results[0].Test != "a" || rep.Results[1].Test != "c" || rep.ExitCode != 0 {
		t.Errorf("Only a, c: %+v", rep.Results)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep = Run(ctx, s, env, fastOpts)
	rep.Finish()
	for _, r := range rep.Results {
		if r.Status != Skipped || r.Reason != "not run: interrupted" {
			t.Errorf("after the interruption: %+v", r)
		}
	}
	if len(rep.Results) != 3 || rep.ExitCode != 2 {
		t.Errorf("interrupted: %d results, exit %d", len(rep.Results), rep.ExitCode)
	}
}

func TestRunTestInterruptedDuringWait(t *testing.T) {
	env := newEnv(t, labKinds).answer("r1", "", "show ip ospf neighbor json", ospfInit, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := RunTest(ctx, &Test{Name: "t", Nodes: []string{"r1"}, Check: ospfFull, Wait: time.Hour}, env, Options{Retry: 10 * time.Millisecond})[0]
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v after the context ended", el)
	}
	if r.Status != Fail || r.Reason == "" {
		t.Errorf("result %+v", r)
	}
}

func TestResultString(t *testing.T) {
	cases := []struct {
		r    Result
		want string
	}{
		{Result{Test: "r1 sees r2", Node: "r1", Status: Pass, Observed: "neighbor 2.2.2.2 Full/-", Attempts: 1}, "PASS r1 r1 sees r2: neighbor 2.2.2.2 Full/- (0.0s)"},
		{Result{Test: "name", Node: "r1", Status: Pass, Observed: "observed", Attempts: 1, Duration: 40 * time.Millisecond}, "PASS r1 name: observed (0.0s)"},
		{Result{Test: "route", Node: "r1", Status: Fail, Observed: "192.168.2.0/24 via 10.0.12.2 eth1 (ospf)", Reason: "next hop 10.0.12.2 eth1, want 10.0.13.3",
			Attempts: 3, Duration: 1250 * time.Millisecond},
			"FAIL r1 route: next hop 10.0.12.2 eth1, want 10.0.13.3; saw 192.168.2.0/24 via 10.0.12.2 eth1 (ospf) (1.2s, 3 tries)"},
		{Result{Test: "route", Node: "r1", Status: Fail, Observed: "no route to 192.168.2.0/24", Reason: "no route to 192.168.2.0/24", Attempts: 1},
			"FAIL r1 route: no route to 192.168.2.0/24 (0.0s)"},
		{Result{Test: "ssh", Node: "r1", Status: Fail, Reason: "connection refused", Attempts: 1}, "FAIL r1 ssh: connection refused (0.0s)"},
		{Result{Test: "w", Node: "r1", Status: Warn, Observed: "x", Reason: "y", Attempts: 2, Duration: 2 * time.Second}, "WARN r1 w: y; saw x (2.0s, 2 tries)"},
		{Result{Test: "s", Node: "h1", Status: Skipped, Reason: "a linux node has no OSPF", Attempts: 1}, "SKIP h1 s: a linux node has no OSPF"},
		{Result{Test: "wire", Node: "lan12", Status: Pass, Observed: "ospf from r1 3, r2 2", Attempts: 1, Duration: 3 * time.Second}, "PASS lan12 wire: ospf from r1 3, r2 2 (3.0s)"},
	}
	for _, c := range cases {
		if got := c.r.String(); got != c.want {
			t.Errorf("String() = %q\n         want %q", got, c.want)
		}
	}
}

func TestExitCode(t *testing.T) {
	cases := []struct {
		s    Summary
		want int
	}{
		{Summary{}, ExitNoTest},
		{Summary{Results: 2, Passed: 2}, ExitPassed},
		{Summary{Results: 2, Passed: 1, Skipped: 1}, ExitPassed},
		{Summary{Results: 2, Skipped: 2}, ExitNoTest},
		{Summary{Results: 2, Passed: 1, Failed: 1}, ExitFailed},
		{Summary{Results: 3, Passed: 1, Failed: 1, Warnings: 1}, ExitFailed},
		{Summary{Results: 2, Passed: 1, Warnings: 1}, ExitWarnings},
		{Summary{Results: 2, Warnings: 1, Skipped: 1}, ExitWarnings},
		{Summary{Results: 1, Failed: 1}, ExitFailed},
	}
	for _, c := range cases {
		if got := ExitCode(c.s); got != c.want {
			t.Errorf("ExitCode(%+v) = %d, want %d", c.s, got, c.want)
		}
	}
	if ExitPassed != 0 || ExitFailed != 1 || ExitNoTest != 2 || ExitWarnings != 3 {
		t.Error("exit codes are not netlab's")
	}
}

func TestSummaryLine(t *testing.T) {
	rep := &Report{Lab: "ospf", File: "tests.toml", Duration: 14200 * time.Millisecond,
		Results: []Result{{Status: Pass}, {Status: Pass}, {Status: Fail}, {Status: Warn}, {Status: Skipped}}}
	rep.Finish()
	if got := rep.SummaryLine(); got != "validate ospf: 5 results: 2 passed, 1 failed, 1 warnings, 1 skipped (14.2s)" {
		t.Errorf("SummaryLine() = %q", got)
	}
	if rep.Seconds != 14.2 {
		t.Errorf("Seconds = %v", rep.Seconds)
	}
	rep.Lab = ""
	if got := rep.SummaryLine(); !strings.HasPrefix(got, "validate tests.toml: ") {
		t.Errorf("without a lab name: %q", got)
	}
}
