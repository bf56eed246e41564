package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// dryRun parses argv (without the program name) with the real command tree of newApp, every action replaced
// by one that records the command reached, applies the flags that follow positional arguments (positionalArgs,
// so an unknown trailing flag fails), checks the number of positional arguments against the command's
// ArgsUsage, then calls probe when it is not nil. It fails when parsing fails or no command's action is reached
// (an unknown command shows help instead).
func dryRun(argv []string, probe func(*cli.Context) error) (reached string, err error) {
	app := newApp()
	app.Writer, app.ErrWriter = io.Discard, io.Discard
	var visit func([]*cli.Command)
	visit = func(cmds []*cli.Command) {
		for _, cmd := range cmds {
			if cmd.Action != nil {
				cmd.Action = func(c *cli.Context) error {
					reached = c.Command.HelpName
					args, err := positionalArgs(c)
					if err != nil {
						return err
					}
					if lo, hi := argsRange(c.Command.ArgsUsage); len(args) < lo || len(args) > hi {
						return fmt.Errorf("%s takes %d to %d arguments (%s), got %q", reached, lo, hi, c.Command.ArgsUsage, args)
					}
					if probe != nil {
						return probe(c)
					}
					return nil
				}
			}
			visit(cmd.Subcommands)
		}
	}
	visit(app.Commands)
	err = app.Run(append([]string{"cloonix-labd"}, argv...))
	if err == nil && reached == "" {
		err = fmt.Errorf("no command reached (unknown command?)")
	}
	return reached, err
}

// argsRange reads how many positional arguments a command's ArgsUsage allows: "VM NIC up|down" is 3,
// "[NAME]" 0 to 1, "VM [FILE] | --all DIR" 0 to 2 (a flag and its value are no positional argument; " | "
// separates alternatives), "" none.
func argsRange(usage string) (lo, hi int) {
	lo = -1
	for _, alt := range strings.Split(usage, " | ") {
		n, m := 0, 0
		fields := strings.Fields(alt)
		for i := 0; i < len(fields); i++ {
			f := fields[i]
			switch {
			case strings.HasPrefix(f, "-"):
				i++ // its value
			case strings.HasPrefix(f, "["):
				m++
			case strings.HasSuffix(f, "..."):
				n, m = n+1, 1<<20
			default:
				n, m = n+1, m+1
			}
		}
		if lo < 0 || n < lo {
			lo = n
		}
		hi = max(hi, m)
	}
	return max(lo, 0), hi
}
