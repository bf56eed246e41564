package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/images"
	"github.com/cloonix-go/cloonix/impair"
	"github.com/cloonix-go/cloonix/kind"
	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/sshsetup"
	"github.com/cloonix-go/cloonix/vm"
)

// labEnv resolves image names through the image cache and reads the host's memory.
func labEnv(ctx context.Context) lab.Env {
	cache := &images.Cache{Dir: labpath.ImageCache()}
	return lab.Env{
		ResolveImage: func(name string) (lab.ImageRef, error) {
			img, err := cache.Lookup(ctx, name)
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
	env := labEnv(ctx)
	env.ResolveImage = func(name string) (lab.ImageRef, error) {
		if img, err := cache.Lookup(ctx, name); err == nil {
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
					// An image is current when it is the one labs use: built from the current recipe,
					// packages and host programs (images of older inputs are only disk space).
					current := map[string]string{}
					for _, img := range imgs {
						if _, ok := current[img.Name]; ok {
							continue
						}
						current[img.Name] = ""
						if cur, err := cache.Lookup(c.Context, img.Name); err == nil {
							current[img.Name] = cur.Dir
						}
					}
					w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
					fmt.Fprintln(w, "IMAGE\tSIZE\tBUILT\tUSED\tDIRECTORY")
					for _, img := range imgs {
						used := "no (older inputs)"
						if current[img.Name] == img.Dir {
							used = "yes"
						}
						fmt.Fprintf(w, "%s\t%.1f MiB\t%s\t%s\t%s\n", img.Name, float64(img.Size)/(1<<20), img.Built.Format(time.DateTime), used, img.Dir)
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
		Name:  "link",
		Usage: "take a VM's NIC link down or up, impair it (delay, loss, rate…), or show every link",
		Description: "link VM NIC up|down      the guest loses or gets back carrier; the LAN drops its frames while down\n" +
			"link VM NIC set WORDS…   impair the link, changing only what WORDS name: delay=50ms jitter=5ms loss=1%\n" +
			"                         (--dir out: what the VM sends, the default, as netem on its NIC; in; both)\n" +
			"link VM NIC clear        remove the link's impairments (--dir as for set)\n" +
			"link show [--json]       every VM NIC: state, impairments each way, frames and drops\n" +
			"link presets             the named impairments (wan, satellite, 3g, lossy-wifi, dsl)\n\n" +
			"Words: " + impair.Keys,
		ArgsUsage: "VM NIC up|down | VM NIC set WORDS... | VM NIC clear",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: impair.Out, Usage: "the direction set and clear act on: out (what the VM sends), in, or both"},
		},
		Subcommands: []*cli.Command{
			{
				Name:  "show",
				Usage: "every VM NIC: state, impairments each way, frames and drops",
				Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
				Action: func(c *cli.Context) error {
					_, client, err := upLab(c)
					if err != nil {
						return err
					}
					links, err := client.Links(c.Context)
					if err != nil {
						return err
					}
					if c.Bool("json") {
						return printJSON(links)
					}
					printLinks(links)
					return nil
				},
			},
			{
				Name:  "presets",
				Usage: "the named impairments, for link VM NIC set NAME",
				Action: func(c *cli.Context) error {
					for _, name := range impair.PresetNames() {
						fmt.Printf("%-11s %s\n", name, impair.Presets[name])
					}
					return nil
				},
			},
		},
		Action: func(c *cli.Context) error {
			args, err := positionalArgs(c)
			if err != nil {
				return err
			}
			const usage = "usage: cloonix-labd link VM NIC up|down|set WORDS…|clear, or link show|presets (for example: link r1 eth1 set delay=50ms loss=1%)"
			if len(args) < 3 {
				return errors.New(usage)
			}
			vmName, nic, verb := args[0], args[1], args[2]
			switch verb {
			case "up", "down":
				if len(args) != 3 {
					return errors.New(usage)
				}
				_, client, err := upLab(c)
				if err != nil {
					return err
				}
				if err := client.SetLink(c.Context, vmName, nic, verb == "up"); err != nil {
					return err
				}
				fmt.Printf("%s %s link %s\n", vmName, nic, verb)
				return nil
			case "set", "clear":
				words := args[3:]
				if (verb == "set") != (len(words) > 0) {
					return errors.New(usage)
				}
				if verb == "set" { // refuse bad words here, before the lab is even asked
					if _, err := impair.Parse(impair.Spec{}, words); err != nil {
						return err
					}
				}
				_, client, err := upLab(c)
				if err != nil {
					return err
				}
				ls, err := client.Impair(c.Context, api.ImpairRequest{VM: vmName, NIC: nic, Dir: c.String("dir"), Set: words, Clear: verb == "clear"})
				if err != nil {
					return err
				}
				fmt.Printf("%s %s out: %s; in: %s\n", vmName, nic, orNone(ls.Out), orNone(ls.In))
				return nil
			}
			return errors.New(usage)
		},
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// printLinks prints `link show` as a table.
func printLinks(links []api.LinkStatus) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LINK\tLAN\tSTATE\tOUT (VM sends)\tIN (VM receives)\tRX FRAMES\tTX FRAMES\tDROPS")
	for _, l := range links {
		state := "up"
		switch {
		case !l.Up:
			state = "down"
		case !l.Carrier:
			state = "no carrier"
		}
		drops := l.Drops + l.DropsLinkDown
		for _, st := range []*impair.Stats{l.OutStats, l.InStats} {
			if st != nil {
				drops += st.Lost + st.OverLimit + st.TooBig
			}
		}
		fmt.Fprintf(tw, "%s:%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n", l.VM, l.NIC, l.LAN, state, orNone(l.Out), orNone(l.In), l.RxFrames, l.TxFrames, drops)
	}
	tw.Flush()
}
