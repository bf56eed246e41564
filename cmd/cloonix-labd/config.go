package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/atomicfile"
	"github.com/cloonix-go/cloonix/configpush"
	"github.com/cloonix-go/cloonix/kind"
)

// configCommand is `config push` and `config save`: configuration by file, for every kind, through the
// lab's ssh_config (package configpush).
func configCommand() *cli.Command {
	scpFlag := &cli.StringFlag{Name: "scp", Value: "auto",
		Usage: "scp protocol: auto (-O when the kind has no SFTP server, as IOS-XE), legacy (-O) or sftp"}
	return &cli.Command{
		Name:  "config",
		Usage: "push a configuration file into a running VM, or save VMs' running configurations",
		Subcommands: []*cli.Command{
			{
				Name:      "push",
				Usage:     "merge FILE into the VM's running configuration (--replace: replace it)",
				ArgsUsage: "VM FILE",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "replace", Usage: "replace the running configuration instead of merging (IOS-XE: configure replace)"},
					scpFlag,
				},
				Action: func(c *cli.Context) error {
					args, err := positionalArgs(c)
					if err != nil {
						return err
					}
					if len(args) != 2 {
						return errors.New("usage: cloonix-labd config push [--replace] VM FILE")
					}
					tg, err := configTarget(c, arg(args, 0))
					if err != nil {
						return err
					}
					answer, err := configpush.Push(c.Context, tg, arg(args, 1), c.Bool("replace"))
					if err != nil {
						return err
					}
					fmt.Print(answer)
					if answer != "" && !strings.HasSuffix(answer, "\n") {
						fmt.Println()
					}
					how := "merged into"
					if c.Bool("replace") {
						how = "replaced"
					}
					fmt.Fprintf(os.Stderr, "%s: %s %s's running configuration\n", arg(args, 1), how, tg.VM)
					return nil
				},
			},
			{
				Name:      "save",
				Usage:     "print the VM's running configuration, or write it to FILE; --all DIR saves every VM as DIR/VM.cfg",
				ArgsUsage: "VM [FILE] | --all DIR",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "all", Usage: "save every VM's configuration into `DIR` as VM.cfg"},
				},
				Action: func(c *cli.Context) error {
					args, err := positionalArgs(c)
					if err != nil {
						return err
					}
					if dir := c.String("all"); dir != "" {
						if len(args) != 0 {
							return errors.New("usage: cloonix-labd config save --all DIR (no VM with --all)")
						}
						return saveAll(c, dir)
					}
					if len(args) < 1 || len(args) > 2 {
						return errors.New("usage: cloonix-labd config save VM [FILE], or config save --all DIR")
					}
					tg, err := configTarget(c, arg(args, 0))
					if err != nil {
						return err
					}
					data, err := configpush.Save(c.Context, tg)
					if err != nil {
						return err
					}
					if file := arg(args, 1); file != "" {
						return writeConfigFile(file, data)
					}
					_, err = os.Stdout.Write(data)
					return err
				},
			},
		},
	}
}

// configTarget finds the VM in the running lab and builds its configpush.Target. It fails when the VM is
// unknown or not running yet.
func configTarget(c *cli.Context, name string) (configpush.Target, error) {
	t, vms, err := labVMs(c)
	if err != nil {
		return configpush.Target{}, err
	}
	var known []string
	for _, v := range vms {
		if v.Name == name {
			return vmTarget(c, t, v)
		}
		known = append(known, v.Name)
	}
	return configpush.Target{}, fmt.Errorf("lab %s has no VM %q (known: %s)", t.name, name, strings.Join(known, ", "))
}

// labVMs returns the lab the command acts on and its VMs; the lab must be up.
func labVMs(c *cli.Context) (target, []api.VMStatus, error) {
	t, client, err := upLab(c)
	if err != nil {
		return t, nil, err
	}
	vms, err := client.VMs(c.Context)
	if err != nil {
		return t, nil, fmt.Errorf("lab %s: %w", t.name, err)
	}
	if t.remote != nil { // the ssh_config that configpush uses is this machine's
		if err := writeClientFiles(c.Context, t, client, false); err != nil {
			return t, nil, err
		}
	}
	return t, vms, nil
}

func vmTarget(c *cli.Context, t target, v api.VMStatus) (configpush.Target, error) {
	if v.State != api.StateRunning {
		return configpush.Target{}, fmt.Errorf("VM %s is %s, not running; wait until `cloonix-labd status` shows it running", v.Name, v.State)
	}
	k, err := kind.Lookup(v.Kind)
	if err != nil {
		return configpush.Target{}, fmt.Errorf("VM %s: %w", v.Name, err)
	}
	mode, err := configpush.ParseSCPMode(c.String("scp"))
	if err != nil {
		return configpush.Target{}, err
	}
	tg := configpush.Target{Lab: t.name, VM: v.Name, Kind: k, SSHConfig: t.dirs.SSHConfig(), SCP: mode}
	// The ssh_config runs cloonix-proxy from PATH: make sure the one next to this binary is found.
	if exe, err := os.Executable(); err == nil {
		tg.Env = []string{"PATH=" + filepath.Dir(exe) + string(os.PathListSeparator) + os.Getenv("PATH")}
	}
	return tg, nil
}

// saveAll saves every VM whose kind has a configuration into dir/VM.cfg; it reports every failure.
func saveAll(c *cli.Context, dir string) error {
	t, vms, err := labVMs(c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("config save --all: %w", err)
	}
	var errs []error
	for _, v := range vms {
		tg, err := vmTarget(c, t, v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !tg.Kind.Config.Pushable() {
			continue
		}
		data, err := configpush.Save(c.Context, tg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		file := filepath.Join(dir, v.Name+".cfg")
		if err := writeConfigFile(file, data); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Printf("%s\t%s\t%d bytes\n", v.Name, file, len(data))
	}
	return errors.Join(errs...)
}

// writeConfigFile writes a saved configuration atomically, 0600: router configurations hold secrets
// (password hashes, keys).
func writeConfigFile(path string, data []byte) error {
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}
