#!/bin/sh
# bench/nat.sh: NAT dial-in throughput, connect + 1 byte + close latency (like netperf's TCP_CRR) and
# 1-byte request/response latency on one open connection (like TCP_RR), for three tools side by side:
# cloonix's NAT, gvisor-tap-vsock v0.8.9's gvproxy and passt, into the same fake guest (bench/fakeguest:
# a gVisor stack speaking qemu's stream framing), at MTU 1500 and 65520. Prints one markdown table on
# stdout; progress goes to stderr.
#
#   cloonix: client -> unix socket front -> relay.Both -> NAT.DialTCP -> lan.Switch ->
#            lan.RunQemuPort -> qemu stream unix socket -> fake guest (listening like qemu server=on)
#   gvproxy: client -> gvproxy -listen unix socket, POST /tunnel -> gvproxy's gVisor stack ->
#            -listen-qemu unix socket -> fake guest (connecting like qemu's client)
#   passt:   client -> TCP 127.0.0.1:port, forwarded by passt -t -> passt's TCP translation ->
#            passt --socket unix socket -> fake guest (connecting like qemu's client; passt answers its
#            DHCP and ARP)
#
# The tools take turns: ROUNDS rounds (default 4), each one bulk run of BYTES (default 1 GiB),
# SAMPLES/ROUNDS connect+1B+close samples (SAMPLES default 200) and RR/ROUNDS request/response round
# trips (RR default 20000) per tool. Environment: BYTES, ROUNDS, SAMPLES, RR, MTUS ("1500 65520"),
# GVPROXY (an existing gvproxy binary; otherwise v0.8.9 is go-installed into a temporary GOBIN),
# PASST (the passt binary, default passt from PATH: Debian's package passt, `apt-get install passt`;
# PASST=skip leaves it out), PASST_PORT (default 41000: passt forwards 127.0.0.1 ports PASST_PORT+1, +7
# and +8 at the first MTU, 100 higher at the next, to the guest's sink, echo and stream echo).
# FAKEGUEST_CPUPROFILE=PREFIX writes a CPU profile of each fakeguest process to PREFIX-<subcommand>.pprof
# (the last round's wins; PREFIX-cloonix.pprof is the cloonix NAT's side).
# Traffic stays on unix sockets and on 127.0.0.1. passt runs with --runas 0: Debian 12's passt,
# dropped to nobody, accepts the guest's connection but never answers its DHCP on this machine kind.
set -eu
cd "$(dirname "$0")/.."
BYTES=${BYTES:-1073741824}
ROUNDS=${ROUNDS:-4}
SAMPLES=${SAMPLES:-200}
RR=${RR:-20000}
PASST=${PASST:-passt}
PASST_PORT=${PASST_PORT:-41000}
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
if [ "$PASST" != skip ] && ! command -v "$PASST" >/dev/null 2>&1; then
	echo "bench/nat.sh: passt not found ($PASST): apt-get install passt, or PASST=skip to leave it out" >&2
	exit 1
fi
go build -o "$tmp/fakeguest" ./bench/fakeguest
fg="$tmp/fakeguest"
per=$(( (SAMPLES + ROUNDS - 1) / ROUNDS ))
rrper=$(( (RR + ROUNDS - 1) / ROUNDS ))
work="$ROUNDS rounds per tool and MTU, each 1 bulk run of $BYTES bytes, $per connect+1B+close samples and $rrper 1-byte round trips"
echo "workload: $work" >&2

# start CMD...: runs CMD in the background, remembers its pid in $last.
start() {
	"$@" >>"$tmp/log" 2>&1 &
	last=$!
	pids="$pids $last"
}
# passt_ready PORT...: waits (up to 5 s) until passt listens on each 127.0.0.1:PORT, and fails if another
# process holds one of them (the measurement would then go elsewhere).
passt_ready() {
	command -v ss >/dev/null 2>&1 || { sleep 1; return 0; }
	i=0
	while [ "$i" -lt 50 ]; do
		ok=1
		for port in "$@"; do
			ss -ltnpH "sport = :$port" | grep -q passt || ok=0
		done
		[ "$ok" = 1 ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "bench/nat.sh: passt does not listen on 127.0.0.1 ports $* (in use? set PASST_PORT); its log:" >&2
	cat "$tmp/log" >&2
	return 1
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
	if [ "$PASST" != skip ]; then
		# The guest's address, mask and gateway go out in passt's DHCP answers (-a, -n, -g); -m sets
		# the MTU option; -t binds the host ports on 127.0.0.1 only. The guest keeps the same address
		# statically and asks for it by DHCP, as it does with the other tools.
		sink=$((PASST_PORT + 1)) echo1=$((PASST_PORT + 7)) rr=$((PASST_PORT + 8))
		start "$PASST" -f -q --runas 0 -4 -s "$tmp/pt$mtu.sock" -l "$tmp/passt$mtu.log" -m "$mtu" \
			-a 10.98.0.10 -n 24 -g 10.98.0.1 \
			-t "127.0.0.1/$sink:5001" -t "127.0.0.1/$echo1:7" -t "127.0.0.1/$rr:7008"
		pt=$last
		passt_ready "$sink" "$echo1" "$rr"
		start "$fg" guest -mode client -socket "$tmp/pt$mtu.sock" -mtu "$mtu" \
			-addr 10.98.0.10/24 -gw 10.98.0.1 -mac 02:00:00:00:00:20
		pguest=$last
	fi
	mkdir -p "$tmp/state$mtu"
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		echo "MTU $mtu, round $r/$ROUNDS: cloonix NAT" >&2
		# The lease the guest took from the first round's NAT is kept in -state-dir, as labd keeps it.
		"$fg" cloonix -socket "$tmp/c$mtu.sock" -state-dir "$tmp/state$mtu" -mtu "$mtu" \
			-addr 10.99.0.10/24 -gw 10.99.0.1 -mac 02:00:00:00:00:10 -bytes "$BYTES" -runs 1 -samples "$per" -rr "$rrper" >>"$results"
		echo "MTU $mtu, round $r/$ROUNDS: gvproxy" >&2
		"$fg" gvproxy -api "$tmp/gv$mtu-api.sock" -ip 192.168.127.2 -mtu "$mtu" \
			-bytes "$BYTES" -runs 1 -samples "$per" -rr "$rrper" >>"$results"
		if [ "$PASST" != skip ]; then
			echo "MTU $mtu, round $r/$ROUNDS: passt" >&2
			"$fg" passt -sink-port "$sink" -echo-port "$echo1" -rr-port "$rr" -mtu "$mtu" \
				-bytes "$BYTES" -runs 1 -samples "$per" -rr "$rrper" >>"$results"
		fi
		r=$((r + 1))
	done
	stop "$gguest" "$gv" "$cguest"
	if [ "$PASST" != skip ]; then
		stop "$pguest" "$pt"
		PASST_PORT=$((PASST_PORT + 100))
	fi
done

echo
pv=""
if [ "$PASST" != skip ]; then
	pv=", passt $(dpkg-query -W -f '${Version}' passt 2>/dev/null || echo "($PASST)")"
fi
echo "NAT dial-in into the fake guest, $(nproc) cores, $work; gvproxy v0.8.9$pv ($(date -u '+%Y-%m-%d %H:%M UTC'))"
echo
"$fg" table <"$results"
