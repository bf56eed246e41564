package validate

// Regression tests of bugs a review found (each fixed): the test asserts the right behaviour and fails on
// the wrong one.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/api"
)

// A third test of the same name must point at the first, not at the second (spec.go: seen[test.Name] is
// overwritten by every duplicate).
func TestRegressionDuplicateNamePointsAtFirst(t *testing.T) {
	one := "[[test]]\nname = \"t1\"\nnode = \"r1\"\nospf = { neighbor = \"2.2.2.2\" }\n"
	_, err := Parse("tests.toml", []byte(one+one+one), testTopo)
	if err == nil {
		t.Fatal("duplicates accepted")
	}
	want := "tests.toml:6:8: duplicate test name \"t1\" (first at line 1); give each test its own name\n" +
		"tests.toml:10:8: duplicate test name \"t1\" (first at line 1); give each test its own name"
	if err.Error() == want {
		return
	}
	if strings.Contains(err.Error(), "tests.toml:10:8: duplicate test name \"t1\" (first at line 5)") {
		t.Fatalf("regression in validate/spec.go (Parse, seen[test.Name] = test.Line): the third duplicate says \"first at line 5\":\n%v", err)
	}
	t.Errorf("got:\n%v\nwant:\n%s", err, want)
}

// A peer in two address families, with prefixes in one and none printed in the other, received those
// prefixes; today the count depends on map order (-1 + 3 = 2 when the family without pfxRcd comes first).
func TestRegressionBGPPrefixesAcrossFamilies(t *testing.T) {
	out := `{"ipv4Unicast":{"peers":{"10.0.12.2":{"state":"Established","pfxRcd":3}}},` +
		`"ipv6Unicast":{"peers":{"10.0.12.2":{"state":"Established"}}}}`
	counts := map[int]int{}
	for range 100 {
		p, err := frrBGPPeers(out)
		if err != nil || len(p) != 1 {
			t.Fatalf("frrBGPPeers = %v, %v", p, err)
		}
		counts[p[0].prefixes]++
	}
	if len(counts) == 1 && counts[3] == 100 {
		return
	}
	if counts[2] > 0 {
		t.Fatalf("regression in validate/check.go (frrBGPPeers): prefix counts over 100 runs %v, want always 3", counts)
	}
	t.Errorf("prefix counts over 100 runs %v, want always 3", counts)
}

// When ssh to an IOS-XE node fails, the ping check must say so, not that ping printed no success rate.
func TestRegressionIOSXEPingSSHError(t *testing.T) {
	env := newEnv(t, labKinds).answer("c1", "", "ping 192.168.2.10 repeat 3 timeout 1", "", errors.New("ssh c1: connection refused"))
	o := (&PingCheck{Target: ip("192.168.2.10"), Count: 3, Reachable: true}).Run(context.Background(), env, "c1")
	if o.Reason == "ssh c1: connection refused" {
		return
	}
	if o.Reason == `ping printed no success rate: ""` {
		t.Fatalf("regression in validate/check.go (PingCheck.Run, IOS-XE branch): the ssh error is dropped: %+v", o)
	}
	t.Errorf("outcome %+v, want the ssh error as the reason", o)
}

// A capture stream that ends before the window (the daemon went away) watched nothing: none must not pass.
func TestRegressionWireNoneOnEndedStream(t *testing.T) {
	env := newEnv(t, labKinds)
	env.links = [][]api.LinkStatus{lan12Links()}
	hdr := pcapng(t, "lan12")
	env.capture = func(context.Context, []string) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(hdr)), nil }
	start := time.Now()
	o := (&WireCheck{LAN: "lan12", Window: 5 * time.Second, Mode: "none", Filter: filter(t, "ospf")}).Run(context.Background(), env, "")
	if !o.Pass {
		return
	}
	if time.Since(start) < time.Second {
		t.Fatalf("regression in validate/wirecheck.go (WireCheck.Run): a stream that ended at once passes none: %+v", o)
	}
	t.Errorf("outcome %+v", o)
}
