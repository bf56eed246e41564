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

// labFlag selects the lab for commands that act on a running one.
var labFlag = &cli.StringFlag{
	Name:    "lab",
	Aliases: []string{"l"},
	Usage:   "the lab to act on (default: the only lab that is up)",
	EnvVars: []string{"CLOONIX_LAB"},
}

func newApp() *cli.App {
	return &cli.App{
		Name:                 "cloonix-labd",
		Usage:                "run network labs of qemu VMs without admin rights",
		Version:              version,
		EnableBashCompletion: true,
		HideHelpCommand:      true,
		Flags:                []cli.Flag{labFlag},
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
			linkCommand(),
			demoCommand(),
			inventoryCommand(),
			configCommand(),
		},
	}
}

// cliLogger logs progress of long commands (image builds) to stderr.
func cliLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
