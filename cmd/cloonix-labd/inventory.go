package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/cloonix-go/cloonix/inventory"
	"github.com/cloonix-go/cloonix/lab"
)

func inventoryCommand() *cli.Command {
	return &cli.Command{
		Name:  "inventory",
		Usage: "write an Ansible inventory (YAML) of the lab: one group per kind, every host through cloonix-proxy",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write it to `FILE` (\"-\" for stdout) instead of the lab's state directory"},
		},
		Action: func(c *cli.Context) error {
			t, client, err := upLab(c)
			if err != nil {
				return err
			}
			info, err := client.Lab(c.Context)
			if err != nil {
				return err
			}
			l, err := lab.Load(info.File, labEnv())
			if err != nil {
				return fmt.Errorf("lab %s: read its lab file again: %w", t.name, err)
			}
			data, err := inventory.Render(inventory.FromLab(l, t.dirs.State))
			if err != nil {
				return err
			}
			out := c.String("output")
			if out == "-" {
				_, err := os.Stdout.Write(data)
				return err
			}
			if out == "" {
				out = t.dirs.Inventory()
			}
			if err := os.WriteFile(out, data, 0o644); err != nil {
				return fmt.Errorf("write inventory: %w", err)
			}
			fmt.Println(out)
			fmt.Printf("# try: ansible -i %s all -m ansible.builtin.raw -a 'uname -n'   (or -m ping on hosts with python3)\n", out)
			return nil
		},
	}
}
