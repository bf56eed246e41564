package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/images"
	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/labd"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/sshsetup"
)

func upCommand() *cli.Command {
	return &cli.Command{
		Name:      "up",
		Usage:     "validate a lab file and start the lab under a daemon",
		ArgsUsage: "LABFILE",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "foreground", Usage: "keep the daemon attached to this terminal; Ctrl-C takes the lab down"},
			&cli.BoolFlag{Name: "no-wait", Usage: "return once every VM's qemu has started, without waiting for the guests to be ready"},
			&cli.BoolFlag{Name: "keep", Usage: "leave the lab up when it fails to come up or the wait is interrupted, to look at it"},
			&cli.DurationFlag{Name: "timeout", Usage: "how long to wait for every VM to be ready (default: the longest boot timeout of the lab's kinds)"},
		},
		Action: func(c *cli.Context) error {
			args, err := positionalArgs(c)
			if err != nil {
				return err
			}
			file := arg(args, 0)
			if file == "" || len(args) > 1 {
				return fmt.Errorf("usage: cloonix-labd up LABFILE")
			}
			abs, err := filepath.Abs(file)
			if err != nil {
				return err
			}
			l, err := lab.Load(abs, labEnv())
			if err != nil {
				return err
			}
			dirs, err := labpath.For(l.Name)
			if err != nil {
				return err
			}
			sock := dirs.CtlSocket()
			if api.NewClient(sock).IsUp(c.Context) {
				return fmt.Errorf("lab %s is already up; run: cloonix-labd down --lab %s", l.Name, l.Name)
			}
			if c.Bool("foreground") {
				return serveLab(c.Context, l, dirs, func(err error) {
					if err == nil {
						fmt.Printf("lab %s is up; Ctrl-C takes it down\n", l.Name)
					}
				})
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			fmt.Printf("%s lab %s: starting daemon\n", stamp(), l.Name)
			pid, err := labd.Spawn(c.Context, exe, []string{"serve", abs}, dirs)
			if err != nil {
				if c.Context.Err() != nil {
					return fmt.Errorf("lab %s: interrupted while its daemon was starting; the daemon stopped what it had started (its log: %s)", l.Name, dirs.DaemonLog())
				}
				return fmt.Errorf("lab %s: %s", l.Name, labd.ExpandError(err.Error()))
			}
			fmt.Printf("%s lab %s: daemon pid %d, log %s\n", stamp(), l.Name, pid, dirs.DaemonLog())
			client := api.NewClient(sock)
			if info, err := client.Lab(c.Context); err == nil {
				for _, v := range info.RemovedVMs {
					fmt.Printf("%s %-12s no longer in the lab file: stopped the qemu an earlier daemon left running for it\n", stamp(), v)
				}
			}
			if c.Bool("no-wait") {
				fmt.Printf("%s lab %s: every VM has started; not waiting for them to be ready. Follow with: cloonix-labd status --lab %s\n", stamp(), l.Name, l.Name)
				return nil
			}
			timeout := c.Duration("timeout")
			if timeout == 0 {
				timeout = longestBootTimeout(l)
			}
			ctx, cancel := context.WithTimeout(c.Context, timeout)
			defer cancel()
			if err := waitUp(ctx, client, l, timeout); err != nil {
				return failedUp(c.Context, client, l, dirs, c.Bool("keep"), err)
			}
			fmt.Printf("%s lab %s is up. Next: cloonix-labd status; cloonix-labd ssh-config\n", stamp(), l.Name)
			return nil
		},
	}
}

// failedUp handles an `up` whose wait failed or was interrupted: unless keep is set it takes the lab down, so
// nothing is left running to block the next try, and it says where to look at what failed.
func failedUp(ctx context.Context, client *api.Client, l *lab.Lab, dirs labpath.Dirs, keep bool, cause error) error {
	logs := dirs.ConsoleLog("<vm>")
	if keep {
		return fmt.Errorf("%w\nthe lab stays up (--keep): look with cloonix-labd status --lab %s and cloonix-labd console --lab %s VM (console logs: %s); stop it with: cloonix-labd down --lab %s",
			cause, l.Name, l.Name, logs, l.Name)
	}
	fmt.Printf("%s lab %s: taking it down (keep a failed lab up with: cloonix-labd up --keep %s)\n", stamp(), l.Name, l.File)
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
	defer cancel()
	if err := takeDown(dctx, client); err != nil {
		return fmt.Errorf("%w\ntaking lab %s down failed too (%v); finish with: cloonix-labd down --lab %s", cause, l.Name, err, l.Name)
	}
	return fmt.Errorf("%w\nlab %s was taken down; its console logs stay in %s", cause, l.Name, logs)
}

// takeDown asks the lab's daemon to stop every VM and waits until the daemon and its qemus are gone.
func takeDown(ctx context.Context, client *api.Client) error {
	info, err := client.Lab(ctx)
	if err != nil {
		return err
	}
	vms, _ := client.VMs(ctx)
	if err := client.Down(ctx); err != nil {
		return err
	}
	pids := []int{info.PID}
	for _, v := range vms {
		if v.PID != 0 {
			pids = append(pids, v.PID)
		}
	}
	timeout := 2 * time.Minute
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	return waitGone(ctx, pids, timeout)
}

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:      "serve",
		Usage:     "run a lab's daemon in the foreground (what `up` starts in the background)",
		ArgsUsage: "LABFILE",
		Hidden:    true,
		Action: func(c *cli.Context) error {
			args, err := positionalArgs(c)
			if err != nil {
				return err
			}
			ready := labd.ReadyReporter()
			file := arg(args, 0)
			l, err := lab.Load(file, labEnv())
			if err != nil {
				ready(err)
				return err
			}
			dirs, err := labpath.For(l.Name)
			if err != nil {
				ready(err)
				return err
			}
			return serveLab(c.Context, l, dirs, ready)
		},
	}
}

// serveLab runs the daemon for a lab in this process until ctx ends or a client asks for down.
func serveLab(ctx context.Context, l *lab.Lab, dirs labpath.Dirs, ready func(error)) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	home, _ := os.UserHomeDir()
	userKeys, err := sshsetup.UserPublicKeys(home, os.Getenv("SSH_AUTH_SOCK"))
	if err != nil {
		log.Warn("user keys", "err", err)
	}
	d, err := labd.New(labd.Options{Lab: l, Dirs: dirs, Log: log, Ready: ready, UserKeys: userKeys,
		ProbeImage: probeImage, AccelCache: labpath.AccelCache()})
	if err != nil {
		ready(err)
		return err
	}
	return d.Run(ctx)
}

// probeImage is the image whose kernel the accelerator probe boots for a lab with no VM on a project image
// (IOS-XE only): the tiny image, built if it is not yet.
func probeImage(ctx context.Context) (lab.ImageRef, error) {
	cache := &images.Cache{Dir: labpath.ImageCache(), Log: cliLogger()}
	img, err := cache.Lookup("tiny")
	if err != nil {
		if img, err = cache.Build(ctx, "tiny"); err != nil {
			return lab.ImageRef{}, err
		}
	}
	return lab.ImageRef{Name: img.Name, Disk: img.Disk, Kernel: img.Kernel, Initrd: img.Initrd, Append: img.Append}, nil
}

// longestBootTimeout is the longest boot timeout of the lab's VMs.
func longestBootTimeout(l *lab.Lab) time.Duration {
	t := 2 * time.Minute
	for _, v := range l.VMs {
		if v.BootTimeout > t {
			t = v.BootTimeout
		}
	}
	return t
}

func stamp() string { return time.Now().Format("15:04:05") }
