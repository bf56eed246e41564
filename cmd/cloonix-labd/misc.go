package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cloonix-go/cloonix/images"
	"github.com/cloonix-go/cloonix/kind"
	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/sshsetup"
	"github.com/cloonix-go/cloonix/vm"
)

// labEnv resolves image names through the image cache and reads the host's memory.
func labEnv() lab.Env {
	cache := &images.Cache{Dir: labpath.ImageCache()}
	return lab.Env{
		ResolveImage: func(name string) (lab.ImageRef, error) {
			img, err := cache.Lookup(name)
			if err != nil {
				return lab.ImageRef{}, fmt.Errorf("%w: %v", lab.ErrImageNotBuilt, err)
			}
			return imageRef(img), nil
		},
		HostMemoryMiB: lab.HostMemoryMiB,
	}
}

// buildingLabEnv is labEnv that builds a missing built-in image (its progress on stderr) instead of refusing
// it: what `up` for a remote client does, whose user cannot run `image build` on the server by hand.
func buildingLabEnv(ctx context.Context) lab.Env {
	cache := &images.Cache{Dir: labpath.ImageCache(), Log: cliLogger()}
	env := labEnv()
	env.ResolveImage = func(name string) (lab.ImageRef, error) {
		if img, err := cache.Lookup(name); err == nil {
			return imageRef(img), nil
		}
		fmt.Fprintf(os.Stderr, "%s image %s is not built on this server: building it\n", stamp(), name)
		start := time.Now()
		img, err := cache.Build(ctx, name)
		if err != nil {
			return lab.ImageRef{}, err
		}
		fmt.Fprintf(os.Stderr, "%s image %s built in %.1fs\n", stamp(), name, time.Since(start).Seconds())
		return imageRef(img), nil
	}
	return env
}

// imageRef is what a lab file needs of a built image.
func imageRef(img images.Image) lab.ImageRef {
	return lab.ImageRef{Name: img.Name, Disk: img.Disk, Kernel: img.Kernel, Initrd: img.Initrd, Append: img.Append}
}

func consoleCommand() *cli.Command {
	return &cli.Command{
		Name:      "console",
		Usage:     "attach to a VM's serial console (Ctrl-] leaves)",
		ArgsUsage: "VM",
		Action: func(c *cli.Context) error {
			args, err := positionalArgs(c)
			if err != nil {
				return err
			}
			name := arg(args, 0)
			if name == "" {
				return fmt.Errorf("usage: cloonix-labd console VM")
			}
			t, client, err := upLab(c)
			if err != nil {
				return err
			}
			vms, err := client.VMs(c.Context)
			if err != nil {
				return err
			}
			var known []string
			for _, v := range vms {
				if v.Name == name {
					sock := v.Console
					if t.remote != nil { // the console is a socket on the server: forward it
						if sock, err = t.remote.Forward(c.Context, v.Console); err != nil {
							return err
						}
					}
					return vm.AttachConsole(c.Context, sock, os.Stdin, os.Stdout)
				}
				known = append(known, v.Name)
			}
			return fmt.Errorf("lab %s has no VM %q (known: %v)", t.name, name, known)
		},
	}
}

func sshConfigCommand() *cli.Command {
	return &cli.Command{
		Name:  "ssh-config",
		Usage: "print the path of the lab's generated ssh_config and the Include line for ~/.ssh/config",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "fdpass", Usage: "the variant with ProxyUseFdpass yes"}},
		Action: func(c *cli.Context) error {
			t, err := resolveLab(c)
			if err != nil {
				return err
			}
			if t.remote != nil { // written here, from what the server's daemon says
				client, err := t.requireUp(c.Context)
				if err != nil {
					return err
				}
				if err := writeClientFiles(c.Context, t, client, false); err != nil {
					return err
				}
			}
			path := t.dirs.SSHConfig()
			if c.Bool("fdpass") {
				path = t.dirs.FdpassSSHConfig()
			}
			if _, err := os.Stat(path); err != nil {
				return fmt.Errorf("lab %s has no ssh_config yet (%v); bring it up first: cloonix-labd up LABFILE", t.name, err)
			}
			fmt.Println(path)
			fmt.Println("# put this line at the top of ~/.ssh/config (an Include inside a Host block is conditional):")
			fmt.Println(sshsetup.IncludeLine(path))
			return nil
		},
	}
}

func imageCommand() *cli.Command {
	return &cli.Command{
		Name:  "image",
		Usage: "build and list guest images (made from Debian packages)",
		Subcommands: []*cli.Command{
			{
				Name:      "build",
				Usage:     "build a guest image; a second build with the same inputs is instant",
				ArgsUsage: "NAME",
				Action: func(c *cli.Context) error {
					args, err := positionalArgs(c)
					if err != nil {
						return err
					}
					name := arg(args, 0)
					if name == "" {
						return fmt.Errorf("usage: cloonix-labd image build NAME (one of %v)", images.Recipes())
					}
					cache := &images.Cache{Dir: labpath.ImageCache(), Log: cliLogger()}
					start := time.Now()
					img, err := cache.Build(c.Context, name)
					if err != nil {
						return err
					}
					fmt.Printf("image %s: %s (%.1f MiB) in %.1fs\n", img.Name, img.Dir, float64(img.Size)/(1<<20), time.Since(start).Seconds())
					return nil
				},
			},
			{
				Name:  "list",
				Usage: "list built images with their sizes",
				Action: func(c *cli.Context) error {
					cache := &images.Cache{Dir: labpath.ImageCache()}
					imgs, err := cache.List()
					if err != nil {
						return err
					}
					w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
					fmt.Fprintln(w, "IMAGE\tSIZE\tBUILT\tDIRECTORY")
					for _, img := range imgs {
						fmt.Fprintf(w, "%s\t%.1f MiB\t%s\t%s\n", img.Name, float64(img.Size)/(1<<20), img.Built.Format(time.DateTime), img.Dir)
					}
					w.Flush()
					if len(imgs) == 0 {
						fmt.Printf("no image is built; build one with: cloonix-labd image build %s\n", images.Recipes()[0])
					}
					return nil
				},
			},
		},
	}
}

func kindsCommand() *cli.Command {
	return &cli.Command{
		Name:  "kinds",
		Usage: "list the node kinds a lab file can use, with their defaults",
		Action: func(c *cli.Context) error {
			w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "KIND\tVARIANTS\tMEMORY\tSSH USER\tDESCRIPTION")
			for _, name := range kind.Names() {
				k, err := kind.Lookup(name)
				if err != nil {
					return err
				}
				variants := strings.Join(k.VariantNames(), ",")
				if variants == "" {
					variants = "-"
				}
				fmt.Fprintf(w, "%s\t%s\t%d MiB\t%s\t%s\n", k.Name, variants, k.DefaultMemoryMiB, k.SSHUser, k.Description)
			}
			return w.Flush()
		},
	}
}

func linkCommand() *cli.Command {
	return &cli.Command{
		Name:      "link",
		Usage:     "take a VM's NIC link down or up (the guest loses carrier and the LAN drops its frames)",
		ArgsUsage: "VM NIC up|down",
		Action: func(c *cli.Context) error {
			args, err := positionalArgs(c)
			if err != nil {
				return err
			}
			if len(args) != 3 || (arg(args, 2) != "up" && arg(args, 2) != "down") {
				return fmt.Errorf("usage: cloonix-labd link VM NIC up|down (for example: link r1 eth1 down)")
			}
			_, client, err := upLab(c)
			if err != nil {
				return err
			}
			vmName, nic, state := arg(args, 0), arg(args, 1), arg(args, 2)
			if err := client.SetLink(c.Context, vmName, nic, state == "up"); err != nil {
				return err
			}
			fmt.Printf("%s %s link %s\n", vmName, nic, state)
			return nil
		},
	}
}
