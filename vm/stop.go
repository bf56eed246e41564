package vm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"syscall"
	"time"
)

// quitGrace is how long Stop waits after QMP quit, and after SIGKILL, for qemu to exit.
const quitGrace = 5 * time.Second

// qmpDialWait bounds how long Stop keeps trying to reach QMP (qemu serves one client at a time, so another
// may hold it for a moment) before it gives up on the ACPI power-off.
const qmpDialWait = 10 * time.Second

// Stop stops the qemu p whose QMP socket is qmpPath: it asks for an ACPI power-off, waits up to
// timeout for the guest to turn itself off, then sends QMP quit, and as a last resort SIGKILL.
// It returns nil only when the process is gone. A process that is already gone is not an error.
// If QMP cannot be reached for qmpDialWait, qemu gets SIGTERM (its own orderly quit: it flushes its disk
// caches) and SIGKILL only if that fails, so a guest's writes already handed to qemu are never lost.
func Stop(ctx context.Context, qmpPath string, p *Process, timeout time.Duration) error {
	if p == nil {
		return errors.New("stop vm: no process; start or adopt it first")
	}
	if !p.Alive() {
		return nil
	}
	q, err := dialQMPRetry(ctx, qmpPath, min(qmpDialWait, max(timeout, 2*time.Second)))
	if err != nil {
		slog.Warn("stop vm: no QMP, asking qemu to quit with SIGTERM", "pid", p.Pid, "err", err)
		return terminate(ctx, p)
	}
	defer q.Close()
	return StopWithQMP(ctx, q, p, timeout)
}

// dialQMPRetry dials QMP until it answers or wait passes.
func dialQMPRetry(ctx context.Context, path string, wait time.Duration) (*QMP, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		dctx, dcancel := context.WithTimeout(ctx, 2*time.Second)
		q, err := DialQMP(dctx, path)
		dcancel()
		if err == nil {
			return q, nil
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// terminate sends SIGTERM (qemu quits in order, as with QMP quit), waits quitGrace, then kills.
func terminate(ctx context.Context, p *Process) error {
	if err := p.signal(syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop vm: SIGTERM pid %d: %w", p.Pid, err)
	}
	wctx, cancel := context.WithTimeout(ctx, quitGrace)
	defer cancel()
	if p.Wait(wctx) == nil {
		return nil
	}
	return kill(ctx, p)
}

// StopWithQMP is Stop over an already open QMP connection. qemu serves one QMP client at a
// time, so a caller that keeps a connection open (for events) must stop the VM through it.
func StopWithQMP(ctx context.Context, q *QMP, p *Process, timeout time.Duration) error {
	if !p.Alive() {
		return nil
	}
	if err := q.Powerdown(ctx); err != nil {
		slog.Warn("stop vm: powerdown failed", "pid", p.Pid, "err", err)
	} else {
		wctx, cancel := context.WithTimeout(ctx, timeout)
		err := p.Wait(wctx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("stop vm pid %d: %w", p.Pid, ctx.Err())
		}
		slog.Info("stop vm: guest ignored power-off, quitting qemu", "pid", p.Pid, "timeout", timeout)
	}
	qctx, cancel := context.WithTimeout(ctx, quitGrace)
	defer cancel()
	if err := q.Quit(qctx); err != nil {
		slog.Warn("stop vm: quit failed", "pid", p.Pid, "err", err)
	}
	if err := p.Wait(qctx); err == nil {
		return nil
	}
	return kill(ctx, p)
}

// kill sends SIGKILL to p (after checking it is still the same process) and waits for it.
func kill(ctx context.Context, p *Process) error {
	if !p.Alive() {
		return nil
	}
	if err := p.signal(syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop vm: kill pid %d: %w", p.Pid, err)
	}
	wctx, cancel := context.WithTimeout(ctx, quitGrace)
	defer cancel()
	if err := p.Wait(wctx); err != nil {
		return fmt.Errorf("stop vm: pid %d survived SIGKILL: %w", p.Pid, err)
	}
	return nil
}
