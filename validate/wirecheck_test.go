package validate

import (
	"context"
	"errors"
	"io"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket/layers"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/wire"
)

var (
	ipR1 = net.IP{10, 0, 12, 1}
	ipR2 = net.IP{10, 0, 12, 2}
)

func filter(t *testing.T, s string) wire.Filter {
	t.Helper()
	f, err := wire.ParseFilter(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// wireEnv is a lab whose switch shows frames on lan12 (then silence until the window ends).
func wireEnv(t *testing.T, frames ...[]byte) (*fakeEnv, *[]string) {
	env := newEnv(t, labKinds)
	env.links = [][]api.LinkStatus{lan12Links()}
	var asked []string
	var mu sync.Mutex
	env.capture = liveCapture(pcapng(t, "lan12", frames...), &asked, &mu)
	return env, &asked
}

func runWire(t *testing.T, env Env, c *WireCheck) (Outcome, time.Duration) {
	t.Helper()
	start := time.Now()
	o := c.Run(context.Background(), env, "")
	return o, time.Since(start)
}

func TestWireSeenFromBoth(t *testing.T) {
	env, asked := wireEnv(t,
		ospfHello(t, macR1, ipR1),
		tcpSegment(t, macR2, macR1, ipR2, ipR1, 179, 40000, layers.TCP{ACK: true, PSH: true}), // not OSPF
		ospfHello(t, macR1, ipR1),
		ospfHello(t, macR2, ipR2),
		ospfHello(t, macR2, ipR2), // after both were seen: not read
	)
	c := &WireCheck{LAN: "lan12", Window: 5 * time.Second, Mode: "seen", Filter: filter(t, "ospf"), Nodes: []string{"r1", "r2"}}
	o, took := runWire(t, env, c)
	if o != (Outcome{Pass: true, Observed: "ospf from r1 2, r2 1"}) {
		t.Errorf("outcome %+v", o)
	}
	if took > 2*time.Second {
		t.Errorf("took %v: seen must pass as soon as both nodes sent, not at the window's end", took)
	}
	if !reflect.DeepEqual(*asked, []string{"lan12"}) {
		t.Errorf("captured %v, want the LAN", *asked)
	}
}

func TestWireSeenOneDirectionOnly(t *testing.T) {
	env, _ := wireEnv(t, ospfHello(t, macR1, ipR1), ospfHello(t, macR1, ipR1))
	c := &WireCheck{LAN: "lan12", Window: 200 * time.Millisecond, Mode: "seen", Filter: filter(t, "ospf"), Nodes: []string{"r1", "r2"}}
	o, took := runWire(t, env, c)
	want := Outcome{Observed: "ospf from r1 2", Reason: "no ospf frame from r2 in 200ms (one direction only)"}
	if o != want {
		t.Errorf("outcome %+v, want %+v", o, want)
	}
	if took < 200*time.Millisecond || took > 3*time.Second {
		t.Errorf("took %v, want the window (200ms)", took)
	}
}

func TestWireSeenFromStrangersOnly(t *testing.T) {
	// A MAC no NIC of the lab has: the sender shows as its MAC.
	stranger := net.HardwareAddr{0x0e, 0, 0, 0, 0x09, 0x09}
	env, _ := wireEnv(t, ospfHello(t, stranger, net.IP{10, 0, 12, 9}))
	c := &WireCheck{LAN: "lan12", Window: 200 * time.Millisecond, Mode: "seen", Filter: filter(t, "ospf"), Nodes: []string{"r1", "r2"}}
	o, _ := runWire(t, env, c)
	want := Outcome{Observed: "ospf from 0e:00:00:00:09:09 1", Reason: "no ospf frame from r1 or r2 in 200ms"}
	if o != want {
		t.Errorf("outcome %+v, want %+v", o, want)
	}
}

func TestWireSeenFromANodeOfAnotherLAN(t *testing.T) {
	// r3 has no NIC on lan12, but a frame from its NIC's MAC on lan12 (bridged there) is r3's.
	env, _ := wireEnv(t, ospfHello(t, macR3, net.IP{10, 0, 12, 3}))
	c := &WireCheck{LAN: "lan12", Window: 5 * time.Second, Mode: "seen", Filter: filter(t, "ospf"), Nodes: []string{"r3"}}
	if o, _ := runWire(t, env, c); o != (Outcome{Pass: true, Observed: "ospf from r3 1"}) {
		t.Errorf("outcome %+v", o)
	}
	c.Nodes = []string{"r9"}
	if o, _ := runWire(t, env, c); o != (Outcome{Reason: "r9 has no NIC in the lab"}) {
		t.Errorf("a node without NICs: %+v", o)
	}
}

func TestWireSeenNothing(t *testing.T) {
	env, _ := wireEnv(t, tcpSegment(t, macR1, macR2, ipR1, ipR2, 40000, 179, layers.TCP{ACK: true}))
	c := &WireCheck{LAN: "lan12", Window: 200 * time.Millisecond, Mode: "seen", Filter: filter(t, "ospf"), Nodes: []string{"r1", "r2"}}
	o, _ := runWire(t, env, c)
	want := Outcome{Observed: "no ospf frame", Reason: "no ospf frame on lan12 in 200ms"}
	if o != want {
		t.Errorf("outcome %+v, want %+v", o, want)
	}
}

func TestWireSeenFromAnyone(t *testing.T) {
	env, _ := wireEnv(t, ospfHello(t, macR3, net.IP{10, 0, 12, 3}))
	c := &WireCheck{LAN: "lan12", Window: 5 * time.Second, Mode: "seen", Filter: filter(t, "ospf")}
	o, took := runWire(t, env, c)
	if o != (Outcome{Pass: true, Observed: "ospf from r3 1"}) || took > 2*time.Second {
		t.Errorf("outcome %+v after %v", o, took)
	}
}

func TestWireNone(t *testing.T) {
	// Frames that do not match do not break the silence.
	env, _ := wireEnv(t, ospfHello(t, macR1, ipR1))
	c := &WireCheck{LAN: "lan12", Window: 200 * time.Millisecond, Mode: "none", Filter: filter(t, "bgp")}
	o, took := runWire(t, env, c)
	if o != (Outcome{Pass: true, Observed: "no bgp frame on lan12 in 200ms"}) {
		t.Errorf("outcome %+v", o)
	}
	if took < 200*time.Millisecond || took > 3*time.Second {
		t.Errorf("took %v, want the window (200ms)", took)
	}

	env, _ = wireEnv(t, ospfHello(t, macR1, ipR1), tcpSegment(t, macR2, macR1, ipR2, ipR1, 179, 40000, layers.TCP{ACK: true}))
	c.Window = 5 * time.Second
	o, took = runWire(t, env, c)
	if o != (Outcome{Observed: "bgp from r2 1", Reason: "bgp frames on lan12 in 5s, want none"}) {
		t.Errorf("outcome %+v", o)
	}
	if took > 2*time.Second {
		t.Errorf("took %v: none fails at the first frame", took)
	}
}

func TestWireEstablished(t *testing.T) {
	syn := tcpSegment(t, macR1, macR2, ipR1, ipR2, 40000, 179, layers.TCP{SYN: true})
	synAck := tcpSegment(t, macR2, macR1, ipR2, ipR1, 179, 40000, layers.TCP{SYN: true, ACK: true})
	ack12 := tcpSegment(t, macR1, macR2, ipR1, ipR2, 40000, 179, layers.TCP{ACK: true})
	ack21 := tcpSegment(t, macR2, macR1, ipR2, ipR1, 179, 40000, layers.TCP{ACK: true, PSH: true})
	c := &WireCheck{LAN: "lan12", Window: 5 * time.Second, Mode: "established", Filter: filter(t, "tcp/179"), Nodes: []string{"r1", "r2"}}

	env, _ := wireEnv(t, syn, synAck, ack12, ack21)
	o, took := runWire(t, env, c)
	if o != (Outcome{Pass: true, Observed: "tcp/179 established segments r1→r2 1, r2→r1 1"}) || took > 2*time.Second {
		t.Errorf("both ways: %+v after %v", o, took)
	}

	// The handshake alone, then one way only: no session.
	env, _ = wireEnv(t, syn, synAck, ack12, ack12)
	c.Window = 200 * time.Millisecond
	o, _ = runWire(t, env, c)
	want := Outcome{Observed: "tcp/179 established segments r1→r2 2, r2→r1 0; tcp/179 from r1 3, r2 1",
		Reason: "no established tcp/179 session between r1 and r2 in 200ms"}
	if o != want {
		t.Errorf("one way: %+v\nwant %+v", o, want)
	}

	// Another port's session is not this one.
	other := tcpSegment(t, macR2, macR1, ipR2, ipR1, 22, 40001, layers.TCP{ACK: true})
	env, _ = wireEnv(t, ack12, other)
	o, _ = runWire(t, env, c)
	if o.Pass || o.Observed != "tcp/179 established segments r1→r2 1, r2→r1 0; tcp/179 from r1 1" {
		t.Errorf("another port: %+v", o)
	}
}

func TestWireNodeNotOnLAN(t *testing.T) {
	env, _ := wireEnv(t)
	c := &WireCheck{LAN: "lan12", Window: 5 * time.Second, Mode: "established", Filter: filter(t, "bgp"), Nodes: []string{"r1", "r3"}}
	if o, took := runWire(t, env, c); o != (Outcome{Reason: "r3 has no NIC on lan12"}) || took > time.Second {
		t.Errorf("outcome %+v after %v", o, took)
	}
}

func TestWireCaptureFails(t *testing.T) {
	env := newEnv(t, labKinds)
	env.links = [][]api.LinkStatus{lan12Links()}
	env.capture = func(context.Context, []string) (io.ReadCloser, error) { return nil, errors.New("no such LAN") }
	c := &WireCheck{LAN: "lan12", Window: time.Second, Mode: "seen", Filter: filter(t, "ospf")}
	if o, _ := runWire(t, env, c); o != (Outcome{Reason: "capture lan12: no such LAN"}) {
		t.Errorf("outcome %+v", o)
	}
}

func TestWireDrops(t *testing.T) {
	before := lan12Links()
	before[0].Drops, before[1].Drops, before[2].Drops = 5, 1, 100
	after := lan12Links()
	after[0].Drops, after[0].DropsLinkDown = 7, 1 // r1:eth1 3 more
	after[1].Drops = 1                            // r2:eth1 none
	after[2].Drops = 900                          // r3 is on lan13: not counted

	for _, c := range []struct {
		max  uint64
		want Outcome
	}{
		{0, Outcome{Observed: "3 frames dropped on lan12 in 200ms (r1:eth1 3)", Reason: "3 frames dropped, want at most 0"}},
		{3, Outcome{Pass: true, Observed: "3 frames dropped on lan12 in 200ms (r1:eth1 3)"}},
	} {
		env := newEnv(t, labKinds)
		env.links = [][]api.LinkStatus{before, after}
		o, took := runWire(t, env, &WireCheck{LAN: "lan12", Window: 200 * time.Millisecond, Mode: "drops", MaxDrops: c.max})
		if o != c.want {
			t.Errorf("max %d: %+v, want %+v", c.max, o, c.want)
		}
		if took < 200*time.Millisecond || env.linkCalls != 2 {
			t.Errorf("max %d: took %v with %d Links calls, want the window between two snapshots", c.max, took, env.linkCalls)
		}
	}

	// A counter that went down (the daemon restarted) counts from 0.
	restarted := lan12Links()
	restarted[0].Drops = 2
	env := newEnv(t, labKinds)
	env.links = [][]api.LinkStatus{before, restarted}
	o, _ := runWire(t, env, &WireCheck{LAN: "lan12", Window: 10 * time.Millisecond, Mode: "drops"})
	if o.Observed != "2 frames dropped on lan12 in 10ms (r1:eth1 2)" {
		t.Errorf("restarted counter: %+v", o)
	}
	// No drops at all.
	env = newEnv(t, labKinds)
	env.links = [][]api.LinkStatus{before}
	o, _ = runWire(t, env, &WireCheck{LAN: "lan12", Window: 10 * time.Millisecond, Mode: "drops"})
	if o != (Outcome{Pass: true, Observed: "0 frames dropped on lan12 in 10ms"}) {
		t.Errorf("no drops: %+v", o)
	}
}

// TestWireThroughParseAndRun runs wire tests of a tests file through the engine: the result is the LAN's,
// the check runs on no node.
func TestWireThroughParseAndRun(t *testing.T) {
	s, err := Parse("tests.toml", []byte(`
[[test]]
name = "OSPF both ways"
wire = { lan = "lan12", window = "3s", seen = "ospf", from = ["r1", "r2"] }
wait = "10s"

[[test]]
name = "no BGP"
wire = { lan = "lan12", window = "200ms", none = "bgp" }
`), testTopo)
	if err != nil {
		t.Fatal(err)
	}
	env, asked := wireEnv(t, ospfHello(t, macR2, ipR2), ospfHello(t, macR1, ipR1))
	rep := Run(context.Background(), s, env, fastOpts)
	rep.Finish()
	if len(rep.Results) != 2 {
		t.Fatalf("results %+v", rep.Results)
	}
	for i, want := range []Result{
		{Test: "OSPF both ways", Node: "lan12", Check: "wire", Status: Pass, Observed: "ospf from r1 1, r2 1", Attempts: 1, Line: 2},
		{Test: "no BGP", Node: "lan12", Check: "wire", Status: Pass, Observed: "no bgp frame on lan12 in 200ms", Attempts: 1, Line: 7},
	} {
		got := rep.Results[i]
		got.Duration, got.Seconds = 0, 0
		if got != want {
			t.Errorf("result %d = %+v\nwant %+v", i, got, want)
		}
	}
	if rep.ExitCode != 0 || len(*asked) != 2 {
		t.Errorf("exit %d, captures %v", rep.ExitCode, *asked)
	}
	for _, c := range env.Calls() {
		t.Errorf("a wire check ran %q on a node", c)
	}
}

func TestWireLastAsksTheRecorder(t *testing.T) {
	env, _ := wireEnv(t, ospfHello(t, macR1, ipR1))
	c := &WireCheck{LAN: "lan12", Window: 5 * time.Second, Last: time.Minute, Mode: "seen", Filter: filter(t, "ospf"), Nodes: []string{"r1"}}
	if o, _ := runWire(t, env, c); !o.Pass {
		t.Fatalf("outcome %+v", o)
	}
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.lastAsked != time.Minute {
		t.Errorf("the capture was asked from %v ago, want the check's last (1m)", env.lastAsked)
	}
}
