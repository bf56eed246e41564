#!/usr/bin/env bash
# Side by side, same run, same guest image: ssh round trip (`ssh vm1 true`, median of N) and bulk TCP into the
# guest (MiB/s), through cloonix-proxy (stdio and --fdpass) and through qemu's own user networking
# (-netdev user,hostfwd=tcp:127.0.0.1:PORT-:22, i.e. libslirp). All traffic stays on this machine.
# Usage: bench/ssh.sh [N] [BULK_MIB]     (needs bin/ built: ./test.sh or go build -o bin/ ./cmd/...)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10}
BULK=${2:-256}
export PATH="$PWD/bin:$PATH"
work=$(mktemp -d /tmp/cloonix-bench-XXXXXX)
lab=benchssh
slirp_pid=
cleanup() {
	[ -n "$slirp_pid" ] && kill "$slirp_pid" 2>/dev/null || true
	cloonix-labd --lab $lab down --purge >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/lab.toml" <<TOML
version = 1
name = "$lab"
[nat]
[[vm]]
name = "vm1"
TOML
cloonix-labd image build tiny >/dev/null 2>&1
cloonix-labd up "$work/lab.toml" >/dev/null
state=$(dirname "$(cloonix-labd --lab $lab ssh-config | head -1)")
cfg=$state/ssh_config
fdcfg=$state/ssh_config.fdpass
ssh -F "$cfg" vm1 true # host key into the lab's known_hosts

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.0f", m}'; }
rtt() { # ssh args...: prints the median wall time of `ssh ... true` in ms
	for _ in $(seq "$N"); do
		s=$(date +%s%N); ssh "$@" true; e=$(date +%s%N)
		echo $(((e - s) / 1000000))
	done | median
}
bulk() { # ssh args...: prints MiB/s of BULK MiB piped into the guest's /dev/null
	s=$(date +%s%N)
	head -c "${BULK}M" /dev/zero | ssh "$@" 'cat >/dev/null'
	e=$(date +%s%N)
	awk -v b="$BULK" -v ns=$((e - s)) 'BEGIN {printf "%.1f", b / (ns / 1e9)}'
}

proxy_rtt=$(rtt -F "$cfg" vm1)
fd_rtt=$(rtt -F "$fdcfg" vm1)
proxy_bulk=$(bulk -F "$cfg" vm1)
fd_bulk=$(bulk -F "$fdcfg" vm1)

# The same guest under slirp: a second overlay on the same base, the lab's own day-0 seed (same keys).
imgdir=$(cloonix-labd image list | awk '$1 == "tiny" {print $NF; exit}')
qemu-img create -q -f qcow2 -b "$imgdir/disk.qcow2" -F qcow2 "$work/slirp.qcow2"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
append=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Append"])' "$imgdir/image.json")
qemu-system-x86_64 -machine pc -accel tcg -m 256 -nodefaults -display none -serial "file:$work/slirp.log" \
	-kernel "$imgdir/vmlinuz" -initrd "$imgdir/initrd.img" -append "$append" \
	-drive "file=$work/slirp.qcow2,if=virtio,format=qcow2" \
	-drive "file=$state/vms/vm1/day0.iso,if=virtio,format=raw,readonly=on" \
	-device virtio-rng-pci \
	-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=n0 &
slirp_pid=$!
for _ in $(seq 300); do grep -q "sshd ready" "$work/slirp.log" 2>/dev/null && break; sleep 0.1; done
sopts=(-p "$port" -i "$state/id_ed25519" -o UserKnownHostsFile="$work/known" -o StrictHostKeyChecking=accept-new root@127.0.0.1)
ssh "${sopts[@]}" true
slirp_rtt=$(rtt "${sopts[@]}")
slirp_bulk=$(bulk "${sopts[@]}")

echo "ssh to the tiny guest under TCG, $(nproc) cores, $(date -u +%F): median of $N round trips, $BULK MiB bulk"
echo
echo "| path | ssh vm1 true (ms, median) | bulk into guest (MiB/s) |"
echo "|---|---|---|"
echo "| cloonix-proxy (stdio) | $proxy_rtt | $proxy_bulk |"
echo "| cloonix-proxy --fdpass | $fd_rtt | $fd_bulk |"
echo "| qemu slirp hostfwd | $slirp_rtt | $slirp_bulk |"
