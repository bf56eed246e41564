#!/usr/bin/env bash
# bench/images.sh: for each built-in image, the build time cold (an empty cache: packages fetched, image
# made) and warm (the same inputs again: instant), the image's size, and the boot time of a one-VM lab on it
# (`cloonix-labd up` until the VM's sshd answers). Run from the repository after ./test.sh or ./demo.sh has
# set it up (bin/ built). Prints one table row per image for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/bin:$PATH
images=${*:-$(for d in examples/images/*/; do basename "$d"; done)}
cold=$(mktemp -d)
trap 'rm -rf "$cold"; cloonix-labd --lab benchimg down --purge >/dev/null 2>&1 || true' EXIT
now() { date +%s.%N; }
printf '| image | build, cold | build, warm | size | boot to sshd (TCG) |\n|---|---|---|---|---|\n'
for img in $images; do
	t0=$(now)
	XDG_CACHE_HOME=$cold cloonix-labd image build "$img" >/dev/null 2>&1
	t1=$(now)
	out=$(cloonix-labd image build "$img" 2>/dev/null) # the user's cache: built before, or now
	t2=$(now)
	cloonix-labd image build "$img" >/dev/null 2>&1
	t3=$(now)
	size=$(echo "$out" | sed -n 's/.*(\([0-9.]* MiB\)).*/\1/p')
	kind=linux
	[ "$img" = frr ] && kind=frr
	lab=$(mktemp --suffix=.toml)
	printf 'version = 1\nname = "benchimg"\n[nat]\nsubnet = "10.99.9.0/24"\n[[vm]]\nname = "vm1"\nkind = "%s"\nimage = "%s"\n' "$kind" "$img" >"$lab"
	t4=$(now)
	cloonix-labd up "$lab" >/dev/null
	t5=$(now)
	cloonix-labd --lab benchimg down --purge >/dev/null
	rm -f "$lab"
	printf '| %s | %.1f s | %.2f s | %s | %.1f s |\n' "$img" "$(echo "$t1 - $t0" | bc)" "$(echo "$t3 - $t2" | bc)" "$size" "$(echo "$t5 - $t4" | bc)"
done
