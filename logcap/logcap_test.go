package logcap

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestEnforceRotatesAndWriterContinues(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "console.log")
	w, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600) // as qemu opens it
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p := Policy{MaxBytes: 1000, Backups: 2}
	for gen := byte('a'); gen <= 'd'; gen++ {
		if _, err := w.Write(bytes.Repeat([]byte{gen}, 1500)); err != nil {
			t.Fatal(err)
		}
		if rotated, err := p.Enforce(path); err != nil || !rotated {
			t.Fatalf("generation %c: rotated %v, err %v", gen, rotated, err)
		}
	}
	if _, err := w.Write([]byte("after")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "after" {
		t.Errorf("the writer's next write is not at the start of the truncated file: %q", b)
	}
	for name, want := range map[string]byte{"console.log.1": 'd', "console.log.2": 'c'} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || len(b) != 1500 || b[0] != want {
			t.Errorf("%s: %d bytes starting %q, %v; want 1500 of %c", name, len(b), b[:min(1, len(b))], err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "console.log.3")); err == nil {
		t.Error("more backups than the policy keeps")
	}
	if rotated, _ := p.Enforce(path); rotated {
		t.Error("a small file was rotated")
	}
	if rotated, err := p.Enforce(filepath.Join(dir, "missing")); rotated || err != nil {
		t.Errorf("missing file: %v %v", rotated, err)
	}
}
