#!/usr/bin/env bash
# Runs the main demo: installs what is missing (Debian/Ubuntu), builds, builds the guest images (cached), then
# plays the OSPF demo (three FRR routers, two hosts, configs pushed by file, a link taken down and back).
# Extra arguments go to `cloonix-labd demo ospf` (for example --keep).
set -euo pipefail
cd "$(dirname "$0")"
. scripts/setup.sh
setup_all
exec cloonix-labd demo ospf "$@"
