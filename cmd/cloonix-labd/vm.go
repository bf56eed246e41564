package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/kind"
)

// vmUsage is the one line a bad `vm` command line gets.
const vmUsage = "usage: cloonix-labd vm stop|start VM (for example: cloonix-labd vm stop r1)"

func vmCommand() *cli.Command {
	return &cli.Command{
		Name:  "vm",
		Usage: "stop or start one VM of a running lab; the others run on",
		Description: "vm stop VM    power the VM off as down does (ACPI, then quit, then kill)\n" +
			"vm start VM   boot it again from its disk and wait until it is running; its links keep their\n" +
			"              state (link VM NIC down) and impairments",
		ArgsUsage: "stop|start VM",
		Subcommands: []*cli.Command{
			{
				Name:      "stop",
				Usage:     "power the VM off (ACPI, then quit, then kill)",
				ArgsUsage: "VM",
				Action:    func(c *cli.Context) error { return vmAction(c, api.VMStop) },
			},
			{
				Name:      "start",
				Usage:     "boot a stopped or crashed VM again and wait until it is running",
				ArgsUsage: "VM",
				Flags: []cli.Flag{
					&cli.DurationFlag{Name: "timeout", Usage: "how long to wait for the VM to be running (default: its kind's boot timeout)"},
				},
				Action: func(c *cli.Context) error { return vmAction(c, api.VMStart) },
			},
		},
		Action: func(c *cli.Context) error { // no action, or one that is not a sub-command
			args, err := positionalArgs(c)
			if err != nil {
				return err
			}
			if len(args) == 0 {
				return errors.New(vmUsage)
			}
			return fmt.Errorf("vm: unknown action %q; %s", args[0], vmUsage)
		},
	}
}

// vmAction stops or starts the VM the command line names and prints its state and how long that took; a
// start waits until the VM is running.
func vmAction(c *cli.Context, action string) error {
	args, err := positionalArgs(c)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return fmt.Errorf("vm %s needs one VM name, got %d arguments; usage: cloonix-labd vm %s VM", action, len(args), action)
	}
	name := args[0]
	t, client, err := upLab(c)
	if err != nil {
		return err
	}
	start := time.Now()
	st, err := client.VMAction(c.Context, name, action)
	if err != nil {
		return err
	}
	if action == api.VMStart {
		timeout := c.Duration("timeout")
		if timeout <= 0 {
			timeout = bootTimeout(st.Kind)
		}
		ctx, cancel := context.WithTimeout(c.Context, timeout)
		defer cancel()
		if err := waitVMs(ctx, client, waitOpts{lab: t.name, vm: name, during: "it was starting"}, timeout); err != nil {
			return err
		}
		st.State = api.StateRunning
	}
	fmt.Printf("vm %s: %s (%s)\n", name, st.State, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// bootTimeout is how long a VM of the named kind may take to be running: the kind's, or two minutes (what
// up waits at least) for a kind this program does not know.
func bootTimeout(kindName string) time.Duration {
	if k, err := kind.Lookup(kindName); err == nil && k.DefaultBootTimeout > 0 {
		return k.DefaultBootTimeout
	}
	return 2 * time.Minute
}
