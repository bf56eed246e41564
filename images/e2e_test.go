package images

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/labpath"
)

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
}

func fileHash(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitLog waits until the serial log contains every string in want.
func waitLog(t *testing.T, log string, timeout time.Duration, want ...string) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		b, _ := os.ReadFile(log)
		ok := true
		for _, w := range want {
			if !bytes.Contains(b, []byte(w)) {
				ok = false
			}
		}
		if ok {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(log)
	t.Fatalf("serial log lacks %q after %v:\n%s", want, timeout, b)
	return 0
}

// TestTinyBootsE2E builds the tiny image (cold it takes a while: set
// CLOONIX_TEST_IMAGE_CACHE to reuse a cache), boots it under TCG with a NoCloud
// seed (and virtio-rng, as labd gives) and checks hostname, ssh, scp -O, sftp,
// rsync, 20 parallel ssh sessions from one source address, ACPI power-off,
// and that the ed25519 host key survives a reboot but not a purged overlay.
func TestTinyBootsE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: builds an image and boots qemu")
	}
	needTools(t, "apt-get", "dpkg-deb", "mkfs.ext4", "qemu-img", "qemu-system-x86_64", "ssh", "scp", "sftp",
		"ssh-keygen", "ssh-keyscan", "genisoimage", "rsync")
	cacheDir := os.Getenv("CLOONIX_TEST_IMAGE_CACHE")
	if cacheDir == "" {
		cacheDir = labpath.ImageCache()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	c := &Cache{Dir: cacheDir, Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	t0 := time.Now()
	img, err := c.Build(ctx, "tiny")
	if err != nil {
		t.Fatal(err)
	}
	first := time.Since(t0)
	t0 = time.Now()
	img2, err := c.Build(ctx, "tiny")
	if err != nil {
		t.Fatal(err)
	}
	warm := time.Since(t0)
	if img2.Key != img.Key || img2.Dir != img.Dir {
		t.Fatalf("second build gave another image: %+v vs %+v", img2, img)
	}
	if warm > 5*time.Second {
		t.Errorf("warm build took %v, want near-instant", warm)
	}
	got, err := c.Lookup(ctx, "tiny")
	if err != nil || got.Dir != img.Dir {
		t.Fatalf("Lookup(tiny) = %+v, %v; want %s", got, err, img.Dir)
	}
	list, err := c.List()
	if err != nil || len(list) == 0 {
		t.Fatalf("List() = %v, %v", list, err)
	}
	fi, _ := os.Stat(img.Initrd)
	di, _ := os.Stat(img.Disk)
	t.Logf("MEASURE build(first call)=%v warm=%v initrd=%d disk=%d total=%d", first.Round(time.Millisecond),
		warm.Round(time.Millisecond), fi.Size(), di.Size(), img.Size)

	baseHash := fileHash(t, img.Disk)
	dir := t.TempDir()
	overlay := filepath.Join(dir, "ov.qcow2")
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-b", img.Disk, "-F", "qcow2", overlay)
	key := filepath.Join(dir, "id_ed25519")
	run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key)
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	seedDir := filepath.Join(dir, "seed")
	os.MkdirAll(seedDir, 0o755)
	os.WriteFile(filepath.Join(seedDir, "meta-data"), []byte("instance-id: t1-1\nlocal-hostname: wrong\n"), 0o644)
	ud := fmt.Sprintf("#cloud-config\nhostname: t1\nssh_authorized_keys:\n  - %s\nusers:\n  - name: alice\n    shell: /bin/sh\n"+
		"    groups: [wheel]\n    ssh_authorized_keys:\n      - %s\nwrite_files:\n  - path: /etc/cloonix-test\n"+
		"    permissions: '0640'\n    content: |\n      hello seed\nruncmd:\n  - echo ran > /tmp/runcmd-ok\nbogus_key: 1\n",
		strings.TrimSpace(string(pub)), strings.TrimSpace(string(pub)))
	os.WriteFile(filepath.Join(seedDir, "user-data"), []byte(ud), 0o644)
	seed := filepath.Join(dir, "seed.iso")
	run(t, "genisoimage", "-quiet", "-o", seed, "-V", "cidata", "-r", "-J", seedDir)

	port := freePort(t)
	vm := bootTiny(t, ctx, img, overlay, seed, port, filepath.Join(dir, "boot1"))
	waitLog(t, vm.serial, 120*time.Second, "cloonix: hostname t1 from seed", "cloonix: sshd ready")
	ready := time.Since(vm.start)
	waitLog(t, vm.serial, 60*time.Second, "cloonix: eth0 10.0.2.15/")
	t.Logf("MEASURE boot-to-sshd-ready(first boot, host keys made)=%v", ready.Round(time.Millisecond))

	sshArgs := []string{"-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR", "-o", "ConnectTimeout=30", "-o", "BatchMode=yes"}
	ssh := func(user string, cmd ...string) string {
		return run(t, "ssh", append(append(sshArgs, "-p", fmt.Sprint(port), user+"@127.0.0.1"), cmd...)...)
	}
	t0 = time.Now()
	h := strings.TrimSpace(ssh("root", "hostname"))
	t.Logf("MEASURE first-ssh(hostname)=%v", time.Since(t0).Round(time.Millisecond))
	if h != "t1" {
		t.Fatalf("hostname over ssh = %q, want t1", h)
	}
	if w := strings.TrimSpace(ssh("alice", "id -un; id -Gn")); !strings.Contains(w, "alice") || !strings.Contains(w, "wheel") {
		t.Errorf("user alice: %q", w)
	}
	if w := ssh("root", "cat /etc/cloonix-test; stat -c %a /etc/cloonix-test; sleep 1; cat /tmp/runcmd-ok"); w != "hello seed\n640\nran\n" {
		t.Errorf("write_files/runcmd: %q", w)
	}
	payload := filepath.Join(dir, "payload")
	data := bytes.Repeat([]byte("cloonix scp payload\n"), 5000)
	os.WriteFile(payload, data, 0o644)
	scpBase := append(sshArgs, "-P", fmt.Sprint(port))
	run(t, "scp", append(append([]string{"-O"}, scpBase...), payload, "root@127.0.0.1:/tmp/p1")...)
	run(t, "scp", append(append([]string{}, scpBase...), payload, "root@127.0.0.1:/tmp/p2")...) // SFTP mode
	back := filepath.Join(dir, "back")
	run(t, "scp", append(append([]string{"-O"}, scpBase...), "root@127.0.0.1:/tmp/p2", back)...)
	if b, _ := os.ReadFile(back); !bytes.Equal(b, data) {
		t.Errorf("scp round trip changed the file (%d bytes back)", len(b))
	}
	batch := filepath.Join(dir, "sftp.batch")
	back2 := filepath.Join(dir, "back2")
	os.WriteFile(batch, []byte("get /tmp/p1 "+back2+"\n"), 0o644)
	run(t, "sftp", append(append([]string{"-b", batch}, scpBase...), "root@127.0.0.1")...)
	if b, _ := os.ReadFile(back2); !bytes.Equal(b, data) {
		t.Errorf("sftp get changed the file (%d bytes)", len(b))
	}
	rsh := "ssh " + strings.Join(append(sshArgs, "-p", fmt.Sprint(port)), " ")
	run(t, "rsync", "-a", "-e", rsh, payload, "root@127.0.0.1:/tmp/p3")
	if w := ssh("root", "cmp /tmp/p1 /tmp/p3 && echo same"); w != "same\n" {
		t.Errorf("rsync copy differs: %q", w)
	}

	// Python for Ansible's modules (AnsiballZ needs zipfile, base64, json...).
	t0 = time.Now()
	if w := ssh("root", "python3 -c 'import json, zipfile, base64, tempfile, shutil, subprocess, locale, syslog, "+
		"selectors, hashlib, zlib, ctypes, uuid, bz2, lzma, ssl, platform, pyexpat; print(\"py-ok\")'"); w != "py-ok\n" {
		t.Errorf("python3 stdlib imports: %q", w)
	}
	t.Logf("MEASURE python3 imports(first run, over ssh)=%v", time.Since(t0).Round(time.Millisecond))
	ansiblePing(t, dir, port, key)

	t.Logf("MEASURE guest sshd log: %s", strings.ReplaceAll(strings.TrimSpace(ssh("root", "grep cloonix-sshd /var/log/sshd.log")), "\n", "; "))
	if w := ssh("root", "ls /etc/ssh/ | grep _key$; pidof sshd >/dev/null && echo up"); w != "ssh_host_ed25519_key\nup\n" {
		t.Errorf("want one host key (ed25519) and sshd running: %q", w)
	}

	// Every connection through the NAT comes from one address; here all come
	// from 127.0.0.1 through slirp's hostfwd. dropbear allowed 5 at once.
	parallelSSH(t, 20, func(i int) *exec.Cmd {
		return exec.Command("ssh", append(append(sshArgs, "-p", fmt.Sprint(port), "root@127.0.0.1"),
			fmt.Sprintf("sleep 1; echo session-%d", i))...)
	})

	key1 := hostKey(t, port)
	vm.powerdown(t)

	// A reboot on the same overlay keeps the host key; a purged overlay gets a new one.
	vm = bootTiny(t, ctx, img, overlay, seed, port, filepath.Join(dir, "boot2"))
	waitLog(t, vm.serial, 120*time.Second, "cloonix: sshd ready")
	t.Logf("MEASURE boot-to-sshd-ready(reboot, keys kept)=%v", time.Since(vm.start).Round(time.Millisecond))
	if key2 := hostKey(t, port); key2 != key1 {
		t.Errorf("host key changed across a reboot on the same overlay:\n%s\n%s", key1, key2)
	}
	vm.powerdown(t)
	if err := os.Remove(overlay); err != nil {
		t.Fatal(err)
	}
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-b", img.Disk, "-F", "qcow2", overlay)
	vm = bootTiny(t, ctx, img, overlay, seed, port, filepath.Join(dir, "boot3"))
	waitLog(t, vm.serial, 120*time.Second, "cloonix: sshd ready")
	t.Logf("MEASURE boot-to-sshd-ready(purged overlay, keys made)=%v", time.Since(vm.start).Round(time.Millisecond))
	if key3 := hostKey(t, port); key3 == key1 {
		t.Errorf("a purged overlay kept the old host key %s", key1)
	}
	vm.powerdown(t)

	if h := fileHash(t, img.Disk); h != baseHash {
		t.Errorf("base image changed: %s → %s", baseHash, h)
	}
}

// tinyVM is one qemu guest booted by bootTiny.
type tinyVM struct {
	serial, qmp string
	start       time.Time
	exited      chan struct{}
}

// bootTiny boots img on overlay under TCG with virtio-rng (as labd does), the
// seed as a virtio disk and guest port 22 forwarded from 127.0.0.1:port. Its
// files go to dir. The guest is killed when the test ends.
func bootTiny(t *testing.T, ctx context.Context, img Image, overlay, seed string, port int, dir string) *tinyVM {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	vm := &tinyVM{serial: filepath.Join(dir, "serial.log"), qmp: filepath.Join(dir, "qmp.sock"), exited: make(chan struct{})}
	args := []string{"-machine", "pc", "-accel", "tcg", "-m", "256", "-nographic", "-nodefaults",
		"-serial", "file:" + vm.serial, "-kernel", img.Kernel, "-initrd", img.Initrd, "-append", img.Append,
		"-drive", "file=" + overlay + ",if=virtio,format=qcow2",
		"-drive", "file=" + seed + ",if=virtio,format=raw,readonly=on",
		"-netdev", fmt.Sprintf("user,id=n0,hostfwd=tcp:127.0.0.1:%d-:22", port),
		"-device", "virtio-net-pci,netdev=n0", "-device", "virtio-rng-pci",
		"-qmp", "unix:" + vm.qmp + ",server=on,wait=off"}
	qemu := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	var qerr bytes.Buffer
	qemu.Stderr = &qerr
	vm.start = time.Now()
	if err := qemu.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = qemu.Wait(); close(vm.exited) }()
	t.Cleanup(func() {
		_ = qemu.Process.Kill()
		<-vm.exited
		if t.Failed() {
			b, _ := os.ReadFile(vm.serial)
			t.Logf("%s serial log:\n%s\nqemu stderr: %s", dir, b, qerr.String())
		}
	})
	return vm
}

// powerdown sends QMP system_powerdown and waits for qemu to exit.
func (vm *tinyVM) powerdown(t *testing.T) {
	t.Helper()
	q, err := net.Dial("unix", vm.qmp)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	rd := bufio.NewReader(q)
	rd.ReadString('\n')
	fmt.Fprintf(q, "{\"execute\":\"qmp_capabilities\"}\n")
	rd.ReadString('\n')
	fmt.Fprintf(q, "{\"execute\":\"system_powerdown\"}\n")
	t0 := time.Now()
	select {
	case <-vm.exited:
		t.Logf("MEASURE system_powerdown-to-exit=%v", time.Since(t0).Round(time.Millisecond))
	case <-time.After(60 * time.Second):
		t.Fatalf("guest ignored system_powerdown for 60s")
	}
}

// hostKey returns the guest's ed25519 host key ("ssh-ed25519 BASE64") as a
// client sees it.
func hostKey(t *testing.T, port int) string {
	t.Helper()
	out := run(t, "ssh-keyscan", "-T", "30", "-t", "ed25519", "-p", fmt.Sprint(port), "127.0.0.1")
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[1] == "ssh-ed25519" {
			return f[1] + " " + f[2]
		}
	}
	t.Fatalf("ssh-keyscan gave no ed25519 key:\n%s", out)
	return ""
}

// parallelSSH starts n commands at once and fails the test unless each exits
// 0 and prints "session-I".
func parallelSSH(t *testing.T, n int, cmd func(i int) *exec.Cmd) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out, err := cmd(i).CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("session %d: %w: %s", i, err, bytes.TrimSpace(out))
			} else if want := fmt.Sprintf("session-%d\n", i); string(out) != want {
				errs[i] = fmt.Errorf("session %d: output %q, want %q", i, out, want)
			}
		}(i)
	}
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
			t.Error(err)
		}
	}
	t.Logf("MEASURE %d parallel ssh sessions from one source: %d failed, took %v", n, failed,
		time.Since(t0).Round(time.Millisecond))
}

// ansiblePing runs Ansible's ping, command and setup (minimal facts) modules
// against the guest at 127.0.0.1:port as root (interpreter discovery finds
// /usr/bin/python3). It skips when ansible is not installed.
func ansiblePing(t *testing.T, dir string, port int, key string) {
	t.Helper()
	if _, err := exec.LookPath("ansible"); err != nil {
		t.Logf("ansible not installed, Ansible modules not tried: %v", err)
		return
	}
	for _, m := range [][]string{{"-m", "ping"}, {"-m", "command", "-a", "cat /etc/hostname"},
		{"-m", "setup", "-a", "gather_subset=min"}} {
		args := append([]string{"all", "-i", "127.0.0.1,", "-e", fmt.Sprintf("ansible_port=%d", port), "-e", "ansible_user=root",
			"-e", "ansible_ssh_private_key_file=" + key,
			"-e", "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'"}, m...)
		cmd := exec.Command("ansible", args...)
		cmd.Env = append(os.Environ(), "ANSIBLE_LOCAL_TEMP="+filepath.Join(dir, "ansible-tmp"), "ANSIBLE_NOCOLOR=1",
			"ANSIBLE_HOME="+filepath.Join(dir, "ansible-home"))
		t0 := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "127.0.0.1 | SUCCESS") && !strings.Contains(string(out), "127.0.0.1 | CHANGED") {
			t.Errorf("ansible %s: %v\n%s", strings.Join(m, " "), err, out)
			continue
		}
		if m[1] == "ping" && !strings.Contains(string(out), `"ping": "pong"`) {
			t.Errorf("ansible ping: no pong:\n%s", out)
		}
		if m[1] == "setup" && !strings.Contains(string(out), `"ansible_hostname": "t1"`) {
			t.Errorf("ansible setup: no ansible_hostname t1:\n%s", out)
		}
		t.Logf("MEASURE ansible -m %s=%v", m[1], time.Since(t0).Round(time.Millisecond))
	}
}
