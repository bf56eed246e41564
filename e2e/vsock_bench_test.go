package e2e

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkVsock compares, on one guest in one run, the two ways into a VM's sshd: through the NAT (gVisor,
// the LAN switch, virtio-net) and over virtio-vsock (the vhost-user back-end): `ssh vm1 true` and a 64 MiB
// scp. bench/vsock.sh runs it; docs/benchmarks.md has the figures.
func BenchmarkVsock(b *testing.B) {
	ensureUserKey(b)
	file := writeLab(b, "version = 1\nname = \"vbench\"\n[nat]\n[[vm]]\nname = \"vm1\"\nimage = \"tiny\"\n")
	b.Cleanup(func() { labd(b, "--lab", "vbench", "down") })
	if r := labd(b, "up", file); r.code != 0 {
		b.Fatalf("up: %s", r)
	}
	_, cfg := sshConfigOf(b, "vbench")
	data := make([]byte, 64<<20)
	rand.Read(data)
	big := filepath.Join(b.TempDir(), "big")
	os.WriteFile(big, data, 0o600)
	for _, host := range []string{"vm1", "vm1.vsock"} {
		mustSSH(b, cfg, host, "true")
	}
	for _, c := range []struct{ name, host string }{{"nat", "vm1"}, {"vsock", "vm1.vsock"}} {
		b.Run("ssh-true/"+c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				mustSSH(b, cfg, c.host, "true")
			}
		})
	}
	for _, c := range []struct{ name, host string }{{"nat", "vm1"}, {"vsock", "vm1.vsock"}} {
		b.Run("scp-64MiB/"+c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if r := runCmd(b, 5*time.Minute, "scp", "-F", cfg, "-o", "BatchMode=yes", big, c.host+":/tmp/big"); r.code != 0 {
					b.Fatalf("scp: %s", r)
				}
			}
		})
	}
}
