#!/bin/sh
# bench/nat.sh: NAT dial-in throughput and connect + 1 byte + close latency, cloonix's NAT and
# gvisor-tap-vsock v0.8.9's gvproxy side by side, into the same fake guest (bench/fakeguest: a gVisor
# stack speaking qemu's stream framing), at MTU 1500 and 65520. Prints one markdown table on stdout;
# progress goes to stderr.
#
#   cloonix: client -> unix socket front -> relay.Both -> NAT.DialTCP -> lan.Switch ->
#            lan.RunQemuPort -> qemu stream unix socket -> fake guest (listening like qemu server=on)
#   gvproxy: client -> gvproxy -listen unix socket, POST /tunnel -> gvproxy's gVisor stack ->
#            -listen-qemu unix socket -> fake guest (connecting like qemu's client)
#
# The tools take turns: ROUNDS rounds (default 4), each one bulk run of BYTES (default 1 GiB) and
# SAMPLES/ROUNDS latency samples (SAMPLES default 200) per tool. Environment: BYTES, ROUNDS, SAMPLES,
# MTUS ("1500 65520"),
# GVPROXY (an existing gvproxy binary; otherwise v0.8.9 is go-installed into a temporary GOBIN).
# All traffic stays on unix sockets.
set -eu
cd "$(dirname "$0")/.."
BYTES=${BYTES:-1073741824}
ROUNDS=${ROUNDS:-4}
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
per=$(( (SAMPLES + ROUNDS - 1) / ROUNDS ))
work="$ROUNDS rounds per tool and MTU, each 1 bulk run of $BYTES bytes and $per connect+1B+close samples"
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
	# Both setups stay up for the whole MTU; the tools then take turns, round by round, so that a
	# change in the machine's load hits both alike.
	start "$fg" guest -mode server -socket "$tmp/c$mtu.sock" -mtu "$mtu" \
		-addr 10.99.0.10/24 -gw 10.99.0.1 -mac 02:00:00:00:00:10
	cguest=$last
	start "$GVPROXY" -listen "unix://$tmp/gv$mtu-api.sock" -listen-qemu "unix://$tmp/gv$mtu-qemu.sock" \
		-mtu "$mtu" -ssh-port -1
	gv=$last
	# gvproxy's defaults: subnet 192.168.127.0/24, gateway .1, static lease .2 for 5a:94:ef:e4:0c:ee.
	start "$fg" guest -mode client -socket "$tmp/gv$mtu-qemu.sock" -mtu "$mtu" \
		-addr 192.168.127.2/24 -gw 192.168.127.1 -mac 5a:94:ef:e4:0c:ee
	gguest=$last
	mkdir -p "$tmp/state$mtu"
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		echo "MTU $mtu, round $r/$ROUNDS: cloonix NAT" >&2
		# The lease the guest took from the first round's NAT is kept in -state-dir, as labd keeps it.
		"$fg" cloonix -socket "$tmp/c$mtu.sock" -state-dir "$tmp/state$mtu" -mtu "$mtu" \
			-addr 10.99.0.10/24 -gw 10.99.0.1 -mac 02:00:00:00:00:10 -bytes "$BYTES" -runs 1 -samples "$per" >>"$results"
		echo "MTU $mtu, round $r/$ROUNDS: gvproxy" >&2
		"$fg" gvproxy -api "$tmp/gv$mtu-api.sock" -ip 192.168.127.2 -mtu "$mtu" \
			-bytes "$BYTES" -runs 1 -samples "$per" >>"$results"
		r=$((r + 1))
	done
	stop "$gguest" "$gv" "$cguest"
done

echo
echo "NAT dial-in into the fake guest, $(nproc) cores, $work ($(date -u +%Y-%m-%d))"
echo
"$fg" table <"$results"
