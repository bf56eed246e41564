#!/usr/bin/env bash
# Installs what cloonix needs on a Debian 12 / Ubuntu machine (as root, or as a user with sudo), checks Go,
# and builds the binaries into ./bin. Sourced by demo.sh and test.sh; safe to run again (it installs only what
# is missing).
set -euo pipefail

die() { echo "cloonix setup: $*" >&2; exit 1; }

# Debian packages: qemu and its tools, the OpenSSH client, what the image builder and the tests use.
CLOONIX_PACKAGES=(qemu-system-x86 qemu-utils openssh-client rsync busybox-static e2fsprogs cpio
	binutils apt-utils iproute2 ansible python3-paramiko genisoimage ca-certificates)

setup_packages() {
	[ -r /etc/os-release ] || die "no /etc/os-release: this script supports Debian 12 and Ubuntu only"
	. /etc/os-release
	case " ${ID:-} ${ID_LIKE:-} " in
	*" debian "* | *" ubuntu "*) ;;
	*) die "unsupported system ${PRETTY_NAME:-unknown}: this script supports Debian 12 and Ubuntu (install qemu-system-x86, qemu-utils, openssh-client and Go 1.26 by hand elsewhere)" ;;
	esac
	local missing=()
	for p in "${CLOONIX_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || die "need root or sudo to install: ${missing[*]}"
		sudo=(sudo)
	fi
	# apt-get download (the image builder) needs current package lists even when nothing is missing: an old
	# list names versions the mirror no longer has.
	if [ ${#missing[@]} -gt 0 ] || [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -720 2>/dev/null | head -1)" ]; then
		echo "cloonix setup: apt-get update"
		"${sudo[@]}" apt-get update -q >/dev/null || die "apt-get update failed"
	fi
	if [ ${#missing[@]} -gt 0 ]; then
		echo "cloonix setup: installing ${missing[*]}"
		DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
			die "apt-get install ${missing[*]} failed"
	fi
}

# Packages only the tests need: tshark, which reads the captures, python3-junitparser, which reads validate's JUnit
# reports as a CI system would, chromium, the real browser the web view's test drives headless, graphviz, whose
# dot checks `graph`'s DOT and makes its SVG, and openssh-server, whose sshd the remote-server tests start themselves on
# 127.0.0.1 with their own config. Installing it must not start or enable the system's sshd (a new service on
# port 22 of the user's machine): a policy-rc.d refuses the start while it installs, and the unit is disabled
# again. A machine that already had it is left as it was.
CLOONIX_TEST_PACKAGES=(openssh-server tshark python3-junitparser chromium graphviz)

setup_test_packages() {
	local missing=()
	for p in "${CLOONIX_TEST_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || die "need root or sudo to install: ${missing[*]}"
		sudo=(sudo)
	fi
	local policy=/usr/sbin/policy-rc.d made=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# cloonix setup: no service starts while the test packages install\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
		"${sudo[@]}" chmod 755 "$policy"
		made=1
	fi
	echo "cloonix setup: installing ${missing[*]} for the tests (its system service stays stopped and disabled)"
	local rc=0
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
	[ -z "$made" ] || "${sudo[@]}" rm -f "$policy"
	[ "$rc" -eq 0 ] || die "apt-get install ${missing[*]} failed"
	if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
		"${sudo[@]}" systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
	fi
}

setup_go() {
	if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
		export PATH=/usr/local/go/bin:$PATH
	fi
	command -v go >/dev/null || die "Go 1.26 or newer is needed (https://go.dev/dl/); it is not on PATH"
	local v
	v=$(go env GOVERSION | sed 's/^go//')
	case "$v" in
	1.2[6-9]* | 1.[3-9][0-9]* | [2-9].*) ;;
	*) die "Go $v is too old: cloonix needs Go 1.26 or newer" ;;
	esac
}

# The web view's page (cloonix-labd web): its JavaScript libraries come from the npm registry, pinned by
# webview/ui/package-lock.json, and `npm run build` copies them and the page into webview/dist, which the Go build
# embeds. Nothing third-party is committed. Without Node.js and npm (or the registry) everything else still
# builds; cloonix-labd web then says how to build the page.
setup_web() {
	if ! command -v npm >/dev/null; then
		local sudo=()
		[ "$(id -u)" -eq 0 ] || sudo=(sudo)
		echo "cloonix setup: installing nodejs npm (the web view's page is built with them)"
		DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends nodejs npm >/dev/null ||
			{ echo "cloonix setup: could not install nodejs and npm: the web view's page is not built" >&2; return 0; }
	fi
	local ui=webview/ui
	if [ ! -f "$ui/node_modules/.package-lock.json" ] || [ "$ui/package-lock.json" -nt "$ui/node_modules/.package-lock.json" ]; then
		echo "cloonix setup: npm ci (the web view's libraries)"
		(cd "$ui" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
			{ echo "cloonix setup: npm ci in $ui failed: the web view's page is not built" >&2; return 0; }
	fi
	(cd "$ui" && npm run --silent build >/dev/null) ||
		echo "cloonix setup: npm run build in $ui failed: the web view's page is not built" >&2
}

setup_build() {
	mkdir -p bin
	setup_web
	go build -o bin/ ./cmd/... || die "go build failed"
	# The guest images carry cloonix-vsock-bridge: static, the guest's libraries are not the host's. Its bytes
	# are part of the images' key, so build it reproducibly (no checkout path, no commit stamp): a new clone or
	# a new commit reuses the cached images until the bridge's own code changes.
	CGO_ENABLED=0 go build -trimpath -buildvcs=false -o bin/ ./cmd/cloonix-vsock-bridge ||
		die "go build cloonix-vsock-bridge failed"
	export PATH="$PWD/bin:$PATH"
}

setup_all() {
	setup_packages
	setup_go
	setup_build
}
