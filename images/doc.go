// Package images builds small Linux guest images (a qcow2 root disk, Debian's
// cloud kernel and a busybox initramfs) from Debian packages fetched with
// `apt-get download`, into a cache directory keyed by a hash of their inputs.
//
// A recipe (see Recipe) is data: the packages copied whole into the root tree,
// the files picked from other packages, the packages that only supply shared
// libraries (copied when an ELF file's NEEDED list asks for them; a library
// nobody provides fails the build), the kernel modules the initramfs loads
// (dependencies read from each module's .modinfo), init hooks and extra files
// (GuestFile, which may append to the base /etc/passwd and friends). The frr
// image is the tiny recipe plus packages, files and a hook.
//
// Recipes are files: NAME/image.toml, built in from examples/images (embedded)
// or the user's own in $XDG_CONFIG_HOME/cloonix/images (labpath.UserImages),
// whose names may not be a built-in's. Every problem in one is located
// ("frr/image.toml:LINE:COL: …", package tomlfile):
//
//	name = "keepalived"          # as its directory
//	base = "frr"                 # start from this image: lists extend its lists,
//	                             # pick and hooks entries add or replace, scalars replace
//	kernel = "linux-image-cloud-amd64"   # a base-less image needs it (and append)
//	append = "console=ttyS0 …"   # the kernel command line
//	whole = ["keepalived"]       # packages copied whole
//	libs = ["libnl-3-200"]       # packages that only supply shared libraries
//	drop = ["/usr/share/x/*"]    # guest path globs removed (one that matches nothing fails)
//	modules = ["vrf"]            # kernel modules the initramfs loads
//	late_modules = ["sr_mod"]    # modules day-0 loads to find a CD-ROM seed
//	boot_modules = ["macvlan"]   # modules loaded at every boot, before the hooks
//	[pick]                       # paths taken from packages not copied whole
//	frr = ["usr/bin/vtysh"]
//	[hooks]                      # boot scripts run after sshd: NAME = a file beside image.toml
//	60-keepalived = "start"
//	[[file]]                     # a file of the image: body, or source (a file beside image.toml)
//	path = "/etc/keepalived/keepalived.conf"
//	mode = "0644"                # the default
//	source = "keepalived.conf"   # append = true adds to the base file (/etc/passwd…)
//	[[program]]                  # a program of this project, copied from the host
//	name = "cloonix-vsock-bridge"
//	path = "/usr/sbin/cloonix-vsock-bridge"
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
// every ethN link up, runs udhcpc on eth0 in the background and starts
// OpenSSH's sshd on port 22 (see sshd below). The serial console gets a root
// shell and these lines:
//
//	cloonix: hostname NAME from seed
//	cloonix: eth0 IP/MASK mtu MTU
//	cloonix: sshd ready
//
// The kernel command line (tinyAppend) selects the HPET clocksource
// (clocksource=hpet tsc=unstable): under TCG on a busy host the kernel may
// calibrate the TSC several times too slow, and a TSC clock then runs that
// many times too fast (routing protocol timers expire early). qemu's HPET
// follows host time, so `sleep 10` takes 10 s of host time.
//
// Python 3.11 is in the image (/usr/bin/python3, from python3.11-minimal,
// libpython3.11-minimal, libpython3.11-stdlib and python3-minimal) so that
// Ansible's modules run on Linux guests. Left out (Recipe.Drop): the test
// suite, pydoc_data, and the sqlite3, curses, dbm.gnu/ndbm and readline
// extension modules (their libraries are not in the image). No .pyc files are
// shipped: the first import of a stdlib module in a VM compiles it into the
// overlay (~2.5 s for a first Python run under TCG, ~0.5 s after).
//
// Day-0 reads a NoCloud seed (label cidata, a virtio disk or an IDE CD-ROM):
// meta-data's local-hostname and instance-id, and from #cloud-config user-data
// this YAML subset: hostname, fqdn, ssh_authorized_keys (root), users (items
// with name, shell, groups, ssh_authorized_keys; "default" is ignored), runcmd
// (strings only) and write_files (path, permissions, content as a plain scalar
// or a "|" block). Values may be quoted; lists may be block or flow ([a, b]).
// Anything else is ignored with a "cloonix: day-0: ..." console note. The root
// password is locked ('*'); logins use keys only.
//
// # sshd
//
// The guest runs OpenSSH's sshd (Debian's openssh-server; its libraries, PAM,
// libwrap, libsystemd, SELinux and Kerberos included, come from the packages in
// the recipe's Libs), not dropbear: dropbear accepts at most 5 unauthenticated
// connections per source address, and every connection into a lab VM comes
// from the NAT's gateway address, so 20 parallel ssh sessions (or Ansible with
// forks) failed with "kex_exchange_identification: Connection closed". The
// embedded /etc/ssh/sshd_config sets MaxStartups 100:30:200, MaxSessions 50,
// UsePAM no, PermitRootLogin prohibit-password, no password or
// keyboard-interactive logins, UseDNS no, no sntrup761 key exchange (~0.3 s
// per connection under TCG), no MOTD or last-log, no AcceptEnv,
// and `Subsystem sftp /usr/lib/openssh/sftp-server` (openssh-sftp-server).
// scp (for `scp -O`) and ssh-keygen come from openssh-client, rsync is whole.
// At boot /etc/cloonix/sshd makes /etc/ssh/ssh_host_ed25519_key if it is
// missing (only ed25519: RSA takes seconds under TCG), so the key lives in the
// VM's overlay: a reboot keeps it, a new or purged overlay gets a new one. The
// kernel's random pool is ready early thanks to virtio-rng (labd gives every
// Linux VM -device virtio-rng-pci). sshd runs with -r (no re-exec per
// connection, ~0.35 s less per connection under TCG), logs to
// /var/log/sshd.log, and "cloonix: sshd ready" is printed once its pid file
// (written after it binds port 22) exists.
//
// # The frr image
//
// `cloonix-labd image build frr` is the tiny guest plus, from Debian's frr
// package, zebra, staticd, ospfd, bgpd, watchfrr and vtysh (YANG models are
// built into the binaries) and the libraries they need (see frrRecipe). Its
// guest files are in guest-frr/, outside guest/, so the tiny image's key does
// not depend on them. Accounts: the frr user and the frr and frrvty groups,
// and the router user RouterUser ("admin", uid 1000) whose login shell is
// /usr/bin/vtysh (also listed in /etc/shells, although sshd only checks that
// the shell is executable), in groups frr and frrvty, with a locked password. vtysh.conf says `username root nopassword` and `username
// admin nopassword` (no PAM). At boot, after sshd, the hook
// /etc/cloonix/hooks/50-frr:
//
//   - appends root's authorized keys (from day-0) to the router user's;
//
//   - sets net.ipv4.ip_forward=1 and net.ipv6.conf.all.forwarding=1 (rcS
//     already brought every ethN link up);
//
//   - if day-0 did not write /etc/frr/frr.conf (write_files), writes a minimal
//     one: `frr defaults traditional`, `hostname` (the kernel hostname, from
//     the seed), `service integrated-vtysh-config`;
//
//   - runs /usr/lib/cloonix/frrctl start: the four daemons with
//     `-d -F traditional -P 0` (no TCP vty) logging to /var/log/frr/NAME.log,
//     waits for their vty sockets in /var/run/frr, starts watchfrr (which
//     restarts a dead daemon through frrctl) and loads frr.conf with vtysh -b;
//
//   - prints, once `vtysh -c 'show version'` answers:
//
//     cloonix: frr ready
//
//     and makes /run/cloonix/frr.ready;
//
// (or "cloonix: frr config errors, see /var/log/frr/start.log" before it when
// vtysh -b rejected lines). "cloonix: sshd ready" still comes first.
//
// ssh as the router user lands in vtysh (prompt "HOSTNAME#"); with a command,
// sshd runs `vtysh -c CMD`, so `ssh admin@r1 'show ip route'` works, and
// `terminal length 0` is accepted (Ansible frr.frr network_cli). `write
// memory` saves /etc/frr/frr.conf. root gets a normal shell.
//
// To replace a router's configuration, copy the file in (scp -O) and, as root:
//
//	cloonix-frr-reload /tmp/frr.conf
//
// It first waits up to 60 s for the boot hook to finish (the hook makes
// /run/cloonix/frr.ready after "cloonix: frr ready", or after reporting a
// failure), so a push right after "cloonix: sshd ready" does not race with
// FRR's first start, and runs under an exclusive lock on /run/cloonix/frr.lock
// (util-linux flock -o), so concurrent reloads take turns.
// It checks the file with `vtysh -C -f` (a syntax error prints vtysh's
// "line N: % Unknown command" and exits 1 with frr.conf and the running FRR
// untouched), copies it to /etc/frr/frr.conf, restarts the daemons and loads
// it with vtysh -b, so the running configuration is exactly the file (exit 1
// with vtysh's messages if a line fails there). The restart drops adjacencies
// for a few seconds.
package images
