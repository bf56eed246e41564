package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/cloonix-go/cloonix/atomicfile"
	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/topology"
)

func graphCommand() *cli.Command {
	return &cli.Command{
		Name:  "graph",
		Usage: "draw the lab: DOT, Mermaid, JSON or SVG, from a lab file or from the running lab (with states)",
		Description: "graph LABFILE   the lab file's VMs, LANs and NATs\n" +
			"graph           the running lab (--lab NAME, or the only one up): also VM states, accelerators,\n" +
			"                addresses, links down and impairments\n\n" +
			"  cloonix-labd graph --format svg -o lab.svg examples/labs/triangle.toml   (svg needs Graphviz)",
		ArgsUsage: "[LABFILE]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "dot", Usage: "one of " + strings.Join(topology.Formats, ", ")},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` instead of stdout"},
		},
		Action: func(c *cli.Context) error {
			args, err := positionalArgs(c)
			if err != nil {
				return err
			}
			format := c.String("format")
			if !slices.Contains(topology.Formats, format) {
				return fmt.Errorf("unknown graph format %q; use --format with one of %s", format, strings.Join(topology.Formats, ", "))
			}
			var g topology.Graph
			switch len(args) {
			case 0:
				_, client, err := upLab(c)
				if err != nil {
					return err
				}
				if g, err = topology.FromRunning(c.Context, client); err != nil {
					return err
				}
			case 1:
				l, err := lab.Load(args[0], lab.Env{})
				if err != nil {
					return err
				}
				g = topology.FromLab(l, nil)
			default:
				return fmt.Errorf("graph takes one lab file, got %d arguments; see: cloonix-labd graph --help", len(args))
			}
			out, err := topology.Render(c.Context, g, format)
			if err != nil {
				return err
			}
			if f := c.String("output"); f != "" {
				return atomicfile.Write(f, out, 0o644)
			}
			_, err = os.Stdout.Write(out)
			return err
		},
	}
}
