#!/usr/bin/env bash
# Runs every test: installs what is missing (Debian/Ubuntu), builds, builds the tiny guest image (cached), then
# vet, the race detector on every package, and the end-to-end tests with real qemu VMs, OpenSSH and Ansible.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/setup.sh
setup_all
setup_test_packages
echo "cloonix test: gofmt and go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
[ -z "$unformatted" ] || { echo "gofmt would change: $unformatted" >&2; exit 1; }
go vet ./...
echo "cloonix test: guest images"
cloonix-labd image build tiny
echo "cloonix test: go test -race ./..."
go test -race -timeout 50m -count=1 ./...
