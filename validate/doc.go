// Package validate runs tests of a lab as code: typed checks of the nodes' state (OSPF neighbors, BGP
// sessions, routes, ping and traceroute paths, interfaces, any command's output) and checks of the wire from
// the lab's switch (frames of a protocol seen from each node, a TCP session established, no drops, silence),
// each retried for up to its wait, with one PASS/FAIL line per test and node, a summary, netlab's exit codes,
// JSON and JUnit reports. `cloonix-labd validate` and the demo runner share it.
//
// A tests file is TOML; every problem in it is reported as "tests.toml:LINE:COL: what; fix":
//
//	wait = "30s"                    # the default wait of every test (default 0: one try)
//
//	[[test]]
//	name = "r1 and r2 are OSPF neighbors"
//	nodes = ["r1", "r2"]            # or node = "r1"; the test runs on each, in parallel
//	ospf = { neighbor = "2.2.2.2", state = "full" }
//	wait = "60s"                    # retry every second until it passes, at most this long
//	stop_on_error = true            # a failure stops the tests after this one
//	level = "warning"               # a failure is a warning (exit code 3 when only warnings)
//
// Checks (exactly one per test):
//
//	ospf       = { neighbor = "2.2.2.2", state = "full", present = true }
//	bgp        = { neighbor = "10.0.12.2", state = "established", min_prefixes = 1, present = true }
//	route      = { prefix = "192.168.2.0/24", nexthop = "10.0.12.2", interface = "eth1", present = true }
//	ping       = { target = "192.168.2.10", count = 3, reachable = true }
//	traceroute = { target = "192.168.2.10", path = ["10.0.12.2", "192.168.2.10"], avoid = ["10.0.13.3"] }
//	interface  = { name = "eth1", state = "up" }
//	command    = { cmd = "show version", user = "root", match = 'REGEXP', not_match = 'REGEXP', expr = 'EXPR' }
//	wire       = { lan = "lan12", window = "10s", seen = "ospf", from = ["r1", "r2"] }
//	wire       = { lan = "lan12", window = "70s", established = "tcp/179", between = ["r1", "r2"] }
//	wire       = { lan = "lan13", window = "5s", drops = 0 }
//	wire       = { lan = "lan99", window = "5s", none = "any" }
//	wire       = { lan = "acc2", last = "60s", seen = "icmp", from = ["h1"] }
//
// A typed check reads what the node's kind offers (kind.Kind.Show): FRR's `show … json` through vtysh and
// the Linux tools as the kind's ShellUser, the kernel's tables on a Linux host, IOS-XE's text parsed by
// package iosxeshow. A check a kind cannot run is skipped with the reason. command's expr is an
// expr-lang/expr expression over output (the text), lines (its lines) and json (the output decoded, when
// it is JSON) that must be true. A wire check watches the LAN live for window (default 10s) through the
// daemon's capture: seen passes as soon as each node of from (default: any sender) sent a frame the filter
// matches; established as soon as TCP segments of an established connection went both ways between the
// two nodes; none passes when nothing matched during the window; drops compares the switch's drop counters
// of the LAN's ports before and after the window. last (seen, none, established) also counts what the LAN's
// flight recorder kept from that long before the window: traffic that came and went, such as the pings of
// the tests before. A sender is known by its NICs' MACs anywhere in the lab (h1's frames bridged onto
// another LAN are h1's); a frame from a MAC no NIC has (VRRP's virtual MAC) is shown by that MAC. Filters
// are protocol words (ospf, bgp, isis, vrrp, bfd, arp, icmp…), tcp/PORT, udp/PORT, and net:PREFIX (an IP
// packet from or to an address in PREFIX).
//
// Exit codes are netlab's: 0 every test passed, 1 a test failed, 2 no test could run, 3 only warnings.
package validate
