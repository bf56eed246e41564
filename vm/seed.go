package vm

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
)

// SeedLabel is the volume label cloud-init's NoCloud datasource looks for.
const SeedLabel = "cidata"

// SeedConfig is the day-0 content of a Linux VM's NoCloud seed.
type SeedConfig struct {
	InstanceID     string   // meta-data instance-id; "" derives one from the content, so a change re-runs day-0
	Hostname       string   // the VM name
	AuthorizedKeys []string // the lab's public keys, one OpenSSH line each
	UserData       []byte   // the user's own day-0 file (#cloud-config), optional
}

var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// UserDataText returns the user-data file: a #cloud-config with hostname and
// ssh_authorized_keys, then the user's own #cloud-config body, if any.
//
// Merge rule: the user's file is appended after ours, without its "#cloud-config" line and
// under a comment marking where it starts. The image's guest parser reads top-level keys in
// order, keeps the last value of a scalar (so the user's hostname wins) and appends list items
// (so the user's ssh_authorized_keys are added to the lab's key). Stock cloud-init (PyYAML)
// instead keeps only the last occurrence of a duplicated key, so a user file that sets
// ssh_authorized_keys there replaces the lab key; such a file should list keys under users:.
// A user file that is not #cloud-config (a shell script, a MIME archive) is refused.
func (c SeedConfig) UserDataText() ([]byte, error) {
	if !hostnameRE.MatchString(c.Hostname) {
		return nil, fmt.Errorf("seed: hostname %q is not a valid host name (letters, digits, '-', at most 63)", c.Hostname)
	}
	var b bytes.Buffer
	b.WriteString("#cloud-config\n")
	fmt.Fprintf(&b, "hostname: %s\n", c.Hostname)
	if hasKey(c.AuthorizedKeys) {
		b.WriteString("ssh_authorized_keys:\n")
		for _, k := range c.AuthorizedKeys {
			k = strings.TrimSpace(k)
			if k == "" {
				continue // an absent key (e.g. no RSA key) is not an error
			}
			if strings.ContainsAny(k, "\r\n") || strings.Contains(k, " #") || strings.Contains(k, ": ") || strings.HasPrefix(k, "#") {
				return nil, fmt.Errorf("seed: authorized key %q is not one OpenSSH public key line (no newlines, ' #' or ': ')", k)
			}
			fmt.Fprintf(&b, "  - %s\n", k)
		}
	}
	if len(c.UserData) > 0 {
		first, body, _ := bytes.Cut(c.UserData, []byte("\n"))
		if strings.TrimSpace(string(first)) != "#cloud-config" {
			return nil, fmt.Errorf("seed: day-0 file must start with a #cloud-config line (it starts with %q); put scripts under runcmd:", truncate(string(first), 40))
		}
		b.WriteString("# --- the user's day-0 file follows ---\n")
		b.Write(bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n")))
		if len(body) > 0 && body[len(body)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.Bytes(), nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// WriteNoCloudSeed writes an ISO9660 (Rock Ridge) volume labelled "cidata" holding meta-data and
// user-data (see UserDataText) to path, atomically. It needs no external tool.
func WriteNoCloudSeed(path string, c SeedConfig) error {
	ud, err := c.UserDataText()
	if err != nil {
		return fmt.Errorf("write seed %s: %w", path, err)
	}
	id := c.InstanceID
	if id == "" {
		sum := sha256.Sum256(ud)
		id = c.Hostname + "-" + hex.EncodeToString(sum[:6])
	}
	if strings.ContainsAny(id, "\r\n:#") {
		return fmt.Errorf("write seed %s: instance id %q must not contain newlines, ':' or '#'", path, id)
	}
	md := fmt.Sprintf("instance-id: %s\nlocal-hostname: %s\n", id, c.Hostname)
	return writeISO(path, SeedLabel, map[string][]byte{"meta-data": []byte(md), "user-data": ud})
}

// minISOSize is the smallest seed written: 1 MiB, well above what block-device probers read.
const minISOSize = 1 << 20

// writeISO writes files (flat names) into a new ISO9660 image with Rock Ridge names at path.
func writeISO(path, label string, files map[string][]byte) error {
	dir := filepath.Dir(path)
	work, err := os.MkdirTemp(dir, ".iso-work-")
	if err != nil {
		return fmt.Errorf("write iso %s: %w", path, err)
	}
	defer os.RemoveAll(work)
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(work, name), data, 0o644); err != nil {
			return fmt.Errorf("write iso %s: %w", path, err)
		}
	}
	f, err := os.CreateTemp(dir, ".iso-*.tmp")
	if err != nil {
		return fmt.Errorf("write iso %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	defer f.Close()
	isofs, err := iso9660.Create(file.New(f, false), 0, 0, 2048, work)
	if err != nil {
		return fmt.Errorf("write iso %s: %w", path, err)
	}
	if err := isofs.Finalize(iso9660.FinalizeOptions{RockRidge: true, VolumeIdentifier: label}); err != nil {
		return fmt.Errorf("write iso %s: finalize: %w", path, err)
	}
	// Busybox's findfs (the tiny guest's day-0 reader) probes a device only if it can read its first
	// 0x11000 bytes, and a small seed is ~48 KiB: pad it. ISO readers ignore data past the volume.
	if st, err := f.Stat(); err == nil && st.Size() < minISOSize {
		if err := f.Truncate(minISOSize); err != nil {
			return fmt.Errorf("write iso %s: pad: %w", path, err)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write iso %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("write iso %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write iso %s: %w", path, err)
	}
	return nil
}

// ReadSeed reads an ISO written by WriteNoCloudSeed back: its volume label and its root files
// by (Rock Ridge) name. Tests and `status` use it.
func ReadSeed(path string) (label string, files map[string][]byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", nil, fmt.Errorf("read seed: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", nil, fmt.Errorf("read seed: %w", err)
	}
	isofs, err := iso9660.Read(file.New(f, true), fi.Size(), 0, 2048)
	if err != nil {
		return "", nil, fmt.Errorf("read seed %s: %w", path, err)
	}
	entries, err := isofs.ReadDir(".")
	if err != nil {
		return "", nil, fmt.Errorf("read seed %s: %w", path, err)
	}
	files = map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := fs.ReadFile(isofs, e.Name())
		if err != nil {
			return "", nil, fmt.Errorf("read seed %s: %s: %w", path, e.Name(), err)
		}
		files[e.Name()] = b
	}
	return strings.TrimRight(isofs.Label(), " \x00"), files, nil
}

func hasKey(keys []string) bool {
	for _, k := range keys {
		if strings.TrimSpace(k) != "" {
			return true
		}
	}
	return false
}
