// Package labpath is cloonix's address book: the one place that knows where every file and socket of a lab
// lives on this machine, and which names may appear in those paths. It is named for what it answers, "what is
// the path of this lab's X", and it holds the name rules because lab and VM names become path components,
// socket names and host names.
//
// The daemon (package labd), the CLI and cloonix-proxy all compute paths through it, so they cannot disagree
// about where a lab's control socket is. It imports only small standard packages (not fmt), so that
// cloonix-proxy, which imports it, still starts in about a millisecond.
//
// The layout:
//
//	runtime root  $XDG_RUNTIME_DIR/cloonix, else $TMPDIR/cloonix-EUID (os.TempDir)
//	  accel.json                   the accelerator probe's cache (until reboot)
//	  _ssh/m-<key>.mux <server>-<key>.sock <server>-<key>.lock   remote servers: ssh masters and forwards
//	  <lab>/ctl.sock labd.pid labd.lock <vm>.qmp <vm>.serial <vm>-<nic>.sock <vm>.vhost <vm>.vsock
//	state root    $XDG_STATE_HOME/cloonix, else $HOME/.local/state/cloonix
//	  proxy.log                    cloonix-proxy's errors for names that are no lab
//	  <lab>/id_ed25519 id_rsa known_hosts ssh_config ssh_config.fdpass inventory.yml console_password
//	  <lab>/leases-<nat>.json labd.log proxy.log
//	  <lab>/vms/<vm>/disk.qcow2 day0.iso console.log qemu.log qemu.json vsock.log
//	client config $XDG_CONFIG_HOME/cloonix/config.toml, else $HOME/.config/cloonix/config.toml
//	image cache   $XDG_CACHE_HOME/cloonix/images, else $HOME/.cache/cloonix/images
//
// An XDG variable that is unset, empty or relative is ignored, as the XDG Base Directory spec says; so is a
// relative HOME. Nothing here creates a directory except Dirs.Ensure.
package labpath

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
)

// app is the directory name cloonix uses under every base directory.
const app = "cloonix"

// tmpRoot is the runtime root without XDG_RUNTIME_DIR: cloonix-EUID in os.TempDir(), so $TMPDIR when set.
// The daemon and cloonix-proxy run in the same user's environment, and both ask this function.
func tmpRoot() string {
	return filepath.Join(os.TempDir(), app+"-"+strconv.Itoa(os.Geteuid()))
}

// RuntimeRoot returns the directory that holds every lab's runtime directory and the accelerator cache:
// $XDG_RUNTIME_DIR/cloonix when XDG_RUNTIME_DIR is absolute, else cloonix-EUID in os.TempDir() ($TMPDIR,
// else /tmp). It needs no HOME and does not create the directory.
func RuntimeRoot() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		return filepath.Join(d, app)
	}
	return tmpRoot()
}

// AccelCache returns the accelerator probe's cache file, accel.json in the runtime root, shared by the user's
// labs (its answers are keyed by boot id, so they hold until the host reboots).
func AccelCache() string { return filepath.Join(RuntimeRoot(), "accel.json") }

// remoteDir is the runtime root's directory for remote servers. Its name is no lab name (a lab name has no
// '_'), so it never collides with a lab's directory.
const remoteDir = "_ssh"

// RemoteDir returns the private directory (in the runtime root) of the OpenSSH master connections and the
// forwarded control sockets of remote servers, creating it 0700 (and the runtime root) when needed.
func RemoteDir() (string, error) {
	root := RuntimeRoot()
	if err := os.MkdirAll(filepath.Dir(root), 0o700); err != nil {
		return "", wrap("create "+filepath.Dir(root), err)
	}
	dir := filepath.Join(root, remoteDir)
	for _, d := range []string{root, dir} {
		if err := ensurePrivateDir(d); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// RemoteControlPath is the ssh ControlPath of the master connection named key (a short hash of the
// destination and the ssh options, made by package remote) in the remote directory dir.
func RemoteControlPath(dir, key string) string { return filepath.Join(dir, "m-"+key+".mux") }

// RemoteSocket is the local end of a forwarded UNIX socket: the remote server's control socket (what is
// empty) or one of its VMs' consoles (what is a short hash of the remote path), for server name and key.
func RemoteSocket(dir, server, key, what string) string {
	if what != "" {
		key += "-" + what
	}
	return filepath.Join(dir, server+"-"+key+".sock")
}

// RemoteLock is the lock file that serialises setting up the master and forwards of server name and key.
func RemoteLock(dir, server, key string) string { return filepath.Join(dir, server+"-"+key+".lock") }

// StateRoot returns the directory that holds every lab's state directory: $XDG_STATE_HOME/cloonix, else
// $HOME/.local/state/cloonix. It fails, saying what to set, when neither variable is absolute.
func StateRoot() (string, error) {
	base, err := xdgBase("XDG_STATE_HOME", ".local", "state")
	if err != nil {
		return "", err
	}
	return filepath.Join(base, app), nil
}

// ConfigFile returns the client config file: $XDG_CONFIG_HOME/cloonix/config.toml, else
// $HOME/.config/cloonix/config.toml. It fails, saying what to set, when neither variable is absolute.
func ConfigFile() (string, error) {
	base, err := xdgBase("XDG_CONFIG_HOME", ".config")
	if err != nil {
		return "", err
	}
	return filepath.Join(base, app, "config.toml"), nil
}

// UserImages returns the directory of the user's own image definitions (NAME/image.toml):
// $XDG_CONFIG_HOME/cloonix/images, else $HOME/.config/cloonix/images. It fails, saying what to set, when
// neither variable is absolute.
func UserImages() (string, error) {
	base, err := xdgBase("XDG_CONFIG_HOME", ".config")
	if err != nil {
		return "", err
	}
	return filepath.Join(base, app, "images"), nil
}

// ImageCache returns the directory of built guest images: $XDG_CACHE_HOME/cloonix/images, else
// $HOME/.cache/cloonix/images, else (no HOME) images in the runtime root's /tmp fallback, which is private.
func ImageCache() string {
	base, err := xdgBase("XDG_CACHE_HOME", ".cache")
	if err != nil {
		return filepath.Join(tmpRoot(), "images")
	}
	return filepath.Join(base, app, "images")
}

// ProxyLog returns the file cloonix-proxy appends its errors to: proxy.log in the lab's state directory when
// that directory exists, else in the state root, so that a mistyped name creates no lab directory. lab may
// be any string, valid or not.
func ProxyLog(lab string) (string, error) {
	root, err := StateRoot()
	if err != nil {
		return "", err
	}
	if CheckName("lab", lab) == nil {
		if fi, err := os.Stat(filepath.Join(root, lab)); err == nil && fi.IsDir() {
			return filepath.Join(root, lab, proxyLog), nil
		}
	}
	return filepath.Join(root, proxyLog), nil
}

// xdgBase returns $env when it is absolute, else $HOME joined with underHome.
func xdgBase(env string, underHome ...string) (string, error) {
	if d := os.Getenv(env); filepath.IsAbs(d) {
		return d, nil
	}
	home := os.Getenv("HOME")
	if !filepath.IsAbs(home) {
		return "", errors.New("neither " + env + " nor HOME is an absolute directory; set HOME (or " + env + ")")
	}
	return filepath.Join(append([]string{home}, underHome...)...), nil
}

// WebSocket returns the UNIX socket `cloonix-labd web --unix` serves on, in the runtime root (created 0700
// when needed): reached from another machine with ssh -L. Its name has a dot, so it is never a lab's.
func WebSocket() (string, error) {
	root := RuntimeRoot()
	if err := os.MkdirAll(filepath.Dir(root), 0o700); err != nil {
		return "", wrap("create "+filepath.Dir(root), err)
	}
	if err := ensurePrivateDir(root); err != nil {
		return "", err
	}
	return filepath.Join(root, "web.sock"), nil
}
