package images

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeModule makes an ELF object with a .modinfo section (as, objcopy).
func fakeModule(t *testing.T, dir, name, depends string) {
	t.Helper()
	for _, tool := range []string{"as", "objcopy"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (binutils): %v", tool, err)
		}
	}
	obj := filepath.Join(dir, name+".o")
	cmd := exec.Command("as", "-o", obj)
	cmd.Stdin = strings.NewReader("")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("as: %v %s", err, b)
	}
	info := filepath.Join(dir, name+".modinfo")
	os.WriteFile(info, []byte("license=GPL\x00depends="+depends+"\x00name="+name+"\x00"), 0o644)
	if b, err := exec.Command("objcopy", "--add-section", ".modinfo="+info, obj, filepath.Join(dir, name+".ko")).CombinedOutput(); err != nil {
		t.Fatalf("objcopy: %v %s", err, b)
	}
	os.Remove(obj)
	os.Remove(info)
}

func TestModuleOrder(t *testing.T) {
	kroot := t.TempDir()
	mdir := filepath.Join(kroot, "lib/modules/6.1.0-test/kernel")
	os.MkdirAll(mdir, 0o755)
	fakeModule(t, mdir, "virtio_ring", "")
	fakeModule(t, mdir, "virtio", "virtio_ring")
	fakeModule(t, mdir, "virtio_pci", "virtio,virtio_ring")
	fakeModule(t, mdir, "virtio_blk", "virtio,virtio_ring")
	fakeModule(t, mdir, "virtio-rng", "virtio_ring,virtio")
	fakeModule(t, mdir, "loop", "crc32c_generic")
	os.WriteFile(filepath.Join(kroot, "lib/modules/6.1.0-test/modules.builtin"), []byte("kernel/fs/ext4/ext4.ko\n"), 0o644)
	idx, err := indexModules(kroot)
	if err != nil {
		t.Fatal(err)
	}
	got, err := idx.order([]string{"virtio_pci", "virtio_blk", "virtio_rng", "ext4"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		names = append(names, modName(p))
	}
	if strings.Join(names, " ") != "virtio_ring virtio virtio_pci virtio_blk virtio_rng" {
		t.Fatalf("order = %v", names)
	}
	late, err := idx.order([]string{"virtio_blk"}, map[string]bool{"virtio": true, "virtio_ring": true})
	if err != nil || len(late) != 1 || modName(late[0]) != "virtio_blk" {
		t.Fatalf("skip set not honoured: %v %v", late, err)
	}
	if _, err := idx.order([]string{"loop"}, nil); err == nil || !strings.Contains(err.Error(), "crc32c_generic") {
		t.Fatalf("a missing dependency must be named, got %v", err)
	}
}
