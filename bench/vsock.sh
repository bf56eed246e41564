#!/usr/bin/env bash
# Side by side, same guest, same run: `ssh vm1 true` and a 64 MiB scp into a tiny VM through the NAT and over
# virtio-vsock (cloonix's userspace vhost-user back-end), with go test -bench (e2e/vsock_bench_test.go).
# All traffic stays on this machine.
# Usage: bench/vsock.sh [COUNT]     (COUNT: -count, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-3}
go test -run '^$' -bench '^BenchmarkVsock$' -benchtime 10x -count "$COUNT" -timeout 30m ./e2e/ | grep -E '^(Benchmark|ok|FAIL|---)'
