package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestVsock reaches Linux VMs over virtio-vsock, served by the userspace vhost-user back-end (no
// /dev/vhost-vsock, no root): in a lab with no NAT at all (ssh, scp of 64 MiB both ways, 20 parallel
// sessions, Ansible, config push), and in a NAT lab after the guest's eth0 went down; then across a daemon
// killed with -9 and brought up again.
func TestVsock(t *testing.T) {
	ensureUserKey(t)
	nonat := writeLab(t, "version = 1\nname = \"vsknn\"\n[[lan]]\nname = \"side\"\n[[vm]]\nname = \"vm2\"\nimage = \"tiny\"\nnics = { eth0 = \"side\" }\n")
	withnat := writeLab(t, "version = 1\nname = \"vsk\"\n[nat]\n[[vm]]\nname = \"vm1\"\nimage = \"tiny\"\n")
	t.Cleanup(func() { labd(t, "--lab", "vsknn", "down"); labd(t, "--lab", "vsk", "down") })
	r := labd(t, "up", nonat)
	if r.code != 0 || !strings.Contains(r.stdout, "vm2          sshd answers through vsock") {
		t.Fatalf("up of a lab with no NAT (ready over vsock): %s", r)
	}
	if r := labd(t, "up", withnat); r.code != 0 {
		t.Fatalf("up: %s", r)
	}
	if st := getStatusVsock(t, "vsknn"); !st {
		t.Error("status --json does not say vm2 has vsock")
	}

	t.Run("no NAT: ssh, scp, parallel, Ansible, config push", func(t *testing.T) {
		_, cfg := sshConfigOf(t, "vsknn")
		if out := mustSSH(t, cfg, "vm2", "hostname"); out != "vm2\n" {
			t.Fatalf("ssh vm2 over vsock: %q", out)
		}
		dir := t.TempDir()
		data := make([]byte, 64<<20)
		rand.Read(data)
		sum := sha256.Sum256(data)
		want := hex.EncodeToString(sum[:])
		big := filepath.Join(dir, "big")
		os.WriteFile(big, data, 0o600)
		start := time.Now()
		if r := runCmd(t, 5*time.Minute, "scp", "-F", cfg, "-o", "BatchMode=yes", big, "vm2:/tmp/big"); r.code != 0 {
			t.Fatalf("scp up: %s", r)
		}
		t.Logf("64 MiB scp up over vsock: %s", time.Since(start).Round(time.Millisecond))
		if got := strings.Fields(mustSSH(t, cfg, "vm2", "sha256sum /tmp/big")); len(got) == 0 || got[0] != want {
			t.Fatalf("64 MiB arrived over vsock with sha256 %v, want %s", got, want)
		}
		if r := runCmd(t, 5*time.Minute, "scp", "-O", "-F", cfg, "-o", "BatchMode=yes", "vm2:/tmp/big", filepath.Join(dir, "back")); r.code != 0 {
			t.Fatalf("scp down: %s", r)
		}
		if got := fileHash(t, filepath.Join(dir, "back")); got != want {
			t.Fatalf("64 MiB came back over vsock with sha256 %s", got)
		}
		inParallel(t, 20, func(i int) string {
			if r := sshF(t, cfg, "vm2", fmt.Sprintf("echo v-%d", i)); r.code != 0 || r.stdout != fmt.Sprintf("v-%d\n", i) {
				return fmt.Sprintf("session %d: %s", i, r)
			}
			return ""
		})
		inv := strings.TrimSpace(strings.SplitN(mustLabd(t, "--lab", "vsknn", "inventory"), "\n", 2)[0])
		if r := ansible(t, "-i", inv, "linux", "-m", "ansible.builtin.ping"); r.code != 0 || !strings.Contains(r.stdout, `"ping": "pong"`) {
			t.Fatalf("ansible -m ping over vsock: %s", r)
		}
		script := filepath.Join(dir, "cfg.sh")
		os.WriteFile(script, []byte("#!/bin/sh\necho pushed > /tmp/pushed\necho push-ok\n"), 0o644)
		if r := labd(t, "--lab", "vsknn", "config", "push", "vm2", script); r.code != 0 || !strings.Contains(r.stdout, "push-ok") {
			t.Fatalf("config push over vsock: %s", r)
		}
	})

	_, cfg := sshConfigOf(t, "vsk")
	state := stateDir("vsk")
	exact := func(cmd string) result {
		return runCmd(t, time.Minute, "sh", "-c", "ssh -o BatchMode=yes -o UserKnownHostsFile="+filepath.Join(state, "known_hosts")+
			" -o StrictHostKeyChecking=accept-new -o ProxyCommand='cloonix-proxy vsk vsock %h' root@vm1 '"+cmd+"'")
	}
	t.Run("network down", func(t *testing.T) {
		if out := mustSSH(t, cfg, "vm1.vsock", "hostname"); out != "vm1\n" {
			t.Fatalf("ssh vm1.vsock: %q", out)
		}
		if r := exact("ip link set eth0 down; echo down"); r.code != 0 || r.stdout != "down\n" {
			t.Fatalf("take eth0 down over vsock: %s", r)
		}
		if r := exact("cat /sys/class/net/eth0/operstate; hostname"); r.code != 0 || r.stdout != "down\nvm1\n" {
			t.Fatalf("the exact command over vsock with eth0 down: %s", r)
		}
		if r := sshF(t, cfg, "vm1", "true"); r.code == 0 {
			t.Fatal("ssh through the NAT worked with eth0 down: the test proves nothing")
		}
	})
	t.Run("refusals", func(t *testing.T) {
		r := runCmd(t, time.Minute, filepath.Join(env.bin, "cloonix-proxy"), "vsk", "vsock", "vm1:2222")
		if r.code == 0 || !strings.Contains(r.stderr, "vm1: nothing listens on its vsock port 2222") {
			t.Errorf("a port nothing listens on: %s", r)
		}
		r = runCmd(t, time.Minute, filepath.Join(env.bin, "cloonix-proxy"), "vsk", "vsock", "nosuch")
		if r.code == 0 || !strings.Contains(r.stderr, "unknown VM: nosuch") {
			t.Errorf("an unknown VM: %s", r)
		}
	})
	t.Run("daemon killed and up again", func(t *testing.T) {
		long := exec.Command("sh", "-c", "ssh -o BatchMode=yes -o UserKnownHostsFile="+filepath.Join(state, "known_hosts")+
			" -o ProxyCommand='cloonix-proxy vsk vsock %h' root@vm1 'echo open; sleep 60; echo survived'")
		var out syncBuffer
		long.Stdout, long.Stderr = &out, &out
		if err := long.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "the open session", func() bool { return strings.Contains(out.String(), "open") })
		st := getStatus(t, "vsk")
		qemu := st.VMs[0].PID
		if err := syscall.Kill(st.Lab.PID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the killed daemon gone", func() bool { return !alive(st.Lab.PID) })
		done := make(chan error, 1)
		go func() { done <- long.Wait() }()
		select {
		case err := <-done:
			t.Logf("the session open through the killed daemon ended (%v): %q", err, out.String())
			if strings.Contains(out.String(), "survived") {
				t.Error("the session claims to have survived its daemon")
			}
		case <-time.After(30 * time.Second):
			long.Process.Kill()
			t.Error("the session open through the killed daemon did not end")
		}
		// eth0 is still down: up adopts the VM and finds its sshd over vsock.
		r := labd(t, "up", withnat)
		if r.code != 0 || !strings.Contains(r.stdout, "sshd answers over vsock, not through nat") {
			t.Fatalf("up after kill -9: %s", r)
		}
		if st := getStatus(t, "vsk"); st.VMs[0].PID != qemu {
			t.Fatalf("the VM was restarted (pid %d, was %d)", st.VMs[0].PID, qemu)
		}
		if r := exact("echo again; hostname"); r.code != 0 || r.stdout != "again\nvm1\n" {
			t.Fatalf("a new vsock session after the restart: %s", r)
		}
	})
}

// getStatusVsock tells whether `status --json` says the lab's first VM has a vsock device.
func getStatusVsock(t *testing.T, lab string) bool {
	return strings.Contains(mustLabd(t, "--lab", lab, "status", "--json"), `"vsock": true`)
}
