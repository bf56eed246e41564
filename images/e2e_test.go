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
	"testing"
	"time"
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
// seed and checks hostname, ssh, scp -O, sftp, rsync and ACPI power-off.
func TestTinyBootsE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: builds an image and boots qemu")
	}
	needTools(t, "apt-get", "dpkg-deb", "mkfs.ext4", "qemu-img", "qemu-system-x86_64", "ssh", "scp", "sftp",
		"ssh-keygen", "genisoimage", "rsync")
	cacheDir := os.Getenv("CLOONIX_TEST_IMAGE_CACHE")
	if cacheDir == "" {
		cacheDir = DefaultDir()
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
	got, err := c.Lookup("tiny")
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
	serial := filepath.Join(dir, "serial.log")
	qmpSock := filepath.Join(dir, "qmp.sock")
	args := []string{"-machine", "pc", "-accel", "tcg", "-m", "256", "-nographic", "-nodefaults",
		"-serial", "file:" + serial, "-kernel", img.Kernel, "-initrd", img.Initrd, "-append", img.Append,
		"-drive", "file=" + overlay + ",if=virtio,format=qcow2",
		"-drive", "file=" + seed + ",if=virtio,format=raw,readonly=on",
		"-netdev", fmt.Sprintf("user,id=n0,hostfwd=tcp:127.0.0.1:%d-:22", port),
		"-device", "virtio-net-pci,netdev=n0",
		"-qmp", "unix:" + qmpSock + ",server=on,wait=off"}
	qemu := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	var qerr bytes.Buffer
	qemu.Stderr = &qerr
	bootStart := time.Now()
	if err := qemu.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- qemu.Wait() }()
	defer func() {
		_ = qemu.Process.Kill()
		<-exited
		if t.Failed() {
			b, _ := os.ReadFile(serial)
			t.Logf("serial log:\n%s\nqemu stderr: %s", b, qerr.String())
		}
	}()
	waitLog(t, serial, 120*time.Second, "cloonix: hostname t1 from seed", "cloonix: sshd ready")
	ready := time.Since(bootStart)
	waitLog(t, serial, 60*time.Second, "cloonix: eth0 10.0.2.15/")
	t.Logf("MEASURE boot-to-sshd-ready=%v", ready.Round(time.Millisecond))

	sshArgs := []string{"-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR", "-o", "ConnectTimeout=30", "-o", "BatchMode=yes"}
	ssh := func(user string, cmd ...string) string {
		return run(t, "ssh", append(append(sshArgs, "-p", fmt.Sprint(port), user+"@127.0.0.1"), cmd...)...)
	}
	t0 = time.Now()
	h := strings.TrimSpace(ssh("root", "hostname"))
	t.Logf("MEASURE first-ssh(hostname, host key made on demand)=%v", time.Since(t0).Round(time.Millisecond))
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

	// QMP system_powerdown must power the guest off.
	q, err := net.Dial("unix", qmpSock)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	rd := bufio.NewReader(q)
	rd.ReadString('\n')
	fmt.Fprintf(q, "{\"execute\":\"qmp_capabilities\"}\n")
	rd.ReadString('\n')
	fmt.Fprintf(q, "{\"execute\":\"system_powerdown\"}\n")
	t0 = time.Now()
	select {
	case <-exited:
		exited <- nil
		t.Logf("MEASURE system_powerdown-to-exit=%v", time.Since(t0).Round(time.Millisecond))
	case <-time.After(60 * time.Second):
		t.Errorf("guest ignored system_powerdown for 60s")
	}
	if h := fileHash(t, img.Disk); h != baseHash {
		t.Errorf("base image changed: %s → %s", baseHash, h)
	}
}
