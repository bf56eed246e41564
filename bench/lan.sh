#!/bin/sh
# bench/lan.sh: benchmarks of the lan package (switch and qemu stream ports), printed as a table.
# Usage: bench/lan.sh [COUNT] [BENCHTIME]   (defaults: 3 runs of 1s each)
# One op is one frame. frames/s and Gbit/s count frames delivered to the far port; drop% is the
# share of frames the far port's bounded queue dropped because the sender is not paced.
set -eu
count=${1:-3}
benchtime=${2:-1s}
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -run '^$' -bench 'Switch|StreamPorts' -benchmem -count "$count" -benchtime "$benchtime" ./lan/ | tee "$out" >&2
echo
awk '
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	for (i = 2; i < NF; i++) {
		if ($(i+1) == "ns/op") ns = $i
		if ($(i+1) == "frames/s") fps = $i
		if ($(i+1) == "Gbit/s") gb = $i
		if ($(i+1) == "drop%") dr = $i
		if ($(i+1) == "allocs/op") al = $i
	}
	printf "%-26s %10.1f %14.0f %9.3f %7.1f %10s\n", name, ns, fps, gb, dr, al
}
BEGIN { printf "%-26s %10s %14s %9s %7s %10s\n", "benchmark", "ns/op", "frames/s", "Gbit/s", "drop%", "allocs/op" }
' "$out"
