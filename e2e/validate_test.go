package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloonix-go/cloonix/validate"
)

// validateRun runs `cloonix-labd --lab ospf validate ARGS --json` and decodes its report.
func validateRun(t *testing.T, args ...string) (validate.Report, result) {
	t.Helper()
	r := labd(t, append([]string{"--lab", "ospf", "validate", "--json"}, args...)...)
	var rep validate.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("validate --json printed no report (%v): %s", err, r)
	}
	if rep.ExitCode != r.code {
		t.Errorf("the report says exit code %d, the command exited %d", rep.ExitCode, r.code)
	}
	return rep, r
}

// result of the named test on node in rep.
func resultOf(t *testing.T, rep validate.Report, test, node string) validate.Result {
	t.Helper()
	for _, r := range rep.Results {
		if r.Test == test && r.Node == node {
			return r
		}
	}
	t.Fatalf("no result of %q on %s in the report: %+v", test, node, rep.Results)
	return validate.Result{}
}

// junitCounts reads a JUnit file with Debian's python3-junitparser, as a CI system would, and returns its
// tests, failures and skipped counts as it computes them.
func junitCounts(t *testing.T, file string) string {
	t.Helper()
	py := `import sys, junitparser
x = junitparser.JUnitXml.fromfile(sys.argv[1])
t = f = s = 0
for suite in x:
    for case in suite:
        t += 1
        for r in case.result:
            if isinstance(r, junitparser.Failure): f += 1
            if isinstance(r, junitparser.Skipped): s += 1
print(t, f, s)`
	out, err := exec.Command("/usr/bin/python3", "-c", py, file).CombinedOutput()
	if err != nil {
		t.Fatalf("python3-junitparser cannot read %s (test.sh installs it): %v\n%s", file, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestValidateOSPF runs the OSPF demo's tests on its kept lab: all pass (also as JUnit, read by
// python3-junitparser); with r1's eth1 sending nothing (loss=100% out) the wire check sees hellos from r2
// only; with the r1-r2 link down the adjacency check fails with what r1 sees, the route check shows the new
// next hop and the wire check no hello from r1; once the link is back everything passes again. A tests file
// with mistakes gets located errors.
func TestValidateOSPF(t *testing.T) {
	r := keepDemoLab(t, "ospf")
	// The demo's validate step ran the same tests file, with the same lines.
	if !strings.Contains(r.stdout, "validate ospf: 17 results: 17 passed, 0 failed") || !strings.Contains(r.stdout, " PASS lan12 OSPF hellos both ways on lan12: ospf from r1 ") {
		t.Errorf("the demo's validate step did not pass every test:\n%s", r.stdout)
	}
	dir := t.TempDir()

	t.Run("all pass, JSON and JUnit", func(t *testing.T) {
		junit := filepath.Join(dir, "pass.xml")
		rep, r := validateRun(t, "--junit", junit)
		if r.code != 0 || rep.Summary.Passed != 17 || rep.Summary.Failed != 0 {
			t.Fatalf("validate on the converged lab: %+v\n%s", rep.Summary, r)
		}
		if !strings.Contains(r.stderr, "PASS r1 r1 reaches h2's LAN through r2: 192.168.2.0/24 via 10.0.12.2 eth1 (ospf)") {
			t.Errorf("no PASS line with the observed route:\n%s", r.stderr)
		}
		if got := junitCounts(t, junit); got != "17 0 0" {
			t.Errorf("junitparser counts (tests failures skipped) %q, want 17 0 0", got)
		}
	})

	t.Run("one direction impaired: hellos from r2 only", func(t *testing.T) {
		mustLabd(t, "--lab", "ospf", "link", "r1", "eth1", "set", "loss=100%")
		rep, r := validateRun(t, "--wait", "0s", "--test", "OSPF hellos both ways on lan12")
		mustLabd(t, "--lab", "ospf", "link", "r1", "eth1", "clear")
		res := resultOf(t, rep, "OSPF hellos both ways on lan12", "lan12")
		if r.code != validate.ExitFailed || res.Status != validate.Fail || !strings.Contains(res.Reason, "no ospf frame from r1") ||
			!strings.Contains(res.Reason, "one direction only") || !strings.HasPrefix(res.Observed, "ospf from r2 ") {
			t.Errorf("wire check with r1's side lost: %+v\n%s", res, r)
		}
	})

	t.Run("link down: adjacency, route and wire fail with what they see", func(t *testing.T) {
		mustLabd(t, "--lab", "ospf", "link", "r1", "eth1", "down")
		junit := filepath.Join(dir, "down.xml")
		rep, r := validateRun(t, "--wait", "8s", "--junit", junit)
		if r.code != validate.ExitFailed {
			t.Fatalf("validate with the r1-r2 link down exited %d:\n%s", r.code, r)
		}
		adj := resultOf(t, rep, "r1 and r2 are OSPF neighbors", "r1")
		if adj.Status != validate.Fail || adj.Reason != "no neighbor 2.2.2.2" || !strings.Contains(adj.Observed, "3.3.3.3 Full") {
			t.Errorf("adjacency check: %+v", adj)
		}
		rt := resultOf(t, rep, "r1 reaches h2's LAN through r2", "r1")
		if rt.Status != validate.Fail || !strings.Contains(rt.Observed, "via 10.0.13.3") || !strings.Contains(rt.Reason, "want 10.0.12.2") {
			t.Errorf("route check: %+v", rt)
		}
		w := resultOf(t, rep, "OSPF hellos both ways on lan12", "lan12")
		if w.Status != validate.Fail || !strings.Contains(w.Reason, "no ospf frame from r1") {
			t.Errorf("wire check: %+v", w)
		}
		if ok := resultOf(t, rep, "r1 and r3 are OSPF neighbors", "r1"); ok.Status != validate.Pass {
			t.Errorf("r1-r3 is not touched by the r1-r2 link but: %+v", ok)
		}
		if !strings.Contains(r.stderr, "FAIL r1 r1 and r2 are OSPF neighbors: no neighbor 2.2.2.2; saw 3.3.3.3 Full/-") {
			t.Errorf("no FAIL line naming what r1 sees:\n%s", r.stderr)
		}
		want := rep.Summary.Failed
		if got := junitCounts(t, junit); got != strings.Join([]string{itoa(rep.Summary.Results), itoa(want), "0"}, " ") {
			t.Errorf("junitparser counts %q; the report has %d results, %d failed", got, rep.Summary.Results, want)
		}
	})

	t.Run("link up again: everything passes", func(t *testing.T) {
		mustLabd(t, "--lab", "ospf", "link", "r1", "eth1", "up")
		rep, r := validateRun(t, "--wait", "45s")
		if r.code != 0 || rep.Summary.Passed != 17 {
			t.Errorf("after the link came back: %+v\n%s", rep.Summary, r.stderr)
		}
	})

	t.Run("a tests file with mistakes", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.toml")
		os.WriteFile(bad, []byte("[[test]]\nname = \"x\"\nnode = \"r9\"\nospf = { neighbor = \"2.2.2.2\", stat = \"full\" }\n\n[[test]]\nname = \"y\"\nwire = { lan = \"lan12\", seen = \"osfp\" }\n"), 0o644)
		r := labd(t, "--lab", "ospf", "validate", bad)
		for _, want := range []string{
			bad + `:3:8: "r9" is not a VM of the lab; use one of: h1, h2, r1, r2, r3`,
			bad + `:4:32: unknown key "stat" in an ospf check; did you mean "state"?`,
			bad + `:8:32: unknown filter "osfp"`,
		} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r)
			}
		}
		if r.code != validate.ExitNoTest {
			t.Errorf("a tests file with mistakes exited %d, want %d", r.code, validate.ExitNoTest)
		}
	})
}
