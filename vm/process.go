package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is a running qemu, identified by pid and by its start time (field 22 of
// /proc/PID/stat, in clock ticks since boot), so that a reused pid is never mistaken for it.
type Process struct {
	Pid       int
	StartTime uint64

	// exited is closed when qemu, started by this process, has been reaped. It is nil for an
	// adopted qemu, which is not our child.
	exited chan struct{}
}

// StartTimeout bounds how long Start waits for qemu's QMP socket to appear.
var StartTimeout = 15 * time.Second

// Start runs qemuBinary with s.Args() in its own session (setsid), with stdin from /dev/null and
// stdout/stderr appended to logFile, and without a parent-death signal, so qemu outlives the
// caller and can later be re-adopted with Adopt. It returns once qemu answers on QMP, that is
// once the machine is built (disks opened, kernel loaded). ctx
// bounds only that wait: cancelling it later does not stop qemu (use Stop). If qemu exits or the
// wait fails, the error carries the tail of logFile.
//
// started, if not nil, is called as soon as qemu runs, before the wait: the caller records the process there
// (so a daemon that dies during the wait leaves a qemu it can find again). If it fails, qemu is killed and
// Start fails. A live qemu that holds s.PIDFile (an earlier start nobody recorded) makes Start refuse
// instead of running a second qemu for the same VM.
func Start(ctx context.Context, qemuBinary string, s Spec, logFile string, started func(*Process) error) (*Process, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.PIDFile != "" {
		if pid, held := PIDFileHeld(s.PIDFile); held {
			return nil, fmt.Errorf("vm %s: a qemu (pid %d) already runs for it, started by a daemon that died before it recorded it; stop it with: kill %d", s.Name, pid, pid)
		}
	}
	// A stale socket from an earlier run would make the wait below return at once.
	if err := removeSocket(s.QMPSocket); err != nil {
		return nil, fmt.Errorf("start vm %q: %w", s.Name, err)
	}
	logf, err := os.OpenFile(logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start vm %q: open qemu log: %w", s.Name, err)
	}
	defer logf.Close()
	logStart, _ := logf.Seek(0, io.SeekEnd)
	fmt.Fprintf(logf, "--- %s starting %s %s\n", time.Now().Format(time.RFC3339), qemuBinary, strings.Join(s.Args(), " "))

	cmd := exec.Command(qemuBinary, s.Args()...)
	cmd.Stdin = nil // /dev/null
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start vm %q: %w", s.Name, err)
	}
	p := &Process{Pid: cmd.Process.Pid, exited: make(chan struct{})}
	go func() {
		// Reap qemu if it exits while we run; otherwise it would linger as a zombie.
		err := cmd.Wait()
		slog.Debug("qemu exited", "vm", s.Name, "pid", p.Pid, "err", err)
		close(p.exited)
	}()
	st, err := procStartTime(p.Pid)
	if err != nil && p.Alive() {
		return nil, fmt.Errorf("start vm %q: %w", s.Name, err)
	}
	p.StartTime = st
	if started != nil {
		if err := started(p); err != nil {
			_ = syscall.Kill(p.Pid, syscall.SIGKILL)
			<-p.exited
			return nil, fmt.Errorf("start vm %q: %w", s.Name, err)
		}
	}

	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if isSocket(s.QMPSocket) {
			// qemu creates the socket before it opens disks and kernels, but greets on QMP
			// only from its main loop, i.e. after the machine is built.
			if q, err := DialQMP(ctx, s.QMPSocket); err == nil {
				q.Close()
				return p, nil
			}
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("start vm %q: qemu exited before its QMP socket appeared: %s", s.Name, logTail(logFile, logStart))
		case <-ctx.Done():
			_ = syscall.Kill(p.Pid, syscall.SIGKILL)
			<-p.exited
			return nil, fmt.Errorf("start vm %q: QMP socket %s did not appear: %w: %s", s.Name, s.QMPSocket, ctx.Err(), logTail(logFile, logStart))
		case <-tick.C:
		}
	}
}

// Adopt finds a qemu that an earlier labd started: it checks that pid is alive, that its start
// time equals startTime (so the pid was not reused by another program) and that it runs qemu.
func Adopt(pid int, startTime uint64) (*Process, error) {
	st, err := procStartTime(pid)
	if err != nil {
		return nil, fmt.Errorf("adopt qemu pid %d: not running: %w", pid, err)
	}
	if st != startTime {
		return nil, fmt.Errorf("adopt qemu pid %d: start time %d is not the recorded %d; the pid was reused, the VM is gone", pid, st, startTime)
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return nil, fmt.Errorf("adopt qemu pid %d: %w", pid, err)
	}
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	if !bytes.Contains(argv0, []byte("qemu")) {
		return nil, fmt.Errorf("adopt qemu pid %d: it runs %q, not qemu", pid, argv0)
	}
	return &Process{Pid: pid, StartTime: st}, nil
}

// PIDFileHeld reports whether a running qemu holds the pid file: qemu keeps a write lock (an OFD fcntl lock)
// on its -pidfile while it runs, so a lock that cannot be taken means it still runs. It also returns the pid
// the file names.
func PIDFileHeld(path string) (pid int, held bool) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart, Start: 0, Len: 0}
	if err := syscall.FcntlFlock(f.Fd(), fOFDSetLK, &lk); err == nil {
		lk.Type = syscall.F_UNLCK
		_ = syscall.FcntlFlock(f.Fd(), fOFDSetLK, &lk)
		return 0, false
	}
	pid, _ = ReadPIDFile(path)
	return pid, true
}

// fOFDSetLK is F_OFD_SETLK (Linux), the lock qemu takes on its pid file; the syscall package lacks it.
const fOFDSetLK = 37

// ReadPIDFile reads a pid written by qemu -pidfile.
func ReadPIDFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s holds %q, not a pid; delete it", path, bytes.TrimSpace(b))
	}
	return pid, nil
}

// signal sends sig to the process if it is still the same process (pid and start time), so a reused pid
// never gets it.
func (p *Process) signal(sig syscall.Signal) error {
	if !p.Alive() {
		return syscall.ESRCH
	}
	return syscall.Kill(p.Pid, sig)
}

// Exited is closed once qemu, started by this process, has been reaped; it is nil (never ready) for an
// adopted qemu, whose end only Alive tells.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Alive reports whether the process still runs: our child not yet reaped, or, for an adopted one, a
// process with the same pid and start time.
func (p *Process) Alive() bool {
	if p.exited != nil {
		select {
		case <-p.exited:
			return false
		default:
			return true
		}
	}
	st, err := procStartTime(p.Pid)
	return err == nil && st == p.StartTime
}

// Wait blocks until the process has exited or ctx is done.
func (p *Process) Wait(ctx context.Context) error {
	if p.exited != nil {
		select {
		case <-p.exited:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("wait for qemu pid %d: %w", p.Pid, ctx.Err())
		}
	}
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for p.Alive() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for qemu pid %d: %w", p.Pid, ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// procStartTime returns field 22 (starttime) of /proc/PID/stat. A zombie counts as gone.
func procStartTime(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("read /proc/%d/stat: %w", pid, err)
	}
	// The command name (field 2) is in parentheses and may hold spaces or ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so field 22 is f[19].
	if len(f) < 20 {
		return 0, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f)+2)
	}
	if f[0] == "Z" || f[0] == "X" {
		return 0, fmt.Errorf("pid %d has exited (state %s)", pid, f[0])
	}
	st, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat starttime: %w", pid, err)
	}
	return st, nil
}

func isSocket(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode()&os.ModeSocket != 0
}

// removeSocket removes a leftover socket; it refuses to remove anything that is not a socket.
func removeSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket; move it away", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove stale socket: %w", err)
	}
	return nil
}

// logTail returns the last lines qemu wrote to its log since offset, on one line.
func logTail(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return "(no qemu log: " + err.Error() + ")"
	}
	defer f.Close()
	const max = 2048
	if fi, err := f.Stat(); err == nil && fi.Size()-offset > max {
		offset = fi.Size() - max
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return "(qemu log unreadable)"
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	// Drop our own "--- starting" header line.
	var keep []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "--- ") && strings.TrimSpace(l) != "" {
			keep = append(keep, strings.TrimSpace(l))
		}
	}
	if len(keep) == 0 {
		return "qemu printed nothing (log " + path + ")"
	}
	if len(keep) > 5 {
		keep = keep[len(keep)-5:]
	}
	return "qemu said: " + strings.Join(keep, " | ")
}
