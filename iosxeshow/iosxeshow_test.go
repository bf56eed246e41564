package iosxeshow

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The expected values below were written by hand from reading each sample
// in testdata/ (see testdata/SOURCES.md), not by running the parsers.

func load(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// diffSlices reports, element by element, where got and want differ.
func diffSlices[T any](t *testing.T, got, want []T) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d elements, want %d", len(got), len(want))
	}
	for i := 0; i < len(got) || i < len(want); i++ {
		switch {
		case i >= len(got):
			t.Errorf("[%d] missing, want %+v", i, want[i])
		case i >= len(want):
			t.Errorf("[%d] unexpected %+v", i, got[i])
		case !reflect.DeepEqual(got[i], want[i]):
			t.Errorf("[%d]\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// ---------------------------------------------------------------- OSPF

func ospf(id string, pri int, state, role, dead, addr, ifc string) OSPFNeighbor {
	return OSPFNeighbor{NeighborID: id, Priority: pri, State: state, Role: role, DeadTime: dead, Address: addr, Interface: ifc}
}

func TestParseOSPFNeighborsGolden(t *testing.T) {
	tests := []struct {
		file string
		want []OSPFNeighbor
	}{
		{"ospf_ntc_p2p.txt", []OSPFNeighbor{
			ospf("10.0.0.1", 0, "FULL", "-", "00:00:32", "10.0.1.1", "Port-channel1"),
			ospf("10.0.0.2", 0, "FULL", "-", "00:00:33", "10.0.2.1", "Port-channel2"),
			ospf("10.0.0.3", 0, "FULL", "-", "00:00:39", "10.0.3.1", "Vlan1000"),
		}},
		{"ospf_ntc_dr_bdr.txt", []OSPFNeighbor{
			ospf("10.190.30.2", 1, "FULL", "BDR", "00:00:04", "10.190.16.11", "GigabitEthernet0/2.101"),
			ospf("10.190.30.3", 1, "FULL", "DR", "00:00:04", "10.190.16.12", "GigabitEthernet0/2.101"),
			ospf("10.190.30.2", 1, "FULL", "BDR", "00:00:04", "10.190.16.3", "GigabitEthernet0/2.100"),
			ospf("10.190.30.3", 1, "FULL", "DR", "00:00:04", "10.190.16.4", "GigabitEthernet0/2.100"),
		}},
		// Prompt + command echo, exec "Load for"/"Time source" lines,
		// trailing "Router#" prompt and trailing blanks.
		{"ospf_genie_prompt.txt", []OSPFNeighbor{
			ospf("172.18.197.242", 1, "FULL", "BDR", "00:00:32", "172.19.197.93", "GigabitEthernet0/0/0"),
			ospf("172.19.197.251", 1, "FULL", "BDR", "00:00:32", "172.19.197.91", "GigabitEthernet0/0/0"),
			ospf("172.19.197.252", 1, "FULL", "BDR", "00:00:32", "172.19.197.92", "GigabitEthernet0/0/2"),
			ospf("172.19.197.253", 1, "FULL", "BDR", "00:00:32", "172.19.197.94", "GigabitEthernet0/0/3"),
			ospf("172.19.197.254", 1, "FULL", "BDR", "00:00:32", "172.19.197.90", "GigabitEthernet0/0/4"),
		}},
		// Bare command echo, no final newline.
		{"ospf_genie_process.txt", []OSPFNeighbor{
			ospf("102.16.44.4", 1, "FULL", "DR", "00:00:36", "10.10.196.38", "Vlan1013"),
			ospf("102.16.44.5", 1, "FULL", "DR", "00:00:31", "10.10.196.34", "Vlan1012"),
			ospf("102.16.44.5", 1, "FULL", "DR", "00:00:39", "10.10.196.46", "Vlan1011"),
			ospf("102.16.44.4", 1, "FULL", "DR", "00:00:36", "10.10.196.42", "Vlan1010"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseOSPFNeighbors(load(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			diffSlices(t, got, tt.want)
		})
	}
}

// Non-FULL states. No published IOS sample with them was found, so this
// input is synthetic, laid out in the IOS column format of the samples.
func TestParseOSPFNeighborsOtherStates(t *testing.T) {
	text := "Neighbor ID     Pri   State           Dead Time   Address         Interface\n" +
		"3.3.3.3           1   2WAY/DROTHER    00:00:35    10.0.0.3        GigabitEthernet2\n" +
		"4.4.4.4           0   INIT/DROTHER    00:00:39    10.0.0.4        GigabitEthernet2\n" +
		"5.5.5.5           1   EXSTART/DR      00:00:38    10.0.0.5        GigabitEthernet3\n" +
		"6.6.6.6           0   INIT/  -        00:00:31    10.0.1.6        GigabitEthernet4\n"
	got, err := ParseOSPFNeighbors(text)
	if err != nil {
		t.Fatal(err)
	}
	diffSlices(t, got, []OSPFNeighbor{
		ospf("3.3.3.3", 1, "2WAY", "DROTHER", "00:00:35", "10.0.0.3", "GigabitEthernet2"),
		ospf("4.4.4.4", 0, "INIT", "DROTHER", "00:00:39", "10.0.0.4", "GigabitEthernet2"),
		ospf("5.5.5.5", 1, "EXSTART", "DR", "00:00:38", "10.0.0.5", "GigabitEthernet3"),
		ospf("6.6.6.6", 0, "INIT", "-", "00:00:31", "10.0.1.6", "GigabitEthernet4"),
	})
}

func TestParseOSPFNeighborsEmpty(t *testing.T) {
	for _, text := range []string{"", "\r\n\r\n", "r1#show ip ospf neighbor\r\n\r\nr1#"} {
		got, err := ParseOSPFNeighbors(text)
		if err != nil || len(got) != 0 {
			t.Errorf("%q: got %v, %v; want no neighbors, no error", text, got, err)
		}
	}
}

// ---------------------------------------------------------------- BGP

func bgp(nbr string, as string, rcvd, sent, tbl int, updown, state string, pfx int) BGPNeighbor {
	return BGPNeighbor{Neighbor: nbr, Version: 4, RemoteAS: as, MsgRcvd: rcvd, MsgSent: sent,
		TableVersion: tbl, UpDown: updown, State: state, PrefixesReceived: pfx}
}

func withAF(af string, ns ...BGPNeighbor) []BGPNeighbor {
	for i := range ns {
		ns[i].AddressFamily = af
	}
	return ns
}

func TestParseBGPSummaryGolden(t *testing.T) {
	const est = "Established"
	tests := []struct {
		file string
		want BGPSummary
	}{
		{"bgp_ntc_idle_admin.txt", BGPSummary{RouterID: "10.0.0.0", LocalAS: "65000", Neighbors: []BGPNeighbor{
			bgp("10.0.0.1", "65000", 2746767, 2396274, 512185206, "3w0d", est, 558720),
			bgp("10.0.0.2", "65001", 2855873, 2409742, 512185206, "3w0d", est, 558720),
			bgp("10.0.0.3", "65002", 695143, 689871, 512185203, "1y10w", est, 0),
			bgp("10.0.0.4", "65003", 1030294, 1220041, 512185206, "1y50w", est, 1351),
			bgp("10.0.0.5", "65004", 26552304, 14931352, 512185206, "19w5d", est, 558720),
			bgp("10.0.0.6", "65005", 26532908, 14931123, 512185206, "19w5d", est, 558720),
			bgp("10.0.0.7", "65006", 12245684, 9181569, 512185203, "1y10w", est, 82),
			bgp("10.0.0.8", "65007", 12250936, 9181571, 512185203, "1y10w", est, 82),
			bgp("10.0.0.9", "65008", 222146, 14368489, 512185203, "22w0d", est, 0),
			bgp("10.0.0.10", "65009", 26930508, 942614, 512185203, "1y10w", "Idle (Admin)", -1),
		}}},
		// 4-byte local AS in asdot, no final newline.
		{"bgp_ntc_asdot_local.txt", BGPSummary{RouterID: "10.12.0.10", LocalAS: "64000.2017", Neighbors: []BGPNeighbor{
			bgp("10.20.30.40", "1234", 511374, 421210, 79022, "4w0d", est, 6063),
		}}},
		// 4-byte peer ASes in asdot, trailing "edge1-rt#" prompt.
		{"bgp_ntc_asdot_peers.txt", BGPSummary{RouterID: "100.127.255.0", LocalAS: "65000.1000", Neighbors: []BGPNeighbor{
			bgp("100.127.255.1", "65000.1000", 46094, 46090, 458, "4w1d", est, 6),
			bgp("100.127.255.7", "65000.1001", 46083, 46093, 458, "4w1d", est, 4),
			bgp("100.127.255.9", "65000.1002", 46075, 46097, 458, "4w1d", est, 4),
			bgp("192.88.99.1", "662.47492", 41920, 46104, 458, "4w1d", est, 435),
		}}},
		// show bgp all summary: two address families, Active and
		// Idle (Admin), IPv6 neighbors wrapped onto their own line.
		{"bgp_napalm_all_af.txt", BGPSummary{RouterID: "10.0.1.1", LocalAS: "65000", Neighbors: append(
			withAF("IPv4 Unicast",
				bgp("10.0.0.2", "65000", 1336020, 64337701, 1011343614, "8w0d", est, 3143),
				bgp("192.168.0.1", "65001", 71798, 138808, 1011343239, "6w3d", est, 0),
				bgp("192.168.0.2", "65002", 0, 0, 1, "never", "Active", -1),
				bgp("192.168.0.3", "65003", 0, 0, 1, "never", "Idle (Admin)", -1),
				bgp("10.0.0.3", "65000", 2497, 4399, 1011343631, "1d13h", est, 1),
				bgp("192.168.0.4", "65004", 46122421, 675536, 1011343239, "26w6d", est, 629783),
			),
			withAF("IPv6 Unicast",
				bgp("2001:DB8::4", "65004", 9900690, 612449, 155362939, "26w6d", est, 36391),
				bgp("2001:DB8::1", "65001", 63768, 71032, 155362939, "5w5d", est, 0),
				bgp("2001:DB8::2", "65002", 197924, 214323, 155362939, "17w5d", est, 1),
				bgp("2001:DB8::3", "65003", 0, 0, 1, "never", "Idle (Admin)", -1),
				bgp("10.0.0.2", "65000", 1336020, 64337708, 155362951, "8w0d", est, 148),
				bgp("10.0.0.3", "65000", 2497, 4399, 155362952, "1d13h", est, 2),
			)...)}},
		// Indented, prompt + echo, exec banner lines, Idle neighbor.
		{"bgp_genie_vrf_idle.txt", BGPSummary{RouterID: "192.168.10.254", LocalAS: "5918", Neighbors: []BGPNeighbor{
			bgp("192.168.10.253", "61100", 0, 0, 1, "never", "Idle", -1),
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseBGPSummary(load(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got.RouterID != tt.want.RouterID || got.LocalAS != tt.want.LocalAS {
				t.Errorf("router ID/AS = %q/%q, want %q/%q", got.RouterID, got.LocalAS, tt.want.RouterID, tt.want.LocalAS)
			}
			diffSlices(t, got.Neighbors, tt.want.Neighbors)
		})
	}
}

func TestParseBGPSummaryNotActive(t *testing.T) {
	_, err := ParseBGPSummary(load(t, "bgp_napalm_not_active.txt"))
	var de *DeviceError
	if !errors.As(err, &de) || de.Message != "% BGP not active" {
		t.Fatalf("err = %v, want DeviceError %q", err, "% BGP not active")
	}
}

// A dynamic (listen range) neighbor and an Idle (PfxCt) one. Synthetic, in
// the column layout of the samples above.
func TestParseBGPSummaryDynamicPfxCt(t *testing.T) {
	text := "BGP router identifier 1.1.1.1, local AS number 4200000001\n\n" +
		"Neighbor        V           AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd\n" +
		"*10.0.0.2       4   4200000002      12      11        5    0    0 00:05:01        3\n" +
		"10.0.0.3        4        65003      20      22        1    0    0 00:00:49 Idle (PfxCt)\n"
	got, err := ParseBGPSummary(text)
	if err != nil {
		t.Fatal(err)
	}
	if got.LocalAS != "4200000001" {
		t.Errorf("LocalAS = %q", got.LocalAS)
	}
	d := bgp("10.0.0.2", "4200000002", 12, 11, 5, "00:05:01", "Established", 3)
	d.Dynamic = true
	diffSlices(t, got.Neighbors, []BGPNeighbor{d, bgp("10.0.0.3", "65003", 20, 22, 1, "00:00:49", "Idle (PfxCt)", -1)})
}

// ---------------------------------------------------------------- routes

var (
	pfx = netip.MustParsePrefix
	ip  = netip.MustParseAddr
)

// via is a next hop through an address; dc is a directly connected one.
func via(addr, ifc, age string) NextHop { return NextHop{Address: ip(addr), Interface: ifc, Age: age} }
func dc(ifc string) NextHop             { return NextHop{Interface: ifc} }

func rt(code, prefix string, dist, metric int, nhs ...NextHop) Route {
	return Route{Code: code, Prefix: pfx(prefix), Distance: dist, Metric: metric, NextHops: nhs,
		CandidateDefault: strings.Contains(code, "*")}
}

func inVRF(vrf string, rs ...Route) []Route {
	for i := range rs {
		rs[i].VRF = vrf
	}
	return rs
}

func TestParseRoutesGolden(t *testing.T) {
	const fa = "FastEthernet0/0.100"
	summary := rt("O", "13.14.128.0/17", 0, 0, NextHop{Interface: "Null0", Age: "7w0d"})
	summary.Summary = true
	tests := []struct {
		file string
		want []Route
	}{
		// Old-style legend, "is subnetted" and "is variably subnetted"
		// headers, ECMP continuations, wrapped prefix lines, O E2 / O IA /
		// O*E2 / D EX / i L2, summary and Null0 routes.
		{"route_ntc_mixed.txt", []Route{
			rt("S", "1.1.1.1/32", 1, 0, via("212.0.0.1", "", ""), via("192.168.0.1", "", "")),
			rt("S", "2.2.2.0/24", 0, 0, dc(fa)),
			rt("O E2", "4.4.0.0/16", 110, 20, via("194.0.0.2", fa, "1d18h")),
			rt("D EX", "5.5.5.0/24", 170, 2297856, via("10.0.1.2", "Serial0/0", "00:12:01")),
			rt("B", "6.6.0.0/16", 200, 0, via("195.0.0.1", "", "00:00:04")),
			rt("i L2", "172.16.1.0/26", 115, 10, via("10.0.1.2", "Serial0/0", "")),
			rt("O", "172.20.1.1/32", 110, 11, via("194.0.0.2", fa, "00:05:45")),
			rt("O", "172.20.3.1/32", 110, 11, via("194.0.0.2", fa, "00:05:45")),
			rt("O", "172.20.2.1/32", 110, 11, via("194.0.0.2", fa, "00:05:45")),
			rt("C", "10.0.1.0/24", 0, 0, dc("Serial0/0")),
			rt("D", "10.0.5.0/26", 90, 2297856, via("10.0.1.2", "Serial0/0", "00:12:03")),
			rt("D", "10.0.5.64/26", 90, 2297856, via("10.0.1.2", "Serial0/0", "00:12:03")),
			rt("D", "10.0.5.128/26", 90, 2297856, via("10.0.1.2", "Serial0/0", "00:12:03")),
			rt("D", "10.0.5.192/27", 90, 2297856, via("10.0.1.2", "Serial0/0", "00:12:03")),
			rt("B", "11.1.0.0/17", 200, 0, NextHop{Interface: "Null0", Age: "2w0d"}),
			rt("S", "12.0.0.0/16", 0, 0, dc("Null0")),
			summary,
			rt("D", "192.168.0.1/32", 90, 2297856, via("10.0.1.2", "Serial0/0", "00:12:03")),
			rt("O E2", "192.168.10.168/29", 110, 20, via("7.7.7.170", "TenGigabitEthernet7/4", "12:54:35")),
			rt("O E2", "10.63.184.0/23", 110, 20,
				via("10.62.4.29", "TenGigabitEthernet1/15", "12:55:19"),
				via("10.62.3.29", "TenGigabitEthernet1/16", "12:55:19")),
			rt("O E2", "192.168.12.0/27", 110, 20,
				via("10.64.3.13", "Port-channel202", "12:54:36"),
				via("10.64.1.9", "Port-channel201", "12:54:36")),
			rt("C", "10.64.4.88/30", 0, 0, dc("Serial0/0/0:0")),
			rt("O E2", "10.6.234.0/24", 110, 20, via("10.64.4.90", "Serial0/0/0:0", "12:54:53")),
			rt("C", "7.7.7.168/30", 0, 0, dc("TenGigabitEthernet7/4")),
			rt("C", "10.64.3.12/30", 0, 0, dc("Port-channel202")),
			rt("C", "10.64.1.8/30", 0, 0, dc("Port-channel201")),
			rt("C", "10.62.4.28/30", 0, 0, dc("TenGigabitEthernet1/15")),
			rt("C", "10.62.3.28/30", 0, 0, dc("TenGigabitEthernet1/16")),
			rt("O IA", "195.0.0.0/24", 110, 11, via("194.0.0.2", fa, "00:05:45")),
			rt("O*E2", "0.0.0.0/0", 110, 1, via("194.0.0.2", fa, "00:05:35")),
			rt("O E2", "212.0.0.0/8", 110, 20, via("194.0.0.2", fa, "00:05:35")),
			rt("C", "194.0.0.0/16", 0, 0, dc(fa)),
		}},
		// show ip route vrf *: four tables, two of them empty, B* and S*
		// defaults.
		{"route_ntc_vrf_wildcard.txt", append(
			inVRF("CODE-DAVE-INSIDE",
				rt("B*", "0.0.0.0/0", 20, 0, via("10.195.96.1", "", "6d15h")),
				rt("B", "10.0.0.0/8", 20, 0, via("10.195.96.1", "", "6d15h")),
				rt("C", "10.195.96.0/25", 0, 0, dc("Tunnel101530151")),
				rt("L", "10.195.96.58/32", 0, 0, dc("Tunnel101530151")),
				rt("S", "10.197.70.0/23", 0, 0, dc("Null0")),
			),
			inVRF("CODE-DAVE-OUTSIDE",
				rt("S*", "0.0.0.0/0", 200, 0, via("1.1.1.1", "", "")),
				rt("C", "1.1.1.0/30", 0, 0, dc("GigabitEthernet0/0/0")),
				rt("L", "1.1.1.1/32", 0, 0, dc("GigabitEthernet0/0/0")),
			)...)},
		// IOSv: prompt + echo, ECMP static and OSPF, a static with two
		// "is directly connected" paths, i L1.
		{"route_genie_ecmp.txt", []Route{
			rt("C", "10.4.1.1/32", 0, 0, dc("Loopback0")),
			rt("S", "10.16.2.2/32", 1, 0,
				via("10.186.2.2", "GigabitEthernet0/1", ""), via("10.1.2.2", "GigabitEthernet0/0", "")),
			rt("S", "10.36.3.3/32", 0, 0, dc("GigabitEthernet0/3"), dc("GigabitEthernet0/2")),
			rt("C", "10.1.2.0/24", 0, 0, dc("GigabitEthernet0/0")),
			rt("L", "10.1.2.1/32", 0, 0, dc("GigabitEthernet0/0")),
			rt("C", "10.1.3.0/24", 0, 0, dc("GigabitEthernet0/2")),
			rt("L", "10.1.3.1/32", 0, 0, dc("GigabitEthernet0/2")),
			rt("O", "10.2.3.0/24", 110, 2,
				via("10.186.2.2", "GigabitEthernet0/1", "06:46:59"), via("10.1.2.2", "GigabitEthernet0/0", "06:46:59")),
			rt("i L1", "10.151.22.22/32", 115, 20,
				via("10.186.2.2", "GigabitEthernet0/1", "06:47:04"), via("10.1.2.2", "GigabitEthernet0/0", "06:47:04")),
			rt("B", "10.16.32.32/32", 200, 0, via("10.66.12.12", "", "1d00h")),
		}},
		// IOS-XE VRF table with a BGP route over an IPv6 next hop in
		// another table, "(default:ipv6)"; no final newline.
		{"route_genie_v6_nexthop.txt", inVRF("ce1",
			rt("B", "1.1.1.1/32", 20, 0, via("99.1.2.1", "", "16:49:22")),
			rt("B", "1.1.1.10/32", 200, 0, NextHop{Address: ip("FC01:101:8:E007::"), Age: "16:48:31", VRF: "default:ipv6"}),
			rt("C", "99.1.2.0/24", 0, 0, dc("Ethernet1/0")),
			rt("L", "99.1.2.2/32", 0, 0, dc("Ethernet1/0")),
			rt("C", "100.1.2.0/24", 0, 0, dc("Ethernet1/1")),
			rt("L", "100.1.2.2/32", 0, 0, dc("Ethernet1/1")),
		)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseRoutes(load(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			diffSlices(t, got, tt.want)
		})
	}
}

// ---------------------------------------------------------------- interfaces

func ifc(name, addr, ok, method, status, proto string) Interface {
	return Interface{Name: name, Address: addr, OK: ok, Method: method, Status: status, Protocol: proto}
}

func TestParseIPInterfaceBriefGolden(t *testing.T) {
	const ad = "administratively down"
	tests := []struct {
		file string
		want []Interface
	}{
		{"ipbrief_ntc.txt", []Interface{
			ifc("Ethernet0/0", "unassigned", "YES", "NVRAM", "up", "up"),
			ifc("Ethernet0/0.11", "10.0.1.38", "YES", "NVRAM", "up", "up"),
			ifc("Ethernet0/0.100", "unassigned", "YES", "NVRAM", "deleted", "down"),
			ifc("Ethernet0/1", "1.1.1.1", "YES", "NVRAM", "up", "up"),
			ifc("Ethernet0/2", "unassigned", "YES", "NVRAM", ad, "down"),
			ifc("Ethernet0/3", "unassigned", "YES", "NVRAM", ad, "down"),
			ifc("Loopback0", "10.0.1.2", "YES", "NVRAM", "up", "up"),
		}},
		{"ipbrief_genie_iosxe.txt", []Interface{
			ifc("GigabitEthernet0/0/0", "10.105.44.23", "YES", "other", "up", "up"),
			ifc("GigabitEthernet0/0/1", "10.174.10.1", "YES", "other", "up", "up"),
			ifc("GigabitEthernet0/0/2", "10.64.10.1", "YES", "other", "up", "up"),
			ifc("GigabitEthernet0/0/3", "10.186.10.1", "YES", "other", "up", "up"),
			ifc("Te0/0/4", "10.121.10.1", "YES", "other", "up", "up"),
			ifc("Te0/0/5", "unassigned", "YES", "unset", "down", "down"),
			ifc("Tw0/1/0", "unassigned", "YES", "unset", "up", "up"),
			ifc("Tw0/2/0", "unassigned", "YES", "unset", "up", "up"),
			ifc("ucse1/0/0", "10.19.14.1", "YES", "other", ad, "down"),
			ifc("ucse1/0/1", "unassigned", "YES", "unset", ad, "down"),
			ifc("Sdwan-system-intf", "192.168.10.64", "YES", "unset", "up", "up"),
			ifc("Loopback65528", "192.168.1.1", "YES", "other", "up", "up"),
			ifc("NVI0", "unassigned", "YES", "unset", "up", "up"),
			ifc("Tunnel1", "10.174.10.1", "YES", "TFTP", "up", "up"),
			ifc("Tunnel3", "10.186.10.1", "YES", "TFTP", "up", "up"),
			ifc("Tunnel2000000001", "192.168.2.1", "YES", "unset", "up", "up"),
			ifc("Tunnel2000000002", "192.168.166.1", "YES", "unset", "up", "up"),
			ifc("VirtualPortGroup0", "192.0.2.1", "YES", "other", "up", "up"),
			ifc("VirtualPortGroup1", "192.168.2.1", "YES", "other", "up", "up"),
			ifc("VirtualPortGroup3", "192.168.3.1", "YES", "other", "up", "up"),
			ifc("VirtualPortGroup4", "192.168.166.1", "YES", "other", "up", "up"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseIPInterfaceBrief(load(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			diffSlices(t, got, tt.want)
		})
	}
}

// A switch's output captured with CRLF line ends and trailing blanks: 63
// rows (Vlan1, Vlan1980-1987, GigabitEthernet1/0/1-52, Loopback1987,
// Tunnel100). Checked on chosen rows and on the counts.
func TestParseIPInterfaceBriefCRLF(t *testing.T) {
	got, err := ParseIPInterfaceBrief(load(t, "ipbrief_napalm_crlf.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 63 {
		t.Fatalf("got %d interfaces, want 63", len(got))
	}
	byName := map[string]Interface{}
	for _, i := range got {
		byName[i.Name] = i
	}
	for _, want := range []Interface{
		ifc("Vlan1", "unassigned", "YES", "NVRAM", "administratively down", "down"),
		ifc("Vlan1982", "10.196.18.254", "YES", "NVRAM", "up", "down"),
		ifc("GigabitEthernet1/0/3", "unassigned", "YES", "unset", "up", "up"),
		ifc("GigabitEthernet1/0/33", "unassigned", "YES", "unset", "administratively down", "down"),
		ifc("GigabitEthernet1/0/40", "10.127.0.189", "YES", "NVRAM", "up", "up"),
		ifc("GigabitEthernet1/0/48", "unassigned", "YES", "unset", "down", "down"),
		ifc("Loopback1987", "10.196.23.254", "YES", "NVRAM", "up", "up"),
		ifc("Tunnel100", "10.127.0.181", "YES", "NVRAM", "up", "up"),
	} {
		if g := byName[want.Name]; g != want {
			t.Errorf("%s: got %+v, want %+v", want.Name, g, want)
		}
	}
	if got[0].Name != "Vlan1" || got[62].Name != "Tunnel100" {
		t.Errorf("order: first %q last %q", got[0].Name, got[62].Name)
	}
	counts := map[string]int{}
	for _, i := range got {
		counts[i.Status+"/"+i.Protocol]++
	}
	// Read off the sample: up/up are Vlan1980, 1981, 1983, Gi1/0/3, 7,
	// 37-40, 52, Loopback1987 and Tunnel100 (12); up/down Vlan1982,
	// 1984-1986 (4); administratively down Vlan1, Vlan1987, Gi1/0/33-36,
	// 41-47, 49-51 (16); down/down Gi1/0/1-2, 4-6, 8-32, 48 (31).
	want := map[string]int{"up/up": 12, "up/down": 4, "administratively down/down": 16, "down/down": 31}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("status counts = %v, want %v", counts, want)
	}
}

// ---------------------------------------------------------------- noise and errors

func TestInvalidInput(t *testing.T) {
	// As IOS prints a rejected command: echo, caret marker, message.
	text := "r1#show ip ospf neighbour\r\n" +
		"                   ^\r\n" +
		"% Invalid input detected at '^' marker.\r\n" +
		"\r\n" +
		"r1#"
	const msg = "% Invalid input detected at '^' marker."
	parsers := map[string]func(string) error{
		"ParseOSPFNeighbors":    func(s string) error { _, err := ParseOSPFNeighbors(s); return err },
		"ParseBGPSummary":       func(s string) error { _, err := ParseBGPSummary(s); return err },
		"ParseRoutes":           func(s string) error { _, err := ParseRoutes(s); return err },
		"ParseIPInterfaceBrief": func(s string) error { _, err := ParseIPInterfaceBrief(s); return err },
	}
	for name, parse := range parsers {
		err := parse(text)
		var de *DeviceError
		if !errors.As(err, &de) || de.Message != msg {
			t.Errorf("%s: err = %v, want DeviceError %q", name, err, msg)
			continue
		}
		if !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: error %q does not contain the device message", name, err)
		}
	}
}

// wrapSession surrounds a sample the way an interactive ssh session may:
// leading blank lines and command echo, CRLF line ends, trailing blank
// lines and prompt.
func wrapSession(cmd, body string) string {
	s := "\r\n\r\nr1#" + cmd + "\r\n" + strings.ReplaceAll(body, "\n", "\r\n") + "\r\n\r\n\r\nr1#"
	return s
}

func TestSessionNoiseIgnored(t *testing.T) {
	check := func(name string, clean, noisy any, errClean, errNoisy error) {
		t.Helper()
		if errClean != nil || errNoisy != nil {
			t.Errorf("%s: errors %v / %v", name, errClean, errNoisy)
			return
		}
		if !reflect.DeepEqual(clean, noisy) {
			t.Errorf("%s: noisy parse differs:\n clean %+v\n noisy %+v", name, clean, noisy)
		}
	}
	for _, f := range []string{"ospf_ntc_p2p.txt", "ospf_ntc_dr_bdr.txt"} {
		a, e1 := ParseOSPFNeighbors(load(t, f))
		b, e2 := ParseOSPFNeighbors(wrapSession("show ip ospf neighbor", load(t, f)))
		check(f, a, b, e1, e2)
		if len(a) == 0 {
			t.Errorf("%s: no neighbors", f)
		}
	}
	for _, f := range []string{"bgp_ntc_idle_admin.txt", "bgp_napalm_all_af.txt"} {
		a, e1 := ParseBGPSummary(load(t, f))
		b, e2 := ParseBGPSummary(wrapSession("show ip bgp summary", load(t, f)))
		check(f, a, b, e1, e2)
	}
	for _, f := range []string{"route_ntc_mixed.txt", "route_ntc_vrf_wildcard.txt"} {
		a, e1 := ParseRoutes(load(t, f))
		b, e2 := ParseRoutes(wrapSession("show ip route", load(t, f)))
		check(f, a, b, e1, e2)
	}
	for _, f := range []string{"ipbrief_ntc.txt", "ipbrief_genie_iosxe.txt"} {
		a, e1 := ParseIPInterfaceBrief(load(t, f))
		b, e2 := ParseIPInterfaceBrief(wrapSession("show ip interface brief", load(t, f)))
		check(f, a, b, e1, e2)
	}
}

// A small hand-made session capture: blank and whitespace-only lines, then
// several trailing prompts (exec, config, user mode) with no final newline.
func TestTrailingPromptAndBlankLines(t *testing.T) {
	text := "\n\nr1#show ip interface brief\n" +
		"Interface              IP-Address      OK? Method Status                Protocol\n" +
		"GigabitEthernet1       192.168.122.11  YES DHCP   up                    up\n" +
		"GigabitEthernet2       10.0.12.1       YES manual administratively down down\n" +
		"\n\n   \n" +
		"r1#\n" +
		"r1(config)#\n" +
		"r1>"
	got, err := ParseIPInterfaceBrief(text)
	if err != nil {
		t.Fatal(err)
	}
	diffSlices(t, got, []Interface{
		ifc("GigabitEthernet1", "192.168.122.11", "YES", "DHCP", "up", "up"),
		ifc("GigabitEthernet2", "10.0.12.1", "YES", "manual", "administratively down", "down"),
	})
}

func TestWrongCommandOutput(t *testing.T) {
	brief := load(t, "ipbrief_ntc.txt")
	if _, err := ParseOSPFNeighbors(brief); err == nil {
		t.Error("ParseOSPFNeighbors accepted show ip interface brief output")
	}
	if _, err := ParseRoutes(load(t, "bgp_ntc_idle_admin.txt")); err == nil {
		t.Error("ParseRoutes accepted show ip bgp summary output")
	}
	if _, err := ParseBGPSummary(load(t, "route_ntc_mixed.txt")); err == nil {
		t.Error("ParseBGPSummary accepted show ip route output")
	}
	_, err := ParseIPInterfaceBrief(load(t, "ospf_ntc_p2p.txt"))
	if err == nil || !strings.Contains(err.Error(), "show ip ospf neighbor") {
		t.Errorf("ParseIPInterfaceBrief(ospf output) err = %v", err)
	}
}

func ExampleParseOSPFNeighbors() {
	out := "r1#show ip ospf neighbor\n\n" +
		"Neighbor ID     Pri   State           Dead Time   Address         Interface\n" +
		"2.2.2.2           0   FULL/  -        00:00:34    10.0.12.2       GigabitEthernet2\n" +
		"r1#"
	ns, err := ParseOSPFNeighbors(out)
	if err != nil {
		panic(err)
	}
	for _, n := range ns {
		fmt.Println(n.NeighborID, n.State, n.Role, n.Interface)
	}
	// Output: 2.2.2.2 FULL - GigabitEthernet2
}

// Every parser must survive a sample cut short (a session closed
// mid-output), at a line end or inside a line, without panicking.
func TestTruncatedSamplesDoNotPanic(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cuts []int
		for i, c := range b {
			if c == '\n' {
				cuts = append(cuts, i, max(0, i-7))
			}
		}
		for _, i := range append(cuts, len(b)) {
			s := string(b[:i])
			_, _ = ParseOSPFNeighbors(s)
			_, _ = ParseBGPSummary(s)
			_, _ = ParseRoutes(s)
			_, _ = ParseIPInterfaceBrief(s)
		}
	}
}
