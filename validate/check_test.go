package validate

import (
	"context"
	"errors"
	"net/netip"
	"regexp"
	"strings"
	"testing"
)

// Outputs captured from a real FRR 8.4.4 router (r1 of a three-router OSPF lab).
const (
	frrOSPFNeighborJSON = `{"neighbors":{"3.3.3.3":[{"priority":1,"state":"Full\/-","nbrPriority":1,"nbrState":"Full\/-","converged":"Full","role":"DROther","upTimeInMsec":15069,"deadTimeMsecs":3729,"routerDeadIntervalTimerDueMsec":3729,"upTime":"15.069s","deadTime":"3.728s","address":"10.0.13.3","ifaceAddress":"10.0.13.3","ifaceName":"eth2:10.0.13.1","retransmitCounter":0,"linkStateRetransmissionListCounter":0,"requestCounter":0,"linkStateRequestListCounter":0,"dbSummaryCounter":0,"databaseSummaryListCounter":0}],"2.2.2.2":[{"priority":1,"state":"Full\/-","nbrPriority":1,"nbrState":"Full\/-","converged":"Full","role":"DROther","upTimeInMsec":6292,"deadTimeMsecs":3662,"routerDeadIntervalTimerDueMsec":3662,"upTime":"6.292s","deadTime":"3.662s","address":"10.0.12.2","ifaceAddress":"10.0.12.2","ifaceName":"eth1:10.0.12.1","retransmitCounter":0,"linkStateRetransmissionListCounter":0,"requestCounter":0,"linkStateRequestListCounter":0,"dbSummaryCounter":0,"databaseSummaryListCounter":0}]}}`
	frrRouteJSON        = `{"192.168.2.0/24":[{"prefix":"192.168.2.0/24","prefixLen":24,"protocol":"ospf","vrfId":0,"vrfName":"default","selected":true,"destSelected":true,"distance":110,"metric":2,"installed":true,"table":254,"internalStatus":16,"internalFlags":8,"internalNextHopNum":1,"internalNextHopActiveNum":1,"nexthopGroupId":32,"installedNexthopGroupId":32,"uptime":"00:00:08","nexthops":[{"flags":3,"fib":true,"ip":"10.0.12.2","afi":"ipv4","interfaceIndex":3,"interfaceName":"eth1","active":true,"weight":1}]}]}`
	// frrNoRouteJSON is what FRR 8.4.4 prints for a prefix it has no route for.
	frrNoRouteJSON = `{}`
)

// frrBGPSummaryJSON is the documented shape of FRR's `show bgp summary json` (FRR's user guide and
// bgp_vty.c), NOT captured from a router: one peer Established with 3 prefixes, one Active (no pfxRcd).
const frrBGPSummaryJSON = `{"ipv4Unicast":{"routerId":"1.1.1.1","as":65001,"peers":{"10.0.12.2":{"remoteAs":65002,"state":"Established","pfxRcd":3,"peerState":"OK"},"10.0.13.3":{"remoteAs":65003,"state":"Active","peerState":"OK"}}}}`

// Linux outputs in the shape BusyBox's ip, ping and traceroute print them (the project's images), and
// iputils' ping.
const (
	busyboxRoutes = "default via 10.99.0.1 dev eth0 \n" +
		"10.99.0.0/24 dev eth0 scope link  src 10.99.0.10 \n" +
		"10.0.0.5 via 192.168.1.1 dev eth1 \n" +
		"192.168.0.0/16 via 192.168.1.1 dev eth1 \n" +
		"192.168.1.0/24 dev eth1 scope link  src 192.168.1.10 \n" +
		"192.168.3.0/24 \n" +
		"\tnexthop via 192.168.1.1 dev eth1 weight 1\n" +
		"\tnexthop via 192.168.4.1 dev eth2 weight 1\n" +
		"192.168.4.0/24 dev eth2 scope link  src 192.168.4.10 \n"
	iproute2Routes = "default via 10.99.0.1 dev eth0 proto dhcp src 10.99.0.10 metric 100 \n" +
		"192.168.2.0/24 nhid 32 via 10.0.12.2 dev eth1 proto ospf metric 20 \n"
	busyboxPingOK = "PING 192.168.2.10 (192.168.2.10): 56 data bytes\n\n" +
		"--- 192.168.2.10 ping statistics ---\n" +
		"3 packets transmitted, 3 packets received, 0% packet loss\n" +
		"round-trip min/avg/max = 0.512/0.634/0.801 ms\n"
	busyboxPingPartial = "PING 192.168.2.10 (192.168.2.10): 56 data bytes\n\n" +
		"--- 192.168.2.10 ping statistics ---\n" +
		"3 packets transmitted, 1 packets received, 66% packet loss\n" +
		"round-trip min/avg/max = 0.512/0.512/0.512 ms\n"
	iputilsPingLost = "PING 192.168.2.10 (192.168.2.10) 56(84) bytes of data.\n\n" +
		"--- 192.168.2.10 ping statistics ---\n" +
		"3 packets transmitted, 0 received, 100% packet loss, time 2045ms\n\n"
	traceroute3 = "traceroute to 192.168.2.10 (192.168.2.10), 10 hops max, 46 byte packets\n" +
		" 1  10.0.12.2  0.412 ms\n" +
		" 2  *\n" +
		" 3  192.168.2.10  1.034 ms\n"
	tracerouteLost = "traceroute to 192.168.2.10 (192.168.2.10), 10 hops max, 46 byte packets\n" +
		" 1  10.0.12.2  0.412 ms\n" +
		" 2  *\n 3  *\n 4  *\n 5  *\n 6  *\n 7  *\n 8  *\n 9  *\n10  *\n"
)

// IOS-XE outputs, short samples in the shape of iosxeshow's testdata.
const (
	iosOSPF = "Neighbor ID     Pri   State           Dead Time   Address         Interface\n" +
		"2.2.2.2           1   FULL/DR         00:00:34    10.0.12.2       GigabitEthernet2\n" +
		"3.3.3.3           1   INIT/DROTHER    00:00:38    10.0.13.3       GigabitEthernet3\n"
	iosBGP = "BGP router identifier 1.1.1.1, local AS number 65001\n" +
		"BGP table version is 4, main routing table version 4\n" +
		"3 network entries using 744 bytes of memory\n\n" +
		"Neighbor        V           AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd\n" +
		"10.0.12.2       4        65002      12      11        4    0    0 00:07:12        3\n" +
		"10.0.13.3       4        65003       0       0        1    0    0 never    Active\n"
	iosRoutes = "Codes: L - local, C - connected, S - static, R - RIP, M - mobile, B - BGP\n" +
		"       D - EIGRP, EX - EIGRP external, O - OSPF, IA - OSPF inter area\n\n" +
		"Gateway of last resort is 10.99.0.1 to network 0.0.0.0\n\n" +
		"S*    0.0.0.0/0 [1/0] via 10.99.0.1\n" +
		"      10.0.0.0/8 is variably subnetted, 2 subnets, 2 masks\n" +
		"C        10.0.12.0/24 is directly connected, GigabitEthernet2\n" +
		"L        10.0.12.1/32 is directly connected, GigabitEthernet2\n" +
		"O     192.168.2.0/24 [110/2] via 10.0.12.2, 00:01:10, GigabitEthernet2\n"
	iosIPBrief = "Interface              IP-Address      OK? Method Status                Protocol\n" +
		"GigabitEthernet1       10.99.0.21      YES DHCP   up                    up\n" +
		"GigabitEthernet2       10.0.12.1       YES manual up                    up\n" +
		"GigabitEthernet3       unassigned      YES unset  administratively down down\n"
	iosPingOK = "Type escape sequence to abort.\n" +
		"Sending 3, 100-byte ICMP Echos to 192.168.2.10, timeout is 1 seconds:\n!!!\n" +
		"Success rate is 100 percent (3/3), round-trip min/avg/max = 1/1/2 ms\n"
	iosPingLost = "Type escape sequence to abort.\n" +
		"Sending 3, 100-byte ICMP Echos to 192.168.2.10, timeout is 1 seconds:\n...\n" +
		"Success rate is 0 percent (0/3)\n"
	iosTrace = "Type escape sequence to abort.\n" +
		"Tracing the route to 192.168.2.10\n" +
		"VRF info: (vrf in name/id, vrf out name/id)\n" +
		"  1 10.0.12.2 1 msec\n" +
		"  2 192.168.2.10 2 msec\n"
)

// The commands the checks run, as "vm|user|command": r1 is frr (vtysh as its ssh user, the Linux tools as
// root), h1 linux (root is its ssh user), c1 iosxe.
const (
	r1OSPF  = "r1||show ip ospf neighbor json"
	r1BGP   = "r1||show bgp summary json"
	r1Route = "r1||show ip route 192.168.2.0/24 json"
	h1Route = "h1||ip -f inet route"
	r1Ping  = "r1|root|ping -n -q -c 3 -i 0.2 -W 1 192.168.2.10"
	h1Ping  = "h1||ping -n -q -c 3 -i 0.2 -W 1 192.168.2.10"
	h1Trace = "h1||traceroute -n -q 1 -w 1 -m 10 192.168.2.10 2>&1"
	h1Eth1  = "h1||cat /sys/class/net/eth1/operstate /sys/class/net/eth1/flags"
	r1Eth1  = "r1|root|cat /sys/class/net/eth1/operstate /sys/class/net/eth1/flags"
)

var labKinds = map[string]string{"r1": "frr", "r2": "frr", "h1": "linux", "c1": "iosxe"}

// checkCase is one try of a check on a node whose commands answer from run.
type checkCase struct {
	name  string
	check Check
	node  string
	run   map[string]answer
	want  Outcome // Output is not compared (see wantOutput)
	// wantOutput, when set, is the raw output the outcome must carry.
	wantOutput string
}

func runCheckCases(t *testing.T, cases []checkCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := newEnv(t, labKinds)
			for k, a := range c.run {
				env.run[k] = a
			}
			got := c.check.Run(context.Background(), env, c.node)
			if c.wantOutput != "" && got.Output != c.wantOutput {
				t.Errorf("Output = %q, want %q", got.Output, c.wantOutput)
			}
			got.Output = ""
			if got != c.want {
				t.Errorf("outcome\n got %#v\nwant %#v\ncalls %q", got, c.want, env.Calls())
			}
		})
	}
}

func ok(out string) answer { return answer{out: out} }

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ip(s string) netip.Addr    { return netip.MustParseAddr(s) }

var errExit1 = errors.New("ssh h1 \"ping\": exit status 1")

func TestOSPFCheck(t *testing.T) {
	init2 := strings.Replace(frrOSPFNeighborJSON, `"nbrState":"Full\/-","converged":"Full","role":"DROther","upTimeInMsec":6292`,
		`"nbrState":"Init\/DROther","converged":"Init","role":"DROther","upTimeInMsec":6292`, 1)
	if init2 == frrOSPFNeighborJSON {
		t.Fatal("the Init sample was not made")
	}
	both := "2.2.2.2 Full/-, 3.3.3.3 Full/-"
	runCheckCases(t, []checkCase{
		{name: "frr full", check: &OSPFCheck{Neighbor: "2.2.2.2", State: "full", Present: true}, node: "r1",
			run:  map[string]answer{r1OSPF: ok(frrOSPFNeighborJSON)},
			want: Outcome{Pass: true, Observed: "neighbor 2.2.2.2 Full/-"}, wantOutput: frrOSPFNeighborJSON},
		{name: "frr state is case-insensitive", check: &OSPFCheck{Neighbor: "3.3.3.3", State: "FULL", Present: true}, node: "r1",
			run:  map[string]answer{r1OSPF: ok(frrOSPFNeighborJSON)},
			want: Outcome{Pass: true, Observed: "neighbor 3.3.3.3 Full/-"}},
		{name: "frr init", check: &OSPFCheck{Neighbor: "2.2.2.2", State: "full", Present: true}, node: "r1",
			run: map[string]answer{r1OSPF: ok(init2)},
			want: Outcome{Observed: "2.2.2.2 Init/DROther, 3.3.3.3 Full/-",
				Reason: "neighbor 2.2.2.2 is Init/DROther, want full"}},
		{name: "frr init wanted", check: &OSPFCheck{Neighbor: "2.2.2.2", State: "init", Present: true}, node: "r1",
			run:  map[string]answer{r1OSPF: ok(init2)},
			want: Outcome{Pass: true, Observed: "neighbor 2.2.2.2 Init/DROther"}},
		{name: "frr missing", check: &OSPFCheck{Neighbor: "4.4.4.4", State: "full", Present: true}, node: "r1",
			run:  map[string]answer{r1OSPF: ok(frrOSPFNeighborJSON)},
			want: Outcome{Observed: both, Reason: "no neighbor 4.4.4.4"}},
		{name: "frr absent as wanted", check: &OSPFCheck{Neighbor: "4.4.4.4", State: "full", Present: false}, node: "r1",
			run:  map[string]answer{r1OSPF: ok(frrOSPFNeighborJSON)},
			want: Outcome{Pass: true, Observed: "no neighbor 4.4.4.4 (" + both + ")"}},
		{name: "frr present, want absent", check: &OSPFCheck{Neighbor: "3.3.3.3", State: "full", Present: false}, node: "r1",
			run:  map[string]answer{r1OSPF: ok(frrOSPFNeighborJSON)},
			want: Outcome{Observed: both, Reason: "neighbor 3.3.3.3 is Full/-, want none"}},
		{name: "frr no neighbor at all", check: &OSPFCheck{Neighbor: "2.2.2.2", State: "full", Present: true}, node: "r1",
			run:  map[string]answer{r1OSPF: ok(`{"neighbors":{}}`)},
			want: Outcome{Observed: "no neighbor", Reason: "no neighbor 2.2.2.2"}},
		{name: "frr not JSON", check: &OSPFCheck{Neighbor: "2.2.2.2", State: "full", Present: true}, node: "r1",
			run:        map[string]answer{r1OSPF: ok("% OSPF instance not found\n")},
			want:       Outcome{Reason: `the output is not the JSON expected (invalid character '%' looking for beginning of value): "% OSPF instance not found"`},
			wantOutput: "% OSPF instance not found\n"},
		{name: "ssh fails", check: &OSPFCheck{Neighbor: "2.2.2.2", State: "full", Present: true}, node: "r1",
			run:  map[string]answer{r1OSPF: {err: errors.New("ssh r1 \"show ip ospf neighbor json\": exit status 255\nmore")}},
			want: Outcome{Reason: `ssh r1 "show ip ospf neighbor json": exit status 255`}},
		{name: "linux skips", check: &OSPFCheck{Neighbor: "2.2.2.2", State: "full", Present: true}, node: "h1",
			want: Outcome{Skip: "a linux node has no OSPF"}},
		{name: "unknown node", check: &OSPFCheck{Neighbor: "2.2.2.2", State: "full", Present: true}, node: "zz",
			want: Outcome{Reason: `the lab has no VM "zz"`}},
		{name: "iosxe full", check: &OSPFCheck{Neighbor: "2.2.2.2", State: "full", Present: true}, node: "c1",
			run:  map[string]answer{"c1||show ip ospf neighbor": ok(iosOSPF)},
			want: Outcome{Pass: true, Observed: "neighbor 2.2.2.2 FULL/DR"}},
		{name: "iosxe init", check: &OSPFCheck{Neighbor: "3.3.3.3", State: "full", Present: true}, node: "c1",
			run: map[string]answer{"c1||show ip ospf neighbor": ok(iosOSPF)},
			want: Outcome{Observed: "2.2.2.2 FULL/DR, 3.3.3.3 INIT/DROTHER",
				Reason: "neighbor 3.3.3.3 is INIT/DROTHER, want full"}},
		{name: "iosxe error", check: &OSPFCheck{Neighbor: "3.3.3.3", State: "full", Present: true}, node: "c1",
			run:  map[string]answer{"c1||show ip ospf neighbor": ok("show ip ospf neighbor\n                ^\n% Invalid input detected at '^' marker.\n")},
			want: Outcome{Reason: "iosxeshow: device error: % Invalid input detected at '^' marker."}},
	})
}

func TestFRROSPFNeighborsOlderState(t *testing.T) {
	// FRR before nbrState printed only "state".
	n, err := frrOSPFNeighbors(`{"neighbors":{"2.2.2.2":[{"priority":1,"state":"Full/DR","address":"10.0.12.2"}]}}`)
	if err != nil || len(n) != 1 || n[0] != (ospfNeighbor{"2.2.2.2", "Full/DR"}) {
		t.Errorf("frrOSPFNeighbors = %v, %v", n, err)
	}
}

func TestBGPCheck(t *testing.T) {
	peers := "10.0.12.2 Established (3 prefixes), 10.0.13.3 Active"
	runCheckCases(t, []checkCase{
		{name: "frr established", check: &BGPCheck{Neighbor: "10.0.12.2", State: "established", MinPrefixes: 1, Present: true}, node: "r1",
			run:  map[string]answer{r1BGP: ok(frrBGPSummaryJSON)},
			want: Outcome{Pass: true, Observed: "10.0.12.2 Established, 3 prefixes received"}, wantOutput: frrBGPSummaryJSON},
		{name: "frr too few prefixes", check: &BGPCheck{Neighbor: "10.0.12.2", State: "established", MinPrefixes: 5, Present: true}, node: "r1",
			run:  map[string]answer{r1BGP: ok(frrBGPSummaryJSON)},
			want: Outcome{Observed: peers, Reason: "3 prefixes received from 10.0.12.2, want at least 5"}},
		{name: "frr active", check: &BGPCheck{Neighbor: "10.0.13.3", State: "established", MinPrefixes: -1, Present: true}, node: "r1",
			run:  map[string]answer{r1BGP: ok(frrBGPSummaryJSON)},
			want: Outcome{Observed: peers, Reason: "session with 10.0.13.3 is Active, want established"}},
		{name: "frr active with min prefixes", check: &BGPCheck{Neighbor: "10.0.13.3", State: "active", MinPrefixes: 1, Present: true}, node: "r1",
			run:  map[string]answer{r1BGP: ok(frrBGPSummaryJSON)},
			want: Outcome{Observed: peers, Reason: "0 prefixes received from 10.0.13.3, want at least 1"}},
		{name: "frr no such neighbor", check: &BGPCheck{Neighbor: "10.0.14.4", State: "established", MinPrefixes: -1, Present: true}, node: "r1",
			run:  map[string]answer{r1BGP: ok(frrBGPSummaryJSON)},
			want: Outcome{Observed: peers, Reason: "no BGP neighbor 10.0.14.4"}},
		{name: "frr absent as wanted", check: &BGPCheck{Neighbor: "10.0.14.4", State: "established", MinPrefixes: -1, Present: false}, node: "r1",
			run:  map[string]answer{r1BGP: ok(frrBGPSummaryJSON)},
			want: Outcome{Pass: true, Observed: peers}},
		{name: "frr configured, want none", check: &BGPCheck{Neighbor: "10.0.12.2", State: "established", MinPrefixes: -1, Present: false}, node: "r1",
			run:  map[string]answer{r1BGP: ok(frrBGPSummaryJSON)},
			want: Outcome{Observed: peers, Reason: "neighbor 10.0.12.2 is configured (Established), want none"}},
		{name: "frr without bgp", check: &BGPCheck{Neighbor: "10.0.12.2", State: "established", MinPrefixes: -1, Present: true}, node: "r1",
			run:  map[string]answer{r1BGP: ok("{}\n")},
			want: Outcome{Observed: "no BGP neighbor", Reason: "no BGP neighbor 10.0.12.2"}},
		{name: "linux skips", check: &BGPCheck{Neighbor: "10.0.12.2", State: "established", MinPrefixes: -1, Present: true}, node: "h1",
			want: Outcome{Skip: "a linux node has no BGP"}},
		{name: "iosxe established", check: &BGPCheck{Neighbor: "10.0.12.2", State: "established", MinPrefixes: 3, Present: true}, node: "c1",
			run:  map[string]answer{"c1||show ip bgp summary": ok(iosBGP)},
			want: Outcome{Pass: true, Observed: "10.0.12.2 Established, 3 prefixes received"}},
		{name: "iosxe active", check: &BGPCheck{Neighbor: "10.0.13.3", State: "established", MinPrefixes: -1, Present: true}, node: "c1",
			run: map[string]answer{"c1||show ip bgp summary": ok(iosBGP)},
			want: Outcome{Observed: "10.0.12.2 Established (3 prefixes), 10.0.13.3 Active",
				Reason: "session with 10.0.13.3 is Active, want established"}},
		{name: "iosxe not active", check: &BGPCheck{Neighbor: "10.0.13.3", State: "established", MinPrefixes: -1, Present: true}, node: "c1",
			run:  map[string]answer{"c1||show ip bgp summary": ok("% BGP not active\n")},
			want: Outcome{Reason: "iosxeshow: device error: % BGP not active"}},
	})
}

func TestRouteCheck(t *testing.T) {
	lan2 := pfx("192.168.2.0/24")
	frrVia := "192.168.2.0/24 via 10.0.12.2 eth1 (ospf)"
	runCheckCases(t, []checkCase{
		{name: "frr via next hop and interface", check: &RouteCheck{Prefix: lan2, NextHop: ip("10.0.12.2"), Interface: "eth1", Present: true}, node: "r1",
			run:  map[string]answer{r1Route: ok(frrRouteJSON)},
			want: Outcome{Pass: true, Observed: frrVia}, wantOutput: frrRouteJSON},
		{name: "frr any next hop", check: &RouteCheck{Prefix: lan2, Present: true}, node: "r1",
			run:  map[string]answer{r1Route: ok(frrRouteJSON)},
			want: Outcome{Pass: true, Observed: frrVia}},
		{name: "frr via another next hop", check: &RouteCheck{Prefix: lan2, NextHop: ip("10.0.13.3"), Present: true}, node: "r1",
			run:  map[string]answer{r1Route: ok(frrRouteJSON)},
			want: Outcome{Observed: frrVia, Reason: "next hop 10.0.12.2 eth1, want 10.0.13.3"}},
		{name: "frr on another interface", check: &RouteCheck{Prefix: lan2, Interface: "eth2", Present: true}, node: "r1",
			run:  map[string]answer{r1Route: ok(frrRouteJSON)},
			want: Outcome{Observed: frrVia, Reason: "next hop 10.0.12.2 eth1, want any next hop on eth2"}},
		{name: "frr no route", check: &RouteCheck{Prefix: lan2, Present: true}, node: "r1",
			run:  map[string]answer{r1Route: ok(frrNoRouteJSON)},
			want: Outcome{Observed: "no route to 192.168.2.0/24", Reason: "no route to 192.168.2.0/24"}},
		{name: "frr no route as wanted", check: &RouteCheck{Prefix: lan2, Present: false}, node: "r1",
			run:  map[string]answer{r1Route: ok(frrNoRouteJSON)},
			want: Outcome{Pass: true, Observed: "no route to 192.168.2.0/24"}},
		{name: "frr route, want none", check: &RouteCheck{Prefix: lan2, Present: false}, node: "r1",
			run:  map[string]answer{r1Route: ok(frrRouteJSON)},
			want: Outcome{Observed: frrVia, Reason: "the route is there, want none"}},
		{name: "frr ipv6 asks show ipv6 route", check: &RouteCheck{Prefix: pfx("2001:db8:2::/64"), Present: true}, node: "r1",
			run: map[string]answer{"r1||show ipv6 route 2001:db8:2::/64 json": ok(`{"2001:db8:2::/64":[{"prefix":"2001:db8:2::/64","protocol":"ospf6","selected":true,` +
				`"nexthops":[{"ip":"fe80::2","interfaceName":"eth1","active":true},{"ip":"fe80::3","interfaceName":"eth2","active":false}]}]}`)},
			want: Outcome{Pass: true, Observed: "2001:db8:2::/64 via fe80::2 eth1 (ospf6)"}},

		{name: "linux default", check: &RouteCheck{Prefix: pfx("0.0.0.0/0"), NextHop: ip("10.99.0.1"), Present: true}, node: "h1",
			run:  map[string]answer{h1Route: ok(busyboxRoutes)},
			want: Outcome{Pass: true, Observed: "0.0.0.0/0 via 10.99.0.1 eth0"}, wantOutput: busyboxRoutes},
		{name: "linux via", check: &RouteCheck{Prefix: pfx("192.168.0.0/16"), NextHop: ip("192.168.1.1"), Interface: "eth1", Present: true}, node: "h1",
			run:  map[string]answer{h1Route: ok(busyboxRoutes)},
			want: Outcome{Pass: true, Observed: "192.168.0.0/16 via 192.168.1.1 eth1"}},
		{name: "linux connected", check: &RouteCheck{Prefix: pfx("192.168.1.0/24"), Interface: "eth1", Present: true}, node: "h1",
			run:  map[string]answer{h1Route: ok(busyboxRoutes)},
			want: Outcome{Pass: true, Observed: "192.168.1.0/24 via connected eth1"}},
		{name: "linux connected, want a gateway", check: &RouteCheck{Prefix: pfx("192.168.1.0/24"), NextHop: ip("192.168.1.1"), Present: true}, node: "h1",
			run:  map[string]answer{h1Route: ok(busyboxRoutes)},
			want: Outcome{Observed: "192.168.1.0/24 via connected eth1", Reason: "next hop connected eth1, want 192.168.1.1"}},
		{name: "linux host route", check: &RouteCheck{Prefix: pfx("10.0.0.5/32"), NextHop: ip("192.168.1.1"), Present: true}, node: "h1",
			run:  map[string]answer{h1Route: ok(busyboxRoutes)},
			want: Outcome{Pass: true, Observed: "10.0.0.5/32 via 192.168.1.1 eth1"}},
		{name: "linux ecmp second path", check: &RouteCheck{Prefix: pfx("192.168.3.0/24"), NextHop: ip("192.168.4.1"), Interface: "eth2", Present: true}, node: "h1",
			run:  map[string]answer{h1Route: ok(busyboxRoutes)},
			want: Outcome{Pass: true, Observed: "192.168.3.0/24 via 192.168.1.1 eth1, 192.168.4.1 eth2"}},
		{name: "linux ecmp wrong path", check: &RouteCheck{Prefix: pfx("192.168.3.0/24"), NextHop: ip("192.168.9.9"), Present: true}, node: "h1",
			run: map[string]answer{h1Route: ok(busyboxRoutes)},
			want: Outcome{Observed: "192.168.3.0/24 via 192.168.1.1 eth1, 192.168.4.1 eth2",
				Reason: "next hop 192.168.1.1 eth1, 192.168.4.1 eth2, want 192.168.9.9"}},
		{name: "linux exact prefix only", check: &RouteCheck{Prefix: pfx("192.168.2.0/24"), Present: true}, node: "h1",
			run:  map[string]answer{h1Route: ok(busyboxRoutes)},
			want: Outcome{Observed: "no route to 192.168.2.0/24", Reason: "no route to 192.168.2.0/24"}},
		{name: "linux proto", check: &RouteCheck{Prefix: lan2, NextHop: ip("10.0.12.2"), Present: true}, node: "h1",
			run:  map[string]answer{h1Route: ok(iproute2Routes)},
			want: Outcome{Pass: true, Observed: "192.168.2.0/24 via 10.0.12.2 eth1 (ospf)"}},
		{name: "frr node's kernel is not asked", check: &RouteCheck{Prefix: lan2, Present: true}, node: "r1",
			run:  map[string]answer{"r1|root|ip -f inet route": ok(iproute2Routes)},
			want: Outcome{Reason: `fake: no answer for "r1||show ip route 192.168.2.0/24 json"`}},

		{name: "iosxe via", check: &RouteCheck{Prefix: lan2, NextHop: ip("10.0.12.2"), Interface: "GigabitEthernet2", Present: true}, node: "c1",
			run:  map[string]answer{"c1||show ip route": ok(iosRoutes)},
			want: Outcome{Pass: true, Observed: "192.168.2.0/24 via 10.0.12.2 GigabitEthernet2 (O)"}},
		{name: "iosxe connected", check: &RouteCheck{Prefix: pfx("10.0.12.0/24"), NextHop: ip("10.0.12.9"), Present: true}, node: "c1",
			run: map[string]answer{"c1||show ip route": ok(iosRoutes)},
			want: Outcome{Observed: "10.0.12.0/24 via connected GigabitEthernet2 (C)",
				Reason: "next hop connected GigabitEthernet2, want 10.0.12.9"}},
		{name: "iosxe default", check: &RouteCheck{Prefix: pfx("0.0.0.0/0"), Present: true}, node: "c1",
			run:  map[string]answer{"c1||show ip route": ok(iosRoutes)},
			want: Outcome{Pass: true, Observed: "0.0.0.0/0 via 10.99.0.1 (S*)"}},
	})
}

func TestPingCheck(t *testing.T) {
	target := ip("192.168.2.10")
	reach := &PingCheck{Target: target, Count: 3, Reachable: true}
	unreach := &PingCheck{Target: target, Count: 3, Reachable: false}
	runCheckCases(t, []checkCase{
		{name: "busybox replies", check: reach, node: "h1", run: map[string]answer{h1Ping: ok(busyboxPingOK)},
			want: Outcome{Pass: true, Observed: "3/3 replies from 192.168.2.10"}, wantOutput: busyboxPingOK},
		{name: "frr pings as root", check: reach, node: "r1", run: map[string]answer{r1Ping: ok(busyboxPingOK)},
			want: Outcome{Pass: true, Observed: "3/3 replies from 192.168.2.10"}},
		{name: "one reply is reachable", check: reach, node: "h1", run: map[string]answer{h1Ping: ok(busyboxPingPartial)},
			want: Outcome{Pass: true, Observed: "1/3 replies from 192.168.2.10"}},
		{name: "iputils no reply exits 1", check: reach, node: "h1", run: map[string]answer{h1Ping: {iputilsPingLost, errExit1}},
			want: Outcome{Observed: "0/3 replies from 192.168.2.10", Reason: "no reply from 192.168.2.10"}, wantOutput: iputilsPingLost},
		{name: "no reply as wanted", check: unreach, node: "h1", run: map[string]answer{h1Ping: {iputilsPingLost, errExit1}},
			want: Outcome{Pass: true, Observed: "0/3 replies from 192.168.2.10"}},
		{name: "replies, want none", check: unreach, node: "h1", run: map[string]answer{h1Ping: ok(busyboxPingOK)},
			want: Outcome{Observed: "3/3 replies from 192.168.2.10", Reason: "192.168.2.10 answers, want no reply"}},
		{name: "no summary", check: reach, node: "h1", run: map[string]answer{h1Ping: {"ping: sendto: Network unreachable\n", errExit1}},
			want: Outcome{Reason: errExit1.Error()}},
		{name: "no summary, no error", check: reach, node: "h1", run: map[string]answer{h1Ping: ok("something else\n")},
			want: Outcome{Reason: `ping printed no summary: "something else"`}},
		{name: "count and v6", check: &PingCheck{Target: ip("2001:db8::10"), Count: 5, Reachable: true}, node: "h1",
			run:  map[string]answer{"h1||ping -6 -n -q -c 5 -i 0.2 -W 1 2001:db8::10": ok("5 packets transmitted, 5 packets received, 0% packet loss\n")},
			want: Outcome{Pass: true, Observed: "5/5 replies from 2001:db8::10"}},
		{name: "iosxe", check: reach, node: "c1", run: map[string]answer{"c1||ping 192.168.2.10 repeat 3 timeout 1": ok(iosPingOK)},
			want: Outcome{Pass: true, Observed: "3/3 replies from 192.168.2.10"}},
		{name: "iosxe lost", check: reach, node: "c1", run: map[string]answer{"c1||ping 192.168.2.10 repeat 3 timeout 1": ok(iosPingLost)},
			want: Outcome{Observed: "0/3 replies from 192.168.2.10", Reason: "no reply from 192.168.2.10"}},
	})
}

func TestTracerouteCheck(t *testing.T) {
	target := ip("192.168.2.10")
	seen := "path 10.0.12.2 * 192.168.2.10"
	runCheckCases(t, []checkCase{
		{name: "path in order", check: &TracerouteCheck{Target: target, Path: []netip.Addr{ip("10.0.12.2"), target}}, node: "h1",
			run:  map[string]answer{h1Trace: ok(traceroute3)},
			want: Outcome{Pass: true, Observed: seen}, wantOutput: traceroute3},
		{name: "reached, no path given", check: &TracerouteCheck{Target: target}, node: "h1",
			run:  map[string]answer{h1Trace: ok(traceroute3)},
			want: Outcome{Pass: true, Observed: seen}},
		{name: "path out of order", check: &TracerouteCheck{Target: target, Path: []netip.Addr{target, ip("10.0.12.2")}}, node: "h1",
			run:  map[string]answer{h1Trace: ok(traceroute3)},
			want: Outcome{Observed: seen, Reason: "hop 10.0.12.2 missing from the path (in order: 192.168.2.10 10.0.12.2)"}},
		{name: "hop missing", check: &TracerouteCheck{Target: target, Path: []netip.Addr{ip("10.0.13.3")}}, node: "h1",
			run:  map[string]answer{h1Trace: ok(traceroute3)},
			want: Outcome{Observed: seen, Reason: "hop 10.0.13.3 missing from the path (in order: 10.0.13.3)"}},
		{name: "through a hop to avoid", check: &TracerouteCheck{Target: target, Avoid: []netip.Addr{ip("10.0.13.3"), ip("10.0.12.2")}}, node: "h1",
			run:  map[string]answer{h1Trace: ok(traceroute3)},
			want: Outcome{Observed: seen, Reason: "the path goes through 10.0.12.2"}},
		{name: "not reached", check: &TracerouteCheck{Target: target}, node: "h1",
			run:  map[string]answer{h1Trace: ok(tracerouteLost)},
			want: Outcome{Observed: "path 10.0.12.2 * * * * * * * * *", Reason: "192.168.2.10 not reached"}},
		{name: "frr traces as root", check: &TracerouteCheck{Target: target}, node: "r1",
			run:  map[string]answer{"r1|root|traceroute -n -q 1 -w 1 -m 10 192.168.2.10 2>&1": ok(traceroute3)},
			want: Outcome{Pass: true, Observed: seen}},
		{name: "traceroute fails", check: &TracerouteCheck{Target: target}, node: "h1",
			run:  map[string]answer{h1Trace: {"traceroute: bad address\n", errors.New("exit status 1")}},
			want: Outcome{Reason: "exit status 1"}},
		{name: "iosxe", check: &TracerouteCheck{Target: target, Path: []netip.Addr{ip("10.0.12.2")}}, node: "c1",
			run:  map[string]answer{"c1||traceroute 192.168.2.10 numeric timeout 1 probe 1 ttl 1 10": ok(iosTrace)},
			want: Outcome{Pass: true, Observed: "path 10.0.12.2 192.168.2.10"}},
	})
}

func TestInterfaceCheck(t *testing.T) {
	up := &InterfaceCheck{Interface: "eth1", Up: true}
	down := &InterfaceCheck{Interface: "eth1", Up: false}
	runCheckCases(t, []checkCase{
		{name: "up", check: up, node: "h1", run: map[string]answer{h1Eth1: ok("up\n0x1003\n")},
			want: Outcome{Pass: true, Observed: "eth1 operstate up"}, wantOutput: "up\n0x1003\n"},
		{name: "frr reads sysfs as root", check: up, node: "r1", run: map[string]answer{r1Eth1: ok("up\n0x1003\n")},
			want: Outcome{Pass: true, Observed: "eth1 operstate up"}},
		{name: "admin down, want up", check: up, node: "h1", run: map[string]answer{h1Eth1: ok("down\n0x1002\n")},
			want: Outcome{Observed: "eth1 administratively down, operstate down",
				Reason: "eth1 is administratively down, operstate down, want up"}},
		{name: "no carrier, want up", check: up, node: "h1", run: map[string]answer{h1Eth1: ok("down\n0x1003\n")},
			want: Outcome{Observed: "eth1 operstate down", Reason: "eth1 is operstate down, want up"}},
		{name: "down as wanted", check: down, node: "h1", run: map[string]answer{h1Eth1: ok("down\n0x1002\n")},
			want: Outcome{Pass: true, Observed: "eth1 administratively down, operstate down"}},
		{name: "up, want down", check: down, node: "h1", run: map[string]answer{h1Eth1: ok("up\n0x1003\n")},
			want: Outcome{Observed: "eth1 operstate up", Reason: "eth1 is operstate up, want down"}},
		{name: "no such interface", check: &InterfaceCheck{Interface: "eth9", Up: true}, node: "h1",
			run: map[string]answer{"h1||cat /sys/class/net/eth9/operstate /sys/class/net/eth9/flags": {
				"cat: can't open '/sys/class/net/eth9/operstate': No such file or directory\ncat: can't open '/sys/class/net/eth9/flags': No such file or directory\n",
				errors.New("exit status 1")}},
			want: Outcome{Observed: "no interface eth9", Reason: "no interface eth9"}},
		{name: "odd answer", check: up, node: "h1", run: map[string]answer{h1Eth1: ok("up\n")},
			want: Outcome{Reason: `unexpected sysfs answer: "up"`}},
		{name: "iosxe short name up", check: &InterfaceCheck{Interface: "Gi2", Up: true}, node: "c1",
			run:  map[string]answer{"c1||show ip interface brief": ok(iosIPBrief)},
			want: Outcome{Pass: true, Observed: "Gi2 up/up"}},
		{name: "iosxe long name admin down", check: &InterfaceCheck{Interface: "GigabitEthernet3", Up: true}, node: "c1",
			run: map[string]answer{"c1||show ip interface brief": ok(iosIPBrief)},
			want: Outcome{Observed: "GigabitEthernet3 administratively down/down",
				Reason: "GigabitEthernet3 is administratively down/down, want up"}},
		{name: "iosxe no such interface", check: &InterfaceCheck{Interface: "Gi9", Up: true}, node: "c1",
			run:  map[string]answer{"c1||show ip interface brief": ok(iosIPBrief)},
			want: Outcome{Observed: "no interface GigabitEthernet9", Reason: "no interface GigabitEthernet9"}},
	})
}

func TestCommandCheck(t *testing.T) {
	version := "FRRouting 8.4.4 (r1) on Linux(6.1.0-18-cloud-amd64).\nCopyright 1996-2005 Kunihiro Ishiguro, et al.\n"
	prog := func(src string) *CommandCheck {
		p, err := CompileExpr(src)
		if err != nil {
			t.Fatal(err)
		}
		return &CommandCheck{Cmd: "show ip ospf neighbor json", Expr: p, ExprSource: src}
	}
	runCheckCases(t, []checkCase{
		{name: "match", check: &CommandCheck{Cmd: "show version", Match: regexp.MustCompile(`(?m)^FRRouting \S+`)}, node: "r1",
			run:  map[string]answer{"r1||show version": ok(version)},
			want: Outcome{Pass: true, Observed: "FRRouting 8.4.4"}, wantOutput: version},
		{name: "no match", check: &CommandCheck{Cmd: "show version", Match: regexp.MustCompile(`Cisco`)}, node: "r1",
			run:  map[string]answer{"r1||show version": ok(version)},
			want: Outcome{Observed: "FRRouting 8.4.4 (r1) on Linux(6.1.0-18-cloud-amd64).", Reason: "output does not match Cisco"}},
		{name: "not match", check: &CommandCheck{Cmd: "uname -a", User: "root", NotMatch: regexp.MustCompile(`Debian`)}, node: "r1",
			run:  map[string]answer{"r1|root|uname -a": ok("Linux r1 6.1.0-18-cloud-amd64 #1 SMP Debian 6.1.76-1 x86_64 GNU/Linux\n")},
			want: Outcome{Observed: "Linux r1 6.1.0-18-cloud-amd64 #1 SMP Debian 6.1.76-1 x86_64 GNU/Linux", Reason: `output matches Debian: "Debian"`}},
		{name: "not match passes", check: &CommandCheck{Cmd: "uname -a", User: "root", NotMatch: regexp.MustCompile(`Ubuntu`)}, node: "r1",
			run:  map[string]answer{"r1|root|uname -a": ok("Linux r1 6.1.0-18-cloud-amd64\n")},
			want: Outcome{Pass: true, Observed: "Linux r1 6.1.0-18-cloud-amd64"}},
		{name: "expr over json", check: prog(`len(json.neighbors) == 2 && json.neighbors["2.2.2.2"][0].converged == "Full"`), node: "r1",
			run:  map[string]answer{r1OSPF: ok(frrOSPFNeighborJSON)},
			want: Outcome{Pass: true, Observed: `len(json.neighbors) == 2 && json.neighbors["2.2.2.2"][0].converged == "Full" is true`}},
		{name: "expr false", check: prog(`len(json.neighbors) == 3`), node: "r1",
			run:  map[string]answer{r1OSPF: ok(frrOSPFNeighborJSON)},
			want: Outcome{Observed: clip(frrOSPFNeighborJSON, 100), Reason: "len(json.neighbors) == 3 is false"}},
		{name: "expr over lines, no JSON", check: prog(`len(lines) == 2 && output contains "Ishiguro" && json == nil`), node: "r1",
			run:  map[string]answer{r1OSPF: ok(version)},
			want: Outcome{Pass: true, Observed: `len(lines) == 2 && output contains "Ishiguro" && json == nil is true`}},
		{name: "command fails", check: &CommandCheck{Cmd: "show version", Match: regexp.MustCompile(`x`)}, node: "r1",
			run:  map[string]answer{"r1||show version": {"", errors.New("ssh r1: connection refused")}},
			want: Outcome{Reason: "ssh r1: connection refused"}},
		{name: "no output", check: &CommandCheck{Cmd: "true", NotMatch: regexp.MustCompile(`x`)}, node: "h1",
			run:  map[string]answer{"h1||true": ok("")},
			want: Outcome{Pass: true, Observed: "no output"}},
	})
}

func TestCheckNames(t *testing.T) {
	for want, c := range map[string]Check{"ospf": &OSPFCheck{}, "bgp": &BGPCheck{}, "route": &RouteCheck{}, "ping": &PingCheck{},
		"traceroute": &TracerouteCheck{}, "interface": &InterfaceCheck{}, "command": &CommandCheck{}, "wire": &WireCheck{}} {
		if c.Name() != want {
			t.Errorf("%T.Name() = %q, want %q", c, c.Name(), want)
		}
	}
}
