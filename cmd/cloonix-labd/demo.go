package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/configpush"
	"github.com/cloonix-go/cloonix/demo"
	"github.com/cloonix-go/cloonix/examples/demos"
	"github.com/cloonix-go/cloonix/kind"
	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/sshsetup"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:      "demo",
		Usage:     "list the demos, or play one: build its images, start its lab, push its configs and check each step",
		ArgsUsage: "[NAME]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "keep", Usage: "leave the lab up at the end (and after a failure) and print what to try next"},
			&cli.StringFlag{Name: "image", Usage: "the vendor image file a demo needs (see `cloonix-labd demo`)"},
			&cli.StringFlag{Name: "dir", Usage: "play demos from `DIR` (DIR/NAME/steps.toml) instead of the built-in ones"},
		},
		Action: func(c *cli.Context) error {
			args, err := positionalArgs(c)
			if err != nil {
				return err
			}
			root := fs.FS(demos.FS)
			if dir := c.String("dir"); dir != "" {
				root = os.DirFS(dir)
			}
			if len(args) == 0 {
				return listDemos(root)
			}
			if len(args) > 1 {
				return fmt.Errorf("usage: cloonix-labd demo [--keep] [--image PATH] NAME")
			}
			return playDemo(c.Context, root, arg(args, 0), c.Bool("keep"), c.String("image"))
		},
	}
}

func listDemos(root fs.FS) error {
	ds, err := demo.List(root)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "DEMO\tTAKES\tMEMORY\tNEEDS\tWHAT IT SHOWS")
	for _, d := range ds {
		var needs []string
		if len(d.Requires.Images) > 0 {
			needs = append(needs, "images "+strings.Join(d.Requires.Images, ","))
		}
		if d.Requires.Image != "" {
			needs = append(needs, "--image")
		}
		mem := "?"
		if m := demoMemoryMiB(d); m > 0 {
			mem = fmt.Sprintf("%d MiB", m)
		}
		takes := "?"
		if d.Takes.Duration > 0 {
			takes = "~" + d.Takes.Duration.String()
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", d.Name, takes, mem, strings.Join(needs, "; "), d.Title)
	}
	w.Flush()
	fmt.Println("\nplay one with: cloonix-labd demo [--keep] NAME")
	return nil
}

// demoMemoryMiB is the memory the demo's VMs take: what its steps file says it needs, else the sum over its
// lab file's VMs (with their kinds' defaults), read from a copy of the demo's files; 0 when unknown.
func demoMemoryMiB(d *demo.Demo) int {
	if d.Requires.MemoryMiB > 0 {
		return d.Requires.MemoryMiB
	}
	dir, err := os.MkdirTemp("", "cloonix-demo-list-")
	if err != nil {
		return 0
	}
	defer os.RemoveAll(dir)
	file, err := demo.Prepare(d, dir, "")
	if err != nil {
		return 0
	}
	l, err := lab.Load(file, lab.Env{})
	if err != nil {
		return 0
	}
	total := 0
	for _, v := range l.VMs {
		total += v.MemoryMiB
	}
	return total
}

// leftover says what an earlier run left of a demo's lab: its daemon up (an earlier --keep), or the state of
// a run whose daemon is gone (its VMs may still run). The demo owns its lab's name, so Run stops and purges
// either with `down --purge`.
func leftover(ctx context.Context, dirs labpath.Dirs) string {
	if api.NewClient(dirs.CtlSocket()).IsUp(ctx) {
		return "its daemon is up"
	}
	for _, dir := range []string{dirs.State, dirs.Runtime} {
		if _, err := os.Stat(dir); err == nil {
			return "its daemon is gone, its state stays"
		}
	}
	return ""
}

// playDemo plays the named demo with the cloonix-labd executable itself as the driver.
func playDemo(ctx context.Context, root fs.FS, name string, keep bool, image string) error {
	d, err := demo.Load(root, name)
	if err != nil {
		return err
	}
	if err := demo.CheckRequires(d, image, lab.HostMemoryMiB); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "cloonix-demo-"+name+"-")
	if err != nil {
		return fmt.Errorf("demo %s: %w", name, err)
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	labFile, err := demo.Prepare(d, dir, image)
	if err != nil {
		return err
	}
	labName, err := demo.LabName(labFile)
	if err != nil {
		return err
	}
	dirs, err := labpath.For(labName)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("demo %s: find cloonix-labd itself: %w", name, err)
	}
	sshConfig := dirs.SSHConfig()
	drv := &demo.CLIDriver{
		Exe:       exe,
		LabFile:   labFile,
		Lab:       labName,
		SSHConfig: sshConfig,
		Socket:    dirs.CtlSocket(),
		Keep:      keep,
		Pusher: func(ctx context.Context, vm string, k *kind.Kind, file string, replace bool) (string, error) {
			return configpush.Push(ctx, configpush.Target{Lab: labName, VM: vm, Kind: k, SSHConfig: sshConfig}, file, replace)
		},
	}
	return demo.Run(ctx, d, drv, demo.Options{
		Out:      os.Stdout,
		Keep:     keep,
		FileDir:  dir,
		Leftover: leftover(ctx, dirs),
		Vars: map[string]string{
			"lab":        labName,
			"ssh_config": sshConfig,
			"include":    sshsetup.IncludeLine(sshConfig),
			"dir":        dir,
		},
	})
}
