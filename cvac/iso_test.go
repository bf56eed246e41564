package cvac

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
)

// TestDay0ISOReadBack writes the router's day-0 ISO and reads it back with ReadISO, which knows no
// extension: the primary name must be the full IOSXE_CONFIG.TXT;1 and the data the rendered config.
func TestDay0ISOReadBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "day0.iso")
	c := goldenConfig(t)
	if err := WriteDay0ISO(path, c); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, err := ReadISO(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Files) != 1 || v.Files[0].Name != "IOSXE_CONFIG.TXT;1" {
		var names []string
		for _, f := range v.Files {
			names = append(names, f.Name)
		}
		t.Fatalf("root directory holds %q, want exactly [IOSXE_CONFIG.TXT;1]", names)
	}
	want, _ := Render(c)
	if !bytes.Equal(v.Files[0].Data, want) {
		t.Errorf("file on the ISO differs from the rendered config:\n%s", v.Files[0].Data)
	}
	if v.ID != "CVAC" {
		t.Errorf("volume id %q", v.ID)
	}
	// The same golden text as TestRenderGolden: the ISO carries exactly the golden file.
	golden(t, "iosxe_config.golden", v.Files[0].Data)
}

// TestReaderIgnoresRockRidge proves the reader is the strict kind the router may be: on a go-diskfs ISO
// with Rock Ridge, it sees only the truncated primary name, which is why this package writes its own ISO.
func TestReaderIgnoresRockRidge(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	os.Mkdir(work, 0o755)
	if err := os.WriteFile(filepath.Join(work, FileName), []byte("hostname x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "rr.iso"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fs, err := iso9660.Create(file.New(f, false), 0, 0, 2048, work)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Finalize(iso9660.FinalizeOptions{RockRidge: true, VolumeIdentifier: "cidata"}); err != nil {
		t.Fatal(err)
	}
	v, err := ReadISO(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := v.File("IOSXE_CONFIG.TXT;1"); ok {
		t.Fatal("reader found the full name on a go-diskfs ISO: it must be reading Rock Ridge")
	}
	if len(v.Files) != 1 || !strings.HasPrefix(v.Files[0].Name, "IOSXE_CO") {
		t.Errorf("want the 8.3 primary name IOSXE_CO…, got %+v", v.Files)
	}
}

func TestWriteISORejects(t *testing.T) {
	cases := map[string][]File{
		"long name":  {{Name: strings.Repeat("A", 28) + ".TXT"}},
		"two dots":   {{Name: "a.b.c"}},
		"slash":      {{Name: "dir/x.txt"}},
		"dash":       {{Name: "iosxe-config.txt"}},
		"duplicate":  {{Name: "a.txt"}, {Name: "A.TXT"}},
		"empty name": {{Name: ""}},
	}
	for name, files := range cases {
		if err := WriteISO(&bytes.Buffer{}, files, ISOOptions{}); err == nil {
			t.Errorf("%s: WriteISO accepted %+v", name, files)
		}
	}
	if err := WriteISO(&bytes.Buffer{}, nil, ISOOptions{VolumeID: "bad-id"}); err == nil {
		t.Error("volume id with '-' accepted")
	}
}

func TestWriteISOSeveralFiles(t *testing.T) {
	files := []File{{Name: "b.txt", Data: bytes.Repeat([]byte("b"), 5000)}, {Name: "a.txt", Data: []byte("a")},
		{Name: "EMPTY.TXT"}, {Name: "NOEXT", Data: []byte("n")}}
	var b bytes.Buffer
	when := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := WriteISO(&b, files, ISOOptions{VolumeID: "lab_1", Time: when}); err != nil {
		t.Fatal(err)
	}
	v, err := ReadISO(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A.TXT;1": "a", "B.TXT;1": strings.Repeat("b", 5000), "EMPTY.TXT;1": "", "NOEXT.;1": "n"}
	if len(v.Files) != len(want) || v.ID != "LAB_1" {
		t.Fatalf("got %d files, volume %q", len(v.Files), v.ID)
	}
	for i, f := range v.Files {
		if w, ok := want[f.Name]; !ok || string(f.Data) != w {
			t.Errorf("file %d %q: %d bytes, want %d", i, f.Name, len(f.Data), len(w))
		}
		if i > 0 && v.Files[i-1].Name > f.Name {
			t.Errorf("directory not sorted: %q after %q", f.Name, v.Files[i-1].Name)
		}
	}
	var again bytes.Buffer
	WriteISO(&again, files, ISOOptions{VolumeID: "lab_1", Time: when})
	if !bytes.Equal(b.Bytes(), again.Bytes()) {
		t.Error("same input and time gave different bytes")
	}
	if b.Len()%SectorSize != 0 {
		t.Errorf("size %d is not whole sectors", b.Len())
	}
}

// TestISOInfoCrossCheck reads the ISO with isoinfo (genisoimage package), an independent reader, and
// compares its listing with the one of an ISO that `genisoimage -l` itself made: the same primary name.
func TestISOInfoCrossCheck(t *testing.T) {
	if _, err := exec.LookPath("isoinfo"); err != nil {
		t.Skip("isoinfo not installed (apt-get install genisoimage); the cross-check with an independent reader did not run")
	}
	dir := t.TempDir()
	ours := filepath.Join(dir, "ours.iso")
	c := goldenConfig(t)
	if err := WriteDay0ISO(ours, c); err != nil {
		t.Fatal(err)
	}
	names := func(iso string) []string {
		out, err := exec.Command("isoinfo", "-l", "-i", iso).CombinedOutput()
		if err != nil {
			t.Fatalf("isoinfo -l -i %s: %v\n%s", iso, err, out)
		}
		// isoinfo -l lines end with the name after the "[ extent flags]" column.
		var n []string
		for _, l := range strings.Split(string(out), "\n") {
			if i := strings.LastIndex(l, "]"); i >= 0 {
				if f := strings.Fields(l[i+1:]); len(f) == 1 && f[0] != "." && f[0] != ".." {
					n = append(n, f[0])
				}
			}
		}
		return n
	}
	got := names(ours)
	if strings.Join(got, ",") != "IOSXE_CONFIG.TXT;1" {
		t.Errorf("isoinfo lists %q on our ISO, want [IOSXE_CONFIG.TXT;1]", got)
	}
	out, err := exec.Command("isoinfo", "-i", ours, "-x", "/IOSXE_CONFIG.TXT;1").Output()
	if err != nil {
		t.Fatalf("isoinfo -x: %v", err)
	}
	want, _ := Render(c)
	if !bytes.Equal(out, want) {
		t.Errorf("isoinfo extracts different content:\n%s", out)
	}
	d, _ := exec.Command("isoinfo", "-d", "-i", ours).Output()
	for _, w := range []string{"Volume id: CVAC", "Logical block size is: 2048", "NO Rock Ridge present"} {
		if !strings.Contains(string(d), w) {
			t.Errorf("isoinfo -d lacks %q:\n%s", w, d)
		}
	}
	if _, err := exec.LookPath("genisoimage"); err != nil {
		t.Log("genisoimage not installed: not compared with genisoimage -l")
		return
	}
	src := filepath.Join(dir, "src")
	os.Mkdir(src, 0o755)
	os.WriteFile(filepath.Join(src, FileName), want, 0o644)
	ref := filepath.Join(dir, "ref.iso")
	if out, err := exec.Command("genisoimage", "-quiet", "-l", "-o", ref, src).CombinedOutput(); err != nil {
		t.Fatalf("genisoimage -l: %v\n%s", err, out)
	}
	if r := names(ref); strings.Join(r, ",") != strings.Join(got, ",") {
		t.Errorf("genisoimage -l writes %q, we write %q", r, got)
	}
	// Our reader must read genisoimage's ISO the same way.
	rf, _ := os.Open(ref)
	defer rf.Close()
	v, err := ReadISO(rf)
	if err != nil {
		t.Fatalf("ReadISO(genisoimage -l ISO): %v", err)
	}
	if data, ok := v.File("IOSXE_CONFIG.TXT;1"); !ok || !bytes.Equal(data, want) {
		t.Errorf("ReadISO on genisoimage's ISO: %+v", v.Files)
	}
}
