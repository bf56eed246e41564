package vm

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestStartQMPSetLinkStop(t *testing.T) {
	dir := shortTempDir(t)
	s := testSpec(t, dir)
	p := startTestVM(t, s)
	waitFile(t, s.SerialLog, "READY", 10*time.Second)

	// qemu runs in its own session, so labd's death or terminal hang-up does not reach it.
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if sid := f[3]; sid != strconv.Itoa(p.Pid) {
		t.Errorf("qemu session id = %s, want its own pid %d (setsid)", sid, p.Pid)
	}
	if pid, err := ReadPIDFile(s.PIDFile); err != nil || pid != p.Pid {
		t.Errorf("pid file: %d, %v; want %d", pid, err, p.Pid)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	q, err := DialQMP(ctx, s.QMPSocket)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if !strings.Contains(q.Version(), ".") {
		t.Errorf("Version() = %q", q.Version())
	}
	if st, err := q.Status(ctx); err != nil || st != "running" {
		t.Fatalf("Status = %q, %v; want running", st, err)
	}

	// A client on the NIC socket makes qemu report NETDEV_STREAM_CONNECTED.
	c, err := net.Dial("unix", s.NICs[0].Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitEvent(t, q, "NETDEV_STREAM_CONNECTED", 5*time.Second)

	// qemu 7.2 shows link state nowhere in QMP or "info network", so this checks that the
	// command and its arguments are accepted for a real netdev and refused for an unknown one.
	if err := q.SetLink(ctx, "eth0", false); err != nil {
		t.Fatal(err)
	}
	if err := q.SetLink(ctx, "eth0", true); err != nil {
		t.Fatal(err)
	}
	var qe *QMPError
	if err := q.SetLink(ctx, "nosuch", false); !errors.As(err, &qe) || qe.Class != "DeviceNotFound" {
		t.Fatalf("SetLink(nosuch) = %v, want a DeviceNotFound QMPError", err)
	}
	// A cancelled context returns at once and leaves the connection usable.
	cctx, ccancel := context.WithCancel(ctx)
	ccancel()
	if _, err := q.Execute(cctx, "query-status", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Execute with cancelled ctx = %v", err)
	}
	if _, err := q.Status(ctx); err != nil {
		t.Fatalf("Status after a cancelled call: %v", err)
	}
	q.Close()

	// The echo guest ignores ACPI power-off: Stop must wait the timeout, then quit.
	start := time.Now()
	if err := Stop(ctx, s.QMPSocket, p, time.Second); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if took < time.Second {
		t.Errorf("Stop took %v, less than the power-off timeout", took)
	}
	t.Logf("Stop (power-off ignored, 1 s timeout, then quit) took %v", took)
	if p.Alive() {
		t.Fatal("qemu still alive after Stop")
	}
	if err := Stop(ctx, s.QMPSocket, p, time.Second); err != nil {
		t.Fatalf("Stop of a stopped VM: %v", err)
	}
}

func waitEvent(t *testing.T, q *QMP, name string, d time.Duration) Event {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-q.Events():
			if !ok {
				t.Fatalf("event channel closed while waiting for %s", name)
			}
			if ev.Name == name {
				return ev
			}
		case <-timer.C:
			t.Fatalf("no %s event within %v", name, d)
		}
	}
}

func TestAdoptAndStopAdopted(t *testing.T) {
	dir := shortTempDir(t)
	s := testSpec(t, dir)
	p := startTestVM(t, s)

	if _, err := Adopt(p.Pid, p.StartTime+1); err == nil || !strings.Contains(err.Error(), "reused") {
		t.Fatalf("Adopt with a wrong start time = %v, want a 'reused' error", err)
	}
	self, err := procStartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Adopt(os.Getpid(), self); err == nil || !strings.Contains(err.Error(), "not qemu") {
		t.Fatalf("Adopt of a non-qemu pid = %v, want 'not qemu'", err)
	}
	a, err := Adopt(p.Pid, p.StartTime)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Alive() {
		t.Fatal("adopted qemu not alive")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Stop through the adopted handle (no child to wait for: it polls /proc), over a QMP
	// connection the caller already holds.
	q, err := DialQMP(ctx, s.QMPSocket)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := StopWithQMP(ctx, q, a, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if a.Alive() {
		t.Fatal("qemu alive after Stop")
	}
	if err := p.Wait(ctx); err != nil { // our own child: reaped by Start's goroutine
		t.Fatal(err)
	}
	if _, err := Adopt(p.Pid, p.StartTime); err == nil {
		t.Fatal("Adopt of an exited qemu succeeded")
	}
}

func TestStopWithoutQMPEndsQemu(t *testing.T) {
	dir := shortTempDir(t)
	s := testSpec(t, dir)
	p := startTestVM(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := Stop(ctx, dir+"/nosuch.qmp", p, time.Second); err != nil {
		t.Fatal(err)
	}
	if p.Alive() {
		t.Fatal("qemu alive after Stop without QMP")
	}
}

func TestStartFailureShowsQemuError(t *testing.T) {
	dir := shortTempDir(t)
	s := testSpec(t, dir)
	s.Disk = dir + "/nosuch.qcow2"
	_, err := Start(context.Background(), testQemu, s, dir+"/qemu.log", nil)
	if err == nil || !strings.Contains(err.Error(), "nosuch.qcow2") {
		t.Fatalf("Start with a missing disk = %v, want qemu's complaint about nosuch.qcow2", err)
	}
}

func TestAttachConsole(t *testing.T) {
	dir := shortTempDir(t)
	s := testSpec(t, dir)
	startTestVM(t, s)
	waitFile(t, s.SerialLog, "READY", 10*time.Second)

	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inR.Close()
	defer inW.Close()
	var out syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res := make(chan error, 1)
	go func() { res <- AttachConsole(ctx, s.SerialSocket, inR, &out) }()

	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "ping-42") {
		if time.Now().After(deadline) {
			t.Fatalf("the guest never echoed ping-42; console shows %q", out.String())
		}
		if _, err := inW.Write([]byte("ping-42")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "Ctrl-]") {
		t.Errorf("no hint line in %q", out.String())
	}
	// The echo is both on the socket and in the log.
	waitFile(t, s.SerialLog, "ping-42", 5*time.Second)

	if _, err := inW.Write([]byte{'x', ConsoleEscape, 'y'}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-res:
		if err != nil {
			t.Fatalf("AttachConsole after Ctrl-] = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Ctrl-] did not end AttachConsole")
	}
	if strings.Contains(out.String(), "y") && strings.HasSuffix(strings.TrimSpace(out.String()), "y") {
		t.Errorf("bytes after Ctrl-] reached the guest: %q", out.String())
	}
}
