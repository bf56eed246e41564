package cvac

import (
	"bytes"
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func labKey(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/lab_rsa.pub")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func goldenConfig(t *testing.T) Config {
	return Config{
		Hostname: "r1", Domain: "nemo.cloonix", Username: "admin", Password: "admin",
		AuthorizedKey:  labKey(t),
		UserConfig:     []byte("interface Loopback0\r\n ip address 1.1.1.1 255.255.255.255\r\n"),
		UserConfigName: "r1.cfg",
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func TestRenderGolden(t *testing.T) {
	got, err := Render(goldenConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "iosxe_config.golden", got)
}

// TestRenderHasEveryLabLine checks, independently of the golden file, the lines the issue asks for, in an
// order IOS-XE can apply (hostname and domain before the RSA key; AAA before SCP is used).
func TestRenderHasEveryLabLine(t *testing.T) {
	text, err := Render(goldenConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(text), "\n")
	index := func(want string) int {
		for i, l := range lines {
			if l == want {
				return i
			}
		}
		t.Errorf("no line %q in:\n%s", want, text)
		return -1
	}
	order := []string{
		"hostname r1", "ip domain name nemo.cloonix", "aaa new-model", "aaa authentication login default local",
		"aaa authorization exec default local", "username admin privilege 15 secret 0 admin",
		"crypto key generate rsa modulus 2048", "ip ssh version 2", "ip scp server enable", "file prompt quiet",
		"ip ssh pubkey-chain", " username admin", "  key-string", "   exit",
		"interface GigabitEthernet1", " ip address dhcp", " no shutdown",
		"line vty 0 4", " length 0", " transport input ssh",
		"! ---- r1.cfg ----", "interface Loopback0", " ip address 1.1.1.1 255.255.255.255", "end",
	}
	last := -1
	for _, want := range order {
		i := index(want)
		if i >= 0 && i <= last {
			t.Errorf("line %q (at %d) comes before the previous expected line (at %d)", want, i, last)
		}
		if i >= 0 {
			last = i
		}
	}
	if bytes.Contains(text, []byte("\r")) {
		t.Error("the user's CRLF line ends survived")
	}
	if strings.Count(string(text), "interface Loopback0") != 1 {
		t.Error("the user's file is not appended exactly once")
	}
	// The key lines between key-string and exit, put together, are the key.
	start, end := index("  key-string"), index("   exit")
	var blob string
	for _, l := range lines[start+1 : end] {
		if len(strings.TrimSpace(l)) > KeyLineWidth {
			t.Errorf("key line longer than %d: %q", KeyLineWidth, l)
		}
		blob += strings.TrimSpace(l)
	}
	raw, err := base64.StdEncoding.DecodeString(blob)
	if err != nil {
		t.Fatalf("key lines are not base64: %v", err)
	}
	pub, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(labKey(t)))
	if !bytes.Equal(raw, pub.Marshal()) {
		t.Error("the key lines do not put back together into the lab's key")
	}
}

func TestKeyChunks(t *testing.T) {
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(labKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	blob := base64.StdEncoding.EncodeToString(pub.Marshal())
	for _, width := range []int{70, 64, 1, len(blob), len(blob) + 5} {
		chunks, err := KeyChunks(labKey(t), width)
		if err != nil {
			t.Fatal(err)
		}
		wantN := (len(blob) + width - 1) / width
		if len(chunks) != wantN {
			t.Errorf("width %d: %d chunks, want %d", width, len(chunks), wantN)
		}
		for i, c := range chunks {
			if len(c) > width || (i < len(chunks)-1 && len(c) != width) || c == "" {
				t.Errorf("width %d: chunk %d has %d characters", width, i, len(c))
			}
		}
		if strings.Join(chunks, "") != blob {
			t.Errorf("width %d: chunks do not join into the key", width)
		}
	}
	// A 2048-bit key is 372 base64 characters: five full lines of 70 and one of 22.
	chunks, _ := KeyChunks(labKey(t), KeyLineWidth)
	if len(blob) == 372 && (len(chunks) != 6 || len(chunks[5]) != 22) {
		t.Errorf("2048-bit key: %d chunks, last %d characters", len(chunks), len(chunks[len(chunks)-1]))
	}
}

func TestKeyChunksRejects(t *testing.T) {
	b, err := os.ReadFile("testdata/ed25519.pub")
	if err != nil {
		t.Fatal(err)
	}
	ed := strings.TrimSpace(string(b))
	if _, _, _, _, err := ssh.ParseAuthorizedKey(b); err != nil {
		t.Fatalf("testdata/ed25519.pub: %v", err)
	}
	for name, key := range map[string]string{"ed25519": ed, "garbage": "ssh-rsa !!!", "empty": ""} {
		if _, err := KeyChunks(key, 70); err == nil {
			t.Errorf("%s: KeyChunks accepted %q", name, key)
		}
	}
	if _, err := KeyChunks(labKey(t), 0); err == nil {
		t.Error("width 0 accepted")
	}
}

func TestRenderRejects(t *testing.T) {
	cases := map[string]func(*Config){
		"hostname with dot":   func(c *Config) { c.Hostname = "r1.lab" },
		"hostname digit":      func(c *Config) { c.Hostname = "1r" },
		"empty domain":        func(c *Config) { c.Domain = "" },
		"user with space":     func(c *Config) { c.Username = "ad min" },
		"empty password":      func(c *Config) { c.Password = "" },
		"password with blank": func(c *Config) { c.Password = "a b" },
		"no key":              func(c *Config) { c.AuthorizedKey = "" },
	}
	for name, mut := range cases {
		c := goldenConfig(t)
		mut(&c)
		if _, err := Render(c); err == nil {
			t.Errorf("%s: Render accepted %+v", name, c)
		}
	}
}

func TestRenderEnd(t *testing.T) {
	c := goldenConfig(t)
	c.UserConfig = []byte("router ospf 1\nend\n! trailing comment\n")
	text, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(text), "\nend\n"); n != 1 {
		t.Errorf("%d 'end' lines, want 1 (the user's):\n%s", n, text)
	}
	c.UserConfig = nil
	text, _ = Render(c)
	if !strings.HasSuffix(string(text), "!\nend\n") || strings.Contains(string(text), "----") {
		t.Errorf("without a user file the config should end with the lab lines and end:\n%s", text)
	}
}
