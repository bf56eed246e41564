#!/usr/bin/env bash
# Side by side, same run: a lab on this machine against the same lab on a "server" — a real sshd on 127.0.0.1
# logging in as a user the benchmark creates (so it needs root, as CI has) — reached through cloonix's OpenSSH
# master connection and the forward of the lab's socket. Measures `ssh vm1 true` through a live master (later
# dials), after the master ended (first dials) and a 64 MiB scp, with go test -bench (e2e/remote_bench_test.go).
# All traffic stays on this machine.
# Usage: bench/remote.sh [COUNT]     (COUNT: -count, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-3}
[ "$(id -u)" -eq 0 ] || { echo "bench/remote.sh: needs root, to create the server's user and run its sshd" >&2; exit 1; }
go test -run '^$' -bench '^BenchmarkRemote$' -benchtime 10x -count "$COUNT" -timeout 30m ./e2e/ | grep -E '^(Benchmark|ok|FAIL|---)'
