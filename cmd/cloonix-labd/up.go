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
	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/labd"
	"github.com/cloonix-go/cloonix/sshsetup"
)

func upCommand() *cli.Command {
	return &cli.Command{
		Name:      "up",
		Usage:     "validate a lab file and start the lab under a daemon",
		ArgsUsage: "LABFILE",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "foreground", Usage: "keep the daemon attached to this terminal; Ctrl-C takes the lab down"},
			&cli.BoolFlag{Name: "no-wait", Usage: "return once every VM has printed its readiness line, without waiting for its sshd to answer through the NAT"},
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
			dirs, err := lab.DirsFor(l.Name)
			if err != nil {
				return err
			}
			sock := filepath.Join(dirs.Runtime, "ctl.sock")
			if labd.IsUp(c.Context, sock) {
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
				return fmt.Errorf("lab %s: %s", l.Name, labd.ExpandError(err.Error()))
			}
			fmt.Printf("%s lab %s: daemon pid %d, log %s\n", stamp(), l.Name, pid, filepath.Join(dirs.State, "labd.log"))
			timeout := c.Duration("timeout")
			if timeout == 0 {
				timeout = longestBootTimeout(l)
			}
			ctx, cancel := context.WithTimeout(c.Context, timeout)
			defer cancel()
			if err := waitUp(ctx, api.NewClient(sock), l, !c.Bool("no-wait"), timeout); err != nil {
				return err
			}
			fmt.Printf("%s lab %s is up. Next: cloonix-labd status; cloonix-labd ssh-config\n", stamp(), l.Name)
			return nil
		},
	}
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
			dirs, err := lab.DirsFor(l.Name)
			if err != nil {
				ready(err)
				return err
			}
			return serveLab(c.Context, l, dirs, ready)
		},
	}
}

// serveLab runs the daemon for a lab in this process until ctx ends or a client asks for down.
func serveLab(ctx context.Context, l *lab.Lab, dirs lab.Dirs, ready func(error)) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	home, _ := os.UserHomeDir()
	userKeys, err := sshsetup.UserPublicKeys(home, os.Getenv("SSH_AUTH_SOCK"))
	if err != nil {
		log.Warn("user keys", "err", err)
	}
	d, err := labd.New(labd.Options{Lab: l, Dirs: dirs, Log: log, Ready: ready, UserKeys: userKeys})
	if err != nil {
		ready(err)
		return err
	}
	return d.Run(ctx)
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
