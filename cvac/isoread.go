package cvac

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Volume is what ReadISO finds on an ISO9660 volume.
type Volume struct {
	ID    string // volume identifier, trailing blanks removed
	Files []File // root-directory files, each named by its primary identifier ("IOSXE_CONFIG.TXT;1")
}

// ReadISO reads the primary volume descriptor and the root directory of an ISO9660 image, as a reader that
// knows no extension does: names are the primary identifiers, byte for byte; Rock Ridge system-use data and
// Joliet descriptors are ignored. Subdirectories are skipped. It checks the fields a strict reader relies
// on (both-endian copies agree, block size 2048, records inside the directory extent).
func ReadISO(r io.ReaderAt) (Volume, error) {
	var v Volume
	pvd := make([]byte, SectorSize)
	for s := int64(16); ; s++ {
		if _, err := r.ReadAt(pvd, s*SectorSize); err != nil {
			return v, fmt.Errorf("iso: read volume descriptor %d: %w", s, err)
		}
		if string(pvd[1:6]) != "CD001" {
			return v, fmt.Errorf("iso: sector %d is not a volume descriptor (no CD001)", s)
		}
		if pvd[0] == 1 {
			break
		}
		if pvd[0] == 255 || s > 64 {
			return v, errors.New("iso: no primary volume descriptor")
		}
	}
	bs, err := getBoth16(pvd[128:132])
	if err != nil || bs != SectorSize {
		return v, fmt.Errorf("iso: logical block size %d (%v); want 2048", bs, err)
	}
	if _, err := getBoth32(pvd[80:88]); err != nil {
		return v, fmt.Errorf("iso: volume space size: %w", err)
	}
	v.ID = strings.TrimRight(string(pvd[40:72]), " ")
	root := pvd[156:190]
	if root[0] != 34 || root[25]&2 == 0 {
		return v, errors.New("iso: bad root directory record in the primary volume descriptor")
	}
	extent, err := getBoth32(root[2:10])
	if err != nil {
		return v, fmt.Errorf("iso: root extent: %w", err)
	}
	size, err := getBoth32(root[10:18])
	if err != nil {
		return v, fmt.Errorf("iso: root size: %w", err)
	}
	dir := make([]byte, size)
	if _, err := r.ReadAt(dir, int64(extent)*SectorSize); err != nil {
		return v, fmt.Errorf("iso: read root directory: %w", err)
	}
	for off := 0; off < len(dir); {
		n := int(dir[off])
		if n == 0 { // the rest of this sector is padding
			off = (off/SectorSize + 1) * SectorSize
			continue
		}
		if n < 34 || off+n > len(dir) || off/SectorSize != (off+n-1)/SectorSize {
			return v, fmt.Errorf("iso: bad directory record at offset %d (length %d)", off, n)
		}
		rec := dir[off : off+n]
		off += n
		idLen := int(rec[32])
		if 33+idLen > n {
			return v, fmt.Errorf("iso: directory record identifier overruns its record")
		}
		id := string(rec[33 : 33+idLen])
		if id == "\x00" || id == "\x01" || rec[25]&2 != 0 {
			continue
		}
		fe, err := getBoth32(rec[2:10])
		if err != nil {
			return v, fmt.Errorf("iso: %s extent: %w", id, err)
		}
		fs, err := getBoth32(rec[10:18])
		if err != nil {
			return v, fmt.Errorf("iso: %s size: %w", id, err)
		}
		data := make([]byte, fs)
		if fs > 0 {
			if _, err := r.ReadAt(data, int64(fe)*SectorSize); err != nil {
				return v, fmt.Errorf("iso: read %s: %w", id, err)
			}
		}
		v.Files = append(v.Files, File{Name: id, Data: data})
	}
	return v, nil
}

// File returns the data of the file with the given primary identifier.
func (v Volume) File(id string) ([]byte, bool) {
	for _, f := range v.Files {
		if f.Name == id {
			return f.Data, true
		}
	}
	return nil, false
}

func getBoth16(b []byte) (uint16, error) {
	le, be := binary.LittleEndian.Uint16(b[0:2]), binary.BigEndian.Uint16(b[2:4])
	if le != be {
		return 0, fmt.Errorf("both-endian field disagrees (%d vs %d)", le, be)
	}
	return le, nil
}

func getBoth32(b []byte) (uint32, error) {
	le, be := binary.LittleEndian.Uint32(b[0:4]), binary.BigEndian.Uint32(b[4:8])
	if le != be {
		return 0, fmt.Errorf("both-endian field disagrees (%d vs %d)", le, be)
	}
	return le, nil
}
