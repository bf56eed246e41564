package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
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
			&cli.DurationFlag{Name: "timeout", Usage: "how long to wait for every VM to be ready (default: the longest boot timeout of the lab's kinds, once per 4 VMs per host core)"},
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
			if name := labName(c); name != "" {
				t, err := resolveNamed(name)
				if err != nil {
					return err
				}
				if t.remote != nil {
					return remoteUp(c, t, abs)
				}
			}
			return upLocal(c, abs, upOpts{})
		},
	}
}

// upOpts say how upLocal runs when a remote client asked for it (`cloonix-labd remote up` on the server).
type upOpts struct {
	// as names the lab in advice the user runs (--lab NAME): the lab's name locally, the client's name for
	// the server for a remote client (--lab resolves it through the client's config).
	as string
	// shown is the lab file as the user knows it ("" for abs itself).
	shown string
	// buildImages builds the lab's missing built-in images (with progress) instead of refusing them.
	buildImages bool
	// userKeys is a file of extra authorized_keys lines for the VMs (the remote client's own keys).
	userKeys string
	// copyFrom is the server as the remote client reaches it (user@host), for the fix of a missing image.
	copyFrom string
}

// upLocal brings up the lab file abs on this machine under a daemon and waits for its VMs.
func upLocal(c *cli.Context, abs string, o upOpts) error {
	env := labEnv(c.Context)
	if o.buildImages {
		env = buildingLabEnv(c.Context)
	}
	env.CopyFrom = o.copyFrom
	l, err := lab.Load(abs, env)
	if err != nil {
		return err
	}
	if o.as == "" {
		o.as = l.Name
	}
	if o.shown == "" {
		o.shown = l.File
	}
	dirs, err := labpath.For(l.Name)
	if err != nil {
		return err
	}
	sock := dirs.CtlSocket()
	if api.NewClient(sock).IsUp(c.Context) {
		return fmt.Errorf("lab %s is already up; run: cloonix-labd down --lab %s", l.Name, o.as)
	}
	if c.Bool("foreground") {
		return serveLab(c.Context, l, dirs, o.userKeys, func(err error) {
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
	serveArgs := []string{"serve", abs}
	if o.userKeys != "" {
		serveArgs = []string{"serve", "--user-keys", o.userKeys, abs}
	}
	pid, err := labd.Spawn(c.Context, exe, serveArgs, dirs)
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
		fmt.Printf("%s lab %s: every VM has started; not waiting for them to be ready. Follow with: cloonix-labd status --lab %s\n", stamp(), l.Name, o.as)
		return nil
	}
	timeout := c.Duration("timeout")
	if timeout == 0 {
		timeout = upTimeout(l, runtime.NumCPU())
	}
	ctx, cancel := context.WithTimeout(c.Context, timeout)
	defer cancel()
	if err := waitUp(ctx, client, l, timeout); err != nil {
		return failedUp(c.Context, client, l, dirs, c.Bool("keep"), o, err)
	}
	fmt.Printf("%s lab %s is up. Next: cloonix-labd status --lab %s; cloonix-labd ssh-config --lab %s\n", stamp(), l.Name, o.as, o.as)
	return nil
}

// failedUp handles an `up` whose wait failed or was interrupted: unless keep is set it takes the lab down, so
// nothing is left running to block the next try, and it says where to look at what failed.
func failedUp(ctx context.Context, client *api.Client, l *lab.Lab, dirs labpath.Dirs, keep bool, o upOpts, cause error) error {
	logs := dirs.ConsoleLog("<vm>")
	if keep {
		return fmt.Errorf("%w\nthe lab stays up (--keep): look with cloonix-labd status --lab %s and cloonix-labd console --lab %s VM (console logs: %s); stop it with: cloonix-labd down --lab %s",
			cause, o.as, o.as, logs, o.as)
	}
	fmt.Printf("%s lab %s: taking it down (keep a failed lab up with: cloonix-labd up --lab %s --keep %s)\n", stamp(), l.Name, o.as, o.shown)
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
	defer cancel()
	if err := takeDown(dctx, client); err != nil {
		return fmt.Errorf("%w\ntaking lab %s down failed too (%v); finish with: cloonix-labd down --lab %s", cause, l.Name, err, o.as)
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
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "user-keys", Usage: "a `FILE` of authorized_keys lines to add to every VM (a remote client's own keys)"},
		},
		Action: func(c *cli.Context) error {
			args, err := positionalArgs(c)
			if err != nil {
				return err
			}
			ready := labd.ReadyReporter()
			file := arg(args, 0)
			l, err := lab.Load(file, labEnv(c.Context))
			if err != nil {
				ready(err)
				return err
			}
			dirs, err := labpath.For(l.Name)
			if err != nil {
				ready(err)
				return err
			}
			return serveLab(c.Context, l, dirs, c.String("user-keys"), ready)
		},
	}
}

// serveLab runs the daemon for a lab in this process until ctx ends or a client asks for down. extraKeys is
// a file of authorized_keys lines (a remote client's own keys) added to the user's, or "".
func serveLab(ctx context.Context, l *lab.Lab, dirs labpath.Dirs, extraKeys string, ready func(error)) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	home, _ := os.UserHomeDir()
	userKeys, err := sshsetup.UserPublicKeys(home, os.Getenv("SSH_AUTH_SOCK"))
	if err != nil {
		log.Warn("user keys", "err", err)
	}
	if extraKeys != "" {
		keys, err := sshsetup.ReadAuthorizedKeys(extraKeys)
		if err != nil {
			ready(err)
			return err
		}
		userKeys = append(userKeys, keys...)
	}
	opts := labd.Options{Lab: l, Dirs: dirs, Log: log, Ready: ready, UserKeys: userKeys,
		ProbeImage: probeImage, AccelCache: labpath.AccelCache()}
	if exe, err := os.Executable(); err == nil {
		opts.VsockHelper = []string{exe, "vsock-backend"}
	}
	d, err := labd.New(opts)
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
	img, err := cache.Lookup(ctx, "tiny")
	if err != nil {
		if img, err = cache.Build(ctx, "tiny"); err != nil {
			return lab.ImageRef{}, err
		}
	}
	return imageRef(img), nil
}

// VMsPerCoreWait is how many VMs booting at once one host core is given a boot timeout for: a VM's boot
// timeout is for a VM alone, and under TCG every guest's boot is CPU work (40 tiny VMs on 2 cores took over
// 3 minutes to reach sshd, bench/scale.sh), so `up`'s default wait grows with the VMs per core.
const VMsPerCoreWait = 4

// upTimeout is how long `up` waits by default for every VM to be ready: the longest boot timeout of the lab's
// VMs, once for each VMsPerCoreWait VMs per host core (cores as this process sees them).
func upTimeout(l *lab.Lab, cores int) time.Duration {
	t := 2 * time.Minute
	for _, v := range l.VMs {
		if v.BootTimeout > t {
			t = v.BootTimeout
		}
	}
	per := VMsPerCoreWait * max(cores, 1)
	return t * time.Duration(max(1, (len(l.VMs)+per-1)/per))
}

func stamp() string { return time.Now().Format("15:04:05") }
