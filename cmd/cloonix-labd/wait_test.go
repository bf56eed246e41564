package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/kind"
	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/labpath"
)

// fakeSSH writes an ssh stand-in that logs its argv to a file and answers with out and status.
func fakeSSH(t *testing.T, dir, out string, status int) (prog, argv string) {
	t.Helper()
	prog, argv = filepath.Join(dir, "ssh"), filepath.Join(dir, "argv")
	script := fmt.Sprintf("#!/bin/sh\necho \"$@\" >> %s\necho '%s' >&2\nexit %d\n", argv, out, status)
	if err := os.WriteFile(prog, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return prog, argv
}

func loginLab(t *testing.T) (*lab.Lab, labpath.Dirs) {
	t.Helper()
	ios, err := kind.Lookup("iosxe")
	if err != nil {
		t.Fatal(err)
	}
	lin, _ := kind.Lookup("linux")
	dirs := labpath.Dirs{State: t.TempDir(), Runtime: t.TempDir()}
	if err := os.WriteFile(dirs.SSHConfig(), []byte("# test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &lab.Lab{Name: "nemo", VMs: []lab.VM{{Name: "r1", Kind: ios}, {Name: "h1", Kind: lin}}}, dirs
}

// TestLoginProbeRefusedKey: an IOS-XE router whose sshd answers but refuses the lab's key (OpenSSH ≥ 8.8
// without ssh-rsa) fails `up` after three refusals in a row, naming the VM, ssh's reason and the ssh-rsa
// hint; the probe is a real BatchMode ssh through the lab's ssh_config running the kind's command.
func TestLoginProbeRefusedKey(t *testing.T) {
	l, dirs := loginLab(t)
	p := newLoginProber(l, dirs)
	var argv string
	p.ssh, argv = fakeSSH(t, t.TempDir(), "admin@r1: Permission denied (publickey).", 255)
	var err error
	for i := 0; i < loginRefusals; i++ {
		p.next["r1"] = time.Time{}
		var ok bool
		if ok, err = p.try(context.Background(), "r1"); ok {
			t.Fatal("a refused key counted as ready")
		}
		if i < loginRefusals-1 && err != nil {
			t.Fatalf("attempt %d failed the wait already: %v", i+1, err)
		}
	}
	if err == nil || !strings.Contains(err.Error(), "vm r1") || !strings.Contains(err.Error(), "Permission denied (publickey)") ||
		!strings.Contains(err.Error(), "ssh-rsa") {
		t.Errorf("error %v, want vm r1, ssh's reason and the ssh-rsa hint", err)
	}
	got, _ := os.ReadFile(argv)
	for _, want := range []string{"-F " + dirs.SSHConfig(), "BatchMode=yes", "r1 show clock"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("ssh ran with %q, lacks %q", got, want)
		}
	}
}

// TestLoginProbeOtherKinds: linux (and frr) are ready at the banner, as before: no ssh runs at all. A
// transient failure (no route yet) does not end the wait; a working login is ready.
func TestLoginProbeOtherKinds(t *testing.T) {
	l, dirs := loginLab(t)
	p := newLoginProber(l, dirs)
	var argv string
	p.ssh, argv = fakeSSH(t, t.TempDir(), "kex_exchange_identification: Connection closed by remote host", 255)
	if ok, err := p.try(context.Background(), "h1"); !ok || err != nil {
		t.Errorf("linux VM: ok %v err %v, want ready at the banner", ok, err)
	}
	if _, err := os.Stat(argv); err == nil {
		t.Error("ssh ran for a linux VM")
	}
	for i := 0; i < 2*loginRefusals; i++ {
		p.next["r1"] = time.Time{}
		if ok, err := p.try(context.Background(), "r1"); ok || err != nil {
			t.Fatalf("transient failure: ok %v err %v, want not ready and no error", ok, err)
		}
	}
	if !strings.Contains(p.last["r1"], "Connection closed") {
		t.Errorf("last failure %q not kept for the timeout message", p.last["r1"])
	}
	p.ssh, _ = fakeSSH(t, t.TempDir(), "", 0)
	p.next["r1"] = time.Time{}
	if ok, err := p.try(context.Background(), "r1"); !ok || err != nil {
		t.Errorf("working login: ok %v err %v", ok, err)
	}
}

// TestUpTimeoutGrowsWithVMsPerCore: the default wait is a boot timeout for each 4 VMs per core.
func TestUpTimeoutGrowsWithVMsPerCore(t *testing.T) {
	mk := func(n int, boot time.Duration) *lab.Lab {
		l := &lab.Lab{}
		for range n {
			l.VMs = append(l.VMs, lab.VM{BootTimeout: boot})
		}
		return l
	}
	for _, c := range []struct {
		vms, cores int
		boot, want time.Duration
	}{
		{1, 2, 0, 2 * time.Minute},
		{8, 2, 0, 2 * time.Minute},
		{9, 2, 0, 4 * time.Minute},
		{40, 2, 0, 10 * time.Minute},
		{40, 16, 0, 2 * time.Minute},
		{2, 2, 15 * time.Minute, 15 * time.Minute}, // IOS-XE's own timeout
		{3, 0, 0, 2 * time.Minute},
	} {
		if got := upTimeout(mk(c.vms, c.boot), c.cores); got != c.want {
			t.Errorf("%d VMs on %d cores (boot %v): %v, want %v", c.vms, c.cores, c.boot, got, c.want)
		}
	}
}
