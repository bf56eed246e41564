#!/bin/sh
# bench/capture.sh: what a LAN's capture side costs the switch, printed as a table. One op is one frame from
# port a to port b (64 or 1500 bytes), with the capture side off (recorder_kib = 0, no capture), with the
# flight recorder on (the default), with a live capture whose reader keeps up (io.Discard), and with one
# whose reader never reads (its frames are dropped and counted).
# Usage: bench/capture.sh [COUNT] [BENCHTIME]   (defaults: 3 runs of 1000000 frames)
#        bench/capture.sh guests [ROUNDS]       the same four cases between two real tiny VMs: 32 MiB of TCP
#                                               per case and round, the cases taking turns (default 6 rounds)
set -eu
if [ "${1:-}" = guests ]; then
	cd "$(dirname "$0")/.."
	exec go test -run '^$' -bench '^BenchmarkCaptureGuests$' -benchtime "${2:-6}x" -count 1 -timeout 30m ./e2e/ | grep -E '^(Benchmark|ok|FAIL|---)'
fi
count=${1:-3}
benchtime=${2:-1000000x}
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -run '^$' -bench 'Tap' -count "$count" -benchtime "$benchtime" ./capture/ | tee "$out" >&2
echo
awk '
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name); sub(/^BenchmarkTap\//, "", name)
	for (i = 2; i < NF; i++) if ($(i+1) == "ns/op") ns = $i
	sum[name] += ns; n[name]++
	if (!(name in seen)) { seen[name] = 1; order[++k] = name }
}
END {
	printf "%-18s %10s %14s\n", "case/size", "ns/frame", "frames/s"
	for (i = 1; i <= k; i++) { m = sum[order[i]] / n[order[i]]; printf "%-18s %10.1f %14.0f\n", order[i], m, 1e9 / m }
}' "$out"
