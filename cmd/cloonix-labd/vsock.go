package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cloonix-go/cloonix/vhostuser"
	"github.com/cloonix-go/cloonix/vsockdev"
)

// qemuConnectTimeout bounds how long a vsock back-end waits for its qemu.
const qemuConnectTimeout = 2 * time.Minute

// vsockBackendCommand is `cloonix-labd vsock-backend`, hidden: one VM's virtio-vsock device, served to its
// qemu over vhost-user, with a control socket for the lab daemon. The daemon starts it before the VM's qemu;
// it ends when qemu hangs up.
func vsockBackendCommand() *cli.Command {
	return &cli.Command{
		Name:   "vsock-backend",
		Usage:  "serve one VM's virtio-vsock device to its qemu (vhost-user); started by the lab daemon",
		Hidden: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "vhost", Required: true, Usage: "the vhost-user `SOCKET` qemu connects to"},
			&cli.StringFlag{Name: "ctl", Required: true, Usage: "the control `SOCKET` the daemon asks for streams on"},
			&cli.Uint64Flag{Name: "cid", Value: 3, Usage: "the guest's context id"},
		},
		Action: func(c *cli.Context) error {
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			if c.Uint64("cid") < 3 {
				return fmt.Errorf("--cid %d: a guest's context id is 3 or more", c.Uint64("cid"))
			}
			return serveVsock(c.Context, c.String("vhost"), c.String("ctl"), c.Uint64("cid"), log)
		},
	}
}

// listenPrivate listens on a UNIX socket at path, 0600, and returns with it a function that removes the
// socket file only if it is still this listener's: a newer helper for the same VM (the VM restarted while
// this one waited for its qemu) may have replaced it, and must keep its own.
func listenPrivate(path string) (*net.UnixListener, func(), error) {
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, nil, err
	}
	l.SetUnlinkOnClose(false)
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, nil, err
	}
	mine, err := os.Stat(path)
	if err != nil {
		l.Close()
		return nil, nil, err
	}
	return l, func() {
		if now, err := os.Stat(path); err == nil && os.SameFile(now, mine) {
			_ = os.Remove(path)
		}
	}, nil
}

func serveVsock(ctx context.Context, vhostPath, ctlPath string, cid uint64, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	vl, rmVhost, err := listenPrivate(vhostPath)
	if err != nil {
		return fmt.Errorf("vsock back-end: %w", err)
	}
	defer rmVhost()
	cl, rmCtl, err := listenPrivate(ctlPath)
	if err != nil {
		vl.Close()
		return fmt.Errorf("vsock back-end: %w", err)
	}
	defer rmCtl()
	dev := vsockdev.New(cid, log)
	go func() {
		if err := vsockdev.ServeControl(ctx, cl, dev); err != nil {
			log.Error("vsock control", "err", err)
		}
	}()
	_ = vl.SetDeadline(time.Now().Add(qemuConnectTimeout))
	conn, err := vl.AcceptUnix()
	vl.Close() // one qemu per device
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("vsock back-end: no qemu connected within %s", qemuConnectTimeout)
		}
		return fmt.Errorf("vsock back-end: %w", err)
	}
	log.Info("vsock back-end: qemu connected", "cid", cid)
	err = vhostuser.Serve(ctx, conn, dev, log)
	log.Info("vsock back-end: qemu hung up; exiting", "err", err, "bad_guest_chains", dev.Bad())
	return err
}
