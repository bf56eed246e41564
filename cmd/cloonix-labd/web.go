package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"os/user"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/webview"
)

func webCommand() *cli.Command {
	return &cli.Command{
		Name:  "web",
		Usage: "serve a live page of the lab (topology, link states and rates, consoles, actions) on 127.0.0.1",
		Description: "Prints the page's URL, which carries a random token: only who has the URL can see and drive the labs.\n" +
			"With --lab NAME the page serves that lab only; without, every lab of yours that is up.\n" +
			"--unix serves on a UNIX socket (0600) instead, to reach from another machine through ssh -L; the\n" +
			"command prints the ssh line. Ctrl-C stops it.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:0", Usage: "the loopback `ADDR:PORT` to serve on (port 0: a free one)"},
			&cli.BoolFlag{Name: "unix", Usage: "serve on a UNIX socket in the runtime directory instead (for ssh -L)"},
		},
		Action: func(c *cli.Context) error {
			only := labName(c)
			if only != "" {
				t, _, err := upLab(c)
				if err != nil {
					return err
				}
				if t.remote != nil {
					return fmt.Errorf("lab %s runs on a server: serve its page there and forward it: ssh %s cloonix-labd web --unix --lab %s, then the ssh -L line it prints", only, t.remote.Dest, t.remote.Lab)
				}
			}
			srv, err := webview.New(webview.Options{Lab: only, Log: cliLogger()})
			if err != nil {
				return err
			}
			var l net.Listener
			if c.Bool("unix") {
				path, err := labpath.WebSocket()
				if err != nil {
					return err
				}
				if conn, err := net.DialTimeout("unix", path, time.Second); err == nil {
					conn.Close()
					return fmt.Errorf("another web command serves on %s already; stop it (Ctrl-C in its terminal) or use it", path)
				}
				if l, err = api.Listen(path); err != nil {
					return err
				}
				defer os.Remove(path)
				u, _ := user.Current()
				host, _ := os.Hostname()
				who := host
				if u != nil {
					who = u.Username + "@" + host
				}
				fmt.Printf("cloonix web: serving on %s (0600)\n", path)
				fmt.Printf("from another machine: ssh -N -L 8080:%s %s\n", path, who)
				fmt.Printf("then open: %s\n", srv.URL("127.0.0.1:8080", only))
			} else {
				addr, err := net.ResolveTCPAddr("tcp", c.String("listen"))
				if err != nil || !addr.IP.IsLoopback() {
					return fmt.Errorf("--listen %s: give a loopback address and port, like 127.0.0.1:8080 (the page drives your labs; never serve it on a network)", c.String("listen"))
				}
				if l, err = net.ListenTCP("tcp", addr); err != nil {
					return fmt.Errorf("web: %w", err)
				}
				fmt.Printf("cloonix web: %s\n", srv.URL(l.Addr().String(), only))
			}
			fmt.Println("cloonix web: Ctrl-C stops it")
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			err = srv.Serve(ctx, l)
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
}
