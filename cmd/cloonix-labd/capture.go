package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/pcapstream"
)

func captureCommand() *cli.Command {
	return &cli.Command{
		Name:  "capture",
		Usage: "capture LANs and NICs live as pcapng, rootless, from the lab's switch (| wireshark -k -i -)",
		Description: "TARGET is a LAN (lan12) or a VM's NIC (r1:eth1); each is one named interface in the pcapng output.\n" +
			"The output goes to stdout (pipe it: | wireshark -k -i -, | tshark -r -, | tcpdump -r -) or to -w FILE,\n" +
			"until Ctrl-C or until the reader goes away. --last 60s starts a minute in the past, from each LAN's\n" +
			"flight recorder (the first 256 bytes of each frame). A reader too slow for the LAN loses frames, counted\n" +
			"in the pcapng interface statistics; the LAN never slows down.",
		ArgsUsage: "TARGET...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "write", Aliases: []string{"w"}, Usage: "write to `FILE` (0600) instead of stdout"},
			&cli.DurationFlag{Name: "last", Usage: "start this long ago, from the flight recorders (e.g. 60s)"},
			&cli.DurationFlag{Name: "for", Usage: "stop after this long (e.g. 10s); default: until Ctrl-C or the reader goes away"},
		},
		Action: func(c *cli.Context) error {
			targets, err := positionalArgs(c)
			if err != nil {
				return err
			}
			if len(targets) == 0 {
				return errors.New("usage: cloonix-labd capture TARGET... (for example: capture lan12 r1:eth1 | wireshark -k -i -)")
			}
			if c.Duration("last") < 0 || c.Duration("for") < 0 {
				return errors.New("capture --last and --for take a positive duration, e.g. --last 60s")
			}
			out := os.Stdout
			if path := c.String("write"); path != "" {
				f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
				if err != nil {
					return fmt.Errorf("capture -w: %w", err)
				}
				defer f.Close()
				out = f
			} else if term.IsTerminal(int(os.Stdout.Fd())) {
				return errors.New("capture writes pcapng, which is binary: pipe it (| wireshark -k -i -, | tshark -r -) or give -w FILE")
			}
			_, client, err := upLab(c)
			if err != nil {
				return err
			}
			conn, err := client.Capture(c.Context, targets, c.Duration("last"))
			if err != nil {
				return err
			}
			stop := closeOnDone(c, conn)
			defer stop()
			if d := c.Duration("for"); d > 0 {
				t := time.AfterFunc(d, func() { conn.Close() })
				defer t.Stop()
			}
			signal.Ignore(syscall.SIGPIPE) // a reader that goes away is a normal end: see pcapstream.Copy
			return pcapstream.Copy(out, conn)
		},
	}
}

// closeOnDone closes c when the command's context ends (Ctrl-C), so that a blocked read returns.
func closeOnDone(ctx *cli.Context, c io.Closer) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Context.Done():
			c.Close()
		case <-done:
		}
	}()
	return func() { close(done) }
}

func eventsCommand() *cli.Command {
	return &cli.Command{
		Name:  "events",
		Usage: "follow what changes in the lab: VM states, links, captures, DHCP leases",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print each event as a JSON line"},
			&cli.BoolFlag{Name: "all", Usage: "start with every event the daemon kept (its last 1024), not only new ones"},
			&cli.DurationFlag{Name: "for", Usage: "stop after this long (e.g. 10s); default: until Ctrl-C"},
		},
		Action: func(c *cli.Context) error {
			_, client, err := upLab(c)
			if err != nil {
				return err
			}
			path := "/" + api.Version + "/events"
			if c.Bool("all") {
				path += "?since=0"
			}
			conn, err := client.Stream(c.Context, path)
			if err != nil {
				return err
			}
			stop := closeOnDone(c, conn)
			defer stop()
			if d := c.Duration("for"); d > 0 {
				t := time.AfterFunc(d, func() { conn.Close() })
				defer t.Stop()
			}
			signal.Ignore(syscall.SIGPIPE)
			sc := bufio.NewScanner(conn)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			w := bufio.NewWriter(os.Stdout)
			for sc.Scan() {
				line := sc.Bytes()
				if !c.Bool("json") {
					var e api.Event
					if err := json.Unmarshal(line, &e); err != nil {
						return fmt.Errorf("events: bad event from the daemon: %v", err)
					}
					line = []byte(e.String())
				}
				w.Write(line)
				w.WriteByte('\n')
				if err := w.Flush(); errors.Is(err, syscall.EPIPE) {
					return nil // the reader went away
				} else if err != nil {
					return fmt.Errorf("events: write: %w", err)
				}
			}
			return nil
		},
	}
}

func faultCommand() *cli.Command {
	list := func(c *cli.Context, fs []api.FaultStatus) error {
		if len(fs) == 0 {
			fmt.Println("no scheduled faults")
			return nil
		}
		for _, f := range fs {
			fmt.Printf("#%d  %s  (fired %d times)\n", f.ID, f.Fault, f.Fired)
		}
		return nil
	}
	return &cli.Command{
		Name:  "fault",
		Usage: "schedule faults: a link down or impaired for a while, a VM paused, once or every so often",
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "schedule a fault, e.g. fault add link=r1:eth1 action=down for=3s every=30s",
				ArgsUsage: "KEY=VALUE...",
				Description: "Keys: " + lab.FaultKeys + ".\n" +
					"action=impair takes impair=WORDS (as link set: impair=loss=50% impair=dir=both); action=pause stops the\n" +
					"VM's CPUs (QMP stop) and starts them again. at= is counted from now. Each firing and end is an event.",
				Action: func(c *cli.Context) error {
					words, err := positionalArgs(c)
					if err != nil {
						return err
					}
					if len(words) == 0 {
						return errors.New("usage: cloonix-labd fault add link=r1:eth1 action=down for=3s [every=30s] [at=10s]")
					}
					_, client, err := upLab(c)
					if err != nil {
						return err
					}
					fs, err := client.Fault(c.Context, api.FaultRequest{Add: words})
					if err != nil {
						return err
					}
					return list(c, fs)
				},
			},
			{
				Name:  "list",
				Usage: "the scheduled faults",
				Action: func(c *cli.Context) error {
					_, client, err := upLab(c)
					if err != nil {
						return err
					}
					fs, err := client.Faults(c.Context)
					if err != nil {
						return err
					}
					return list(c, fs)
				},
			},
			{
				Name:      "clear",
				Usage:     "stop one scheduled fault (its number from fault list), or all; one in progress is undone first",
				ArgsUsage: "N|all",
				Action: func(c *cli.Context) error {
					args, err := positionalArgs(c)
					if err != nil {
						return err
					}
					id := 0
					if len(args) != 1 || (args[0] != "all" && func() bool { _, e := fmt.Sscan(args[0], &id); return e != nil || id <= 0 }()) {
						return errors.New("usage: cloonix-labd fault clear N|all (N from: cloonix-labd fault list)")
					}
					_, client, err := upLab(c)
					if err != nil {
						return err
					}
					fs, err := client.Fault(c.Context, api.FaultRequest{Clear: true, ID: id})
					if err != nil {
						return err
					}
					return list(c, fs)
				},
			},
		},
	}
}
