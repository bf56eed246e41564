// Package unixsock is how cloonix's two sides of a lab's control socket make sure they talk to their own
// user: the socket's directory must be a real directory of ours, closed to others, and the process at the
// other end must run under our uid (SO_PEERCRED), checked by the client on dial and by the daemon on every
// accept. It also bounds how many connections the daemon serves at once. Standard library only, so
// cloonix-proxy stays small.
package unixsock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
)

// CheckDir fails unless dir is a directory (not a symlink) owned by this process's effective uid with no
// access for group or others. It changes nothing.
func CheckDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("socket directory: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 || !fi.IsDir() {
		return fmt.Errorf("socket directory %s is not a directory (%s); remove it", dir, fi.Mode().Type())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("socket directory %s belongs to uid %d, not to you (uid %d); do not use it", dir, st.Uid, os.Geteuid())
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("socket directory %s has mode %04o; it must be private: chmod 700 %s", dir, perm, dir)
	}
	return nil
}

// PeerUID returns the uid of the process at the other end of c.
func PeerUID(c *net.UnixConn) (uint32, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if cerr != nil {
		return 0, fmt.Errorf("SO_PEERCRED: %w", cerr)
	}
	return cred.Uid, nil
}

// ErrOtherUser is the error of a peer that runs under another uid.
var ErrOtherUser = errors.New("the process at the other end runs as another user")

// Dial connects to the socket at path after checking its directory, and fails unless the listening process
// runs as us.
func Dial(ctx context.Context, path string) (*net.UnixConn, error) {
	if err := CheckDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	return dialOwn(ctx, path)
}

// dialOwn dials path and fails unless the listener runs as us.
func dialOwn(ctx context.Context, path string) (*net.UnixConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	uc := c.(*net.UnixConn)
	uid, err := PeerUID(uc)
	if err != nil {
		uc.Close()
		return nil, fmt.Errorf("check the daemon on %s: %w", path, err)
	}
	if int(uid) != os.Geteuid() {
		uc.Close()
		return nil, fmt.Errorf("%s: %w (uid %d, you are %d); it is not your lab's daemon", path, ErrOtherUser, uid, os.Geteuid())
	}
	return uc, nil
}

// Guard wraps a UNIX listener: it closes at once every connection from a process of another uid (reported
// to refused), and every connection past max served at once, so no one can exhaust the daemon.
func Guard(l net.Listener, max int, refused func(reason string)) net.Listener {
	if refused == nil {
		refused = func(string) {}
	}
	return &guard{Listener: l, slots: make(chan struct{}, max), refused: refused}
}

type guard struct {
	net.Listener
	slots   chan struct{}
	refused func(string)
}

// Accept returns the next connection from our own uid, within the cap.
func (g *guard) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		uc, ok := c.(*net.UnixConn)
		if !ok {
			return c, nil
		}
		uid, err := PeerUID(uc)
		if err != nil || int(uid) != os.Geteuid() {
			why := "peer credentials unreadable"
			if err == nil {
				why = "a process of uid " + strconv.Itoa(int(uid))
			}
			g.refused(why)
			uc.Close()
			continue
		}
		select {
		case g.slots <- struct{}{}:
			return &slotConn{UnixConn: uc, free: func() { <-g.slots }}, nil
		default:
			g.refused("too many connections (" + strconv.Itoa(cap(g.slots)) + ")")
			uc.Close()
		}
	}
}

// slotConn frees its slot once, when closed.
type slotConn struct {
	*net.UnixConn
	once sync.Once
	free func()
}

// Close closes the connection and frees its slot.
func (c *slotConn) Close() error {
	err := c.UnixConn.Close()
	c.once.Do(c.free)
	return err
}
