#!/bin/sh
# bench/nat.sh: NAT dial-in throughput (MTU 1500 / 65520) and connect latency, from the netstack package's
# Go benchmarks (NAT -> qemu stream framing over a UNIX socketpair -> fake gVisor guest).
# The side-by-side run against gvproxy v0.8.9's /tunnel endpoint is NOT implemented yet; REFERENCE.md's
# gvproxy figures on this machine kind are printed for comparison instead.
set -eu
cd "$(dirname "$0")/.."
COUNT=${COUNT:-3}
out=$(go test -run '^$' -bench 'DialInThroughput|ConnectLatency' -benchtime "${BENCHTIME:-2s}" -count "$COUNT" ./netstack/)
echo "$out" | grep '^Benchmark' >&2
echo "$out" | awk '
/DialInThroughput\/mtu1500/  { for (i=1;i<=NF;i++) if ($(i+1)=="Gbit/s") t1[++n1]=$i }
/DialInThroughput\/mtu65520/ { for (i=1;i<=NF;i++) if ($(i+1)=="Gbit/s") t2[++n2]=$i }
/ConnectLatency/             { for (i=1;i<=NF;i++) { if ($(i+1)=="p50-µs") p50[++n3]=$i; if ($(i+1)=="p99-µs") p99[n3]=$i } }
function join(a, n,   s, i) { s=""; for (i=1;i<=n;i++) s=s (i>1?" ":"") a[i]; return s }
END {
  printf "%-34s %-28s %-22s\n", "path", "cloonix NAT", "gvproxy 0.8.9 (REFERENCE.md)"
  printf "%-34s %-28s %-22s\n", "dial-in MTU 1500 (Gbit/s)", join(t1,n1), "1.1-1.5"
  printf "%-34s %-28s %-22s\n", "dial-in MTU 65520 (Gbit/s)", join(t2,n2), "2.7-3.6"
  printf "%-34s %-28s %-22s\n", "connect+1B+close p50 (us)", join(p50,n3), "~500"
  printf "%-34s %-28s %-22s\n", "connect+1B+close p99 (us)", join(p99,n3), "-"
}'
