package e2e

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/shellquote"
)

// probeScript measures one UDP path between two guests. "serve SECS" echoes datagrams on port 7000 for SECS
// seconds and prints the sequence numbers it received; "send ADDR N GAP_MS" sends N numbered datagrams and
// prints, as JSON, the round-trip time of each echo that came back.
const probeScript = `
import json, socket, sys, time
if sys.argv[1] == "serve":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("", 7000)); s.settimeout(0.5)
    end, got = time.time() + float(sys.argv[2]), []
    while time.time() < end:
        try:
            b, a = s.recvfrom(64)
        except socket.timeout:
            continue
        if b == b"stop": break
        got.append(int(b)); s.sendto(b, a)
    print(json.dumps(sorted(set(got))))
else:
    addr, n, gap = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]) / 1000
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setblocking(False)
    sent, rtt = {}, {}
    for i in range(n):
        sent[i] = time.time(); s.sendto(str(i).encode(), (addr, 7000))
        stop = time.time() + gap
        while time.time() < stop:
            try:
                b, _ = s.recvfrom(64); rtt[int(b)] = time.time() - sent[int(b)]
            except BlockingIOError:
                time.sleep(0.0005)
    stop = time.time() + 1
    while time.time() < stop:
        try:
            b, _ = s.recvfrom(64); rtt[int(b)] = time.time() - sent[int(b)]
        except BlockingIOError:
            time.sleep(0.001)
    s.sendto(b"stop", (addr, 7000))
    print(json.dumps(rtt))
`

// probe runs n probes from vm1 to vm2 over l1 and returns what vm2 received and the round-trip times of
// what came back to vm1, by sequence number.
func probe(t *testing.T, cfg string, n int) (atServer []int, rtt map[int]float64) {
	t.Helper()
	srv := make(chan result, 1)
	go func() {
		srv <- sshF(t, cfg, "vm2", "python3", "-c", shellquote.Quote(probeScript), "serve", fmt.Sprint(n/50+30))
	}()
	time.Sleep(1500 * time.Millisecond)
	cli := sshF(t, cfg, "vm1", "python3", "-c", shellquote.Quote(probeScript), "send", "10.5.0.2", fmt.Sprint(n), "10")
	s := <-srv
	if cli.code != 0 || s.code != 0 {
		t.Fatalf("probe: sender %s; echo server %s", cli, s)
	}
	var got map[string]float64
	if err := json.Unmarshal([]byte(cli.stdout), &got); err != nil {
		t.Fatalf("probe sender: %v: %s", err, cli)
	}
	if err := json.Unmarshal([]byte(s.stdout), &atServer); err != nil {
		t.Fatalf("probe server: %v: %s", err, s)
	}
	rtt = map[int]float64{}
	for k, v := range got {
		var i int
		fmt.Sscan(k, &i)
		rtt[i] = v
	}
	return atServer, rtt
}

// TestImpairments measures impairments between two guests on one LAN: a delay in the RTTs, a loss rate
// within binomial bounds and in one direction only, the same drops again from the same seed, a rate that
// bounds a TCP transfer, and the lab file's own impairment; `link show` and the events say what is set.
func TestImpairments(t *testing.T) {
	const name = "e2eimp"
	file := writeLab(t, `
version = 1
name = "e2eimp"
seed = 1234
[nat]
[[lan]]
name = "l1"
[[lan]]
name = "l2"
impair = "delay=1ms"
[[vm]]
name = "vm1"
nics = { eth1 = "l1", eth2 = "l2" }
[[vm]]
name = "vm2"
nics = { eth1 = "l1" }
[vm.impair]
eth1 = "mtu=9000 dir=in"
[[fault]]
vm = "vm2"
action = "pause"
for = "1s"
at = "1h"
`)
	t.Cleanup(func() { labd(t, "--lab", name, "down") })
	mustLabd(t, "up", file)
	_, cfg := sshConfigOf(t, name)
	for i, vm := range []string{"vm1", "vm2"} {
		// No IPv6 and no ARP refresh on l1: only the probes cross vm1's eth1, so the same seed must give the
		// same drops.
		mustSSH(t, cfg, vm, fmt.Sprintf("echo 1 > /proc/sys/net/ipv6/conf/eth1/disable_ipv6 2>/dev/null; "+
			"echo 3600000 > /proc/sys/net/ipv4/neigh/eth1/base_reachable_time_ms; "+
			"ip addr add 10.5.0.%d/24 dev eth1 && ip link set eth1 up", i+1))
	}
	mustSSH(t, cfg, "vm1", "ping -c 2 -W 5 10.5.0.2 >/dev/null")

	t.Run("delay", func(t *testing.T) {
		mustLabd(t, "--lab", name, "link", "vm1", "eth1", "set", "delay=50ms")
		_, rtt := probe(t, cfg, 100)
		var ms []float64
		for _, v := range rtt {
			ms = append(ms, v*1000)
		}
		sort.Float64s(ms)
		if len(ms) < 95 {
			t.Fatalf("%d of 100 probes came back with delay only", len(ms))
		}
		med := ms[len(ms)/2]
		t.Logf("RTT with delay=50ms one way: min %.1f ms, median %.1f ms, max %.1f ms", ms[0], med, ms[len(ms)-1])
		if ms[0] < 49.5 || med > 65 {
			t.Errorf("RTT min %.1f ms, median %.1f ms; want at least 50 ms and a median within 15 ms of it", ms[0], med)
		}
		mustLabd(t, "--lab", name, "link", "vm1", "eth1", "clear")
	})

	var lost1 []int
	t.Run("loss one way, binomial, replayed by the seed", func(t *testing.T) {
		for run := 0; run < 2; run++ {
			mustLabd(t, "--lab", name, "link", "vm1", "eth1", "set", "loss=20%")
			atServer, rtt := probe(t, cfg, 500)
			mustLabd(t, "--lab", name, "link", "vm1", "eth1", "clear")
			recv := map[int]bool{}
			for _, i := range atServer {
				recv[i] = true
			}
			var lost []int
			for i := 0; i < 500; i++ {
				if !recv[i] {
					lost = append(lost, i)
				}
			}
			t.Logf("run %d: %d of 500 lost on vm1's way out, %d echoes back", run+1, len(lost), len(rtt))
			if len(lost) < 60 || len(lost) > 140 { // mean 100, sd 8.9: 4.5 sd
				t.Errorf("lost %d of 500 at loss=20%%; want 60..140", len(lost))
			}
			if len(rtt) != len(atServer) {
				t.Errorf("the way back lost %d echoes; it is not impaired", len(atServer)-len(rtt))
			}
			if run == 0 {
				lost1 = lost
			} else if fmt.Sprint(lost) != fmt.Sprint(lost1) {
				t.Errorf("the same seed lost other probes:\nrun 1: %v\nrun 2: %v", lost1, lost)
			}
		}
	})

	t.Run("rate", func(t *testing.T) {
		mustLabd(t, "--lab", name, "link", "vm1", "eth1", "set", "rate=10mbit")
		defer mustLabd(t, "--lab", name, "link", "vm1", "eth1", "clear")
		srv := make(chan result, 1)
		go func() {
			srv <- sshF(t, cfg, "vm2", "python3", "-c", shellquote.Quote(`
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("", 5001)); s.listen(1)
c, _ = s.accept(); n = 0
while True:
    b = c.recv(1 << 16)
    if not b: break
    n += len(b)
c.sendall(b"k"); print(n)`))
		}()
		time.Sleep(1500 * time.Millisecond)
		r := sshF(t, cfg, "vm1", "python3", "-c", shellquote.Quote(`
import socket, time
s = socket.create_connection(("10.5.0.2", 5001)); b = b"x" * 65536; t = time.time()
for _ in range(64): s.sendall(b)
s.shutdown(socket.SHUT_WR); s.recv(1); print(time.time() - t)`))
		got := <-srv
		if r.code != 0 || got.code != 0 {
			t.Fatalf("bulk: %s; %s", r, got)
		}
		var secs float64
		fmt.Sscan(r.stdout, &secs)
		// 4 MiB of payload in 1448-byte segments; on the wire each is 1514 bytes plus 24 of preamble, FCS and gap.
		wire := float64(4<<20) / 1448 * 1538 * 8 / secs / 1e6
		t.Logf("4 MiB at rate=10mbit: %.2f s, %.2f Mbit/s on the wire", secs, wire)
		if wire < 9 || wire > 11 {
			t.Errorf("%.2f Mbit/s on the wire with rate=10mbit; want within 10%%", wire)
		}
	})

	t.Run("scheduled faults: a VM paused, an impairment for a while", func(t *testing.T) {
		if out := mustLabd(t, "--lab", name, "fault", "list"); !strings.Contains(out, "#1  vm=vm2 action=pause for=1s at=1h0m0s") {
			t.Errorf("the lab file's fault is not scheduled:\n%s", out)
		}
		if out := mustLabd(t, "--lab", name, "link", "presets"); !strings.Contains(out, "satellite") || !strings.Contains(out, "lossy-wifi") {
			t.Errorf("link presets:\n%s", out)
		}
		reach := func() bool { return sshF(t, cfg, "vm1", "ping -c 1 -W 1 10.5.0.2 >/dev/null").code == 0 }
		mustLabd(t, "--lab", name, "fault", "add", "vm=vm2", "action=pause", "for=4s")
		time.Sleep(500 * time.Millisecond)
		if reach() {
			t.Error("vm2 answered a ping while paused")
		}
		waitFor(t, 15*time.Second, "vm2 to answer again after its pause", reach)
		out := mustLabd(t, "--lab", name, "fault", "add", "link=vm1:eth1", "action=impair", "impair=loss=100%", "for=1h", "every=2h")
		if !strings.Contains(out, "#") || !strings.Contains(out, "impair=loss=100%") {
			t.Errorf("fault add printed:\n%s", out)
		}
		time.Sleep(300 * time.Millisecond)
		if reach() {
			t.Error("vm2 answered through a link at loss=100%")
		}
		mustLabd(t, "--lab", name, "fault", "clear", "all")
		if out := mustLabd(t, "--lab", name, "fault", "list"); !strings.Contains(out, "no scheduled faults") {
			t.Errorf("fault clear all left:\n%s", out)
		}
		waitFor(t, 10*time.Second, "the link back once the fault is cleared", reach)
		if ls := mustLabd(t, "--lab", name, "link", "show"); strings.Contains(ls, "loss=100%") {
			t.Errorf("the cleared fault left its impairment:\n%s", ls)
		}
		if r := labd(t, "--lab", name, "fault", "add", "vm=vm1", "action=down", "for=1s"); r.code == 0 || !strings.Contains(r.stderr, "action=pause") {
			t.Errorf("a bad fault: %s", r)
		}
	})

	t.Run("link show and events", func(t *testing.T) {
		mustLabd(t, "--lab", name, "link", "vm1", "eth1", "set", "--dir", "both", "wan")
		out := mustLabd(t, "--lab", name, "link", "show")
		if !strings.Contains(out, "vm1:eth1") || strings.Count(out, "delay=40ms jitter=4ms dist=normal loss=0.1%") != 2 {
			t.Errorf("link show after set --dir both wan:\n%s", out)
		}
		var links []struct {
			VM, NIC, Out, In string
		}
		if err := json.Unmarshal([]byte(mustLabd(t, "--lab", name, "link", "show", "--json")), &links); err != nil {
			t.Fatal(err)
		}
		nicFound, lanFound := false, false
		for _, l := range links {
			if l.VM == "vm2" && l.NIC == "eth1" {
				nicFound = l.In == "mtu=9000" && l.Out == ""
			}
			if l.VM == "vm1" && l.NIC == "eth2" {
				lanFound = l.Out == "delay=1ms" && l.In == ""
			}
		}
		if !nicFound || !lanFound {
			t.Errorf("the lab file's impairments (vm2 eth1 in: mtu=9000; LAN l2: delay=1ms on vm1 eth2 out) are not in link show --json: %+v", links)
		}
		mustLabd(t, "--lab", name, "link", "vm1", "eth1", "clear", "--dir", "both")
		evs := mustLabd(t, "--lab", name, "events", "--all", "--for", "1s")
		for _, want := range []string{"impairment vm1:eth1 set (out: delay=50ms)", "impairment vm1:eth1 cleared (none)", "impairment vm1:eth1 set (out: rate=10mbit)"} {
			if !strings.Contains(evs, want) {
				t.Errorf("events lack %q:\n%s", want, evs)
			}
		}
		for _, c := range []struct{ args, want string }{
			{"vm1 eth1 set delay=soon", "delay=soon"},
			{"vm1 eth1 set --dir sideways loss=1%", "sideways"},
			{"vm1 eth7 set loss=1%", `no NIC "eth7"`},
			{"vm9 eth1 clear", `no VM named "vm9"`},
		} {
			r := labd(t, append([]string{"--lab", name, "link"}, strings.Fields(c.args)...)...)
			if r.code == 0 || !strings.Contains(r.stderr, c.want) {
				t.Errorf("link %s: %s; want a refusal naming %q", c.args, r, c.want)
			}
		}
	})

	// Last: the events above are the old daemon's (the hub is in memory).
	t.Run("a daemon restart keeps what was set", func(t *testing.T) {
		mustLabd(t, "--lab", name, "link", "vm1", "eth1", "set", "delay=7ms")
		st := getStatus(t, name)
		if err := syscall.Kill(st.Lab.PID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "labd gone", func() bool { return syscall.Kill(st.Lab.PID, 0) != nil })
		mustLabd(t, "up", file)
		if ls := mustLabd(t, "--lab", name, "link", "show"); !strings.Contains(ls, "delay=7ms") || !strings.Contains(ls, "mtu=9000") {
			t.Errorf("after the restart, link show lost an impairment:\n%s", ls)
		}
		_, rtt := probe(t, cfg, 20)
		for _, v := range rtt {
			if v < 0.007 {
				t.Errorf("RTT %.1f ms after the restart; delay=7ms is gone from the switch", v*1000)
				break
			}
		}
		mustLabd(t, "--lab", name, "link", "vm1", "eth1", "clear")
	})
}
