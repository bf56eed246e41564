package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/shellquote"
)

// floodScript runs in a guest (python3 is in the tiny image): for the given seconds it opens TCP connections
// to a black hole (SYNs that are never answered, each holding a pending dial in the NAT), sends UDP from a
// new socket each time (each a new NAT flow) and DNS queries at the NAT's gateway, then prints how many of
// each it sent.
const floodScript = `
import socket, sys, time
hole, udp_host, secs, gw = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
end = time.time() + secs
socks, syns, dgrams, queries = [], 0, 0, 0
dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dns.setblocking(False)
while time.time() < end:
    for _ in range(50):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect((hole, 80))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            continue
        socks.append(s)
        syns += 1
        if len(socks) > 800:
            socks.pop(0).close()
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.sendto(b"x" * 64, (udp_host, 9))
            dgrams += 1
        except OSError:
            pass
        u.close()
    for _ in range(50):  # at the NAT itself: DNS queries for names that do not exist
        try:
            dns.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05nosuch\x00\x00\x01\x00\x01", (gw, 53))
            queries += 1
        except OSError:
            pass
print("syns", syns, "datagrams", dgrams, "dns", queries)
`

// TestGuestFloodLeavesOthersWorking: while vm1 floods the NAT with SYNs to a black hole, UDP flows (only to
// addresses the test owns: a network namespace it makes, and a route into it that drops) and DNS queries at
// the gateway, vm2's ssh logins, its name lookups and its egress to the test host keep working.
func TestGuestFloodLeavesOthersWorking(t *testing.T) {
	// A lab of its own: a guest pushed this hard is not one other tests should share (if it ever gave way,
	// their failures would hide where it happened).
	const name = "e2eflood"
	file := writeLab(t, `
version = 1
name = "e2eflood"
[nat]
[[vm]]
name = "vm1"
[[vm]]
name = "vm2"
`)
	t.Cleanup(func() { labd(t, "--lab", name, "down") })
	mustLabd(t, "up", file)
	_, cfg := sshConfigOf(t, name)
	host := netnsHost(t)
	// The black hole: 198.18.1.0/24 routed into the namespace, which does not forward, so SYNs die there.
	// Check the route really goes into the veth before anything is sent.
	if out, err := exec.Command("ip", "netns", "exec", host.ns, "sysctl", "-qw", "net.ipv4.ip_forward=0").CombinedOutput(); err != nil {
		t.Fatalf("sysctl in %s: %v\n%s", host.ns, err, out)
	}
	if out, err := exec.Command("ip", "route", "add", "198.18.1.0/24", "via", host.addr).CombinedOutput(); err != nil {
		t.Fatalf("ip route add: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "route", "del", "198.18.1.0/24").Run() })
	if out, _ := exec.Command("ip", "route", "get", "198.18.1.1").CombinedOutput(); !strings.Contains(string(out), "via "+host.addr) {
		t.Fatalf("set-up: 198.18.1.1 is not routed into the test namespace: %s", out)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "page"), []byte("still here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stop := host.serveHTTP(t, dir, 8082)
	defer stop()

	const secs = 25
	var wg sync.WaitGroup
	var flood result
	wg.Add(1)
	go func() {
		defer wg.Done()
		flood = sshF(t, cfg, "vm1", "python3", "-c", shellquote.Quote(floodScript), "198.18.1.1", host.addr, fmt.Sprint(secs), "10.99.0.1")
	}()
	time.Sleep(5 * time.Second) // let the flood fill its share
	var logins, fetches []time.Duration
	deadline := time.Now().Add(secs*time.Second - 8*time.Second)
	for time.Now().Before(deadline) {
		start := time.Now()
		if r := sshF(t, cfg, "vm2", "true"); r.code != 0 {
			t.Errorf("ssh vm2 during the flood: %s\n%s", r, vmDiagnosis(name, "vm2"))
		}
		logins = append(logins, time.Since(start))
		start = time.Now()
		if r := sshF(t, cfg, "vm2", fmt.Sprintf("nslookup vm1 >/dev/null && wget -q -O - http://%s:8082/page", host.addr)); r.code != 0 || r.stdout != "still here\n" {
			t.Errorf("vm2's egress during the flood: %s", r)
		}
		fetches = append(fetches, time.Since(start))
	}
	wg.Wait()
	t.Logf("flood from vm1: %s %s", strings.TrimSpace(flood.stdout), strings.TrimSpace(flood.stderr))
	if flood.code != 0 || !strings.Contains(flood.stdout, "syns") {
		t.Fatalf("the flood did not run: %s\n%s", flood, vmDiagnosis(name, "vm1"))
	}
	// The flooding guest itself must come through too: its share was cut, not its way in.
	if r := sshF(t, cfg, "vm1", "true"); r.code != 0 {
		t.Fatalf("vm1 no longer answers after its flood: %s\n%s", r, vmDiagnosis(name, "vm1"))
	}
	t.Logf("during the flood: ssh vm2 true %s; vm2 fetch through the NAT %s", quantiles(logins), quantiles(fetches))
	for _, v := range getStatus(t, name).VMs {
		switch {
		case v.Name == "vm1" && v.NATDrops == 0:
			t.Errorf("status shows no NAT drops for the flooding vm1")
		case v.Name == "vm2" && v.NATDrops != 0:
			t.Errorf("status shows %d NAT drops for vm2, which did not flood", v.NATDrops)
		case v.Name == "vm1":
			t.Logf("status: vm1 had %d new connections dropped by the NAT", v.NATDrops)
		}
	}
	if out := mustLabd(t, "status", "--lab", name); !strings.Contains(out, "vm1: ") || !strings.Contains(out, "dropped by the NAT") {
		t.Errorf("status text does not show vm1's NAT drops:\n%s", out)
	}
	if len(logins) < 3 {
		t.Errorf("only %d logins to vm2 in %d s of flood", len(logins), secs)
	}
}

// quantiles gives n, median and max of durations.
func quantiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return fmt.Sprintf("n=%d median %v max %v", len(s), s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}
