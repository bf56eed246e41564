package main

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommonDir(t *testing.T) {
	for _, c := range []struct {
		paths []string
		want  string
	}{
		{[]string{"/a/b/lab.toml"}, "/a/b"},
		{[]string{"/a/b/lab.toml", "/a/b/cfg/r1.cfg"}, "/a/b"},
		{[]string{"/a/b/lab.toml", "/a/c/r1.cfg"}, "/a"},
		{[]string{"/a/bc/lab.toml", "/a/b/r1.cfg"}, "/a"},
		{[]string{"/x/lab.toml", "/y/r1.cfg"}, "/"},
	} {
		if got := commonDir(c.paths); got != c.want {
			t.Errorf("commonDir(%v) = %s, want %s", c.paths, got, c.want)
		}
	}
}

// tarOf packs entries (name → content; a name ending in "/" is a directory, "->x" a symlink to x).
func tarOf(t *testing.T, names ...string) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, n := range names {
		h := &tar.Header{Name: n, Mode: 0o644, Size: 2, Typeflag: tar.TypeReg}
		if target, ok := strings.CutPrefix(n, "->"); ok {
			h = &tar.Header{Name: "link", Linkname: target, Typeflag: tar.TypeSymlink}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte("hi"))
		}
	}
	tw.Close()
	return b.Bytes()
}

// TestReceiveUpload: a client's upload lands whole and private, replaces the last one, and an entry that
// could escape the directory (.., absolute, a symlink) is refused with nothing written.
func TestReceiveUpload(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "upload")
	if err := receiveUpload(bytes.NewReader(tarOf(t, "files/lab.toml", "files/cfg/r1.cfg", "client_keys.pub")), dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "files", "cfg", "r1.cfg"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("r1.cfg: %v %v", fi, err)
	}
	if err := receiveUpload(bytes.NewReader(tarOf(t, "files/lab.toml")), dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "files", "cfg")); !os.IsNotExist(err) {
		t.Errorf("the second upload kept the first one's files: %v", err)
	}
	for _, bad := range [][]string{{"../evil"}, {"/etc/evil"}, {"files/../../evil"}, {"->/etc/passwd"}, {"files/./x"}} {
		err := receiveUpload(bytes.NewReader(tarOf(t, bad...)), dir)
		if err == nil {
			t.Errorf("upload %v accepted", bad)
		}
		if _, serr := os.Stat(filepath.Join(dir, "files", "lab.toml")); serr != nil {
			t.Errorf("a refused upload %v damaged the last good one: %v", bad, serr)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(dir)), "evil")); !os.IsNotExist(err) {
		t.Error("an upload wrote outside its directory")
	}
}
