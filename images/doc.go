// Package images builds small Linux guest images (a qcow2 root disk, Debian's
// cloud kernel and a busybox initramfs) from Debian packages fetched with
// `apt-get download`, into a cache directory keyed by a hash of their inputs.
//
// A recipe (see Recipe) is data: the packages copied whole into the root tree,
// the files picked from other packages, the packages that only supply shared
// libraries (copied when an ELF file's NEEDED list asks for them; a library
// nobody provides fails the build), the kernel modules the initramfs loads
// (dependencies read from each module's .modinfo), and init hooks. A later
// image such as frr is the tiny recipe plus packages and a hook.
//
// Cache layout: DIR/NAME-KEY/{disk.qcow2,vmlinuz,initrd.img,image.json},
// DIR/debs/*.deb, DIR/.resolved-NAME.json (apt's answer, reused until apt's
// lists or configuration change, so a warm Build does not run apt at all),
// DIR/.build.lock. KEY hashes the builder version, the recipe, the embedded
// guest scripts and the package versions. A build works in DIR/.build-*/ and
// renames its output into place.
//
// The guest (scripts in guest/, embedded): the initramfs loads virtio and
// CD-ROM/isofs modules, mounts /dev/vda (ext4) and switch_roots to busybox init.
// rcS mounts /proc, /sys, /dev/pts, /run, /tmp, brings lo up, runs day-0, starts
// acpid (ACPI power button → poweroff, so QMP system_powerdown works), brings
// every ethN link up, runs udhcpc on eth0 in the background and starts dropbear
// on port 22 (host keys made at first need, stored in the VM's overlay). The
// serial console gets a root shell and these lines:
//
//	cloonix: hostname NAME from seed
//	cloonix: eth0 IP/MASK mtu MTU
//	cloonix: sshd ready
//
// Day-0 reads a NoCloud seed (label cidata, a virtio disk or an IDE CD-ROM):
// meta-data's local-hostname and instance-id, and from #cloud-config user-data
// this YAML subset: hostname, fqdn, ssh_authorized_keys (root), users (items
// with name, shell, groups, ssh_authorized_keys; "default" is ignored), runcmd
// (strings only) and write_files (path, permissions, content as a plain scalar
// or a "|" block). Values may be quoted; lists may be block or flow ([a, b]).
// Anything else is ignored with a "cloonix: day-0: ..." console note. The root
// password is locked ('*'); logins use keys only.
package images
