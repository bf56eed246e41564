package images

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/labpath"
)

// testVM is one qemu guest booted by bootFRR.
type testVM struct {
	name, serial string
	port         int
	start        time.Time
}

// frrEnv holds what the FRR end-to-end tests share: the image, a key pair and
// a scratch directory.
type frrEnv struct {
	img     Image
	dir     string
	key     string
	pub     string
	sshArgs []string
}

func newFRREnv(t *testing.T, ctx context.Context) *frrEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: builds an image and boots qemu")
	}
	needTools(t, "apt-get", "dpkg-deb", "mkfs.ext4", "qemu-img", "qemu-system-x86_64", "ssh", "scp",
		"ssh-keygen", "genisoimage")
	cacheDir := os.Getenv("CLOONIX_TEST_IMAGE_CACHE")
	if cacheDir == "" {
		cacheDir = labpath.ImageCache()
	}
	c := &Cache{Dir: cacheDir, Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	t0 := time.Now()
	img, err := c.Build(ctx, "frr")
	if err != nil {
		t.Fatal(err)
	}
	first := time.Since(t0)
	t0 = time.Now()
	if img2, err := c.Build(ctx, "frr"); err != nil || img2.Dir != img.Dir {
		t.Fatalf("second build: %+v, %v; want %s", img2, err, img.Dir)
	}
	warm := time.Since(t0)
	fi, _ := os.Stat(img.Initrd)
	di, _ := os.Stat(img.Disk)
	t.Logf("MEASURE frr build(first call)=%v warm=%v initrd=%d disk=%d total=%d", first.Round(time.Millisecond),
		warm.Round(time.Millisecond), fi.Size(), di.Size(), img.Size)
	e := &frrEnv{img: img, dir: t.TempDir()}
	e.key = filepath.Join(e.dir, "id_ed25519")
	run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", e.key)
	pub, err := os.ReadFile(e.key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	e.pub = strings.TrimSpace(string(pub))
	e.sshArgs = []string{"-i", e.key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR", "-o", "ConnectTimeout=30", "-o", "BatchMode=yes"}
	return e
}

// boot starts a guest named name whose day-0 seed sets the hostname, root's
// key and, if frrConf is not empty, /etc/frr/frr.conf by write_files.
func (e *frrEnv) boot(t *testing.T, ctx context.Context, name, frrConf string, extra ...string) *testVM {
	t.Helper()
	overlay := filepath.Join(e.dir, name+".qcow2")
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-b", e.img.Disk, "-F", "qcow2", overlay)
	seedDir := filepath.Join(e.dir, "seed-"+name)
	if err := os.MkdirAll(seedDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ud := fmt.Sprintf("#cloud-config\nhostname: %s\nssh_authorized_keys:\n  - %s\n", name, e.pub)
	if frrConf != "" {
		ud += "write_files:\n  - path: /etc/frr/frr.conf\n    content: |\n"
		for _, l := range strings.Split(strings.TrimRight(frrConf, "\n"), "\n") {
			ud += "      " + l + "\n"
		}
	}
	if err := os.WriteFile(filepath.Join(seedDir, "meta-data"), []byte("instance-id: "+name+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(seedDir, "user-data"), []byte(ud), 0o644); err != nil {
		t.Fatal(err)
	}
	seed := filepath.Join(e.dir, "seed-"+name+".iso")
	run(t, "genisoimage", "-quiet", "-o", seed, "-V", "cidata", "-r", "-J", seedDir)
	vm := &testVM{name: name, port: freePort(t), serial: filepath.Join(e.dir, "serial-"+name+".log")}
	args := []string{"-machine", "pc", "-accel", "tcg", "-m", "256", "-nographic", "-nodefaults",
		"-serial", "file:" + vm.serial, "-kernel", e.img.Kernel, "-initrd", e.img.Initrd, "-append", e.img.Append,
		"-drive", "file=" + overlay + ",if=virtio,format=qcow2",
		"-drive", "file=" + seed + ",if=virtio,format=raw,readonly=on",
		"-netdev", fmt.Sprintf("user,id=n0,hostfwd=tcp:127.0.0.1:%d-:22", vm.port),
		"-device", "virtio-net-pci,netdev=n0", "-device", "virtio-rng-pci"}
	qemu := exec.CommandContext(ctx, "qemu-system-x86_64", append(args, extra...)...)
	var qerr bytes.Buffer
	qemu.Stderr = &qerr
	vm.start = time.Now()
	if err := qemu.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = qemu.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = qemu.Process.Kill()
		<-exited
		if t.Failed() {
			b, _ := os.ReadFile(vm.serial)
			t.Logf("%s serial log:\n%s\nqemu stderr: %s", name, b, qerr.String())
		}
	})
	return vm
}

// ssh runs cmd on vm as user and returns its output and error.
func (e *frrEnv) ssh(vm *testVM, user, cmd string) (string, error) {
	args := append(append([]string{}, e.sshArgs...), "-p", fmt.Sprint(vm.port), user+"@127.0.0.1", cmd)
	out, err := exec.Command("ssh", args...).CombinedOutput()
	return string(out), err
}

func (e *frrEnv) mustSSH(t *testing.T, vm *testVM, user, cmd string) string {
	t.Helper()
	out, err := e.ssh(vm, user, cmd)
	if err != nil {
		t.Fatalf("ssh %s@%s %q: %v\n%s", user, vm.name, cmd, err, out)
	}
	return out
}

// TestFRRBootsE2E builds the frr image, boots it under TCG and checks FRR
// readiness, root's vtysh, the router user's vtysh login shell, and
// cloonix-frr-reload with a good and a bad configuration.
func TestFRRBootsE2E(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	e := newFRREnv(t, ctx)
	vm := e.boot(t, ctx, "r1", "")
	waitLog(t, vm.serial, 120*time.Second, "cloonix: sshd ready")
	t.Logf("MEASURE frr boot-to-sshd-ready=%v", time.Since(vm.start).Round(time.Millisecond))

	// A config push right after sshd is up, while the boot hook may still be
	// starting FRR: cloonix-frr-reload waits for the hook, then restarts FRR
	// once, so each daemon runs exactly once afterwards.
	early := "frr defaults traditional\nhostname r1\nservice integrated-vtysh-config\n!\ninterface lo\n ip address 10.255.0.7/32\n!\nline vty\n!\n"
	b, _ := os.ReadFile(vm.serial)
	raced := !bytes.Contains(b, []byte("cloonix: frr ready"))
	t0 := time.Now()
	push := exec.Command("ssh", append(append([]string{}, e.sshArgs...), "-p", fmt.Sprint(vm.port), "root@127.0.0.1",
		"cat >/tmp/early.conf && cloonix-frr-reload /tmp/early.conf")...)
	push.Stdin = strings.NewReader(early)
	if out, err := push.CombinedOutput(); err != nil {
		t.Errorf("cloonix-frr-reload right after sshd ready (before frr ready: %v): %v\n%s", raced, err, out)
	}
	t.Logf("MEASURE reload pushed before frr ready=%v, took %v", raced, time.Since(t0).Round(time.Millisecond))
	waitLog(t, vm.serial, 120*time.Second, "cloonix: frr ready")
	t.Logf("MEASURE frr boot-to-frr-ready=%v", time.Since(vm.start).Round(time.Millisecond))
	if out := e.mustSSH(t, vm, "root", "for d in zebra staticd ospfd bgpd watchfrr; do echo $d $(pidof $d | wc -w); done; "+
		"vtysh -c 'show running-config'"); !strings.Contains(out, "zebra 1\nstaticd 1\nospfd 1\nbgpd 1\nwatchfrr 1\n") ||
		!strings.Contains(out, "ip address 10.255.0.7/32") {
		t.Errorf("after an early reload want one of each daemon and the pushed config:\n%s", out)
	}
	if b, _ := os.ReadFile(vm.serial); bytes.Contains(b, []byte("frr config errors")) || bytes.Contains(b, []byte("frr failed")) {
		t.Errorf("FRR reported errors at boot:\n%s", b)
	}

	if out := e.mustSSH(t, vm, "root", "vtysh -c 'show running-config'"); !strings.Contains(out, "\nhostname r1\n") {
		t.Errorf("root: show running-config lacks hostname r1:\n%s", out)
	}
	if out := e.mustSSH(t, vm, "root", "sysctl -n net.ipv4.ip_forward; id -Gn "+RouterUser); !strings.HasPrefix(out, "1\n") ||
		!strings.Contains(out, "frrvty") {
		t.Errorf("forwarding / router user groups: %q", out)
	}
	// The router user's shell is vtysh: sshd runs `vtysh -c CMD`.
	if out := e.mustSSH(t, vm, RouterUser, "show version"); !strings.Contains(out, "FRRouting 8") || !strings.Contains(out, "(r1)") {
		t.Errorf("%s: show version:\n%s", RouterUser, out)
	}
	e.mustSSH(t, vm, RouterUser, "terminal length 0")
	if out, err := e.ssh(vm, RouterUser, "show no-such-thing"); err == nil || !strings.Contains(out, "Unknown command") {
		t.Errorf("%s: a bad command should fail: %v %q", RouterUser, err, out)
	}
	// An interactive login shows a Cisco-like prompt.
	cmd := exec.Command("ssh", append(append([]string{"-tt"}, e.sshArgs...), "-p", fmt.Sprint(vm.port), RouterUser+"@127.0.0.1")...)
	cmd.Stdin = strings.NewReader("terminal length 0\nexit\n")
	out, err := cmd.CombinedOutput()
	if err != nil || !regexp.MustCompile(`(?m)^r1# `).Match(out) {
		t.Errorf("interactive %s login: %v, want an r1# prompt:\n%s", RouterUser, err, out)
	}

	good := "frr defaults traditional\nhostname r1\nservice integrated-vtysh-config\n!\ninterface lo\n ip address 10.255.0.1/32\n!\n" +
		"router ospf\n ospf router-id 10.255.0.1\n network 10.255.0.1/32 area 0\n!\nline vty\n!\n"
	bad := "hostname r1\nrouter ospf\n ospf router-idd 10.255.0.9\n!\n"
	for name, body := range map[string]string{"good.conf": good, "bad.conf": bad} {
		if err := os.WriteFile(filepath.Join(e.dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, "scp", append(append([]string{"-O"}, e.sshArgs...), "-P", fmt.Sprint(vm.port),
		filepath.Join(e.dir, "good.conf"), filepath.Join(e.dir, "bad.conf"), "root@127.0.0.1:/tmp/")...)
	t0 = time.Now()
	e.mustSSH(t, vm, "root", "cloonix-frr-reload /tmp/good.conf")
	t.Logf("MEASURE cloonix-frr-reload(restart)=%v", time.Since(t0).Round(time.Millisecond))
	if out := e.mustSSH(t, vm, RouterUser, "show running-config"); !strings.Contains(out, "ospf router-id 10.255.0.1") ||
		!strings.Contains(out, "ip address 10.255.0.1/32") {
		t.Errorf("running config after reload:\n%s", out)
	}
	// Two reloads at once take turns (flock): both succeed, one daemon each.
	if out := e.mustSSH(t, vm, "root", "cloonix-frr-reload /tmp/good.conf >/tmp/ra.out 2>&1 & a=$!; "+
		"cloonix-frr-reload /tmp/good.conf >/tmp/rb.out 2>&1; echo rb=$?; wait $a; echo ra=$?; cat /tmp/ra.out /tmp/rb.out; "+
		"for d in zebra staticd ospfd bgpd watchfrr; do echo $d $(pidof $d | wc -w); done"); !strings.Contains(out, "rb=0\nra=0\n") ||
		!strings.Contains(out, "zebra 1\nstaticd 1\nospfd 1\nbgpd 1\nwatchfrr 1\n") {
		t.Errorf("two concurrent reloads:\n%s", out)
	}
	out2, err := e.ssh(vm, "root", "cloonix-frr-reload /tmp/bad.conf")
	if err == nil || !strings.Contains(out2, "line 3") || !strings.Contains(out2, "Unknown command") {
		t.Errorf("bad config: want a non-zero exit with vtysh's error, got %v:\n%s", err, out2)
	}
	if out := e.mustSSH(t, vm, "root", "cat /etc/frr/frr.conf; vtysh -c 'show running-config'"); strings.Contains(out, "router-idd") ||
		!strings.Contains(out, "ospf router-id 10.255.0.1") {
		t.Errorf("a rejected config must leave frr.conf and the running config alone:\n%s", out)
	}
}

// ospfConf is a point-to-point OSPF router on eth1 with fast timers.
func ospfConf(name, addr, loopback string) string {
	return fmt.Sprintf(`frr defaults traditional
hostname %s
service integrated-vtysh-config
!
interface eth1
 ip address %s
 ip ospf network point-to-point
 ip ospf hello-interval 1
 ip ospf dead-interval 4
 ip ospf retransmit-interval 1
!
interface lo
 ip address %s/32
!
router ospf
 ospf router-id %s
 timers throttle lsa all 0
 timers lsa min-arrival 0
 timers throttle spf 0 50 1000
 network 10.0.12.0/30 area 0
 network %s/32 area 0
!
line vty
!
`, name, addr, loopback, loopback, loopback)
}

// TestFRROSPFPairE2E boots two FRR guests joined by a qemu stream link (UNIX
// socket) and waits for a Full OSPF adjacency and the peer's loopback route.
func TestFRROSPFPairE2E(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	e := newFRREnv(t, ctx)
	sock := filepath.Join(e.dir, "link.sock")
	r1 := e.boot(t, ctx, "r1", ospfConf("r1", "10.0.12.1/30", "10.255.0.1"),
		"-netdev", "stream,id=l0,server=on,addr.type=unix,addr.path="+sock,
		"-device", "virtio-net-pci,netdev=l0,mac=52:54:00:00:12:01")
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i > 200 {
			t.Fatalf("r1's qemu did not create %s", sock)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r2 := e.boot(t, ctx, "r2", ospfConf("r2", "10.0.12.2/30", "10.255.0.2"),
		"-netdev", "stream,id=l0,server=off,addr.type=unix,addr.path="+sock,
		"-device", "virtio-net-pci,netdev=l0,mac=52:54:00:00:12:02")
	waitLog(t, r1.serial, 180*time.Second, "cloonix: frr ready")
	waitLog(t, r2.serial, 180*time.Second, "cloonix: frr ready")
	ready := time.Now()
	t.Logf("MEASURE boot-to-frr-ready r1=%v r2=%v (two TCG guests at once)", ready.Sub(r1.start).Round(time.Millisecond),
		ready.Sub(r2.start).Round(time.Millisecond))
	var full time.Duration
	for {
		out, _ := e.ssh(r1, "root", "vtysh -c 'show ip ospf neighbor'")
		if strings.Contains(out, "10.255.0.2") && strings.Contains(out, "Full") {
			full = time.Since(ready)
			break
		}
		if time.Since(ready) > 60*time.Second {
			t.Fatalf("no Full adjacency 60 s after both routers were ready:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("MEASURE ospf Full after both frr ready=%v (r2 boot start to Full=%v)", full.Round(time.Millisecond),
		time.Since(r2.start).Round(time.Millisecond))
	if full > 10*time.Second {
		t.Errorf("Full adjacency took %v, want within 10 s with fast timers", full)
	}
	for {
		out, _ := e.ssh(r1, "root", "ip route show 10.255.0.2; ping -c 1 -W 2 10.255.0.2 >/dev/null && echo PING-OK")
		if strings.Contains(out, "via 10.0.12.2") && strings.Contains(out, "PING-OK") {
			break
		}
		if time.Since(ready) > 60*time.Second {
			t.Fatalf("r1 has no working route to r2's loopback:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("MEASURE route+ping to peer loopback after both ready=%v", time.Since(ready).Round(time.Millisecond))
	if out := e.mustSSH(t, r2, RouterUser, "show ip ospf neighbor"); !strings.Contains(out, "10.255.0.1") {
		t.Errorf("r2 (%s) does not see r1:\n%s", RouterUser, out)
	}
}
