package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshServer runs a Go SSH server on loopback that accepts clientKey and
// answers every exec request with "ran: <command>" and exit status 0.
func sshServer(t *testing.T, clientKey ssh.PublicKey) string {
	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	hostSigner, _ := ssh.NewSignerFromKey(hostPriv)
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if string(k.Marshal()) == string(clientKey.Marshal()) {
			return nil, nil
		}
		return nil, os.ErrPermission
	}}
	cfg.AddHostKey(hostSigner)
	return serveTCP(t, func(c net.Conn) {
		_, chans, reqs, err := ssh.NewServerConn(c, cfg)
		if err != nil {
			return
		}
		go ssh.DiscardRequests(reqs)
		for nc := range chans {
			ch, reqs, err := nc.Accept()
			if err != nil {
				return
			}
			go func() {
				defer ch.Close()
				for r := range reqs {
					if r.Type != "exec" {
						r.Reply(false, nil)
						continue
					}
					r.Reply(true, nil)
					cmd := string(r.Payload[4:])
					ch.Write([]byte("ran: " + cmd + "\n"))
					ch.SendRequest("exit-status", false, ssh.Marshal(struct{ S uint32 }{0}))
					return
				}
			}()
		}
	})
}

func TestRealSSHThroughProxy(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Fatal("ssh (openssh-client) is required for this test")
	}
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	block, _ := ssh.MarshalPrivateKey(priv, "test")
	key := filepath.Join(dir, "id_ed25519")
	os.WriteFile(key, pem.EncodeToMemory(block), 0o600)
	e := newEnv(t, &backend{targets: map[string]string{"vm1": sshServer(t, signer.PublicKey())}})
	known := filepath.Join(dir, "known_hosts")
	sshArgs := func(proxy string, extra ...string) []string {
		return append([]string{"-F", "/dev/null", "-o", "BatchMode=yes", "-o", "ProxyCommand=" + proxy,
			"-o", "UserKnownHostsFile=" + known, "-o", "StrictHostKeyChecking=accept-new",
			"-o", "IdentitiesOnly=yes", "-i", key}, extra...)
	}
	for _, mode := range []struct{ name, proxy string }{
		{"stdio", proxyBin + " nemo nat %n"},
		{"fdpass", proxyBin + " --fdpass nemo nat %n"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			args := sshArgs(mode.proxy)
			if mode.name == "fdpass" {
				args = append(args, "-o", "ProxyUseFdpass=yes")
			}
			cmd := exec.Command("ssh", append(args, "root@vm1", "uname -a")...)
			cmd.Env = e.vars
			start := time.Now()
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "ran: uname -a") {
				t.Fatalf("ssh: %v\n%s", err, out)
			}
			t.Logf("ssh round trip via %s: %v", mode.name, time.Since(start))
		})
	}
	// The user sees the daemon's reason as is.
	cmd := exec.Command("ssh", append(sshArgs(proxyBin+" nemo nat %n"), "root@vm7", "true")...)
	cmd.Env = e.vars
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "cloonix-proxy: lab nemo: unknown VM: vm7 (known: vm1)\n") {
		t.Fatalf("ssh to unknown VM: %v\n%s", err, out)
	}
	t.Logf("ssh error output:\n%s", out)
}
