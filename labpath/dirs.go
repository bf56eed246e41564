package labpath

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// The files of a lab. Only this package spells them.
const (
	ctlSocket       = "ctl.sock"
	pidFile         = "labd.pid"
	lockFile        = "labd.lock"
	daemonLog       = "labd.log"
	proxyLog        = "proxy.log"
	sshConfig       = "ssh_config"
	fdpassSSHConfig = "ssh_config.fdpass"
	knownHosts      = "known_hosts"
	inventoryFile   = "inventory.yml"
	consolePassword = "console_password"
	linksFile       = "links.json"
	impairsFile     = "impairs.json"
	ed25519Key      = "id_ed25519"
	rsaKey          = "id_rsa"
	vmsDir          = "vms"
)

// Dirs are one lab's directories on this machine; their methods give the path of everything in them.
type Dirs struct {
	// Runtime holds sockets, the pid file and the lock: <runtime root>/<lab>.
	Runtime string
	// State holds keys, generated configs, leases, overlays and logs: <state root>/<lab>.
	State string
}

// For returns the directories of the named lab, from the environment (see RuntimeRoot and StateRoot). It
// fails on a name that is not a lab name and when no state root can be found.
func For(lab string) (Dirs, error) {
	if err := CheckName("lab", lab); err != nil {
		return Dirs{}, err
	}
	root, err := StateRoot()
	if err != nil {
		return Dirs{}, wrap("lab "+lab+" state directory", err)
	}
	return Dirs{Runtime: filepath.Join(RuntimeRoot(), lab), State: filepath.Join(root, lab)}, nil
}

// CtlSocket returns the control socket of the named local lab. Unlike For it needs no state root, so
// cloonix-proxy reaches a lab from an environment without HOME; it agrees with Dirs.CtlSocket.
func CtlSocket(lab string) (string, error) {
	if err := CheckName("lab", lab); err != nil {
		return "", err
	}
	return Dirs{Runtime: filepath.Join(RuntimeRoot(), lab)}.CtlSocket(), nil
}

// CtlSocket is the lab daemon's API socket.
func (d Dirs) CtlSocket() string { return filepath.Join(d.Runtime, ctlSocket) }

// PIDFile is the lab daemon's pid file.
func (d Dirs) PIDFile() string { return filepath.Join(d.Runtime, pidFile) }

// LockFile is the lab daemon's lock (flock), held while it runs so that a second daemon fails at once; it
// holds the daemon's pid. It lives in the state directory, with the VMs' records: logind deletes
// $XDG_RUNTIME_DIR at logout, and a lock there would vanish under a running daemon.
func (d Dirs) LockFile() string { return filepath.Join(d.State, lockFile) }

// QMPSocket is the QMP socket of a VM.
func (d Dirs) QMPSocket(vm string) string { return filepath.Join(d.Runtime, vm+".qmp") }

// SerialSocket is the serial console socket of a VM.
func (d Dirs) SerialSocket(vm string) string { return filepath.Join(d.Runtime, vm+".serial") }

// VhostSocket is the vhost-user socket of a VM's vsock back-end (the helper listens, qemu connects).
func (d Dirs) VhostSocket(vm string) string { return filepath.Join(d.Runtime, vm+".vhost") }

// VsockControl is the control socket of a VM's vsock back-end, where the daemon asks for streams.
func (d Dirs) VsockControl(vm string) string { return filepath.Join(d.Runtime, vm+".vsock") }

// QemuPID is the pid file qemu writes for a VM.
func (d Dirs) QemuPID(vm string) string { return filepath.Join(d.Runtime, vm+".pid") }

// NICSocket is the qemu stream socket of a VM's NIC (its canonical name, such as "eth0").
func (d Dirs) NICSocket(vm, nic string) string { return filepath.Join(d.Runtime, vm+"-"+nic+".sock") }

// DaemonLog is the lab daemon's log.
func (d Dirs) DaemonLog() string { return filepath.Join(d.State, daemonLog) }

// SSHConfig is the lab's generated ssh_config (stdio ProxyCommand).
func (d Dirs) SSHConfig() string { return filepath.Join(d.State, sshConfig) }

// FdpassSSHConfig is the ProxyUseFdpass variant of the lab's ssh_config.
func (d Dirs) FdpassSSHConfig() string { return filepath.Join(d.State, fdpassSSHConfig) }

// KnownHosts is the lab's own known_hosts: VM names repeat across labs, their host keys must not collide.
func (d Dirs) KnownHosts() string { return filepath.Join(d.State, knownHosts) }

// Ed25519Key is the lab's ed25519 private key (its public key is this path plus ".pub").
func (d Dirs) Ed25519Key() string { return filepath.Join(d.State, ed25519Key) }

// RSAKey is the lab's RSA private key, for guests with legacy algorithms only (its public key: plus ".pub").
func (d Dirs) RSAKey() string { return filepath.Join(d.State, rsaKey) }

// Inventory is the lab's generated Ansible inventory.
func (d Dirs) Inventory() string { return filepath.Join(d.State, inventoryFile) }

// ConsolePassword is the lab's console password, for kinds whose day-0 needs one (IOS-XE).
func (d Dirs) ConsolePassword() string { return filepath.Join(d.State, consolePassword) }

// Links is where the daemon keeps the NIC links that `cloonix-labd link` took down, so that a daemon that
// adopts the VMs after a restart restores them.
func (d Dirs) Links() string { return filepath.Join(d.State, linksFile) }

// Impairs is the JSON file of the impairments set at run time (`link VM NIC set`), so that a new daemon
// adopting the VMs sets them again.
func (d Dirs) Impairs() string { return filepath.Join(d.State, impairsFile) }

// Leases is the DHCP lease file of the named NAT.
func (d Dirs) Leases(nat string) string { return filepath.Join(d.State, "leases-"+nat+".json") }

// VMDir is the state directory of a VM, which holds the files below.
func (d Dirs) VMDir(vm string) string { return filepath.Join(d.State, vmsDir, vm) }

// Overlay is a VM's copy-on-write disk over its image.
func (d Dirs) Overlay(vm string) string { return filepath.Join(d.VMDir(vm), "disk.qcow2") }

// Day0 is a VM's day-0 medium (NoCloud seed or IOS-XE CD-ROM).
func (d Dirs) Day0(vm string) string { return filepath.Join(d.VMDir(vm), "day0.iso") }

// ConsoleLog is where a VM's serial console is logged.
func (d Dirs) ConsoleLog(vm string) string { return filepath.Join(d.VMDir(vm), "console.log") }

// QemuLog is qemu's own stdout and stderr for a VM.
func (d Dirs) QemuLog(vm string) string { return filepath.Join(d.VMDir(vm), "qemu.log") }

// VsockLog is the log of a VM's vsock back-end.
func (d Dirs) VsockLog(vm string) string { return filepath.Join(d.VMDir(vm), "vsock.log") }

// QemuRecord is the record of a VM's running qemu (pid, start time, console offset), by which a new daemon
// adopts it. With vm "*" it is a filepath.Glob pattern for every VM's record.
func (d Dirs) QemuRecord(vm string) string { return filepath.Join(d.VMDir(vm), "qemu.json") }

// Ensure creates the runtime root and the lab's two directories with mode 0700. An existing directory with
// a looser mode is tightened to 0700; one owned by another user, or a symlink, is refused with an error
// that says what to do.
func (d Dirs) Ensure() error {
	if d.Runtime == "" || d.State == "" {
		return errors.New("lab directories: empty path; build Dirs with labpath.For")
	}
	root := filepath.Dir(d.Runtime)
	for _, parent := range []string{filepath.Dir(root), filepath.Dir(d.State)} {
		if err := os.MkdirAll(parent, 0o700); err != nil {
			return wrap("create "+parent, err)
		}
	}
	for _, dir := range []string{root, d.Runtime, d.State} {
		if err := ensurePrivateDir(dir); err != nil {
			return err
		}
	}
	return nil
}

// ensurePrivateDir makes dir exist as a directory owned by us with mode 0700. Its parent must exist.
func ensurePrivateDir(dir string) error {
	err := os.Mkdir(dir, 0o700)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return wrap("create "+dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return wrap("check "+dir, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 || !fi.IsDir() {
		return errors.New(dir + " is not a directory (" + fi.Mode().Type().String() + "); remove it and retry")
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return errors.New(dir + " is owned by uid " + strconv.Itoa(int(st.Uid)) + ", not by you (uid " +
			strconv.Itoa(os.Geteuid()) + "); remove it, or set XDG_RUNTIME_DIR/XDG_STATE_HOME to a directory of your own")
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return wrap(dir+" has mode "+strconv.FormatUint(uint64(fi.Mode().Perm()), 8)+
				" and cannot be made private (run chmod 700 "+dir+")", err)
		}
	}
	return nil
}

// maxSocketPath is the longest UNIX socket path Linux accepts (sun_path minus its NUL).
const maxSocketPath = 107

// CheckSocketPath fails, saying how to fix it, when p is too long for a UNIX socket.
func CheckSocketPath(p string) error {
	if len(p) <= maxSocketPath {
		return nil
	}
	return errors.New("socket path " + p + " is " + strconv.Itoa(len(p)) + " bytes, more than the " +
		strconv.Itoa(maxSocketPath) + " a UNIX socket allows; use shorter lab and VM names or a shorter XDG_RUNTIME_DIR")
}

// wrapped is an error with the thing it concerns in front; errors.Is and As see the cause.
type wrapped struct {
	context string
	err     error
}

func (e *wrapped) Error() string { return e.context + ": " + e.err.Error() }
func (e *wrapped) Unwrap() error { return e.err }

// wrap puts context in front of err, as fmt.Errorf("%s: %w") would; this package does not import fmt.
func wrap(context string, err error) error { return &wrapped{context: context, err: err} }
