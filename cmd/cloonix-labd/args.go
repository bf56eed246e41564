package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// positionalArgs returns a command's positional arguments, applying any of its flags that came after the first
// one: urfave/cli stops parsing flags at the first positional argument, but users write
// `cloonix-labd demo cisco-ospf --image PATH` as naturally as the other order. A lone "--" ends the flags.
func positionalArgs(c *cli.Context) ([]string, error) {
	var out []string
	args := c.Args().Slice()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i+1:]...), nil
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			out = append(out, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := lookupFlag(c.Command, name)
		if f == nil {
			return nil, fmt.Errorf("%s: unknown flag %s; see: %s --help", commandLine(c), a, commandLine(c))
		}
		if _, isBool := f.(*cli.BoolFlag); isBool {
			if !hasValue {
				value = "true"
			}
		} else if !hasValue {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("%s: flag %s needs a value", commandLine(c), a)
			}
			i++
			value = args[i]
		}
		if err := c.Set(f.Names()[0], value); err != nil {
			return nil, fmt.Errorf("%s: flag %s: %w", commandLine(c), a, err)
		}
	}
	return out, nil
}

// commandLine is the command as typed, "cloonix-labd image build", for messages.
func commandLine(c *cli.Context) string {
	if c.Command.HelpName != "" {
		return c.Command.HelpName
	}
	return c.App.Name + " " + c.Command.Name
}

// lookupFlag finds a command's flag by any of its names.
func lookupFlag(cmd *cli.Command, name string) cli.Flag {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

// arg returns the i-th positional argument, or "" when there are fewer.
func arg(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}
