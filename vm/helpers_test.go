package vm

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const testQemu = "qemu-system-x86_64"

// needTool fails the test (not skips) when CI lacks a tool the package depends on, unless
// CLOONIX_SKIP_QEMU_TESTS=1 says qemu is absent on purpose.
func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CLOONIX_SKIP_QEMU_TESTS") == "1" {
			t.Skipf("%s not installed and CLOONIX_SKIP_QEMU_TESTS=1", name)
		}
		t.Fatalf("%s is not installed: %v (install qemu-system-x86 and qemu-utils)", name, err)
	}
}

// shortTempDir gives a directory with a short path, so socket paths stay under 108 bytes.
func shortTempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "vmt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// echoKernel is a multiboot payload that prints READY on COM1 and then echoes every byte it
// receives, forever. It ignores ACPI, like a guest that will not power off.
func echoKernel() []byte {
	code := serialPrint("READY\n")
	code = append(code,
		0x66, 0xBA, 0xFD, 0x03, // mov dx, 0x3fd (line status)
		0xEC,       // in al, dx
		0xA8, 0x01, // test al, 1 (data ready)
		0x74, 0xFB, // jz in
		0x66, 0xBA, 0xF8, 0x03, // mov dx, 0x3f8
		0xEC,       // in al, dx
		0xEE,       // out dx, al
		0xEB, 0xEF, // jmp start
	)
	return multibootImage(code)
}

// testSpec builds a runnable TCG spec in dir with one NIC, booting echoKernel.
func testSpec(t *testing.T, dir string) Spec {
	t.Helper()
	needTool(t, testQemu)
	needTool(t, QemuImg)
	base := filepath.Join(dir, "base.qcow2")
	if out, err := exec.Command(QemuImg, "create", "-q", "-f", "qcow2", base, "16M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v: %s", err, out)
	}
	disk := filepath.Join(dir, "disk.qcow2")
	if err := CreateOverlay(context.Background(), base, disk); err != nil {
		t.Fatal(err)
	}
	kernel := filepath.Join(dir, "echo.bin")
	if err := os.WriteFile(kernel, echoKernel(), 0o644); err != nil {
		t.Fatal(err)
	}
	return Spec{
		Name: "t1", Accel: "tcg", MemoryMiB: 32, CPUs: 1, Disk: disk, Kernel: kernel,
		NICs:      []NIC{{ID: "eth0", MAC: mustMAC(t, "02:4e:00:00:00:01"), Socket: filepath.Join(dir, "eth0.sock")}},
		QMPSocket: filepath.Join(dir, "t1.qmp"), SerialSocket: filepath.Join(dir, "t1.serial"),
		SerialLog: filepath.Join(dir, "console.log"), PIDFile: filepath.Join(dir, "t1.pid"),
	}
}

// startTestVM starts qemu and makes sure it is killed at the end of the test.
func startTestVM(t *testing.T, s Spec) *Process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := Start(ctx, testQemu, s, filepath.Join(filepath.Dir(s.QMPSocket), "qemu.log"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kill(context.Background(), p) })
	return p
}

// waitFile waits until path contains want.
func waitFile(t *testing.T, path, want string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not contain %q within %v; it holds %q", path, want, d, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
