package lan

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// startQemu runs a guestless qemu whose NIC listens on a stream socket at path. -S keeps the CPU
// stopped: the netdev works without a guest.
func startQemu(t *testing.T, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-nodefaults",
		"-display", "none", "-S", "-m", "64",
		"-netdev", "stream,id=n0,server=on,addr.type=unix,addr.path="+path,
		"-device", "virtio-net-pci,netdev=n0")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start qemu: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// TestRealQemuReconnect kills and restarts a real qemu and checks that RunQemuPort follows it.
func TestRealQemuReconnect(t *testing.T) {
	if testing.Short() {
		t.Skip("starts qemu; skipped with -short")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed")
	}
	path := filepath.Join(t.TempDir(), "vm1-eth0.sock")
	sw := New(Config{Name: "lan0"}, nil)
	defer sw.Close()
	local := sw.Attach("local", newRecorder())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- RunQemuPort(ctx, sw, "vm1", path, nil) }()
	waitFor(t, "port attached", func() bool { return sw.Port("vm1") != nil })
	qp := sw.Port("vm1")

	var sent uint64
	for round := range 2 {
		cmd := startQemu(t, path)
		waitFor(t, "connection to qemu", qp.Carrier)
		for i := range 5 {
			local.Input(frame(macBcast, macA, 60, byte(i)))
		}
		sent += 5
		waitFor(t, "frames written to qemu", func() bool { return qp.Stats().TxFrames == sent })
		if st := qp.Stats(); st.TxErrors != 0 {
			t.Fatalf("round %d: %d write errors", round, st.TxErrors)
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		waitFor(t, "carrier loss after qemu died", func() bool { return !qp.Carrier() })
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("RunQemuPort = %v, want context.Canceled", err)
	}
}
