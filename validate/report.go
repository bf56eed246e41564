package validate

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/jstemmer/go-junit-report/v2/junit"
)

// Report is a run's results, as `validate --json` prints it (docs/validate.schema.json).
type Report struct {
	Lab      string        `json:"lab"`
	File     string        `json:"file"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"-"`
	Seconds  float64       `json:"seconds"`
	Summary  Summary       `json:"summary"`
	ExitCode int           `json:"exit_code"`
	Results  []Result      `json:"results"`
}

// Summary counts a report's results.
type Summary struct {
	Results  int `json:"results"`
	Passed   int `json:"passed"`
	Failed   int `json:"failed"`
	Warnings int `json:"warnings"`
	Skipped  int `json:"skipped"`
}

func (rep *Report) add(o Options, r Result) {
	rep.Results = append(rep.Results, r)
	if o.Out != nil {
		fmt.Fprintln(o.Out, r.String())
	}
}

// Finish computes the summary and exit code.
func (rep *Report) Finish() {
	s := Summary{Results: len(rep.Results)}
	for _, r := range rep.Results {
		switch r.Status {
		case Pass:
			s.Passed++
		case Fail:
			s.Failed++
		case Warn:
			s.Warnings++
		case Skipped:
			s.Skipped++
		}
	}
	rep.Summary = s
	rep.Seconds = float64(rep.Duration.Round(time.Millisecond)) / float64(time.Second)
	rep.ExitCode = ExitCode(s)
}

// Exit codes, as netlab's validate has them.
const (
	ExitPassed   = 0 // every test that ran passed
	ExitFailed   = 1 // a test failed
	ExitNoTest   = 2 // no test could run (none in the file, or every one skipped)
	ExitWarnings = 3 // only warning-level tests failed
)

// ExitCode is the summary's exit code.
func ExitCode(s Summary) int {
	switch {
	case s.Failed > 0:
		return ExitFailed
	case s.Passed == 0 && s.Warnings == 0:
		return ExitNoTest
	case s.Warnings > 0:
		return ExitWarnings
	}
	return ExitPassed
}

// SummaryLine is the run's last line: "validate ospf: 12 results: 11 passed, 1 failed, 0 warnings, 0 skipped (14.2s)".
func (rep *Report) SummaryLine() string {
	s := rep.Summary
	name := rep.Lab
	if name == "" {
		name = rep.File
	}
	return fmt.Sprintf("validate %s: %d results: %d passed, %d failed, %d warnings, %d skipped (%.1fs)",
		name, s.Results, s.Passed, s.Failed, s.Warnings, s.Skipped, rep.Duration.Seconds())
}

// WriteJSON writes the report as JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// JUnit is the report as JUnit XML: one test suite (the tests file), one test case per result, named
// "NODE: TEST", with a failure (or a skip) carrying the reason and what was observed.
func (rep *Report) JUnit() junit.Testsuites {
	suite := junit.Testsuite{Name: "cloonix validate " + rep.Lab, Timestamp: rep.Started.Format(time.RFC3339),
		Time: strconv.FormatFloat(rep.Duration.Seconds(), 'f', 3, 64)}
	suite.AddProperty("file", rep.File)
	for _, r := range rep.Results {
		tc := junit.Testcase{Name: r.Node + ": " + r.Test, Classname: rep.Lab + "." + r.Check,
			Time: strconv.FormatFloat(r.Duration.Seconds(), 'f', 3, 64)}
		msg := r.Reason
		if r.Observed != "" {
			tc.SystemOut = &junit.Output{Data: r.Observed}
		}
		switch r.Status {
		case Fail:
			tc.Failure = &junit.Result{Message: msg, Type: "failure", Data: r.String()}
		case Warn:
			// JUnit has no warning: a warning-level test does not fail the build, so its case passes,
			// with the status attribute and the line on system-err saying what went wrong.
			tc.Status = "warning"
			tc.SystemErr = &junit.Output{Data: r.String()}
		case Skipped:
			tc.Skipped = &junit.Result{Message: msg}
		}
		suite.AddTestcase(tc)
	}
	var out junit.Testsuites
	out.AddSuite(suite)
	return out
}

// WriteJUnit writes the JUnit XML report to file.
func (rep *Report) WriteJUnit(file string) error {
	f, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	ts := rep.JUnit()
	err = ts.WriteXML(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("junit report %s: %w", file, err)
	}
	return nil
}
