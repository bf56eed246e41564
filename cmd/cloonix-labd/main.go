// Command cloonix-labd runs network labs of qemu VMs without admin rights: `up` starts a lab from its TOML
// file under a daemon, `status`, `console` and `ssh-config` inspect it, `down` stops it, and `image` builds
// the guest images from Debian packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newApp().RunContext(ctx, os.Args); err != nil {
		msg := err.Error()
		var exit cli.ExitCoder
		code := 1
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		}
		if msg != "" {
			fmt.Fprintln(os.Stderr, "cloonix-labd: "+strings.TrimSpace(msg))
		}
		os.Exit(code)
	}
}

// labEnvVar names the lab when no --lab is given.
const labEnvVar = "CLOONIX_LAB"

// globalFlags returns the flags every command accepts, before or after its name (and, through positionalArgs,
// after its positional arguments): `cloonix-labd --lab ospf down` and `cloonix-labd down --lab ospf` are the
// same. It makes new flags on each call, because urfave/cli flags keep state from parsing.
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{
			Name:    "lab",
			Aliases: []string{"l", "server"},
			Usage: "the lab to act on: a local lab, or a [server.NAME] of the client config (a remote server reached with ssh)" +
				" (default: $" + labEnvVar + ", else the only local lab that is up)",
		},
	}
}

func newApp() *cli.App {
	app := &cli.App{
		Name:                 "cloonix-labd",
		Usage:                "run network labs of qemu VMs without admin rights",
		Version:              version,
		EnableBashCompletion: true,
		HideHelpCommand:      true,
		Flags:                globalFlags(),
		ExitErrHandler:       func(*cli.Context, error) {}, // main prints errors once, in one format
		Commands: []*cli.Command{
			upCommand(),
			serveCommand(),
			statusCommand(),
			downCommand(),
			consoleCommand(),
			sshConfigCommand(),
			imageCommand(),
			kindsCommand(),
			accelCommand(),
			linkCommand(),
			vmCommand(),
			graphCommand(),
			webCommand(),
			captureCommand(),
			eventsCommand(),
			faultCommand(),
			validateCommand(),
			demoCommand(),
			inventoryCommand(),
			configCommand(),
			remoteServerCommand(),
			vsockBackendCommand(),
		},
	}
	addGlobalFlags(app.Commands)
	return app
}

// addGlobalFlags gives every command and sub-command, recursively, its own copy of the global flags (unless
// it defines a flag of the same name), so that they parse after the command's name too. A command that takes
// no positional arguments (no ArgsUsage) also gets them checked: `cloonix-labd down ospf` fails instead of
// silently acting on another lab, and a flag after a stray argument is not silently ignored.
func addGlobalFlags(cmds []*cli.Command) {
	for _, cmd := range cmds {
		for _, f := range globalFlags() {
			if !hasFlag(cmd, f) {
				cmd.Flags = append(cmd.Flags, f)
			}
		}
		if action := cmd.Action; action != nil && cmd.ArgsUsage == "" {
			cmd.Action = func(c *cli.Context) error {
				args, err := positionalArgs(c)
				if err != nil {
					return err
				}
				if len(args) > 0 {
					return fmt.Errorf("%s takes no arguments, got %q; see: %s --help", commandLine(c), strings.Join(args, " "), commandLine(c))
				}
				return action(c)
			}
		}
		addGlobalFlags(cmd.Subcommands)
	}
}

// hasFlag tells whether cmd already defines a flag with one of f's names.
func hasFlag(cmd *cli.Command, f cli.Flag) bool {
	for _, n := range f.Names() {
		if lookupFlag(cmd, n) != nil {
			return true
		}
	}
	return false
}

// labName is the lab named on the command line, wherever --lab was given (the position closest to the
// command wins), else $CLOONIX_LAB, else "". It walks the lineage with IsSet because every command has its own
// copy of the flag: c.String("lab") alone would return the command's unset copy and hide the one given before
// the command's name.
func labName(c *cli.Context) string {
	for _, ctx := range c.Lineage() {
		if ctx.IsSet("lab") {
			return ctx.String("lab")
		}
	}
	return os.Getenv(labEnvVar)
}

// cliLogger logs progress of long commands (image builds) to stderr.
func cliLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
