package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/api/tunnel"
	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/netstack/dhcp"
)

// expectedAddresses computes the addresses the NAT must hand out: a hash of each NAT-side MAC into the
// subnet, VMs taken in name order so collisions resolve the same way every time.
func expectedAddresses(labName string, subnet netip.Prefix, nics map[string]string) map[string]string {
	names := make([]string, 0, len(nics))
	for vm := range nics {
		names = append(names, vm)
	}
	sort.Strings(names)
	taken := map[netip.Addr]bool{}
	out := map[string]string{}
	for _, vm := range names {
		ip := dhcp.DeterministicIP(subnet, lab.MAC(labName, vm, nics[vm]), func(a netip.Addr) bool { return taken[a] })
		taken[ip] = true
		out[vm] = ip.String()
	}
	return out
}

// guestIPv4 is the address the guest itself has on an interface.
func guestIPv4(t *testing.T, cfg, vm, ifname string) string {
	out := mustSSH(t, cfg, vm, "ip -4 -o addr show "+ifname)
	for _, f := range strings.Fields(out) {
		if p, err := netip.ParsePrefix(f); err == nil {
			return p.Addr().String()
		}
	}
	t.Fatalf("%s has no IPv4 address on %s: %q", vm, ifname, out)
	return ""
}

// TestNATAddressesAndNames: each VM gets its deterministic address, in the guest and in status, and the VMs
// ping each other by address and by name (r1 and r1.<lab>).
func TestNATAddressesAndNames(t *testing.T) {
	name := sharedNATLab(t)
	_, cfg := sshConfigOf(t, name)
	want := expectedAddresses(name, netip.MustParsePrefix("10.99.0.0/24"),
		map[string]string{"vm1": "eth0", "vm2": "eth0", "nolease": "eth1"})
	st := getStatus(t, name)
	for _, vm := range []string{"vm1", "vm2"} {
		got := guestIPv4(t, cfg, vm, "eth0")
		if got != want[vm] {
			t.Errorf("%s has %s, want the deterministic %s", vm, got, want[vm])
		}
		found := false
		for _, v := range st.VMs {
			if v.Name == vm && v.IP == want[vm] {
				found = true
			}
		}
		if !found {
			t.Errorf("status does not show %s at %s: %+v", vm, want[vm], st.VMs)
		}
	}
	if len(st.Leases) < 2 {
		t.Errorf("status shows %d leases, want at least 2", len(st.Leases))
	}
	for _, target := range []string{want["vm2"], "vm2", "vm2." + name} {
		out := mustSSH(t, cfg, "vm1", "ping -c 2 -W 3 "+target)
		if !strings.Contains(out, "2 packets received") {
			t.Errorf("vm1 ping %s: %s", target, out)
		}
	}
	out := mustSSH(t, cfg, "vm2", "ping -c 1 -W 3 vm1 && ping -c 1 -W 3 10.99.0.1")
	if !strings.Contains(out, want["vm1"]) {
		t.Errorf("vm2 did not resolve vm1 to %s: %s", want["vm1"], out)
	}
}

// TestNATDialIn: a tunnel through the API reads the guest's sshd banner; a closed port and a VM with no lease
// fail at once with clear reasons.
func TestNATDialIn(t *testing.T) {
	name := sharedNATLab(t)
	sock, err := labpath.CtlSocket(name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := tunnel.Connect(ctx, sock, "nat", "vm1", 22)
	if err != nil {
		t.Fatalf("dial vm1:22: %v", err)
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	banner, err := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	if err != nil || !strings.HasPrefix(banner, "SSH-2.0-") {
		t.Fatalf("vm1:22 banner %q, err %v", banner, err)
	}
	for _, c := range []struct {
		host string
		port uint16
		want string
	}{
		{"vm1", 23, "refused"},
		{"nolease", 22, "lease"},
		{"ghost", 22, "vm1"}, // unknown VM: the reason lists the known ones
	} {
		start := time.Now()
		_, err := tunnel.Connect(ctx, sock, "nat", c.host, c.port)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("dial %s:%d: err %v, want one containing %q", c.host, c.port, err, c.want)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("dial %s:%d took %s to fail; it must fail fast", c.host, c.port, d)
		}
	}
}

// TestNATEgress: a VM fetches a file from a TCP server on a host outside this machine's loopback (a network
// namespace the test makes, 198.18.0.0/15), through the NAT's ordinary host sockets; the checksum matches.
func TestNATEgress(t *testing.T) {
	name := sharedNATLab(t)
	_, cfg := sshConfigOf(t, name)
	host := netnsHost(t)
	blob := make([]byte, 4<<20)
	if _, err := rand.Read(blob); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "blob"), blob, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(blob)
	stop := host.serveHTTP(t, dir, 8080)
	defer stop()
	out := mustSSH(t, cfg, "vm1", fmt.Sprintf("wget -q -O - http://%s:8080/blob | sha256sum", host.addr))
	if got := strings.Fields(out); len(got) == 0 || got[0] != hex.EncodeToString(sum[:]) {
		t.Fatalf("vm1 fetched a blob with sha256 %q, want %s", out, hex.EncodeToString(sum[:]))
	}
	// A closed port out there is refused for the guest, not left hanging.
	start := time.Now()
	r := sshF(t, cfg, "vm1", fmt.Sprintf("nc -w 5 %s 8081 </dev/null", host.addr))
	if r.code == 0 {
		t.Errorf("nc to a closed outside port succeeded: %s", r)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("a refused outside dial took %s to reach the guest; want a fast RST", d)
	}
}

// TestNATHostLoopback: a server on the host's 127.0.0.1 is unreachable from guests by default, and reachable
// through the host alias when the lab file says allow_host_loopback = true.
func TestNATHostLoopback(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
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
			fmt.Fprintln(c, "hello-from-host-loopback")
			c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	probe := fmt.Sprintf("nc -w 5 10.99.0.2 %d </dev/null", port)

	name := sharedNATLab(t) // allow_host_loopback defaults to off
	_, cfg := sshConfigOf(t, name)
	if r := sshF(t, cfg, "vm1", probe); r.code == 0 && strings.Contains(r.stdout, "hello-from-host-loopback") {
		t.Fatalf("host loopback reachable with allow_host_loopback off: %s", r)
	}

	const onName = "e2eloop"
	file := writeLab(t, `
version = 1
name = "e2eloop"
[nat]
allow_host_loopback = true
[[vm]]
name = "vm1"
`)
	mustLabd(t, "up", file)
	defer labd(t, "--lab", onName, "down", "--purge")
	_, cfgOn := sshConfigOf(t, onName)
	out := mustSSH(t, cfgOn, "vm1", probe)
	if !strings.Contains(out, "hello-from-host-loopback") {
		t.Fatalf("host loopback not reachable with allow_host_loopback on: %q", out)
	}
}
