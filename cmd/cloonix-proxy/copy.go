package main

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

const copyBufferSize = 256 << 10

// pipe copies stdin to the socket and the socket to stdout. When stdin ends
// it half-closes the socket; when the socket ends it closes stdout. It
// returns when both directions are done, or at the first error.
func pipe(conn *net.UnixConn) error {
	done := make(chan error, 2)
	go func() {
		_, err := io.CopyBuffer(conn, os.Stdin, make([]byte, copyBufferSize))
		if err == nil {
			err = conn.CloseWrite()
		}
		if err != nil {
			err = errors.New("stdin to tunnel: " + err.Error())
		}
		done <- err
	}()
	go func() {
		_, err := io.CopyBuffer(os.Stdout, conn, make([]byte, copyBufferSize))
		if cerr := os.Stdout.Close(); err == nil && cerr != nil && !errors.Is(cerr, os.ErrClosed) {
			err = cerr
		}
		if err != nil {
			err = errors.New("tunnel to stdout: " + err.Error())
		}
		done <- err
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
