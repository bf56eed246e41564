package labd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/vsockdev"
)

// GuestCID is every guest's vsock context id. Each VM has a device of its own in its own helper, so the ids
// need not differ between VMs or labs (the kernel's /dev/vhost-vsock would need them unique system-wide).
const GuestCID = 3

// vsockOn tells whether the VM gets a vsock device: the lab file asks for it and the daemon knows how to
// start the helper.
func (r *vmRun) vsockOn() bool { return r.spec.Vsock && len(r.d.opts.VsockHelper) > 0 }

// startVsock starts the VM's vsock back-end helper and returns its process, in a session of its own so that it lives as long as the
// VM's qemu, not as long as this daemon (qemu 7.2 cannot renegotiate vhost-user-vsock with a new back-end),
// and waits until it listens. The helper ends by itself when qemu hangs up, or when no qemu connects in time.
func (r *vmRun) startVsock() (*os.Process, error) {
	vhost, ctl := r.d.dirs.VhostSocket(r.spec.Name), r.d.dirs.VsockControl(r.spec.Name)
	for _, s := range []string{vhost, ctl} {
		if err := os.Remove(s); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("vm %s: vsock: %w", r.spec.Name, err)
		}
	}
	logf, err := os.OpenFile(r.d.dirs.VsockLog(r.spec.Name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("vm %s: vsock log: %w", r.spec.Name, err)
	}
	defer logf.Close()
	h := r.d.opts.VsockHelper
	cmd := exec.Command(h[0], append(append([]string(nil), h[1:]...), "--vhost", vhost, "--ctl", ctl, "--cid", fmt.Sprint(GuestCID))...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("vm %s: start its vsock back-end: %w", r.spec.Name, err)
	}
	go cmd.Wait() // reap it if it ends while we run
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(ctl); err == nil {
			if _, err := os.Stat(vhost); err == nil {
				return cmd.Process, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	return nil, fmt.Errorf("vm %s: its vsock back-end did not start within 10s (see %s)", r.spec.Name, r.d.dirs.VsockLog(r.spec.Name))
}

// dialVsock opens a stream to a VM's vsock port through its helper.
func (d *Daemon) dialVsock(ctx context.Context, host string, port uint16) (net.Conn, error) {
	r, ok := d.vms[labpath.VMOfHost(host, d.lab.Name)]
	if !ok {
		return nil, d.fail(api.ErrUnknownVM, "unknown VM: %s (known: %s)", host, nameList(d.vmOrder))
	}
	if !r.vsockOn() {
		return nil, d.fail(api.ErrUnknownEntity, "%s has no vsock device (kind %s; the lab file can set vsock = true on linux and frr VMs)", host, r.spec.Kind.Name)
	}
	st := r.State()
	if !st.Up() {
		return nil, d.fail(api.ErrNotRunning, "%s is not running (state: %s)", host, st)
	}
	c, err := vsockdev.DialControl(ctx, d.dirs.VsockControl(r.spec.Name), uint32(port))
	switch {
	case err == nil:
		return c, nil
	case errors.Is(err, vsockdev.ErrRefused):
		return nil, d.fail(api.ErrRefused, "%s: nothing listens on its vsock port %d (cloonix-vsock-bridge not running yet?)", host, port)
	case errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED):
		return nil, d.fail(api.ErrNotRunning, "%s: its vsock back-end is not running (see %s); a stop and start of the lab gives it a new one",
			host, d.dirs.VsockLog(r.spec.Name))
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, vsockdev.ErrTimeout):
		return nil, d.fail(api.ErrTimeout, "%s did not accept on vsock port %d in time", host, port)
	}
	return nil, d.fail(api.ErrRefused, "%s: vsock port %d: %v", host, port, err)
}
