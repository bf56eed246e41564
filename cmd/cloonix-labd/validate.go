package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"
	"github.com/urfave/cli/v2"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/validate"
)

func validateCommand() *cli.Command {
	return &cli.Command{
		Name:  "validate",
		Usage: "run the lab's tests (typed checks of the nodes and checks of the wire): PASS/FAIL per test and node",
		Description: "FILE defaults to the tests file the lab file names (tests = \"tests.toml\"). The format is in\n" +
			"`go doc github.com/cloonix-go/cloonix/validate`. Exit codes: 0 passed, 1 a test failed, 2 no usable test,\n" +
			"3 only warnings.",
		ArgsUsage: "[FILE]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON on stdout (the PASS/FAIL lines go to stderr)"},
			&cli.StringFlag{Name: "junit", Usage: "also write a JUnit XML report to `FILE`, for CI systems"},
			&cli.StringSliceFlag{Name: "test", Usage: "run only the test named `NAME` (repeat for more)"},
			&cli.DurationFlag{Name: "wait", Usage: "retry each test for at most `DURATION` instead of its own wait (0s: one try, the state now)"},
		},
		Action: func(c *cli.Context) error {
			args, err := positionalArgs(c)
			if err != nil {
				return err
			}
			if len(args) > 1 {
				return errors.New("usage: cloonix-labd validate [FILE] (one tests file)")
			}
			t, client, err := upLab(c)
			if err != nil {
				return err
			}
			file := arg(args, 0)
			if file == "" {
				if file, err = labTestsFile(c, t, client); err != nil {
					return err
				}
			}
			topo, err := labTopology(c, client)
			if err != nil {
				return err
			}
			suite, err := validate.Load(file, topo)
			if err != nil {
				return cli.Exit(err.Error(), validate.ExitNoTest)
			}
			for _, name := range c.StringSlice("test") {
				found := false
				for _, tt := range suite.Tests {
					found = found || tt.Name == name
				}
				if !found {
					return cli.Exit(fmt.Sprintf("%s has no test %q; its tests are listed with their names in the file", file, name), validate.ExitNoTest)
				}
			}
			if c.IsSet("wait") {
				if c.Duration("wait") < 0 {
					return cli.Exit("validate --wait takes a duration of 0s or more, e.g. --wait 10s", validate.ExitNoTest)
				}
				for _, tt := range suite.Tests {
					tt.Wait = c.Duration("wait")
				}
			}
			if t.remote != nil {
				if err := writeClientFiles(c.Context, t, client, false); err != nil {
					return err
				}
			}
			env := &validate.SSHEnv{SSHConfig: t.dirs.SSHConfig(), Client: client}
			var lines io.Writer = os.Stdout
			if c.Bool("json") {
				lines = os.Stderr
			}
			rep := validate.Run(c.Context, suite, env, validate.Options{Out: lines, Only: c.StringSlice("test")})
			rep.Lab = t.name
			rep.Finish()
			fmt.Fprintln(lines, rep.SummaryLine())
			if f := c.String("junit"); f != "" {
				if err := rep.WriteJUnit(f); err != nil {
					return err
				}
			}
			if c.Bool("json") {
				if err := rep.WriteJSON(os.Stdout); err != nil {
					return err
				}
			}
			if c.Context.Err() != nil {
				return c.Context.Err()
			}
			if rep.ExitCode != 0 {
				return cli.Exit("", rep.ExitCode)
			}
			return nil
		},
	}
}

// labTestsFile is the tests file the running lab's file names (tests = "…"), read from the lab file itself.
func labTestsFile(c *cli.Context, t target, client *api.Client) (string, error) {
	if t.remote != nil {
		return "", fmt.Errorf("lab %s runs on another machine; give its tests file from this one: cloonix-labd --server %s validate FILE", t.name, t.name)
	}
	info, err := client.Lab(c.Context)
	if err != nil {
		return "", err
	}
	var head struct {
		Tests string `toml:"tests"`
	}
	if _, err := toml.DecodeFile(info.File, &head); err != nil {
		return "", fmt.Errorf("lab file %s: %w", info.File, err)
	}
	if head.Tests == "" {
		return "", fmt.Errorf("lab file %s names no tests file; add tests = \"tests.toml\" to it, or give one: cloonix-labd validate FILE", info.File)
	}
	if !filepath.IsAbs(head.Tests) {
		head.Tests = filepath.Join(filepath.Dir(info.File), head.Tests)
	}
	return head.Tests, nil
}

// labTopology is what a tests file of the running lab may name: its VMs and LANs.
func labTopology(c *cli.Context, client *api.Client) (*validate.Topology, error) {
	vms, err := client.VMs(c.Context)
	if err != nil {
		return nil, err
	}
	links, err := client.Links(c.Context)
	if err != nil {
		return nil, err
	}
	topo := &validate.Topology{}
	for _, v := range vms {
		topo.VMs = append(topo.VMs, v.Name)
	}
	seen := map[string]bool{}
	for _, l := range links {
		if !seen[l.LAN] {
			seen[l.LAN] = true
			topo.LANs = append(topo.LANs, l.LAN)
		}
	}
	return topo, nil
}
