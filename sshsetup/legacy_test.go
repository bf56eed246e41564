package sshsetup

import (
	"os/exec"
	"strings"
	"testing"
)

// sshG returns `ssh -G` of host under the config file: what OpenSSH itself makes of the stanza.
func sshG(t *testing.T, config, host string) map[string]string {
	t.Helper()
	out, err := exec.Command("ssh", "-G", "-F", config, host).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh -G -F %s %s: %v\n%s", config, host, err, out)
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(l, " "); ok {
			m[k] += v
		}
	}
	return m
}

// TestLegacyStanzaWithOpenSSH hands the legacy golden file to the system ssh: for an ssh_legacy router
// (IOS-XE 16.x, CSR 17.3) OpenSSH must offer diffie-hellman-group14-sha1 and accept ssh-rsa host keys and
// ssh-rsa (SHA-1) public-key signatures, and try the RSA key first; a modern host gets none of that.
func TestLegacyStanzaWithOpenSSH(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("OpenSSH client not installed: the legacy stanza was not checked with ssh -G")
	}
	has := func(list, alg string) bool {
		for _, a := range strings.Split(list, ",") {
			if a == alg {
				return true
			}
		}
		return false
	}
	csr := sshG(t, "testdata/legacy.golden", "csr1")
	if !has(csr["kexalgorithms"], "diffie-hellman-group14-sha1") {
		t.Errorf("legacy kexalgorithms lack diffie-hellman-group14-sha1: %s", csr["kexalgorithms"])
	}
	if !has(csr["kexalgorithms"], "curve25519-sha256") {
		t.Errorf("legacy entry lost the modern key exchange (it must add, not replace): %s", csr["kexalgorithms"])
	}
	for _, k := range []string{"hostkeyalgorithms", "pubkeyacceptedalgorithms"} {
		if !has(csr[k], "ssh-rsa") {
			t.Errorf("legacy %s lacks ssh-rsa: %s", k, csr[k])
		}
	}
	if !strings.Contains(csr["identityfile"], "id_rsa") ||
		strings.Index(csr["identityfile"], "id_rsa") > strings.Index(csr["identityfile"], "id_ed25519") {
		t.Errorf("legacy entry should try id_rsa first: %s", csr["identityfile"])
	}
	if csr["user"] != "admin" {
		t.Errorf("user %q", csr["user"])
	}
	// Every IOS-XE host, legacy or not (issue 17 items 1 and 2): IOS-XE sends no server-sig-algs, so
	// OpenSSH ≥ 8.8 needs ssh-rsa for the lab's RSA key; IOS allows 3 attempts, so only the lab's keys.
	for _, host := range []string{"c8k", "csr1"} {
		m := sshG(t, "testdata/legacy.golden", host)
		for _, k := range []string{"hostkeyalgorithms", "pubkeyacceptedalgorithms"} {
			if !has(m[k], "ssh-rsa") {
				t.Errorf("%s: %s lacks ssh-rsa: %s", host, k, m[k])
			}
		}
		if m["identitiesonly"] != "yes" {
			t.Errorf("%s: identitiesonly %q, want yes", host, m["identitiesonly"])
		}
		if strings.Index(m["identityfile"], "id_rsa") > strings.Index(m["identityfile"], "id_ed25519") {
			t.Errorf("%s: should try id_rsa first: %s", host, m["identityfile"])
		}
	}
	if c8k := sshG(t, "testdata/legacy.golden", "c8k"); has(c8k["kexalgorithms"], "diffie-hellman-group14-sha1") {
		t.Errorf("c8k (not ssh_legacy) got SHA-1 key exchange: %s", c8k["kexalgorithms"])
	}
	h1 := sshG(t, "testdata/legacy.golden", "h1")
	if has(h1["kexalgorithms"], "diffie-hellman-group14-sha1") || has(h1["hostkeyalgorithms"], "ssh-rsa") || h1["identitiesonly"] == "yes" {
		t.Errorf("a modern host got SHA-1 algorithms: kex %s hostkey %s", h1["kexalgorithms"], h1["hostkeyalgorithms"])
	}
	mod := sshG(t, "testdata/modern.golden", firstHost(t, "testdata/modern.golden"))
	if has(mod["kexalgorithms"], "diffie-hellman-group14-sha1") || has(mod["pubkeyacceptedalgorithms"], "ssh-rsa") {
		t.Errorf("modern golden enables SHA-1: %v", mod["kexalgorithms"])
	}
}

func firstHost(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("sh", "-c", "grep -m1 '^Host ' "+path).Output()
	if err != nil {
		t.Fatalf("no Host in %s", path)
	}
	return strings.TrimSpace(strings.TrimPrefix(string(out), "Host "))
}
