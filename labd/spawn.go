package labd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/cloonix-go/cloonix/labpath"
)

// ReadyFD is the file descriptor on which a spawned daemon reports that it is up ("ok") or why it failed.
const ReadyFD = 3

// Spawn starts `EXE serve LABFILE` as a daemon in its own session, detached from the caller's terminal, and
// waits until it reports that it is serving or has failed. Its log goes to the lab's state directory.
func Spawn(ctx context.Context, exe string, args []string, dirs labpath.Dirs) (pid int, err error) {
	if err := dirs.Ensure(); err != nil {
		return 0, err
	}
	logPath := dirs.DaemonLog()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, fmt.Errorf("daemon log: %w", err)
	}
	defer logf.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	defer devnull.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer pr.Close()

	cmd := exec.Command(exe, args...)
	cmd.Stdin = devnull
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.ExtraFiles = []*os.File{pw} // becomes fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		pw.Close()
		return 0, fmt.Errorf("start daemon: %w", err)
	}
	pw.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	msg := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(pr).ReadString('\n')
		msg <- strings.TrimSpace(line)
	}()
	select {
	case m := <-msg:
		switch {
		case m == "ok":
			return cmd.Process.Pid, nil
		case strings.HasPrefix(m, "error: "):
			<-exited
			return 0, errors.New(strings.TrimPrefix(m, "error: "))
		default:
			<-exited
			return 0, fmt.Errorf("daemon exited before it was up; see %s:\n%s", logPath, tailLines(logPath, 10))
		}
	case err := <-exited:
		// It may have written its reason just before exiting: the pipe then ends, so the reader has it soon.
		select {
		case m := <-msg:
			if strings.HasPrefix(m, "error: ") {
				return 0, errors.New(strings.TrimPrefix(m, "error: "))
			}
		case <-time.After(time.Second):
		}
		// It died without a word (killed, out of memory). Nothing else holds the pipe open: the daemon marks
		// it close-on-exec before it starts any qemu.
		return 0, fmt.Errorf("daemon exited (%v) before it was up; see %s:\n%s", err, logPath, tailLines(logPath, 10))
	case <-ctx.Done():
		// The daemon stops what it started on SIGTERM; wait for it, so an interrupted up leaves nothing behind.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(spawnStopWait):
			_ = cmd.Process.Kill()
			<-exited
		}
		return 0, ctx.Err()
	}
}

// spawnStopWait bounds how long an interrupted Spawn waits for the daemon to stop the VMs it started (their
// stop timeouts run in parallel).
const spawnStopWait = 3 * time.Minute

// ReadyReporter returns the Ready callback of a spawned daemon: it writes the result to ReadyFD once.
// Outside a spawned daemon (no ReadyFD) it does nothing.
func ReadyReporter() func(error) {
	f := os.NewFile(ReadyFD, "ready")
	if f == nil {
		return func(error) {}
	}
	if _, err := f.Stat(); err != nil {
		return func(error) {}
	}
	// qemu must not inherit the pipe: if the daemon died, a qemu holding it would keep `up` waiting forever.
	syscall.CloseOnExec(ReadyFD)
	done := false
	return func(err error) {
		if done {
			return
		}
		done = true
		if err != nil {
			fmt.Fprintf(f, "error: %s\n", oneLine(err.Error()))
		} else {
			fmt.Fprintln(f, "ok")
		}
		f.Close()
	}
}

// oneLine keeps a multi-line error on one line for the ready pipe; newlines become the record separator \x1e.
func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\x1e") }

// ExpandError undoes oneLine.
func ExpandError(s string) string { return strings.ReplaceAll(s, "\x1e", "\n") }
