package vm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestStopWithoutQMPTerminates: when QMP cannot be reached, Stop asks qemu to quit with SIGTERM (its orderly
// quit, which flushes its disks) and does not SIGKILL a process that obeys.
func TestStopWithoutQMPTerminates(t *testing.T) {
	dir := shortTempDir(t)
	marker := filepath.Join(dir, "got-term")
	script := filepath.Join(dir, "fake-qemu")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ntrap 'echo > "+marker+"; exit 0' TERM\nwhile :; do sleep 0.1; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	st, err := procStartTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	p := &Process{Pid: cmd.Process.Pid, StartTime: st, exited: done}
	start := time.Now()
	if err := Stop(context.Background(), filepath.Join(dir, "no.qmp"), p, 0); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("qemu did not get SIGTERM before it went (killed outright?): %v", err)
	}
	if took := time.Since(start); took > qmpDialWait+quitGrace {
		t.Errorf("Stop took %v", took)
	}
}
