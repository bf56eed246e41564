package main

import (
	"errors"
	"net"
	"os"
	"syscall"

	"github.com/cloonix-go/cloonix/relay"
)

// pipe copies stdin to the socket and the socket to stdout (relay.Copy). When stdin ends it half-closes the
// socket; when the socket ends it closes stdout. It returns when both directions are done, or at the first
// error. Once stdin has ended, it also returns when stdout's reader goes away (ssh exited or was killed):
// nothing can then read what the VM still sends, and waiting for the VM to close would keep this process
// for as long as TCP keeps retrying toward a VM that hung (a quarter of an hour).
func pipe(conn *net.UnixConn) error {
	done := make(chan error, 3)
	go func() {
		if _, err := relay.Copy(conn, os.Stdin); err != nil {
			done <- errors.New("stdin to tunnel: " + err.Error())
			return
		}
		done <- nil
		if waitHangUp(1) {
			done <- errStdoutGone
		}
	}()
	go func() {
		if _, err := relay.Copy(os.Stdout, conn); err != nil {
			done <- errors.New("tunnel to stdout: " + err.Error())
			return
		}
		done <- nil
	}()
	for range 2 {
		if err := <-done; err != nil {
			if errors.Is(err, errStdoutGone) {
				return nil // ssh is gone; the VM side is closed when the process exits
			}
			return err
		}
	}
	return nil
}

// errStdoutGone ends pipe when stdout's reader has gone after stdin ended.
var errStdoutGone = errors.New("stdout closed by its reader")

// waitHangUp blocks until fd reports an error or hang-up (for a pipe's write end: no reader is left; for a
// socket: the peer closed), and reports whether it did. It returns false if fd cannot be watched.
func waitHangUp(fd int) bool {
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return false
	}
	defer syscall.Close(ep)
	// No events asked for: EPOLLERR and EPOLLHUP are always reported.
	if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, fd, &syscall.EpollEvent{Fd: int32(fd)}); err != nil {
		return false // a regular file or /dev/null cannot be watched, and never hangs up
	}
	events := make([]syscall.EpollEvent, 1)
	for {
		n, err := syscall.EpollWait(ep, events, -1)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		return err == nil && n > 0
	}
}

// passFD sends the connected socket to ssh over stdout (ProxyUseFdpass yes):
// one byte with the descriptor attached as SCM_RIGHTS.
func passFD(conn *net.UnixConn) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return errors.New("--fdpass: " + err.Error())
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.Sendmsg(1, []byte{0}, syscall.UnixRights(int(fd)), nil, 0)
	}); err != nil {
		return errors.New("--fdpass: " + err.Error())
	}
	if errors.Is(serr, syscall.ENOTSOCK) {
		return errors.New("--fdpass: stdout is not a socket; use it only with ProxyUseFdpass yes in ssh_config")
	}
	if serr != nil {
		return errors.New("--fdpass: send descriptor: " + serr.Error())
	}
	return nil
}
