package vm

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestCreateOverlay(t *testing.T) {
	needTool(t, QemuImg)
	ctx := context.Background()
	dir := shortTempDir(t)
	base := filepath.Join(dir, "base.qcow2")
	overlay := filepath.Join(dir, "vm1.qcow2")

	err := CreateOverlay(ctx, base, overlay)
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing base: err = %v, want a 'missing' error", err)
	}
	if out, err := exec.Command(QemuImg, "create", "-q", "-f", "qcow2", base, "8M").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// Put known data in the base, then hash it.
	if out, err := exec.Command("qemu-io", "-c", "write -P 0xab 0 64k", base).CombinedOutput(); err != nil {
		t.Fatalf("qemu-io: %v: %s", err, out)
	}
	before := fileHash(t, base)

	if err := CreateOverlay(ctx, base, overlay); err != nil {
		t.Fatal(err)
	}
	info, err := qemuImgInfo(ctx, overlay)
	if err != nil {
		t.Fatal(err)
	}
	if info.Format != "qcow2" || info.FullBackingFilename != base || info.BackingFormat != "qcow2" {
		t.Fatalf("overlay info = %+v, want qcow2 backed by %s (qcow2)", info, base)
	}
	// Idempotent.
	if err := CreateOverlay(ctx, base, overlay); err != nil {
		t.Fatalf("second CreateOverlay: %v", err)
	}
	// Write through the overlay, read it back, and check the base did not change.
	if out, err := exec.Command("qemu-io", "-c", "write -P 0xcd 0 1M", overlay).CombinedOutput(); err != nil {
		t.Fatalf("qemu-io write: %v: %s", err, out)
	}
	out, err := exec.Command("qemu-io", "-c", "read -P 0xcd 0 1M", overlay).CombinedOutput()
	if err != nil || strings.Contains(string(out), "Pattern verification failed") {
		t.Fatalf("overlay read-back: %v: %s", err, out)
	}
	if fileHash(t, base) != before {
		t.Fatal("the base image changed after writing through the overlay")
	}
	// Another base: refused.
	other := filepath.Join(dir, "other.qcow2")
	if out, err := exec.Command(QemuImg, "create", "-q", "-f", "qcow2", other, "8M").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if err := CreateOverlay(ctx, other, overlay); !errors.Is(err, ErrOtherBase) || !strings.Contains(err.Error(), "delete it") {
		t.Fatalf("overlay with another base: err = %v, want refusal", err)
	}
	// A raw base is refused with a hint.
	raw := filepath.Join(dir, "raw.img")
	if err := os.WriteFile(raw, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CreateOverlay(ctx, raw, filepath.Join(dir, "r.qcow2")); err == nil || !strings.Contains(err.Error(), "not qcow2") {
		t.Fatalf("raw base: err = %v, want 'not qcow2'", err)
	}
}
