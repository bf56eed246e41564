package main

import (
	"context"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/inventory"
	"github.com/cloonix-go/cloonix/kind"
)

// renderInventory is the lab's inventory from what its daemon says of the VMs, with the keys and known_hosts
// in t's state directory (the lab's own; for a remote server, this machine's copies).
func renderInventory(ctx context.Context, t target, client *api.Client, vsock bool) ([]byte, error) {
	vms, err := client.VMs(ctx)
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", t.name, err)
	}
	o := inventory.Options{Lab: t.name, Ed25519Key: t.dirs.Ed25519Key(), RSAKey: t.dirs.RSAKey(), KnownHosts: t.dirs.KnownHosts(), Vsock: vsock}
	for _, v := range vms {
		k, err := kind.Lookup(v.Kind)
		if err != nil {
			return nil, fmt.Errorf("lab %s: VM %s: %w", t.name, v.Name, err)
		}
		o.Hosts = append(o.Hosts, inventory.Host{Name: v.Name, Kind: k, Via: v.Via, SSHLegacy: v.SSHLegacy, Vsock: v.Vsock})
	}
	return inventory.Render(o)
}

func inventoryCommand() *cli.Command {
	return &cli.Command{
		Name:  "inventory",
		Usage: "write an Ansible inventory (YAML) of the lab: one group per kind, every host through cloonix-proxy",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write it to `FILE` (\"-\" for stdout) instead of the lab's state directory"},
			&cli.BoolFlag{Name: "vsock", Usage: "reach every VM that has a vsock device over vsock, not through its NAT"},
		},
		Action: func(c *cli.Context) error {
			t, client, err := upLab(c)
			if err != nil {
				return err
			}
			if t.remote != nil { // this machine's copies of the keys, and its own known_hosts
				if err := writeClientFiles(c.Context, t, client, false); err != nil {
					return err
				}
			}
			data, err := renderInventory(c.Context, t, client, c.Bool("vsock"))
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
