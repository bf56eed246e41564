// Package images builds small Linux guest images (a qcow2 root disk, Debian's
// cloud kernel and a busybox initramfs) from Debian packages fetched with
// `apt-get download`, into a cache directory keyed by a hash of their inputs.
//
// A recipe (see Recipe) is data: the packages copied whole into the root tree,
// the files picked from other packages, the packages that only supply shared
// libraries, the kernel modules the initramfs loads, and init hooks. The guest
// behaviour (day-0 from a NoCloud seed, DHCP on eth0, dropbear on port 22) lives
// in the embedded scripts under guest/.
package images
