package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/cloonix-go/cloonix/shellquote"
	"github.com/cloonix-go/cloonix/validate"
)

// Driver is what the runner drives: the lab's daemon, its VMs over ssh (validate.Env: the checks of expect,
// wait and validate steps run through it), and the image cache. The CLI's implementation is CLIDriver; tests
// use a fake.
type Driver interface {
	validate.Env
	// BuildImages builds the named project images (instant when they are cached).
	BuildImages(ctx context.Context, names []string) error
	// Up starts the lab and returns once every VM's sshd answers.
	Up(ctx context.Context) error
	// Down stops the lab.
	Down(ctx context.Context) error
	// Push copies file to vm and loads it, returning the VM's answer.
	Push(ctx context.Context, vm, file string, replace bool) (string, error)
	// SetLink takes a VM's NIC link down or up.
	SetLink(ctx context.Context, vm, nic string, up bool) error
	// Impair sets words on a VM's NIC in dir (out, in, both) or, with clear, removes them.
	Impair(ctx context.Context, vm, nic, dir, words string, clear bool) error
}

// Options tune a run.
type Options struct {
	Out  io.Writer // where step lines go
	Keep bool      // leave the lab up at the end (and after a failure)
	// FileDir is where the demo's files were extracted (Prepare): pushed files are read from there.
	FileDir string
	// Vars fill {name} placeholders in the demo's next text: lab, ssh_config, include, dir. Vars["lab"] also
	// names the lab in the runner's own messages.
	Vars map[string]string
	// Leftover, when not empty, says what an earlier run left of the demo's lab ("its daemon is up"): Run
	// stops and purges it with Driver.Down before the first step, saying so, because a demo owns its lab name.
	Leftover string
	// Poll is how often wait steps retry; 1s if zero.
	Poll time.Duration
	// Now is the clock (tests); time.Now if nil.
	Now func() time.Time
}

// StepError is a failed step.
type StepError struct {
	Index int    // 1-based
	Step  string // the step's label
	Err   error
}

func (e *StepError) Error() string {
	if errors.Is(e.Err, context.Canceled) {
		return fmt.Sprintf("interrupted at step %d %q", e.Index, e.Step)
	}
	return fmt.Sprintf("step %d %q failed: %v", e.Index, e.Step, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// downTimeout bounds taking the lab down at the end, which runs even after an interrupt.
const downTimeout = 2 * time.Minute

// Run plays the demo's steps in order with drv, printing one line per step, then the demo's next text. It
// stops at the first failing step and returns a *StepError naming it. Once an up step has started, and unless
// o.Keep is set, it takes the lab down at the end: after success, after a failed step (the up step itself
// included) and after ctx is cancelled (Ctrl-C, SIGTERM), with a context of its own, and prints one line
// saying so, or what failed and the command that finishes the job.
func Run(ctx context.Context, d *Demo, drv Driver, o Options) (err error) {
	r := &runner{d: d, drv: drv, o: o}
	if r.o.Now == nil {
		r.o.Now = time.Now
	}
	if r.o.Poll == 0 {
		r.o.Poll = time.Second
	}
	if r.o.Out == nil {
		r.o.Out = io.Discard
	}
	start := r.o.Now()
	fmt.Fprintf(r.o.Out, "%s demo %s: %s\n", r.stamp(), d.Name, d.Title)
	if r.o.Leftover != "" {
		label := fmt.Sprintf("demo %s: stopping %s left by an earlier run (%s)", d.Name, r.labWord(), r.o.Leftover)
		if why := r.downLine(ctx, label); why != "" {
			return fmt.Errorf("demo %s: stopping %s left by an earlier run failed: %s; finish with: %s", d.Name, r.labWord(), why, r.downCommand(true))
		}
	}
	defer func() { err = r.finish(ctx, err) }()
	for i := range d.Steps {
		s := &d.Steps[i]
		switch s.Do {
		case ActExpect, ActWait:
			if err := r.checkStep(ctx, i+1, s); err != nil {
				return err
			}
			continue
		case ActValidate:
			if err := r.validateStep(ctx, i+1, s); err != nil {
				return err
			}
			continue
		}
		if err := r.step(ctx, i+1, s.Label(), func(ctx context.Context) (string, error) { return r.do(ctx, s) },
			s.Print || s.Do == ActRun); err != nil {
			return err
		}
	}
	fmt.Fprintf(r.o.Out, "%s demo %s done in %.1fs\n", r.stamp(), d.Name, r.o.Now().Sub(start).Seconds())
	if d.Next != "" {
		if r.up && r.o.Keep {
			fmt.Fprintln(r.o.Out)
			fmt.Fprintln(r.o.Out, strings.TrimSpace(fill(d.Next, r.o.Vars)))
			fmt.Fprintln(r.o.Out)
		} else if r.up {
			fmt.Fprintf(r.o.Out, "%s next: `cloonix-labd demo --keep %s` leaves the lab up to explore (ssh, console, link, inventory)\n",
				r.stamp(), d.Name)
		}
	}
	return nil
}

// finish takes the lab down once an up step has started, unless o.Keep is set, and prints one line about it.
// err is how the steps ended; the result is err, or the failure to take the lab down when the steps passed.
func (r *runner) finish(ctx context.Context, err error) error {
	if !r.started {
		return err
	}
	why := ""
	var se *StepError
	switch {
	case ctx.Err() != nil && errors.As(err, &se):
		why = fmt.Sprintf("interrupted at step %d %q: ", se.Index, se.Step)
	case ctx.Err() != nil:
		why = "interrupted: "
	case errors.As(err, &se):
		why = fmt.Sprintf("step %d %q failed: ", se.Index, se.Step)
	}
	if r.o.Keep {
		state := "the lab stays up"
		if why != "" {
			state = "the lab is left as it is"
		}
		fmt.Fprintf(r.o.Out, "%s %s%s (--keep); stop it with: %s\n", r.stamp(), why, state, r.downCommand(false))
		return err
	}
	// Clean up even when ctx was cancelled (Ctrl-C): a lab left behind is worse than a late exit.
	downCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), downTimeout)
	defer cancel()
	failed := r.downLine(downCtx, fmt.Sprintf("%stake %s down", why, r.labWord()))
	if failed == "" {
		r.started, r.up = false, false
		return err
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("demo %s: taking %s down failed: %s; finish with: %s", r.d.Name, r.labWord(), failed, r.downCommand(true))
}

// downLine runs Driver.Down as one output line, "label ... ok (1.2s)", or, when it fails, "label ... FAILED
// (1.2s): why; finish with: COMMAND" with the rest of the failure's output indented below. It returns why,
// or "" when the lab is down.
func (r *runner) downLine(ctx context.Context, label string) string {
	t0 := r.o.Now()
	fmt.Fprintf(r.o.Out, "%s %s ... ", t0.Format("15:04:05"), label)
	err := r.drv.Down(ctx)
	took := r.o.Now().Sub(t0).Seconds()
	if err == nil {
		fmt.Fprintf(r.o.Out, "ok (%.1fs)\n", took)
		return ""
	}
	why, rest, _ := strings.Cut(strings.TrimSpace(err.Error()), "\n")
	fmt.Fprintf(r.o.Out, "FAILED (%.1fs): %s; finish with: %s\n", took, why, r.downCommand(true))
	writeIndented(r.o.Out, rest)
	return why
}

// labWord names the lab in messages: "lab ospf", or "the lab" when Vars give no name.
func (r *runner) labWord() string {
	if name := r.o.Vars["lab"]; name != "" {
		return "lab " + name
	}
	return "the lab"
}

// downCommand is the command line that stops the demo's lab (and, with purge, deletes its state as the
// runner does).
func (r *runner) downCommand(purge bool) string {
	cmd := "cloonix-labd down"
	if name := r.o.Vars["lab"]; name != "" {
		cmd += " --lab " + name
	}
	if purge {
		cmd += " --purge"
	}
	return cmd
}

// fill replaces {name} by vars[name].
func fill(s string, vars map[string]string) string {
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

type runner struct {
	d       *Demo
	drv     Driver
	o       Options
	up      bool // a step brought the lab up and no step took it down
	started bool // an up step started (it may have failed halfway) and no down step completed since
}

func (r *runner) stamp() string { return r.o.Now().Format("15:04:05") }

// step runs step number index as one output line, printing its output below the line when show is set (or when it fails).
func (r *runner) step(ctx context.Context, index int, label string, fn func(context.Context) (string, error), show bool) error {
	t0 := r.o.Now()
	fmt.Fprintf(r.o.Out, "%s %s ... ", t0.Format("15:04:05"), label)
	out, err := fn(ctx)
	took := r.o.Now().Sub(t0).Seconds()
	if err != nil {
		fmt.Fprintf(r.o.Out, "FAILED (%.1fs)\n", took)
		writeIndented(r.o.Out, out)
		return &StepError{Index: index, Step: label, Err: err}
	}
	fmt.Fprintf(r.o.Out, "ok (%.1fs)\n", took)
	if show {
		writeIndented(r.o.Out, out)
	}
	return nil
}

// writeIndented prints text with each line indented, so step lines stand out.
func writeIndented(w io.Writer, text string) {
	text = strings.TrimRight(text, "\n")
	if strings.TrimSpace(text) == "" {
		return
	}
	for _, line := range strings.Split(text, "\n") {
		fmt.Fprintf(w, "    %s\n", strings.TrimRight(line, "\r"))
	}
}

// do performs one step and returns the output to show.
func (r *runner) do(ctx context.Context, s *Step) (string, error) {
	switch s.Do {
	case ActBuild:
		return "", r.drv.BuildImages(ctx, r.d.Requires.Images)
	case ActUp:
		r.started = true
		if err := r.drv.Up(ctx); err != nil {
			return "", err
		}
		r.up = true
		return "", nil
	case ActDown:
		if err := r.drv.Down(ctx); err != nil {
			return "", err
		}
		r.up, r.started = false, false
		return "", nil
	case ActCopy:
		return "", r.copy(ctx, s)
	case ActSleep:
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(s.Timeout.Duration):
			return "", nil
		}
	}
	return r.perVM(ctx, s, func(ctx context.Context, vm string) (string, error) {
		switch s.Do {
		case ActPush:
			file := strings.ReplaceAll(s.File, "{vm}", vm)
			return r.drv.Push(ctx, vm, r.path(file), s.Replace)
		case ActRun:
			return r.drv.Run(ctx, vm, s.User, s.Cmd)
		case ActLink:
			return "", r.drv.SetLink(ctx, vm, s.NIC, s.State == "up")
		case ActImpair:
			return "", r.drv.Impair(ctx, vm, s.NIC, s.Dir, s.Set, s.Clear)
		}
		return "", fmt.Errorf("unknown action %q", s.Do)
	})
}

// copy reads a file on one VM and writes it on another, through the host: base64 over two ssh commands, so
// that any bytes survive the shells; the file keeps at most the owner's permissions (keys).
func (r *runner) copy(ctx context.Context, s *Step) error {
	user := s.User
	if user == "" {
		user = "root"
	}
	fromVM, fromPath, _ := strings.Cut(s.From, ":")
	toVM, toPath, _ := strings.Cut(s.To, ":")
	out, err := r.drv.Run(ctx, fromVM, user, "base64 "+shellquote.Quote(fromPath))
	if err != nil {
		return fmt.Errorf("read %s: %w", s.From, err)
	}
	data := strings.Join(strings.Fields(out), "")
	cmd := fmt.Sprintf("umask 077; mkdir -p %s && echo %s | base64 -d > %s", shellquote.Quote(path.Dir(toPath)), shellquote.Quote(data), shellquote.Quote(toPath))
	if _, err := r.drv.Run(ctx, toVM, user, cmd); err != nil {
		return fmt.Errorf("write %s: %w", s.To, err)
	}
	return nil
}

// path is the extracted location of a demo file.
func (r *runner) path(name string) string {
	if r.o.FileDir == "" {
		return name
	}
	return r.o.FileDir + "/" + name
}

// perVM runs fn on each of the step's VMs in parallel and joins their outputs (each under a "vm:" header
// when there are several).
func (r *runner) perVM(ctx context.Context, s *Step, fn func(context.Context, string) (string, error)) (string, error) {
	vms := s.Targets()
	outs := make([]string, len(vms))
	errs := make([]error, len(vms))
	var wg sync.WaitGroup
	for i, vm := range vms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = fn(ctx, vm)
		}()
	}
	wg.Wait()
	var b strings.Builder
	for i, vm := range vms {
		if len(vms) > 1 {
			if strings.TrimSpace(outs[i]) == "" {
				continue
			}
			fmt.Fprintf(&b, "%s:\n", vm)
			for _, line := range strings.Split(strings.TrimRight(outs[i], "\n"), "\n") {
				if line != "" {
					fmt.Fprintf(&b, "  %s\n", line)
				}
			}
		} else {
			b.WriteString(outs[i])
		}
	}
	var failed []error
	for i, err := range errs {
		if err != nil {
			failed = append(failed, fmt.Errorf("%s: %w", vms[i], err))
		}
	}
	return b.String(), errors.Join(failed...)
}

// checkStep runs an expect or wait step as a validate test: one PASS/FAIL line per VM, as `cloonix-labd
// validate` prints them, with the output under it when the step prints or fails.
func (r *runner) checkStep(ctx context.Context, index int, s *Step) error {
	results := validate.RunTest(ctx, s.test(), r.drv, validate.Options{Retry: r.o.Poll})
	var failed []string
	for _, res := range results {
		fmt.Fprintf(r.o.Out, "%s %s\n", r.stamp(), res)
		if s.Print || res.Status != validate.Pass {
			writeIndented(r.o.Out, res.Output)
		}
		if res.Status != validate.Pass {
			why := res.Node + ": " + res.Reason
			if s.Do == ActWait {
				why += fmt.Sprintf(" (waited %v)", s.Timeout.Duration)
			}
			failed = append(failed, why)
		}
	}
	if ctx.Err() != nil {
		return &StepError{Index: index, Step: s.Label(), Err: ctx.Err()}
	}
	if len(failed) > 0 {
		return &StepError{Index: index, Step: s.Label(), Err: errors.New(strings.Join(failed, "; "))}
	}
	return nil
}

// validateStep runs the demo's tests file, each result's line as it comes and the summary, and fails when a
// test fails or none could run.
func (r *runner) validateStep(ctx context.Context, index int, s *Step) error {
	file := s.File
	if file == "" {
		file = "tests.toml"
	}
	label := s.Label()
	fmt.Fprintf(r.o.Out, "%s %s\n", r.stamp(), label)
	suite, err := validate.Load(r.path(file), nil)
	if err != nil {
		return &StepError{Index: index, Step: label, Err: err}
	}
	rep := validate.Run(ctx, suite, r.drv, validate.Options{Out: stampWriter{r}, Retry: r.o.Poll})
	rep.Lab = r.o.Vars["lab"]
	rep.Finish()
	fmt.Fprintf(r.o.Out, "%s %s\n", r.stamp(), rep.SummaryLine())
	switch {
	case ctx.Err() != nil:
		return &StepError{Index: index, Step: label, Err: ctx.Err()}
	case rep.ExitCode == validate.ExitFailed || rep.ExitCode == validate.ExitNoTest:
		return &StepError{Index: index, Step: label, Err: fmt.Errorf("%d of %d results failed, %d skipped", rep.Summary.Failed,
			rep.Summary.Results, rep.Summary.Skipped)}
	}
	return nil
}

// stampWriter writes each line with the runner's time stamp in front.
type stampWriter struct{ r *runner }

func (w stampWriter) Write(p []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line != "" {
			fmt.Fprintf(w.r.o.Out, "%s %s", w.r.stamp(), line)
		}
	}
	return len(p), nil
}
