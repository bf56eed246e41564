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
// error.
func pipe(conn *net.UnixConn) error {
	done := make(chan error, 2)
	go func() {
		if _, err := relay.Copy(conn, os.Stdin); err != nil {
			done <- errors.New("stdin to tunnel: " + err.Error())
			return
		}
		done <- nil
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
			return err
		}
	}
	return nil
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
