#!/usr/bin/env bash
# The demo while the OSPF demo is not there yet: start the two-VM example lab, show it running, reach both VMs
# with stock ssh through cloonix-proxy, and stop it. Expects bin/ on PATH (demo.sh does that).
set -euo pipefail
cd "$(dirname "$0")/.."
labfile=examples/labs/two-vms.toml
lab=$(sed -n 's/^name *= *"\(.*\)".*/\1/p' "$labfile" | head -1)
step() { printf '%s %s\n' "$(date +%T)" "$*"; }

step "building the tiny guest image (cached after the first time)"
cloonix-labd image build tiny
trap 'cloonix-labd --lab "$lab" down >/dev/null 2>&1 || true' EXIT
step "bringing up $labfile"
cloonix-labd up "$labfile"
cloonix-labd --lab "$lab" status
for vm in vm1 vm2; do
	step "ssh -o ProxyCommand='cloonix-proxy $lab nat %h' root@$vm hostname"
	ssh -o ProxyCommand="cloonix-proxy $lab nat %h" \
		-o UserKnownHostsFile="$(dirname "$(cloonix-labd --lab "$lab" ssh-config | head -1)")/known_hosts" \
		-o StrictHostKeyChecking=accept-new -o IdentityFile="$(dirname "$(cloonix-labd --lab "$lab" ssh-config | head -1)")/id_ed25519" \
		root@$vm hostname
done
step "the generated ssh_config (put the Include line at the top of ~/.ssh/config):"
cloonix-labd --lab "$lab" ssh-config
step "stopping the lab"
cloonix-labd --lab "$lab" down
trap - EXIT
step "done"
