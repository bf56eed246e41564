package images

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestRecipesKnown(t *testing.T) {
	if got := Recipes(); !slices.Contains(got, "tiny") {
		t.Fatalf("Recipes() = %v, want tiny in it", got)
	}
	if _, err := lookupRecipe("nope"); err == nil || !strings.Contains(err.Error(), "tiny") {
		t.Fatalf("unknown recipe error should list known names, got %v", err)
	}
	r, _ := lookupRecipe("tiny")
	pk := r.Packages()
	for _, want := range []string{"busybox-static", "openssh-server", "openssh-sftp-server", "openssh-client", "rsync", "libc6",
		"libwrap0", "libsystemd0", "libselinux1", "libgssapi-krb5-2", "libkrb5-3", "libcom-err2", "libpam0g", "libaudit1",
		"python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib", "python3-minimal", "libexpat1", "libffi8"} {
		if !slices.Contains(pk, want) {
			t.Errorf("tiny packages %v lack %s", pk, want)
		}
	}
	if slices.Contains(pk, "dropbear-bin") {
		t.Errorf("tiny still has dropbear (5 unauthenticated connections per source): %v", pk)
	}
	for _, p := range []string{"usr/sbin/sshd"} {
		if !slices.Contains(r.Pick["openssh-server"], p) {
			t.Errorf("tiny does not pick %s from openssh-server", p)
		}
	}
	for _, p := range []string{"usr/bin/scp", "usr/bin/ssh-keygen"} {
		if !slices.Contains(r.Pick["openssh-client"], p) {
			t.Errorf("tiny does not pick %s from openssh-client", p)
		}
	}
	if !slices.IsSorted(pk) || slices.Contains(pk, r.Kernel) {
		t.Errorf("Packages() must be sorted and exclude the kernel: %v", pk)
	}
}

func TestKeyDependsOnInputs(t *testing.T) {
	r := tinyRecipe()
	v := map[string]string{"libc6": "2.36-9", "linux-image-6.1.0-56-cloud-amd64": "6.1.192-2"}
	k1, err := r.Key(v)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(k1) {
		t.Fatalf("key %q is not 16 hex digits", k1)
	}
	k2, _ := tinyRecipe().Key(map[string]string{"linux-image-6.1.0-56-cloud-amd64": "6.1.192-2", "libc6": "2.36-9"})
	if k1 != k2 {
		t.Errorf("same inputs gave different keys %s %s", k1, k2)
	}
	v2 := map[string]string{"libc6": "2.36-10", "linux-image-6.1.0-56-cloud-amd64": "6.1.192-2"}
	if k3, _ := r.Key(v2); k3 == k1 {
		t.Errorf("a new package version must change the key")
	}
	r2 := tinyRecipe()
	r2.Libs = append(r2.Libs, "libfoo1")
	if k4, _ := r2.Key(v); k4 == k1 {
		t.Errorf("a recipe change must change the key")
	}
	r3 := tinyRecipe()
	r3.Hooks = map[string]string{"10-frr": "#!/bin/sh\n"}
	if k5, _ := r3.Key(v); k5 == k1 {
		t.Errorf("a hook must change the key")
	}
}

func TestParsePolicy(t *testing.T) {
	out := []byte("busybox-static:\n  Installed: (none)\n  Candidate: 1:1.35.0-4+deb12u1+b1\n  Version table:\n" +
		"     1:1.35.0-4+deb12u1+b1 500\n        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n" +
		"ghost:\n  Installed: (none)\n  Candidate: (none)\n")
	got := parsePolicy(out)
	if got["busybox-static"] != "1:1.35.0-4+deb12u1+b1" || got["ghost"] != "(none)" || len(got) != 2 {
		t.Fatalf("parsePolicy = %v", got)
	}
}

func TestParseKernelDepends(t *testing.T) {
	p, v := parseKernelDepends([]byte("Package: linux-image-cloud-amd64\nVersion: 6.1.192-2\n" +
		"Depends: linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)\nDescription: x\n"))
	if p != "linux-image-6.1.0-56-cloud-amd64" || v != "6.1.192-2" {
		t.Fatalf("got %q %q", p, v)
	}
	p, v = parseKernelDepends([]byte("Depends: foo, linux-image-6.1.0-9-cloud-amd64-unsigned | linux-image-6.1.0-9-cloud-amd64\n"))
	if p != "linux-image-6.1.0-9-cloud-amd64-unsigned" || v != "" {
		t.Fatalf("got %q %q", p, v)
	}
	if p, _ := parseKernelDepends([]byte("Package: linux-image-6.1.0-56-cloud-amd64\nDepends: kmod, initramfs-tools\n")); p != "" {
		t.Fatalf("a real kernel package has no kernel dependency, got %q", p)
	}
}

func TestNormalizeGuestPath(t *testing.T) {
	for in, want := range map[string]string{"bin/busybox": "/usr/bin/busybox", "/lib64/ld.so": "/usr/lib64/ld.so",
		"sbin": "/usr/sbin", "usr/bin/scp": "/usr/bin/scp", "etc/libfoo": "/etc/libfoo", "binx/y": "/binx/y"} {
		if got := normalizeGuestPath(in); got != want {
			t.Errorf("normalizeGuestPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// The sshd configuration must keep the settings the lab depends on.
func TestSSHDConfig(t *testing.T) {
	conf := string(guestFile("sshd_config"))
	for _, want := range []string{"Port 22", "MaxStartups 100:30:200", "MaxSessions 50", "UsePAM no",
		"PermitRootLogin prohibit-password", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
		"UseDNS no", "PrintMotd no", "PrintLastLog no", "PidFile /run/sshd.pid",
		"HostKey /etc/ssh/ssh_host_ed25519_key", "Subsystem sftp /usr/lib/openssh/sftp-server"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`).MatchString(conf) {
			t.Errorf("sshd_config lacks the line %q", want)
		}
	}
	// The post-quantum hybrid exchange costs ~0.3 s per connection under TCG: the list must leave it out
	// under both of its names.
	kex := regexp.MustCompile(`(?m)^KexAlgorithms (.*)$`).FindStringSubmatch(conf)
	if kex == nil || strings.Contains(kex[1], "sntrup") || strings.HasPrefix(kex[1], "-") || !strings.Contains(kex[1], "curve25519-sha256") {
		t.Errorf("sshd_config's KexAlgorithms must be an explicit list with curve25519 and no sntrup: %q", kex)
	}
	for _, bad := range []string{"ssh_host_rsa_key", "\nAcceptEnv"} {
		if strings.Contains(conf, bad) {
			t.Errorf("sshd_config must not contain %q", bad)
		}
	}
	// The guest script waits for the pid file the config names.
	if !strings.Contains(string(guestFile("sshd")), "pid=/run/sshd.pid") {
		t.Errorf("guest/sshd does not wait for /run/sshd.pid")
	}
}

// tinyRecipe is the built-in tiny image's recipe, for tests.
func tinyRecipe() Recipe {
	r, err := lookupRecipe("tiny")
	if err != nil {
		panic(err)
	}
	return r
}

// TestImageFilesKeepTheirRecipes: the built-in image files make exactly the recipes of testdata/NAME.recipe.json,
// so their cache keys stay what they were. Changing an image file changes its image's key (a new build): make
// the change, then write the new recipe into the golden file on purpose.
func TestImageFilesKeepTheirRecipes(t *testing.T) {
	for _, name := range []string{"tiny", "frr"} {
		r, err := lookupRecipe(name)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := json.MarshalIndent(r, "", "  ")
		want, err := os.ReadFile("testdata/" + name + ".recipe.json")
		if err != nil {
			t.Fatal(err)
		}
		if string(got)+"\n" != string(want) {
			t.Errorf("image %s: its file makes another recipe than testdata/%s.recipe.json:\n%s", name, name, got)
		}
	}
}
