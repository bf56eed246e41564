package images

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestInitramfsArchive(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skipf("busybox not installed: %v", err)
	}
	dir := t.TempDir()
	ko := filepath.Join(dir, "fake.ko")
	os.WriteFile(ko, []byte("not really a module"), 0o644)
	out := filepath.Join(dir, "initrd.img")
	if err := writeInitramfs(out, bb, []string{ko}); err != nil {
		t.Fatal(err)
	}
	list, err := exec.Command("sh", "-c", "zcat "+out+" | "+bb+" cpio -t -v").CombinedOutput()
	if err != nil {
		t.Fatalf("cpio cannot read the initramfs: %v\n%s", err, list)
	}
	s := string(list)
	for _, want := range []string{"crw------- ", " dev/console", "-rwxr-xr-x ", " init", " bin/busybox",
		"lib/modules/fake.ko", "lib/modules/order", "bin/sh -> busybox", " 0/0 "} {
		if !strings.Contains(s, want) {
			t.Errorf("initramfs listing lacks %q:\n%s", want, s)
		}
	}
	x := filepath.Join(dir, "x")
	os.MkdirAll(x, 0o755)
	cmd := exec.Command("sh", "-c", "zcat "+out+" | "+bb+" cpio -i -d init lib/modules/order")
	cmd.Dir = x
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("extract: %v %s", err, b)
	}
	if b, _ := os.ReadFile(filepath.Join(x, "lib/modules/order")); string(b) != "fake.ko\n" {
		t.Errorf("order file = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(x, "init")); string(b) != string(guestFile("initramfs-init")) {
		t.Errorf("init differs from the embedded script")
	}
}
