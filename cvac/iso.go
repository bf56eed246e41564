package cvac

// Why a hand-written ISO9660 writer: IOS-XE's CVAC reads iosxe_config.txt from a CD-ROM, and the one recipe
// known to work (vrnetlab) is `genisoimage -l`, which stores IOSXE_CONFIG.TXT;1 in the primary directory.
// Checked with isoinfo (TestISOInfoCrossCheck reads our ISO back with it): go-diskfs v1.9.4 truncates primary names to 8.3 (IOSXE_CO.TXT;1)
// and keeps the long name only in Rock Ridge/Joliet, and kdomanski/iso9660 writes a lower-case name.
// Nothing says IOS-XE reads either extension. Shelling out to genisoimage would add a runtime dependency
// for one file. A volume with a handful of files in its root directory is about 200 lines of ECMA-119, so
// we write exactly the genisoimage -l layout ourselves: primary volume descriptor, terminator, both path
// tables, one root directory, the files. No Rock Ridge, no Joliet, no El Torito.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// SectorSize is the ISO9660 logical block size.
const SectorSize = 2048

// padSectors is the zero padding after the last file, as genisoimage -pad (its default) writes it.
const padSectors = 150

// maxNameLen is the longest file name (without ";1") that `genisoimage -l` allows.
const maxNameLen = 31

// File is one file of the ISO's root directory.
type File struct {
	Name string // the name as the reader sees it, "IOSXE_CONFIG.TXT" (upper-cased when written)
	Data []byte
}

// ISOOptions describe the volume.
type ISOOptions struct {
	VolumeID string    // up to 32 of A-Z, 0-9, _; "CVAC" when empty
	Time     time.Time // recorded in the descriptors and directory; time.Now() when zero
}

// isoName upper-cases a file name and checks it is an ISO9660 name with full-length names allowed
// (genisoimage -l): d-characters, at most one dot, 31 characters.
func isoName(name string) (string, error) {
	up := strings.ToUpper(name)
	if up == "" || len(up) > maxNameLen || strings.Count(up, ".") > 1 || up[0] == '.' {
		return "", fmt.Errorf("cvac: file name %q must be 1..%d characters with at most one dot", name, maxNameLen)
	}
	for _, r := range up {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.') {
			return "", fmt.Errorf("cvac: file name %q has %q; ISO9660 names use letters, digits, '_' and one '.'", name, r)
		}
	}
	return up, nil
}

// WriteISO writes an ISO9660 volume holding files in its root directory, each as NAME;1 in upper case.
func WriteISO(w io.Writer, files []File, o ISOOptions) error {
	vol := o.VolumeID
	if vol == "" {
		vol = "CVAC"
	}
	if len(vol) > 32 || strings.Trim(strings.ToUpper(vol), "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != "" {
		return fmt.Errorf("cvac: volume id %q must be up to 32 of A-Z, 0-9 and _", vol)
	}
	vol = strings.ToUpper(vol)
	now := o.Time
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC()

	type entry struct {
		id     string // "NAME.EXT;1"
		data   []byte
		extent uint32
	}
	entries := make([]entry, 0, len(files))
	seen := map[string]bool{}
	for _, f := range files {
		n, err := isoName(f.Name)
		if err != nil {
			return err
		}
		if !strings.Contains(n, ".") {
			n += "." // ECMA-119 7.5.1: the separator is always present
		}
		if seen[n] {
			return fmt.Errorf("cvac: file %q is given twice", f.Name)
		}
		seen[n] = true
		entries = append(entries, entry{id: n + ";1", data: f.Data})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].id < entries[j].id })

	// Layout: 16 system sectors, PVD (16), terminator (17), L path table (18), M path table (19), root
	// directory (20..), then the files.
	const pvdSector, termSector, lPathSector, mPathSector, rootSector = 16, 17, 18, 19, 20
	dirLen := 34 + 34 // "." and ".."
	for _, e := range entries {
		dirLen += recordLen(e.id)
	}
	// Records never cross a sector boundary; with few short names they fit one sector, keep it simple.
	if dirLen > SectorSize {
		return fmt.Errorf("cvac: %d files do not fit one directory sector; put fewer files on the ISO", len(entries))
	}
	next := uint32(rootSector + 1)
	for i := range entries {
		entries[i].extent = next
		next += uint32((len(entries[i].data) + SectorSize - 1) / SectorSize)
		if len(entries[i].data) == 0 {
			entries[i].extent = 0
		}
	}
	// Like genisoimage, end with 150 zero sectors: old kernels' read-ahead fails near a CD's last sector.
	total := next + padSectors

	img := make([]byte, int(total)*SectorSize)
	sector := func(n int) []byte { return img[n*SectorSize : (n+1)*SectorSize] }

	// Root directory.
	var dir bytes.Buffer
	dir.Write(dirRecord("\x00", rootSector, SectorSize, true, now))
	dir.Write(dirRecord("\x01", rootSector, SectorSize, true, now))
	for _, e := range entries {
		dir.Write(dirRecord(e.id, e.extent, uint32(len(e.data)), false, now))
	}
	copy(sector(rootSector), dir.Bytes())
	for _, e := range entries {
		copy(img[int(e.extent)*SectorSize:], e.data)
	}

	// Path tables: one entry, the root (directory number 1, its own parent).
	pt := func(order binary.ByteOrder) []byte {
		b := make([]byte, 10)
		b[0] = 1 // identifier length
		order.PutUint32(b[2:6], rootSector)
		order.PutUint16(b[6:8], 1)
		return b // identifier 0x00 and one pad byte
	}
	copy(sector(lPathSector), pt(binary.LittleEndian))
	copy(sector(mPathSector), pt(binary.BigEndian))

	// Primary volume descriptor (ECMA-119 8.4).
	p := sector(pvdSector)
	p[0] = 1
	copy(p[1:6], "CD001")
	p[6] = 1
	fill(p[8:40], "LINUX")
	fill(p[40:72], vol)
	both32(p[80:88], total)
	both16(p[120:124], 1)
	both16(p[124:128], 1)
	both16(p[128:132], SectorSize)
	both32(p[132:140], 10)
	binary.LittleEndian.PutUint32(p[140:144], lPathSector)
	binary.BigEndian.PutUint32(p[148:152], mPathSector)
	copy(p[156:190], dirRecord("\x00", rootSector, SectorSize, true, now))
	fill(p[190:318], "")
	fill(p[318:446], "")
	fill(p[446:574], "CLOONIX-LABD")
	fill(p[574:702], "CLOONIX-LABD CVAC DAY-0")
	fill(p[702:813], "")
	copy(p[813:830], decDate(now))
	copy(p[830:847], decDate(now))
	copy(p[847:864], decDate(time.Time{}))
	copy(p[864:881], decDate(now))
	p[881] = 1

	// Volume descriptor set terminator.
	t := sector(termSector)
	t[0] = 255
	copy(t[1:6], "CD001")
	t[6] = 1

	_, err := w.Write(img)
	if err != nil {
		return fmt.Errorf("cvac: write ISO: %w", err)
	}
	return nil
}

// WriteISOFile writes the ISO to path atomically (0600).
func WriteISOFile(path string, files []File, o ISOOptions) error {
	var b bytes.Buffer
	if err := WriteISO(&b, files, o); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".day0-*.iso")
	if err != nil {
		return fmt.Errorf("cvac: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("cvac: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cvac: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cvac: %w", err)
	}
	return nil
}

// WriteDay0ISO renders c and writes it as IOSXE_CONFIG.TXT;1 on an ISO at path.
func WriteDay0ISO(path string, c Config) error {
	text, err := Render(c)
	if err != nil {
		return err
	}
	return WriteISOFile(path, []File{{Name: FileName, Data: text}}, ISOOptions{})
}

func recordLen(id string) int {
	n := 33 + len(id)
	if n%2 == 1 {
		n++
	}
	return n
}

// dirRecord is one directory record (ECMA-119 9.1) without system-use data.
func dirRecord(id string, extent, size uint32, isDir bool, t time.Time) []byte {
	b := make([]byte, recordLen(id))
	b[0] = byte(len(b))
	both32(b[2:10], extent)
	both32(b[10:18], size)
	b[18] = byte(t.Year() - 1900)
	b[19] = byte(t.Month())
	b[20] = byte(t.Day())
	b[21] = byte(t.Hour())
	b[22] = byte(t.Minute())
	b[23] = byte(t.Second())
	b[24] = 0 // UTC
	if isDir {
		b[25] = 2
	}
	both16(b[28:32], 1)
	b[32] = byte(len(id))
	copy(b[33:], id)
	return b
}

// decDate is the 17-byte date of volume descriptors; the zero time is "not specified".
func decDate(t time.Time) []byte {
	if t.IsZero() {
		return append([]byte(strings.Repeat("0", 16)), 0)
	}
	return append([]byte(t.Format("20060102150405")+"00"), 0)
}

func fill(dst []byte, s string) {
	n := copy(dst, s)
	for i := n; i < len(dst); i++ {
		dst[i] = ' '
	}
}

func both16(b []byte, v uint16) {
	binary.LittleEndian.PutUint16(b[0:2], v)
	binary.BigEndian.PutUint16(b[2:4], v)
}

func both32(b []byte, v uint32) {
	binary.LittleEndian.PutUint32(b[0:4], v)
	binary.BigEndian.PutUint32(b[4:8], v)
}
