#!/bin/sh
# bench/nat.sh: NAT dial-in throughput and connect + 1 byte + close latency, cloonix's NAT and
# gvisor-tap-vsock v0.8.9's gvproxy side by side, into the same fake guest (bench/fakeguest: a gVisor
# stack speaking qemu's stream framing), at MTU 1500 and 65520. Prints one markdown table on stdout;
# progress goes to stderr.
#
#   cloonix: client -> unix socket front -> netstack.Proxy -> NAT.DialVM -> lan.Switch ->
#            lan.RunQemuPort -> qemu stream unix socket -> fake guest (listening like qemu server=on)
#   gvproxy: client -> gvproxy -listen unix socket, POST /tunnel -> gvproxy's gVisor stack ->
#            -listen-qemu unix socket -> fake guest (connecting like qemu's client)
#
# Environment: BYTES per throughput run (default 1 GiB), RUNS (3), SAMPLES (200), MTUS ("1500 65520"),
# GVPROXY (an existing gvproxy binary; otherwise v0.8.9 is go-installed into a temporary GOBIN).
# All traffic stays on unix sockets.
set -eu
cd "$(dirname "$0")/.."
BYTES=${BYTES:-1073741824}
RUNS=${RUNS:-3}
SAMPLES=${SAMPLES:-200}
MTUS=${MTUS:-"1500 65520"}

tmp=$(mktemp -d /tmp/natbench.XXXXXX)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

if [ -z "${GVPROXY:-}" ]; then
	echo "installing gvproxy v0.8.9 into $tmp/bin" >&2
	GOBIN="$tmp/bin" go install github.com/containers/gvisor-tap-vsock/cmd/gvproxy@v0.8.9
	GVPROXY="$tmp/bin/gvproxy"
fi
go build -o "$tmp/fakeguest" ./bench/fakeguest
fg="$tmp/fakeguest"
work="BYTES=$BYTES RUNS=$RUNS SAMPLES=$SAMPLES"
echo "workload: $work" >&2

# start CMD...: runs CMD in the background, remembers its pid in $last.
start() {
	"$@" >>"$tmp/log" 2>&1 &
	last=$!
	pids="$pids $last"
}
# stop PID...: ends the given background processes (only those this script started).
stop() {
	for p in "$@"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}

results="$tmp/results.jsonl"
: >"$results"
for mtu in $MTUS; do
	echo "MTU $mtu: cloonix NAT" >&2
	start "$fg" guest -mode server -socket "$tmp/c$mtu.sock" -mtu "$mtu" \
		-addr 10.99.0.10/24 -gw 10.99.0.1 -mac 02:00:00:00:00:10
	guest=$last
	"$fg" cloonix -socket "$tmp/c$mtu.sock" -mtu "$mtu" -addr 10.99.0.10/24 -gw 10.99.0.1 \
		-mac 02:00:00:00:00:10 -bytes "$BYTES" -runs "$RUNS" -samples "$SAMPLES" >>"$results"
	stop "$guest"

	echo "MTU $mtu: gvproxy" >&2
	start "$GVPROXY" -listen "unix://$tmp/gv$mtu-api.sock" -listen-qemu "unix://$tmp/gv$mtu-qemu.sock" \
		-mtu "$mtu" -ssh-port -1
	gv=$last
	# gvproxy's defaults: subnet 192.168.127.0/24, gateway .1, static lease .2 for 5a:94:ef:e4:0c:ee.
	start "$fg" guest -mode client -socket "$tmp/gv$mtu-qemu.sock" -mtu "$mtu" \
		-addr 192.168.127.2/24 -gw 192.168.127.1 -mac 5a:94:ef:e4:0c:ee
	guest=$last
	"$fg" gvproxy -api "$tmp/gv$mtu-api.sock" -ip 192.168.127.2 -mtu "$mtu" \
		-bytes "$BYTES" -runs "$RUNS" -samples "$SAMPLES" >>"$results"
	stop "$guest" "$gv"
done

echo
echo "NAT dial-in into the fake guest, $(nproc) cores, $work ($(date -u +%Y-%m-%d))"
echo
"$fg" table <"$results"
