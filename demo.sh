#!/usr/bin/env bash
# Runs the main demo: installs what is missing (Debian/Ubuntu), builds, builds the guest images (cached), then
# starts the example lab, shows it running, reaches a VM with stock ssh through cloonix-proxy, and stops it.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/setup.sh
setup_all
exec scripts/demo-two-vms.sh "$@"
