// Package logcap keeps a log that another process appends to (qemu's console log and its stderr, the
// daemon's own log) within a size, as virtlogd does for libvirt: when the file passes MaxBytes its content is
// copied to NAME.1 (older copies move to NAME.2 … up to Backups) and the file is truncated in place. The
// writer keeps its descriptor: it opened the file with O_APPEND, so its next write lands at the new end. What
// it writes between the copy and the truncation is lost, which is the price of not owning the writer.
package logcap

import (
	"fmt"
	"io"
	"os"
	"strconv"
)

// Policy is how big a log may grow and how many old copies are kept.
type Policy struct {
	MaxBytes int64 // the file is rotated once it is larger
	Backups  int   // old copies kept as NAME.1 (newest) … NAME.Backups; at least 1
}

// Default is the daemon's policy for every log it watches: 2 MiB and 3 old copies, so a log takes at most
// about 8 MiB whatever the guest or qemu writes (virtlogd's defaults are 2 MiB and 3 backups too).
var Default = Policy{MaxBytes: 2 << 20, Backups: 3}

// Enforce rotates path if it is larger than p.MaxBytes and reports whether it did. A missing file is no
// error.
func (p Policy) Enforce(path string) (bool, error) {
	st, err := os.Stat(path)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("log %s: %w", path, err)
	}
	if st.Size() <= p.MaxBytes {
		return false, nil
	}
	backups := max(p.Backups, 1)
	for i := backups - 1; i >= 1; i-- {
		_ = os.Rename(path+"."+strconv.Itoa(i), path+"."+strconv.Itoa(i+1))
	}
	if err := copyFile(path, path+".1"); err != nil {
		return false, fmt.Errorf("log %s: %w", path, err)
	}
	if err := os.Truncate(path, 0); err != nil {
		return false, fmt.Errorf("log %s: truncate: %w", path, err)
	}
	return true, nil
}

// copyFile copies src to dst (0600), through a temporary name so a half copy never looks like a backup.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}
