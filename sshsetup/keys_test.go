package sshsetup

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ed25519"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

func TestEnsureLabKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nemo")
	k, err := EnsureLabKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	for path, perm := range map[string]os.FileMode{k.Ed25519Path: 0o600, k.RSAPath: 0o600, k.Ed25519Path + ".pub": 0o644, k.RSAPath + ".pub": 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != perm {
			t.Errorf("%s mode %o, want %o", path, fi.Mode().Perm(), perm)
		}
	}
	data, _ := os.ReadFile(k.RSAPath)
	if !strings.HasPrefix(string(data), "-----BEGIN OPENSSH PRIVATE KEY-----") {
		t.Errorf("id_rsa is not in OpenSSH format")
	}
	s, err := ssh.ParsePrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	if ck, ok := s.PublicKey().(ssh.CryptoPublicKey); !ok || ck.CryptoPublicKey() == nil {
		t.Fatal("no crypto key")
	} else if bits := ck.CryptoPublicKey().(interface{ Size() int }).Size() * 8; bits != RSABits {
		t.Errorf("RSA key has %d bits", bits)
	}
	if !strings.HasPrefix(k.Ed25519Pub, "ssh-ed25519 ") || !strings.HasPrefix(k.RSAPub, "ssh-rsa ") {
		t.Errorf("pub lines: %q %q", k.Ed25519Pub, k.RSAPub)
	}
	k2, err := EnsureLabKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if k2 != k {
		t.Errorf("second call made new keys:\n%+v\n%+v", k, k2)
	}
	if err := os.WriteFile(k.Ed25519Path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureLabKeys(dir); err == nil || !strings.Contains(err.Error(), "id_ed25519") {
		t.Errorf("corrupt key: err = %v", err)
	}
}

func TestUserPublicKeys(t *testing.T) {
	home := t.TempDir()
	sshDir := filepath.Join(home, ".ssh")
	os.MkdirAll(sshDir, 0o700)
	_, priv1, _ := ed25519.GenerateKey(nil)
	_, priv2, _ := ed25519.GenerateKey(nil)
	pub1, _ := ssh.NewPublicKey(priv1.Public())
	line1 := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub1))) + " me@host"
	os.WriteFile(filepath.Join(sshDir, "id_ed25519.pub"), []byte(line1+"\n"), 0o644)
	os.WriteFile(filepath.Join(sshDir, "id_bad.pub"), []byte("not a key\n"), 0o644)
	os.WriteFile(filepath.Join(sshDir, "other.pub"), []byte(line1+"\n"), 0o644)

	// An agent holding key 1 again (deduplicated) and key 2.
	kr := agent.NewKeyring()
	kr.Add(agent.AddedKey{PrivateKey: priv1, Comment: "dup"})
	kr.Add(agent.AddedKey{PrivateKey: priv2, Comment: "agent2"})
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(kr, c); c.Close() }()
		}
	}()
	keys, err := UserPublicKeys(home, sock)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0] != line1 || !strings.HasSuffix(keys[1], " agent2") {
		t.Fatalf("keys = %q", keys)
	}
	// Unreachable agent: file keys still returned.
	keys, err = UserPublicKeys(home, filepath.Join(home, "nope.sock"))
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys = %q, err = %v", keys, err)
	}
}
