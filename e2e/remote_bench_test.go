package e2e

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkRemote compares, in one run, a lab on this machine with the same lab on a "server" (a real sshd on
// 127.0.0.1, a user the benchmark creates) reached through cloonix's OpenSSH master and socket forward:
// `ssh vm1 true` through a live master (later dials), the same after the master ended (first dials), and a
// 64 MiB scp. bench/remote.sh runs it; docs/benchmarks.md has the figures.
func BenchmarkRemote(b *testing.B) {
	h := startRemoteHost(b)
	u := h.addUser(b, "clxbench")
	h.seedImages(b, u, "tiny")
	h.writeClientServer(b, "brem", u.Name)
	ensureUserKey(b)
	lab := func(name string) string {
		return writeLab(b, "version = 1\nname = \""+name+"\"\n[nat]\n[[vm]]\nname = \"vm1\"\nimage = \"tiny\"\n")
	}
	b.Cleanup(func() { labd(b, "--lab", "bloc", "down"); labd(b, "--server", "brem", "down") })
	if r := labd(b, "up", lab("bloc")); r.code != 0 {
		b.Fatalf("local up: %s", r)
	}
	if r := labd(b, "--server", "brem", "up", lab("brem")); r.code != 0 {
		b.Fatalf("remote up: %s", r)
	}
	_, local := sshConfigOf(b, "bloc")
	_, remote := sshConfigOf(b, "brem")
	big := filepath.Join(b.TempDir(), "big")
	data := make([]byte, 64<<20)
	rand.Read(data)
	os.WriteFile(big, data, 0o600)
	for _, cfg := range []string{local, remote} {
		mustSSH(b, cfg, "vm1", "true") // known_hosts, first boot's caches
	}
	dial := func(cfg string, first bool) func(*testing.B) {
		return func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if first {
					b.StopTimer()
					killMasters(b)
					time.Sleep(50 * time.Millisecond)
					b.StartTimer()
				}
				mustSSH(b, cfg, "vm1", "true")
			}
		}
	}
	scp := func(cfg string) func(*testing.B) {
		return func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if r := runCmd(b, 5*time.Minute, "scp", "-F", cfg, "-o", "BatchMode=yes", big, "vm1:/tmp/big"); r.code != 0 {
					b.Fatalf("scp: %s", r)
				}
			}
		}
	}
	b.Run("ssh-true/local", dial(local, false))
	b.Run("ssh-true/remote", dial(remote, false))
	b.Run("ssh-true/remote-first-dial", dial(remote, true))
	b.Run("scp-64MiB/local", scp(local))
	b.Run("scp-64MiB/remote", scp(remote))
}
