package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/kind"

	"github.com/cloonix-go/cloonix/examples/demos"
)

// fakeDriver records calls and answers Run from a script of outputs per command.
type fakeDriver struct {
	mu      sync.Mutex
	calls   []string
	outputs map[string][]string // vm+" "+cmd → successive outputs (the last one repeats)
	failUp  error
	pushErr map[string]error
	// upFn, when set, is Up (after recording the call).
	upFn func(context.Context) error
	// downErr is what Down returns; downCtxErr records ctx.Err() when Down was called.
	downErr    error
	downCtxErr error
	buildErr   error
}

func (f *fakeDriver) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeDriver) BuildImages(_ context.Context, names []string) error {
	f.record("build " + strings.Join(names, ","))
	return f.buildErr
}
func (f *fakeDriver) Up(ctx context.Context) error {
	f.record("up")
	if f.upFn != nil {
		return f.upFn(ctx)
	}
	return f.failUp
}
func (f *fakeDriver) Down(ctx context.Context) error {
	f.record("down")
	f.mu.Lock()
	f.downCtxErr = ctx.Err()
	f.mu.Unlock()
	return f.downErr
}
func (f *fakeDriver) Push(_ context.Context, vm, file string, replace bool) (string, error) {
	f.record(fmt.Sprintf("push %s %s %v", vm, filepath.Base(file), replace))
	return vm + " loaded", f.pushErr[vm]
}
func (f *fakeDriver) Run(_ context.Context, vm, user, cmd string) (string, error) {
	f.record(fmt.Sprintf("run %s %s %s", vm, user, cmd))
	f.mu.Lock()
	defer f.mu.Unlock()
	outs := f.outputs[vm+" "+cmd]
	if len(outs) == 0 {
		return "", errors.New("no such command")
	}
	out := outs[0]
	if len(outs) > 1 {
		f.outputs[vm+" "+cmd] = outs[1:]
	}
	return out, nil
}
func (f *fakeDriver) Impair(_ context.Context, vm, nic, dir, words string, clear bool) error {
	f.record(fmt.Sprintf("impair %s %s %s %q %v", vm, nic, dir, words, clear))
	return nil
}

func (f *fakeDriver) Kind(context.Context, string) (*kind.Kind, error) { return kind.Lookup("linux") }

func (f *fakeDriver) Links(context.Context) ([]api.LinkStatus, error) {
	return nil, errors.New("the fake lab has no switch")
}

func (f *fakeDriver) Capture(context.Context, []string, time.Duration) (io.ReadCloser, error) {
	return nil, errors.New("the fake lab has no switch")
}

func (f *fakeDriver) SetLink(_ context.Context, vm, nic string, up bool) error {
	f.record(fmt.Sprintf("link %s %s %v", vm, nic, up))
	return nil
}

func (f *fakeDriver) count(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

const testSteps = `
title = "test demo"
next = "ssh -F {ssh_config} r1"
[requires]
images = ["tiny", "frr"]
[[step]]
do = "build"
[[step]]
name = "start"
do = "up"
[[step]]
name = "push configs"
do = "push"
vms = ["r1", "r2"]
file = "{vm}.conf"
[[step]]
name = "adjacency"
do = "wait"
vm = "r1"
cmd = "show ip ospf neighbor"
match = "Full"
timeout = "5s"
print = true
[[step]]
do = "link"
vm = "r1"
nic = "eth1"
state = "down"
[[step]]
name = "no neighbor"
do = "expect"
vm = "r1"
cmd = "show ip ospf neighbor"
not_match = "Full"
`

func testFS(steps string) fstest.MapFS {
	return fstest.MapFS{
		"t/steps.toml": {Data: []byte(steps)},
		"t/lab.toml":   {Data: []byte("name = \"tl\"\nimage = \"{{image}}\"\n")},
		"t/r1.conf":    {Data: []byte("r1")},
		"t/r2.conf":    {Data: []byte("r2")},
	}
}

// stepLine is the format of a step's line: an action's, or a check's (validate's PASS/FAIL line, one per VM).
var stepLine = regexp.MustCompile(`^\d\d:\d\d:\d\d (.+ \.\.\. (ok|FAILED)|(PASS|FAIL) \S+ .+:.*) \(\d+\.\ds(, \d+ tries)?\)$`)

func TestRunPlaysStepsAndCleansUp(t *testing.T) {
	d, err := Load(testFS(testSteps), "t")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDriver{outputs: map[string][]string{
		"r1 show ip ospf neighbor": {"Init", "Init", "2.2.2.2 Full/-", "nothing"},
	}}
	var out strings.Builder
	err = Run(context.Background(), d, f, Options{Out: &out, Poll: time.Millisecond, Vars: map[string]string{"ssh_config": "/x"}})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	want := []string{"build tiny,frr", "up", "push r1 r1.conf false", "push r2 r2.conf false",
		"run r1  show ip ospf neighbor", "run r1  show ip ospf neighbor", "run r1  show ip ospf neighbor",
		"link r1 eth1 false", "run r1  show ip ospf neighbor", "down"}
	got := f.calls
	// The two pushes run in parallel: compare them as a set.
	if len(got) != len(want) {
		t.Fatalf("calls %q\nwant %q", got, want)
	}
	if !(got[2] == want[2] && got[3] == want[3]) && !(got[2] == want[3] && got[3] == want[2]) {
		t.Errorf("pushes %q", got[2:4])
	}
	got[2], got[3] = want[2], want[3]
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("calls %q\nwant %q", got, want)
	}
	lines := 0
	for _, l := range strings.Split(out.String(), "\n") {
		if stepLine.MatchString(l) {
			lines++
		}
	}
	if lines != 7 { // 6 steps and down
		t.Errorf("%d step lines, want 7:\n%s", lines, out.String())
	}
	if !strings.Contains(out.String(), "    2.2.2.2 Full/-") {
		t.Errorf("the wait step's output is not printed:\n%s", out.String())
	}
	if strings.Contains(out.String(), "ssh -F /x r1") {
		t.Errorf("next text printed without --keep:\n%s", out.String())
	}
}

func TestRunFailureNamesStepAndKeeps(t *testing.T) {
	d, err := Load(testFS(testSteps), "t")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDriver{pushErr: map[string]error{"r2": errors.New("vtysh refused line 3")}}
	var out strings.Builder
	err = Run(context.Background(), d, f, Options{Out: &out, Keep: true, Vars: map[string]string{"lab": "tl"}})
	var se *StepError
	if !errors.As(err, &se) || se.Index != 3 || se.Step != "push configs" {
		t.Fatalf("err = %v, want step 3 push configs", err)
	}
	if !strings.Contains(err.Error(), "r2: vtysh refused line 3") || strings.Contains(err.Error(), "r1:") {
		t.Errorf("error does not name the failing VM only: %v", err)
	}
	if f.count("down") != 0 {
		t.Error("--keep took the lab down after a failure")
	}
	if !strings.Contains(out.String(), "push configs ... FAILED") ||
		!strings.Contains(out.String(), `step 3 "push configs" failed: the lab is left as it is (--keep); stop it with: cloonix-labd down --lab tl`+"\n") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestRunFailureCleansUp(t *testing.T) {
	d, err := Load(testFS(testSteps), "t")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDriver{outputs: map[string][]string{"r1 show ip ospf neighbor": {"Init"}}}
	var out strings.Builder
	start := time.Now()
	d.Steps[3].Timeout.Duration = 50 * time.Millisecond
	err = Run(context.Background(), d, f, Options{Out: &out, Poll: 5 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), `"adjacency"`) || !strings.Contains(err.Error(), "waited 50ms") ||
		!strings.Contains(err.Error(), `r1: output does not match Full`) ||
		!regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d FAIL r1 adjacency: output does not match Full; saw Init \(`).MatchString(out.String()) {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("the wait did not honour its timeout")
	}
	if f.count("down") != 1 {
		t.Errorf("the lab was not taken down after the failure: %q", f.calls)
	}
	if !regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d step 4 "adjacency" failed: take the lab down \.\.\. ok \(\d+\.\ds\)$`).MatchString(out.String()) {
		t.Errorf("no line saying the lab was taken down after step 4:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "    Init") {
		t.Errorf("the last output of a failed wait is not shown:\n%s", out.String())
	}
}

func TestRunUpFailureTakesLabDown(t *testing.T) {
	d, err := Load(testFS(testSteps), "t")
	if err != nil {
		t.Fatal(err)
	}
	// An up that fails halfway may leave a daemon behind: the runner takes the lab down all the same.
	f := &fakeDriver{failUp: errors.New("vm r1 crashed")}
	var out strings.Builder
	err = Run(context.Background(), d, f, Options{Out: &out, Vars: map[string]string{"lab": "tl"}})
	if err == nil || !strings.Contains(err.Error(), `step 2 "start" failed: vm r1 crashed`) {
		t.Fatalf("err = %v", err)
	}
	if f.count("down") != 1 {
		t.Errorf("down not called after a failed up: %q", f.calls)
	}
	if !regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d step 2 "start" failed: take lab tl down \.\.\. ok \(\d+\.\ds\)$`).MatchString(out.String()) {
		t.Errorf("no line saying the lab was taken down:\n%s", out.String())
	}
}

func TestRunFailureBeforeUpLeavesLabAlone(t *testing.T) {
	d, err := Load(testFS(testSteps), "t")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDriver{buildErr: errors.New("no network")}
	var out strings.Builder
	if err := Run(context.Background(), d, f, Options{Out: &out}); err == nil {
		t.Fatal("a failed build passed")
	}
	if f.count("down") != 0 || strings.Contains(out.String(), "down") {
		t.Errorf("the lab was taken down although no step started it: %q\n%s", f.calls, out.String())
	}
}

func TestRunInterruptedDuringUpTakesLabDown(t *testing.T) {
	d, err := Load(testFS(testSteps), "t")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Ctrl-C while `up` waits for the VMs: the daemon may be up already.
	f := &fakeDriver{upFn: func(ctx context.Context) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	}}
	var out strings.Builder
	err = Run(ctx, d, f, Options{Out: &out, Vars: map[string]string{"lab": "tl"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want it to wrap context.Canceled", err)
	}
	if f.count("down") != 1 {
		t.Fatalf("down not called after an interrupt: %q", f.calls)
	}
	if f.downCtxErr != nil {
		t.Errorf("down ran with a cancelled context (%v): it could not stop anything", f.downCtxErr)
	}
	if !regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d interrupted at step 2 "start": take lab tl down \.\.\. ok \(\d+\.\ds\)$`).MatchString(out.String()) {
		t.Errorf("no line saying the interrupted demo took its lab down:\n%s", out.String())
	}
}

func TestRunInterruptedKeep(t *testing.T) {
	d, err := Load(testFS(testSteps), "t")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &fakeDriver{upFn: func(context.Context) error { cancel(); return context.Canceled }}
	var out strings.Builder
	_ = Run(ctx, d, f, Options{Out: &out, Keep: true, Vars: map[string]string{"lab": "tl"}})
	if f.count("down") != 0 {
		t.Errorf("--keep took the lab down after an interrupt: %q", f.calls)
	}
	if !strings.Contains(out.String(), `interrupted at step 2 "start": the lab is left as it is (--keep); stop it with: cloonix-labd down --lab tl`+"\n") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestRunDownFailureSaysHowToFinish(t *testing.T) {
	d, err := Load(testFS(testSteps), "t")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDriver{
		outputs: map[string][]string{"r1 show ip ospf neighbor": {"Full", "none"}},
		downErr: errors.New("cloonix-labd --lab tl down --purge: exit status 1\nprocesses 42 are still running"),
	}
	var out strings.Builder
	err = Run(context.Background(), d, f, Options{Out: &out, Poll: time.Millisecond, Vars: map[string]string{"lab": "tl"}})
	if err == nil || !strings.Contains(err.Error(), "demo t: taking lab tl down failed: cloonix-labd --lab tl down --purge: exit status 1; finish with: cloonix-labd down --lab tl --purge") {
		t.Fatalf("err = %v", err)
	}
	if !regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d take lab tl down \.\.\. FAILED \(\d+\.\ds\): cloonix-labd --lab tl down --purge: exit status 1; finish with: cloonix-labd down --lab tl --purge$`).MatchString(out.String()) ||
		!strings.Contains(out.String(), "    processes 42 are still running") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestRunStopsLeftover(t *testing.T) {
	d, err := Load(testFS(testSteps), "t")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDriver{outputs: map[string][]string{"r1 show ip ospf neighbor": {"Full", "none"}}}
	var out strings.Builder
	err = Run(context.Background(), d, f, Options{Out: &out, Poll: time.Millisecond, Leftover: "its daemon is up", Vars: map[string]string{"lab": "tl"}})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if len(f.calls) < 2 || f.calls[0] != "down" || f.calls[1] != "build tiny,frr" || f.count("down") != 2 {
		t.Errorf("calls %q: want down first, then the steps, then down", f.calls)
	}
	if !regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d demo t: stopping lab tl left by an earlier run \(its daemon is up\) \.\.\. ok \(\d+\.\ds\)$`).MatchString(out.String()) {
		t.Errorf("output:\n%s", out.String())
	}

	f = &fakeDriver{downErr: errors.New("qemu 42 does not stop")}
	out.Reset()
	err = Run(context.Background(), d, f, Options{Out: &out, Leftover: "its daemon is gone, its state stays", Vars: map[string]string{"lab": "tl"}})
	if err == nil || !strings.Contains(err.Error(), "demo t: stopping lab tl left by an earlier run failed: qemu 42 does not stop; finish with: cloonix-labd down --lab tl --purge") {
		t.Errorf("err = %v", err)
	}
	if len(f.calls) != 1 {
		t.Errorf("steps ran although the leftover could not be stopped: %q", f.calls)
	}
}

func TestKeepPrintsNext(t *testing.T) {
	d, err := Load(testFS(testSteps), "t")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDriver{outputs: map[string][]string{"r1 show ip ospf neighbor": {"Full", "none"}}}
	var out strings.Builder
	if err := Run(context.Background(), d, f, Options{Out: &out, Keep: true, Vars: map[string]string{"ssh_config": "/x"}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ssh -F /x r1") || f.count("down") != 0 ||
		!strings.Contains(out.String(), "the lab stays up (--keep); stop it with: cloonix-labd down\n") {
		t.Errorf("keep: calls %q output:\n%s", f.calls, out.String())
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]string{
		`title = "x"` + "\n[[step]]\ndo = \"jump\"":                                            `unknown action do = "jump"`,
		`title = "x"` + "\n[[step]]\ndo = \"wait\"\nvm = \"r1\"\ncmd = \"c\"":                  "wait needs match",
		`title = "x"` + "\n[[step]]\ndo = \"push\"\nvm = \"r9\"\nfile = \"{vm}.conf\"":         "file r9.conf",
		`title = "x"` + "\n[[step]]\ndo = \"link\"\nvm = \"r1\"\nnic = \"eth1\"":               "state = ",
		`title = "x"` + "\n[[step]]\ndo = \"expect\"\nvm = \"r1\"\ncmd = \"c\"\nmatch = \"(\"": "match: error parsing regexp",
		`title = "x"` + "\n[[step]]\ndo = \"up\"\ncolour = \"red\"":                            "unknown keys step.colour",
		"[[step]]\ndo = \"up\"": "title is missing",
		`title = "x"`:           "no [[step]]",
		`title = "x"` + "\n[[step]]\ndo = \"run\"\ncmd = \"c\"": "run needs vm",
	}
	for steps, want := range cases {
		_, err := Load(testFS(steps), "t")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("steps %q: err = %v, want it to mention %q", steps, err, want)
		}
	}
	if _, err := Load(testFS(testSteps), "nope"); err == nil || !strings.Contains(err.Error(), "known demos: t") {
		t.Errorf("unknown demo: %v", err)
	}
	if _, err := Load(testFS(testSteps), "../t"); err == nil {
		t.Error("a path as a demo name was accepted")
	}
}

func TestPrepareAndRequires(t *testing.T) {
	d, err := Load(testFS(testSteps), "t")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	img := filepath.Join(dir, "vendor.qcow2")
	if err := os.WriteFile(img, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	labFile, err := Prepare(d, out, img)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(labFile)
	if !strings.Contains(string(data), `image = "`+img+`"`) {
		t.Errorf("lab file not filled: %s", data)
	}
	if b, err := os.ReadFile(filepath.Join(out, "r2.conf")); err != nil || string(b) != "r2" {
		t.Errorf("r2.conf not copied: %q %v", b, err)
	}
	if name, err := LabName(labFile); err != nil || name != "tl" {
		t.Errorf("LabName = %q, %v", name, err)
	}

	d.Requires.Image = "an IOS-XE qcow2"
	d.Requires.MemoryMiB = 12800
	if err := CheckRequires(d, "", nil); err == nil || !strings.Contains(err.Error(), "needs an IOS-XE qcow2: give it with --image PATH") {
		t.Errorf("missing --image: %v", err)
	}
	if err := CheckRequires(d, filepath.Join(dir, "missing"), nil); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	mem := func() (int, error) { return 4096, nil }
	if err := CheckRequires(d, img, mem); err == nil || !strings.Contains(err.Error(), "needs 12800 MiB") {
		t.Errorf("memory: %v", err)
	}
	if err := CheckRequires(d, img, func() (int, error) { return 20000, nil }); err != nil {
		t.Errorf("requirements met: %v", err)
	}
	d.Requires = Requires{}
	if err := CheckRequires(d, img, nil); err == nil {
		t.Error("--image accepted by a demo that takes none")
	}
}

// TestBuiltinDemosParse checks every embedded demo: steps, lab file and pushed files.
func TestBuiltinDemosParse(t *testing.T) {
	ds, err := List(demos.FS)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, d := range ds {
		names[d.Name] = true
		if _, err := fsStat(d); err != nil {
			t.Errorf("demo %s: %v", d.Name, err)
		}
	}
	for _, want := range []string{"ospf", "bgp"} {
		if !names[want] {
			t.Errorf("demo %s is not embedded (have %v)", want, names)
		}
	}
}

func fsStat(d *Demo) (string, error) {
	dir, err := os.MkdirTemp("", "demo-test-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	img := ""
	if d.Requires.Image != "" {
		img = filepath.Join(dir, "img.qcow2")
		if err := os.WriteFile(img, nil, 0o644); err != nil {
			return "", err
		}
	}
	lf, err := Prepare(d, dir, img)
	if err != nil {
		return "", err
	}
	return LabName(lf)
}
