package images

// RouterUser is the frr image's router user: its login shell is vtysh (so ssh
// lands in FRR's Cisco-like CLI, prompt "HOSTNAME#"), it is in the frr and
// frrvty groups, and at boot it gets the keys day-0 gave root.
const RouterUser = "admin"

func frrFile(name string) string {
	b, err := frrFS.ReadFile("guest-frr/" + name)
	if err != nil {
		panic("images: embedded frr guest file missing: " + name)
	}
	return string(b)
}

// frrRecipe is the tiny guest plus FRR's zebra, staticd, ospfd, bgpd,
// watchfrr and vtysh, the frr user and groups, the router user and a boot hook
// that starts FRR (see guest-frr/).
func frrRecipe() Recipe {
	r := tinyRecipe()
	r.Name = "frr"
	r.Pick["frr"] = []string{"usr/bin/vtysh", "usr/lib/frr/zebra", "usr/lib/frr/staticd", "usr/lib/frr/ospfd",
		"usr/lib/frr/bgpd", "usr/lib/frr/watchfrr"}
	// flock (util-linux): cloonix-frr-reload serialises reloads with it
	// (busybox-static has no flock applet).
	r.Pick["util-linux"] = []string{"usr/bin/flock"}
	// libcap2, libpam0g, libpcre2-8-0, libaudit1 and libcap-ng0, which FRR
	// also needs, are already in the tiny recipe (for sshd).
	r.Libs = append(r.Libs, "frr", "libyang2", "libjson-c5", "libreadline8", "libtinfo6")
	r.Hooks = map[string]string{"50-frr": frrFile("hook")}
	u := RouterUser
	r.Files = []GuestFile{
		{Path: "/etc/passwd", Mode: 0o644, Append: true, Body: "frr:x:101:101:FRR routing suite:/nonexistent:/usr/sbin/nologin\n" +
			u + ":x:1000:1000:router user (vtysh):/home/" + u + ":/usr/bin/vtysh\n"},
		{Path: "/etc/shadow", Mode: 0o600, Append: true, Body: "frr:*:19000:0:99999:7:::\n" + u + ":*:19000:0:99999:7:::\n"},
		{Path: "/etc/group", Mode: 0o644, Append: true, Body: "frr:x:101:" + u + "\nfrrvty:x:102:frr," + u + "\n" + u + ":x:1000:\n"},
		{Path: "/etc/shells", Mode: 0o644, Append: true, Body: "/usr/bin/vtysh\n"},
		{Path: "/etc/frr/vtysh.conf", Mode: 0o644, Body: frrFile("vtysh.conf")},
		{Path: "/usr/lib/cloonix/frrctl", Mode: 0o755, Body: frrFile("frrctl")},
		{Path: "/usr/sbin/cloonix-frr-reload", Mode: 0o755, Body: frrFile("cloonix-frr-reload")},
	}
	return r
}
