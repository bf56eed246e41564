package main

import (
	"io"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestGlobalFlagsInEveryPosition: --lab (and -l, and $CLOONIX_LAB) reach resolveLab whether they come before
// the command's name, after it, after a sub-command's name or after positional arguments.
func TestGlobalFlagsInEveryPosition(t *testing.T) {
	cases := []struct {
		argv []string
		env  string
		want string
	}{
		{[]string{"--lab", "ospf", "down"}, "", "ospf"},
		{[]string{"down", "--lab", "ospf"}, "", "ospf"},
		{[]string{"down", "--lab=ospf", "--purge"}, "", "ospf"},
		{[]string{"down", "-l", "ospf"}, "", "ospf"},
		{[]string{"-l", "ospf", "status", "--json"}, "", "ospf"},
		{[]string{"console", "r1", "--lab", "ospf"}, "", "ospf"},
		{[]string{"console", "r1", "-l", "ospf"}, "", "ospf"},
		{[]string{"link", "r1", "eth1", "down", "--lab", "ospf"}, "", "ospf"},
		{[]string{"config", "--lab", "ospf", "push", "r1", "f.cfg"}, "", "ospf"},
		{[]string{"config", "push", "--lab", "ospf", "r1", "f.cfg"}, "", "ospf"},
		{[]string{"config", "push", "r1", "f.cfg", "--lab", "ospf", "--replace"}, "", "ospf"},
		{[]string{"config", "save", "--all", "d", "-l", "ospf"}, "", "ospf"},
		{[]string{"image", "build", "tiny", "--lab", "ospf"}, "", "ospf"},
		{[]string{"ssh-config", "--lab", "ospf"}, "", "ospf"},
		{[]string{"inventory", "-o", "-", "--lab", "ospf"}, "", "ospf"},
		// The environment, and the command line over it in either position.
		{[]string{"down"}, "bgp", "bgp"},
		{[]string{"down", "--lab", "ospf"}, "bgp", "ospf"},
		{[]string{"--lab", "ospf", "down"}, "bgp", "ospf"},
		// Given twice, the one closest to the command wins.
		{[]string{"--lab", "bgp", "down", "--lab", "ospf"}, "", "ospf"},
	}
	for _, c := range cases {
		t.Setenv(labEnvVar, c.env)
		var got string
		_, err := dryRun(c.argv, func(ctx *cli.Context) error {
			tg, err := resolveLab(ctx)
			got = tg.name
			return err
		})
		if err != nil || got != c.want {
			t.Errorf("%q (CLOONIX_LAB=%q): lab %q, err %v; want %q", c.argv, c.env, got, err, c.want)
		}
	}
}

// TestEveryCommandTakesGlobalFlags walks the whole command tree: each command and sub-command has its own
// --lab, so that it parses after the command's name.
func TestEveryCommandTakesGlobalFlags(t *testing.T) {
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, cmd := range cmds {
			for _, name := range []string{"lab", "l"} {
				if lookupFlag(cmd, name) == nil {
					t.Errorf("%s%s has no -%s flag", prefix, cmd.Name, name)
				}
			}
			walk(prefix+cmd.Name+" ", cmd.Subcommands)
		}
	}
	walk("", newApp().Commands)
}

// TestNoArgumentCommandsRefuseArguments: `cloonix-labd down ospf` must not silently act on the only lab up.
func TestNoArgumentCommandsRefuseArguments(t *testing.T) {
	// The real action, wrapped by addGlobalFlags, refuses before it does anything.
	app := newApp()
	app.Writer, app.ErrWriter = io.Discard, io.Discard
	err := app.Run([]string{"cloonix-labd", "down", "ospf"})
	if err == nil || !strings.Contains(err.Error(), `cloonix-labd down takes no arguments, got "ospf"`) {
		t.Errorf("down ospf: %v", err)
	}
	err = app.Run([]string{"cloonix-labd", "kinds", "x", "--bogus"})
	if err == nil || !strings.Contains(err.Error(), "unknown flag --bogus") {
		t.Errorf("kinds --bogus: %v", err)
	}
}
