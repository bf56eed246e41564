package lab

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// Dirs are a lab's directories on this machine.
type Dirs struct {
	// Runtime holds sockets and the pid file: $XDG_RUNTIME_DIR/cloonix/<lab>, else /tmp/cloonix-$UID/<lab>.
	Runtime string
	// State holds keys, generated configs, leases, overlays and logs: $XDG_STATE_HOME/cloonix/<lab>, else
	// ~/.local/state/cloonix/<lab>.
	State string
	// runtimeRoot is /tmp/cloonix-$UID when Runtime falls back to /tmp; it must be ours and private too.
	runtimeRoot string
}

// DirsFor returns the directories of the named lab, from the environment. Relative XDG variables are
// ignored, as the XDG spec says.
func DirsFor(labName string) (Dirs, error) {
	if why := checkName(labName); why != "" {
		return Dirs{}, fmt.Errorf("lab name %q %s", labName, why)
	}
	var d Dirs
	root, private := runtimeRoot()
	if private {
		d.runtimeRoot = root
	}
	d.Runtime = filepath.Join(root, labName)
	if x := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(x) {
		d.State = filepath.Join(x, "cloonix", labName)
	} else {
		home, err := os.UserHomeDir()
		if err != nil {
			return Dirs{}, fmt.Errorf("lab %s state directory: %w; set XDG_STATE_HOME or HOME", labName, err)
		}
		d.State = filepath.Join(home, ".local", "state", "cloonix", labName)
	}
	return d, nil
}

// RuntimeRoot returns the directory that holds every lab's runtime directory: $XDG_RUNTIME_DIR/cloonix,
// else /tmp/cloonix-$UID. It does not create it.
func RuntimeRoot() (string, error) {
	root, _ := runtimeRoot()
	return root, nil
}

// runtimeRoot returns the runtime root and whether it is the /tmp fallback, which Ensure must check.
func runtimeRoot() (string, bool) {
	if x := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(x) {
		return filepath.Join(x, "cloonix"), false
	}
	return filepath.Join(os.TempDir(), "cloonix-"+strconv.Itoa(os.Geteuid())), true
}

// Ensure creates the directories with mode 0700. An existing directory with a looser mode is tightened
// to 0700; one owned by another user, or a symlink, is refused with an error that says what to do.
func (d Dirs) Ensure() error {
	if d.runtimeRoot != "" {
		if err := ensurePrivateDir(d.runtimeRoot); err != nil {
			return err
		}
	}
	for _, dir := range []string{d.Runtime, d.State} {
		if dir == "" {
			return errors.New("lab directories: empty path; build Dirs with DirsFor")
		}
		if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(dir), err)
		}
		if err := ensurePrivateDir(dir); err != nil {
			return err
		}
	}
	return nil
}

// ensurePrivateDir makes dir exist as a directory owned by us with mode 0700.
func ensurePrivateDir(dir string) error {
	err := os.Mkdir(dir, 0o700)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("check %s: %w", dir, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 || !fi.IsDir() {
		return fmt.Errorf("%s is not a directory (%s); remove it and retry", dir, fi.Mode().Type())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d, not by you (uid %d); remove it, or set XDG_RUNTIME_DIR/XDG_STATE_HOME to a directory of your own",
			dir, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("%s has mode %o and cannot be made private: %w; run chmod 700 %s", dir,
				fi.Mode().Perm(), err, dir)
		}
	}
	return nil
}

// CtlSocket is the lab daemon's API socket.
func (d Dirs) CtlSocket() string { return filepath.Join(d.Runtime, "ctl.sock") }

// PIDFile is the lab daemon's pid file.
func (d Dirs) PIDFile() string { return filepath.Join(d.Runtime, "labd.pid") }

// QMPSocket is the QMP socket of a VM.
func (d Dirs) QMPSocket(vm string) string { return filepath.Join(d.Runtime, vm+".qmp") }

// SerialSocket is the serial console socket of a VM.
func (d Dirs) SerialSocket(vm string) string { return filepath.Join(d.Runtime, vm+".serial") }

// NICSocket is the qemu stream socket of a VM's NIC (its canonical name, such as "eth0").
func (d Dirs) NICSocket(vm, nic string) string { return filepath.Join(d.Runtime, vm+"-"+nic+".sock") }

// VMDir is the state directory of a VM (overlay, seed, console log).
func (d Dirs) VMDir(vm string) string { return filepath.Join(d.State, "vms", vm) }

// maxSocketPath is the longest UNIX socket path Linux accepts (sun_path minus its NUL).
const maxSocketPath = 107

// CheckSocketPaths reports the first socket of lab l whose path is too long for a UNIX socket, with how to
// fix it.
func (d Dirs) CheckSocketPaths(l *Lab) error {
	paths := []string{d.CtlSocket()}
	for _, vm := range l.VMs {
		paths = append(paths, d.QMPSocket(vm.Name), d.SerialSocket(vm.Name))
		for _, n := range vm.NICs {
			paths = append(paths, d.NICSocket(vm.Name, n.Name))
		}
	}
	for _, p := range paths {
		if len(p) > maxSocketPath {
			return fmt.Errorf("socket path %s is %d bytes, more than the %d a UNIX socket allows; use shorter lab and VM names or a shorter XDG_RUNTIME_DIR",
				p, len(p), maxSocketPath)
		}
	}
	return nil
}
