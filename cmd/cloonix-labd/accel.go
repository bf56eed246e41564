package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/vm"
)

func accelCommand() *cli.Command {
	return &cli.Command{
		Name: "accel",
		Usage: "say which accelerator (KVM or TCG) labs get on this host, and why: the answer of a boot of the " +
			"guest kernel, cached until the host reboots",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "fresh", Usage: "probe again and replace the cached answer"},
		},
		Action: func(c *cli.Context) error {
			if _, err := positionalArgs(c); err != nil {
				return err
			}
			img, err := probeImage(c.Context)
			if err != nil {
				return fmt.Errorf("accel: no guest kernel to probe with: %w", err)
			}
			p := vm.AccelProbe{Kernel: img.Kernel, Initrd: img.Initrd, Append: img.Append,
				CacheFile: labpath.AccelCache(), NoCache: c.Bool("fresh")}
			start := time.Now()
			a := p.Probe(c.Context)
			if c.Context.Err() != nil {
				return fmt.Errorf("accel: interrupted")
			}
			how := fmt.Sprintf("probed in %.1fs", time.Since(start).Seconds())
			switch {
			case a.Cached:
				how = "cached answer of this boot; probe again with: cloonix-labd accel --fresh"
			case c.Bool("fresh"):
				if err := p.Record(a); err != nil {
					return fmt.Errorf("accel: %w", err)
				}
			}
			fmt.Printf("%s: %s (%s)\n", a.Name, a.Reason, how)
			return nil
		},
	}
}
