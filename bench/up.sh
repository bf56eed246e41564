#!/usr/bin/env bash
# Issue-2 figures: image build time (cold: empty cache and no downloaded packages; warm: same inputs again)
# and the time from `cloonix-labd up` to two qemus started (--no-wait), to two VMs running (readiness line on their consoles) and to their
# sshd answering through the NAT. Usage: bench/up.sh [RUNS]   (needs bin/ built)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
export PATH="$PWD/bin:$PATH"
work=$(mktemp -d /tmp/cloonix-bench-XXXXXX)
trap 'cloonix-labd --lab benchup down --purge >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }

s=$(date +%s%N); XDG_CACHE_HOME=$work/cache cloonix-labd image build tiny >/dev/null 2>&1; cold=$(ms $s)
s=$(date +%s%N); XDG_CACHE_HOME=$work/cache cloonix-labd image build tiny >/dev/null 2>&1; warm=$(ms $s)
cloonix-labd image build tiny >/dev/null 2>&1

cat >"$work/lab.toml" <<TOML
version = 1
name = "benchup"
[nat]
[[vm]]
name = "vm1"
[[vm]]
name = "vm2"
TOML
echo "two tiny VMs under TCG, $(nproc) cores, $(date -u +%F)"
echo
echo "| run | up --no-wait → both qemus started (ms) | → both running (ms) | up → both sshd answering through the NAT (ms) |"
echo "|---|---|---|---|"
for i in $(seq "$RUNS"); do
	s=$(date +%s%N); cloonix-labd up --no-wait "$work/lab.toml" >/dev/null; started=$(ms $s)
	until [ "$(cloonix-labd status --lab benchup --json | grep -c '"state": "running"')" -eq 2 ]; do sleep 0.1; done
	running=$(ms $s)
	cloonix-labd --lab benchup down >/dev/null
	s=$(date +%s%N); cloonix-labd up "$work/lab.toml" >/dev/null; sshd=$(ms $s)
	cloonix-labd --lab benchup down --purge >/dev/null
	echo "| $i | $started | $running | $sshd |"
done
echo
echo "| image build tiny | ms |"
echo "|---|---|"
echo "| cold (empty cache, packages downloaded) | $cold |"
echo "| warm (same inputs) | $warm |"
