#!/usr/bin/env bash
# Issue-18 figures: the accelerator probe's own cost. In process (go test -bench): a cold probe (one boot of
# the guest kernel under -accel kvm -cpu host, bounded by the probe's timeout), the cached answer every later
# `up` of the same boot reads, and the same boot under TCG for scale. As a user sees it: `cloonix-labd accel
# --fresh` (probes) and `cloonix-labd accel` (cached), whole processes. Usage: bench/probe.sh [RUNS]
# (needs bin/ built and the tiny image: cloonix-labd image build tiny)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
export PATH="$PWD/bin:$PATH"
echo "accelerator probe, $(nproc) cores, kernel $(uname -r), $(date -u '+%F %H:%M UTC')"
cloonix-labd accel --fresh
echo
go test -run '^$' -bench AccelProbe -benchtime 3x -count 1 ./images | grep -E '^Benchmark'
echo
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
echo "| run | cloonix-labd accel --fresh (ms) | cloonix-labd accel, cached (ms) |"
echo "|---|---|---|"
for i in $(seq "$RUNS"); do
	s=$(date +%s%N); cloonix-labd accel --fresh >/dev/null; cold=$(ms "$s")
	s=$(date +%s%N); cloonix-labd accel >/dev/null; warm=$(ms "$s")
	echo "| $i | $cold | $warm |"
done
