package vm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPIDFileHeldByQemu: a running qemu holds its -pidfile, so a second Start for the same VM refuses
// (never two qemus for one VM); once it is gone the file is free again.
func TestPIDFileHeldByQemu(t *testing.T) {
	dir := shortTempDir(t)
	s := testSpec(t, dir)
	p := startTestVM(t, s)
	pid, held := PIDFileHeld(s.PIDFile)
	if !held || pid != p.Pid {
		t.Fatalf("PIDFileHeld = %d, %v; want %d, true", pid, held, p.Pid)
	}
	_, err := Start(context.Background(), testQemu, s, filepath.Join(dir, "qemu2.log"), nil)
	if err == nil || !strings.Contains(err.Error(), "already runs") || !strings.Contains(err.Error(), "kill ") {
		t.Fatalf("second Start: %v, want a refusal naming the running qemu", err)
	}
	if err := kill(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if _, held := PIDFileHeld(s.PIDFile); held {
		t.Error("the pid file of a gone qemu still counts as held")
	}
}

// TestStartRecordsBeforeTheWait: the started hook sees the process before Start returns, and a failing
// hook leaves no qemu.
func TestStartRecordsBeforeTheWait(t *testing.T) {
	dir := shortTempDir(t)
	s := testSpec(t, dir)
	var seen *Process
	p, err := Start(context.Background(), testQemu, s, filepath.Join(dir, "qemu.log"), func(p *Process) error {
		if isSocket(s.QMPSocket) {
			if q, err := DialQMP(context.Background(), s.QMPSocket); err == nil {
				q.Close()
				return errors.New("the hook ran after qemu answered on QMP")
			}
		}
		seen = p
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kill(context.Background(), p) })
	if seen == nil || seen.Pid != p.Pid {
		t.Fatalf("hook saw %+v, Start returned %+v", seen, p)
	}
	_ = kill(context.Background(), p)

	var pid int
	_, err = Start(context.Background(), testQemu, s, filepath.Join(dir, "qemu.log"), func(p *Process) error {
		pid = p.Pid
		return errors.New("disk full")
	})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Start with a failing hook: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	if syscall.Kill(pid, 0) == nil {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if !strings.Contains(string(b), ") Z") {
			t.Errorf("qemu %d still runs after its record failed", pid)
		}
	}
}
