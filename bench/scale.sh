#!/usr/bin/env bash
# How a lab's cost grows with its size: for N tiny VMs (default 1 5 10 20 40), in two shapes (every VM on
# the management LAN only; and also one LAN per pair of VMs on eth1), the wall time of `cloonix-labd up` until
# every sshd answers through the NAT, the daemon's RSS once up, its CPU while the lab idles (IDLE seconds,
# default 10, after a settle of 5 s), and the host memory per VM (the proportional set size of each qemu and
# its vsock helper, summed, over N). Prints a markdown table on stdout and writes a plot (PNG, gnuplot) of the
# figures against N to OUT (default docs/scale.png).
#
# Usage: bench/scale.sh [N...]     environment: IDLE (seconds), OUT (the PNG), RUNS (default 1), SHAPES
# ("mgmt pairs")
# Needs bin/ built (scripts/setup.sh) and gnuplot (Debian's gnuplot-nox) for the plot.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/bin:$PATH"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1 5 10 20 40)
IDLE=${IDLE:-10}
OUT=${OUT:-docs/scale.png}
RUNS=${RUNS:-1}
SHAPES=${SHAPES:-"mgmt pairs"}
lab=benchscale
work=$(mktemp -d /tmp/cloonix-scale-XXXXXX)
trap 'cloonix-labd --lab $lab down --purge >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cloonix-labd image build tiny >/dev/null
hz=$(getconf CLK_TCK)

# labfile N SHAPE: N tiny VMs on the NAT's LAN; with SHAPE pairs also eth1 on lanK for each pair.
labfile() {
	local n=$1 shape=$2 f=$work/lab-$1-$2.toml
	{
		printf 'version = 1\nname = "%s"\n[nat]\n' "$lab"
		if [ "$shape" = pairs ]; then
			for ((i = 1; i <= (n + 1) / 2; i++)); do printf '[[lan]]\nname = "lan%d"\n' "$i"; done
		fi
		for ((i = 1; i <= n; i++)); do
			printf '[[vm]]\nname = "vm%d"\n' "$i"
			[ "$shape" = pairs ] && printf 'nics = { eth1 = "lan%d" }\n' $(((i + 1) / 2))
		done
	} >"$f"
	echo "$f"
}

# cpu_ticks PID: user+system clock ticks of a process so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# pss_kib PID: its proportional set size.
pss_kib() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }

data=$work/scale.dat
echo "# n shape up_s labd_rss_mib labd_idle_cpu_pct mem_per_vm_mib" >"$data"
echo "tiny VMs (256 MiB each) under $(cloonix-labd accel 2>/dev/null | awk 'NR==1{sub(/:$/, "", $1); print $1}' || echo '?'), $(nproc) cores, $(free -g | awk '/^Mem:/{print $2}') GiB, $(date -u +%F)"
echo
echo "| VMs | LANs | up → every sshd (s) | labd RSS (MiB) | labd CPU idle (% of a core) | host memory per VM (MiB) |"
echo "|---|---|---|---|---|---|"
for shape in $SHAPES; do
	for n in "${sizes[@]}"; do
		for ((run = 1; run <= RUNS; run++)); do
			f=$(labfile "$n" "$shape")
			s=$(date +%s%N)
			cloonix-labd up "$f" >/dev/null
			up=$(awk -v a="$s" -v b="$(date +%s%N)" 'BEGIN {printf "%.1f", (b - a) / 1e9}')
			pid=$(cloonix-labd --lab $lab status --json | awk -F': ' '/"pid": / {gsub(/[ ,]/, "", $2); print $2; exit}')
			sleep 5
			t0=$(cpu_ticks "$pid")
			sleep "$IDLE"
			t1=$(cpu_ticks "$pid")
			rss=$(awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
			cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$IDLE" 'BEGIN {printf "%.2f", (b - a) / hz / s * 100}')
			pss=0
			for q in $(pgrep -f "qemu-system.*/$lab/vm[0-9]+\.qmp" || true) $(pgrep -f "vsock-backend --vhost .*/$lab/" || true); do
				pss=$((pss + $(pss_kib "$q")))
			done
			per=$(awk -v p="$pss" -v n="$n" 'BEGIN {printf "%.1f", p / 1024 / n}')
			lans=1
			[ "$shape" = pairs ] && lans=$((1 + (n + 1) / 2))
			echo "| $n | $lans | $up | $rss | $cpu | $per |"
			echo "$n $shape $up $rss $cpu $per" >>"$data"
			cloonix-labd --lab $lab down --purge >/dev/null
		done
	done
done

if command -v gnuplot >/dev/null; then
	gnuplot <<GP
set terminal pngcairo size 1200,800 font "DejaVu Sans,11"
set output "$OUT"
set multiplot layout 2,2 title "cloonix-labd: cost against lab size (tiny VMs, $(nproc) cores, $(date -u +%F))"
set key top left
set grid
set xlabel "VMs"
set ylabel "s"
set title "up until every sshd answers"
plot "$data" using 1:(stringcolumn(2) eq "mgmt" ? \$3 : 1/0) with linespoints title "one LAN", \
     "$data" using 1:(stringcolumn(2) eq "pairs" ? \$3 : 1/0) with linespoints title "one LAN per pair"
set ylabel "MiB"
set title "labd RSS"
plot "$data" using 1:(stringcolumn(2) eq "mgmt" ? \$4 : 1/0) with linespoints title "one LAN", \
     "$data" using 1:(stringcolumn(2) eq "pairs" ? \$4 : 1/0) with linespoints title "one LAN per pair"
set ylabel "% of a core"
set title "labd CPU while the lab idles"
set yrange [0:*]
plot "$data" using 1:(stringcolumn(2) eq "mgmt" ? \$5 : 1/0) with linespoints title "one LAN", \
     "$data" using 1:(stringcolumn(2) eq "pairs" ? \$5 : 1/0) with linespoints title "one LAN per pair"
set ylabel "MiB"
set title "host memory per VM (qemu + vsock helper PSS)"
plot "$data" using 1:(stringcolumn(2) eq "mgmt" ? \$6 : 1/0) with linespoints title "one LAN", \
     "$data" using 1:(stringcolumn(2) eq "pairs" ? \$6 : 1/0) with linespoints title "one LAN per pair"
unset multiplot
GP
	echo
	echo "plot: $OUT"
else
	echo "no plot: gnuplot is not installed (Debian's gnuplot-nox)" >&2
fi
