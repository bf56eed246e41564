package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stepOK matches a step line that passed: "15:04:05 NAME ... ok (1.2s)".
// An action step prints "HH:MM:SS name ... ok (1.2s)"; a check step (expect, wait) one validate line per VM,
// "HH:MM:SS PASS vm name: observed (1.2s)", of which the step needs at least one and no FAIL.
func stepOK(name string) *regexp.Regexp {
	q := regexp.QuoteMeta(name)
	return regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d (` + q + ` \.\.\. ok|PASS \S+ ` + q + `: .*) \(\d+\.\ds(, \d+ tries)?\)$`)
}

// requireSteps fails the test unless every named step passed in out.
func requireSteps(t *testing.T, out string, names ...string) {
	t.Helper()
	for _, n := range names {
		failed := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d FAIL \S+ ` + regexp.QuoteMeta(n) + `: `)
		if !stepOK(n).MatchString(out) || failed.MatchString(out) {
			t.Errorf("step %q did not pass", n)
		}
	}
}

// noQemuLeft fails when a qemu of the lab still runs.
func noQemuLeft(t *testing.T, labName string) {
	t.Helper()
	waitFor(t, 30*time.Second, "no qemu of lab "+labName, func() bool {
		return len(qemuPIDs(t, filepath.Join("cloonix", labName)+"/")) == 0
	})
}

// TestDemoOSPF plays `cloonix-labd demo ospf` to the end: adjacencies full, h1 pings h2, the traceroute goes
// r1, r2, then through r3 once the r1-r2 link is down, then r2 again; and the lab is gone afterwards.
func TestDemoOSPF(t *testing.T) {
	labd(t, "--lab", "ospf", "down")
	start := time.Now()
	r := runCmd(t, 8*time.Minute, filepath.Join(env.bin, "cloonix-labd"), "demo", "ospf")
	took := time.Since(start)
	t.Logf("demo ospf took %s:\n%s", took.Round(100*time.Millisecond), r.stdout)
	if r.code != 0 {
		t.Fatalf("demo ospf failed: %s", r)
	}
	requireSteps(t, r.stdout,
		"start lab ospf: r1 r2 r3 h1 h2",
		"push frr.conf to r1 r2 r3 (scp through cloonix-proxy)",
		"OSPF adjacencies full (show ip ospf neighbor)",
		"h1 pings h2",
		"traceroute h1 -> h2 goes r1, r2",
		"take the r1-r2 link down (r1 eth1)",
		"OSPF reconverges: traceroute h1 -> h2 goes r1, r3, r2",
		"r1 has one neighbor left",
		"traceroute h1 -> h2 goes r1, r2 again",
		"take lab ospf down",
	)
	// The checks' evidence is printed: each router's neighbours, the ping, both paths.
	for _, want := range []string{
		"2.2.2.2           1 Full/-", "3.3.3.3           1 Full/-", "1.1.1.1           1 Full/-",
		"1 packets received, 0% packet loss",
		" 2  10.0.12.2 ", " 2  10.0.13.3 ", " 3  10.0.23.2 ",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if st := labd(t, "--lab", "ospf", "status"); st.code == 0 {
		t.Errorf("lab ospf is still up after the demo without --keep:\n%s", st)
	}
	noQemuLeft(t, "ospf")
}

// TestDemoBGP plays the second demo: eBGP between two ASes, a prefix withdrawn and announced again.
func TestDemoBGP(t *testing.T) {
	labd(t, "--lab", "bgp", "down")
	r := runCmd(t, 8*time.Minute, filepath.Join(env.bin, "cloonix-labd"), "demo", "bgp")
	t.Logf("demo bgp:\n%s", r.stdout)
	if r.code != 0 {
		t.Fatalf("demo bgp failed: %s", r)
	}
	requireSteps(t, r.stdout,
		"BGP session established, one prefix received (show bgp summary)",
		"r1 learned 192.168.2.0/24 from AS 65002",
		"h1 pings h2 across the two ASes",
		"r2 withdraws 192.168.2.0/24: r1 forgets it",
		"h1 no longer reaches h2",
		"r2 announces 192.168.2.0/24 again: h1 pings h2",
		"take lab bgp down",
	)
	noQemuLeft(t, "bgp")
}

// catalogue are the demos TestDemoCatalogue plays: each demo's lab name, the steps that must pass, and lines
// its output must hold besides its tests' summary ("validate LAB: N results: N passed, 0 failed").
var catalogue = []struct {
	demo, lab string
	steps     []string
	lines     []string
}{
	// IS-IS with BFD: the r1-r2 link drops everything in the switch with its carrier up; BFD notices, IS-IS
	// moves the path to r3 while h1 loses at most 10 of 75 pings, and the path comes back.
	{"isis-bfd", "isis", []string{
		"IS-IS adjacencies up (show isis neighbor)",
		"BFD sessions up, two per router (show bfd peers json)",
		"the r1-r2 link silently drops everything (r1 eth1: loss=100% both ways, carrier up)",
		"BFD takes the r1-r2 link down, IS-IS moves h2's LAN to r3",
		"r1 has no BFD session up with r2 any more",
		"h1 kept reaching h2 through the failover: at most 10 of 75 pings lost",
		"IS-IS moves h2's LAN back to r2",
	}, nil},
	// VRRP: r1 master and r2 backup of h1's gateway; r1 drops off the hosts' LAN, r2 takes over while h1 loses
	// at most 15 of 75 pings to h2, and r1 takes it back.
	{"vrrp", "vrrp", []string{
		"r1 is the master of 192.168.1.1",
		"r2 is its backup",
		"h1 to h2 goes through the master r1, then r3",
		"the master drops off the hosts' LAN (r1 eth1 down)",
		"r2 takes the virtual gateway over",
		"h1 kept reaching h2 through the failover: at most 15 of 75 pings lost",
		"r1 takes the gateway back (preempt)",
	}, nil},
	// EVPN/VXLAN: one segment across the fabric; l1 learns h2's MAC from BGP; h1's frames reach h2's LAN.
	{"evpn", "evpn", []string{
		"the spine's EVPN sessions with both leaves are up",
		"each leaf knows the other as a VTEP of VNI 10 (show evpn vni 10)",
		"h1 pings h2 across the fabric",
		"l1 learnt h2's MAC from BGP, behind l2 (show evpn mac vni 10)",
	}, []string{"PASS acc2 h1's own frames arrive on h2's access LAN (bridged over VXLAN): icmp from h1 "}},
	// WireGuard: keys made on each router and carried across, OSPF inside the tunnel; the internet side
	// carried WireGuard's UDP and no packet of the sites' addresses.
	{"wireguard", "wireguard", []string{
		"r1 r2 make their WireGuard key pairs",
		"r1's public key to r2",
		"r2's public key to r1",
		"the tunnel is up: r1 and r2 completed a handshake",
		"OSPF runs inside the tunnel (show ip ospf neighbor)",
		"h1 pings h2 through the tunnel",
	}, []string{"PASS wan1 no packet of the sites in clear on wan1"}},
	// RPKI: r3's more specific hijack is dropped as invalid, wins with validation off, is dropped again.
	{"rpki", "rpki", []string{
		"r1 is connected to the validator (show rpki cache-connection)",
		"r1 has the ROA: 192.168.2.0/24, max /24, AS 65002 (show rpki prefix-table)",
		"r3 announced its hijack 192.168.2.128/25 (received-routes)",
		"r1 dropped it as invalid: no route to 192.168.2.128/25",
		"h1 reaches h2 (192.168.2.130) through r2",
		"the hijack wins: r1 routes 192.168.2.128/25 to r3",
		"h1 no longer reaches h2",
		"the hijack is dropped again: h1 pings h2",
	}, nil},
	// Mixed iBGP: FRR reflects between BIRD 2, OpenBGPD and GoBGP; BIRD's 1000 prefixes reach every speaker.
	{"ibgp-rr", "ibgp", []string{
		"rr's sessions with BIRD, OpenBGPD and GoBGP are established",
		"rr has BIRD's 1000 prefixes, OpenBGPD's and GoBGP's",
		"GoBGP learnt all 1002 (gobgp global rib summary)",
		"BIRD has them all too (birdc show route count)",
		"OpenBGPD too: the last of BIRD's and GoBGP's prefixes (bgpctl show rib)",
	}, nil},
	// DHCP and DNS: leases from Kea through gw's relay, names from Unbound, the relayed exchange on the wire.
	{"dhcp-dns", "dhcp", []string{
		"each client has a lease from Kea's pool",
		"Kea recorded both leases",
		"h1 resolves srv.lab with Unbound (the DNS server its lease named)",
		"h2 reaches srv by name",
	}, []string{"PASS servers the relayed DHCP on the servers' LAN, both ways: dhcp from gw "}},
}

// TestDemoCatalogue plays each demo of the catalogue to the end, one after the other: its steps pass, its
// tests all pass, it takes its lab down and no qemu of it is left.
func TestDemoCatalogue(t *testing.T) {
	for _, c := range catalogue {
		t.Run(c.demo, func(t *testing.T) {
			labd(t, "--lab", c.lab, "down")
			r := runCmd(t, 8*time.Minute, filepath.Join(env.bin, "cloonix-labd"), "demo", c.demo)
			t.Logf("demo %s:\n%s", c.demo, r.stdout)
			if r.code != 0 {
				t.Fatalf("demo %s failed: %s", c.demo, r)
			}
			requireSteps(t, r.stdout, append(c.steps, "take lab "+c.lab+" down")...)
			if !regexp.MustCompile(`validate ` + c.lab + `: (\d+) results: (\d+) passed, 0 failed`).MatchString(r.stdout) {
				t.Errorf("the demo's tests did not all pass")
			}
			for _, l := range c.lines {
				if !strings.Contains(r.stdout, l) {
					t.Errorf("demo output lacks %q", l)
				}
			}
			noQemuLeft(t, c.lab)
		})
	}
}

// TestDemoListAndFailure lists the demos, then plays a demo from a directory whose check fails: the exit
// status is non-zero, the error names the step, and the lab is taken down.
func TestDemoListAndFailure(t *testing.T) {
	out := mustLabd(t, "demo")
	// Each demo with how long it takes, the memory its VMs take and the images it needs.
	for _, want := range []string{"ospf +~1m5s +1664 MiB +images tiny,frr ", "bgp ", "isis-bfd ", "vrrp ", "evpn ", "wireguard ",
		"rpki +~1m5s +1920 MiB +images tiny,frr,rpki ", "ibgp-rr ", "dhcp-dns +~25s +1024 MiB +images tiny,services ", "cisco-ospf +\\? +12800 MiB +images tiny; --image "} {
		if !regexp.MustCompile(`(?m)^` + want).MatchString(out) {
			t.Errorf("demo list lacks %q:\n%s", want, out)
		}
	}
	if r := labd(t, "demo", "nosuch"); r.code == 0 || !strings.Contains(r.stderr, "known demos: ") {
		t.Errorf("unknown demo: %s", r)
	}

	dir := t.TempDir()
	d := filepath.Join(dir, "broken")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"lab.toml": "version = 1\nname = \"e2edemo\"\n[nat]\n[[vm]]\nname = \"h1\"\n",
		"steps.toml": `title = "a demo whose check fails"
[requires]
images = ["tiny"]
[[step]]
do = "build"
[[step]]
do = "up"
[[step]]
name = "h1 answers"
do = "expect"
vm = "h1"
cmd = "echo hello from $(hostname)"
match = "hello from h1"
[[step]]
name = "h1 says goodbye"
do = "expect"
vm = "h1"
cmd = "echo hello"
match = "goodbye"
[[step]]
name = "never reached"
do = "sleep"
timeout = "1s"
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(d, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := labd(t, "demo", "--dir", dir, "broken")
	t.Logf("%s", r)
	if r.code == 0 {
		t.Fatal("a failing demo exited 0")
	}
	if !strings.Contains(r.stderr, `step 4 "h1 says goodbye" failed`) || !strings.Contains(r.stderr, `h1: output does not match goodbye`) {
		t.Errorf("the error does not name the failing step: %s", r.stderr)
	}
	requireSteps(t, r.stdout, "h1 answers", `step 4 "h1 says goodbye" failed: take lab e2edemo down`)
	if strings.Contains(r.stdout, "never reached") {
		t.Error("a step after the failure ran")
	}
	// The check's FAIL line says what it saw, and the output follows it.
	if !regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d FAIL h1 h1 says goodbye: output does not match goodbye; saw hello \(\d+\.\ds\)\n    hello$`).MatchString(r.stdout) {
		t.Errorf("no FAIL line for the step:\n%s", r.stdout)
	}
	noQemuLeft(t, "e2edemo")
}

// TestDemoOwnsItsLab: a demo stops what an earlier run of it left (a lab kept with --keep), an interrupted
// demo (SIGTERM) takes its lab down and says so, and the next run just works.
func TestDemoOwnsItsLab(t *testing.T) {
	dir := t.TempDir()
	steps := map[string]string{
		"quick": "[[step]]\ndo = \"up\"\n[[step]]\nname = \"h1 answers\"\ndo = \"expect\"\nvm = \"h1\"\ncmd = \"echo hi from $(hostname)\"\nmatch = \"hi from h1\"\n",
		"slow":  "[[step]]\ndo = \"up\"\n[[step]]\nname = \"wait a long time\"\ndo = \"sleep\"\ntimeout = \"5m\"\n",
	}
	for name, body := range steps {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "lab.toml"), []byte("version = 1\nname = \"e2eown\"\n[nat]\n[[vm]]\nname = \"h1\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "steps.toml"), []byte("title = \""+name+"\"\n[requires]\nimages = [\"tiny\"]\n"+body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { labd(t, "--lab", "e2eown", "down", "--purge") })

	mustLabd(t, "demo", "--keep", "--dir", dir, "quick")
	if st, _ := getStatus(t, "e2eown").vm("h1"); st != "running" {
		t.Fatalf("after demo --keep h1 is %q", st)
	}

	slow := startLabd(t, nil, "demo", "--dir", dir, "slow")
	slow.waitOutput(t, 2*time.Minute, "wait a long time ...")
	if err := slow.stop(t, syscall.SIGTERM, 2*time.Minute); err == nil {
		t.Errorf("an interrupted demo exited 0:\n%s", slow.out.String())
	}
	o := slow.out.String()
	t.Logf("interrupted demo:\n%s", o)
	for _, want := range []string{"stopping lab e2eown left by an earlier run", "interrupted at step 2", "take lab e2eown down ... ok"} {
		if !strings.Contains(o, want) {
			t.Errorf("the interrupted demo does not say %q", want)
		}
	}
	noQemuLeft(t, "e2eown")

	r := labd(t, "demo", "--dir", dir, "quick")
	if r.code != 0 {
		t.Fatalf("the demo after an interrupted one: %s", r)
	}
	noQemuLeft(t, "e2eown")
}
