package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"golang.org/x/term"
)

// ConsoleEscape is the byte that leaves AttachConsole: Ctrl-].
const ConsoleEscape = 0x1d

// ErrConsoleClosed is returned by AttachConsole when qemu closed the console (the VM stopped, or
// another client took it).
var ErrConsoleClosed = errors.New("console closed by qemu")

// AttachConsole connects in and out to the VM's serial console socket until the user types
// Ctrl-] (then it returns nil), qemu closes the console (ErrConsoleClosed) or ctx is done. When
// in is a terminal it is put in raw mode and restored afterwards. It first prints a hint line.
//
// qemu serves one console client at a time; a second one waits until the first leaves. When
// qemu closes the socket, a goroutine may stay blocked reading in until the next key press.
func AttachConsole(ctx context.Context, socketPath string, in *os.File, out io.Writer) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socketPath)
	if err != nil {
		return fmt.Errorf("console %s: %w; is the VM running?", socketPath, err)
	}
	defer conn.Close()

	if fd := int(in.Fd()); term.IsTerminal(fd) {
		old, err := term.MakeRaw(fd)
		if err != nil {
			return fmt.Errorf("console: raw mode: %w", err)
		}
		defer term.Restore(fd, old)
	}
	fmt.Fprintf(out, "Connected to the console. Press Ctrl-] to leave.\r\n")

	copyDone := make(chan struct{})
	go func() {
		_, _ = io.Copy(out, conn)
		close(copyDone)
	}()
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := in.Read(buf)
			if n > 0 {
				chunk := buf[:n]
				i := bytes.IndexByte(chunk, ConsoleEscape)
				if i >= 0 {
					chunk = chunk[:i]
				}
				if _, werr := conn.Write(chunk); werr != nil {
					done <- fmt.Errorf("console write: %w", werr)
					return
				}
				if i >= 0 {
					done <- nil
					return
				}
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					done <- nil // input ended: leave as if Ctrl-] was typed
				} else {
					done <- fmt.Errorf("console read input: %w", err)
				}
				return
			}
		}
	}()
	var result error
	select {
	case <-copyDone:
		return ErrConsoleClosed
	case result = <-done:
	case <-ctx.Done():
		result = fmt.Errorf("console: %w", ctx.Err())
	}
	conn.Close()
	<-copyDone // out is ours again
	if result == nil {
		fmt.Fprintf(out, "\r\nLeft the console.\r\n")
	}
	return result
}
