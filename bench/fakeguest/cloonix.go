package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/cloonix-go/cloonix/lan"
	"github.com/cloonix-go/cloonix/netstack"
	"github.com/cloonix-go/cloonix/netstack/dhcp"
	"github.com/cloonix-go/cloonix/relay"
)

func runCloonix(ctx context.Context, args []string) error {
	fs := newFlagSet("cloonix")
	var m measureFlags
	m.register(fs)
	var gf guestFlags
	fs.StringVar(&gf.addr, "addr", "10.99.0.10/24", "the guest's address and prefix (the NAT reserves it for -mac)")
	fs.StringVar(&gf.gw, "gw", "10.99.0.1", "the NAT's gateway address")
	fs.StringVar(&gf.mac, "mac", "02:00:00:00:00:10", "the guest's MAC")
	fs.IntVar(&gf.mtu, "mtu", 1500, "LAN and NAT MTU")
	sock := fs.String("socket", "", "the guest's qemu stream unix socket, which the LAN port dials (required)")
	stateDir := fs.String("state-dir", "", "the NAT's state directory: keeps the guest's DHCP lease from one run to the next")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sock == "" {
		return errors.New("cloonix: -socket is required")
	}
	addr, gw, mac, err := gf.parse()
	if err != nil {
		return fmt.Errorf("cloonix: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The production wiring (labd/network.go): a switch per LAN, the NAT attached as one port, each VM
	// a qemu stream port that dials the VM's socket.
	nat, err := netstack.New(netstack.Config{
		Lab:          "bench",
		Subnet:       addr.Masked(),
		Gateway:      gw,
		MTU:          gf.mtu,
		StateDir:     *stateDir,
		Reservations: []dhcp.Reservation{{MAC: mac, IP: addr.Addr(), Hostname: "vm1"}},
	})
	if err != nil {
		return err
	}
	defer nat.Close()
	sw := lan.New(lan.Config{Name: "bench", MTU: gf.mtu}, nil)
	defer sw.Close()
	nat.SetPort(sw.Attach("nat", nat))
	if err := nat.Start(ctx); err != nil {
		return err
	}
	portDone := make(chan struct{})
	go func() {
		defer close(portDone)
		_ = lan.RunQemuPort(ctx, sw, "vm1", *sock, nil)
	}()
	defer func() { cancel(); <-portDone }()

	// The front: like cloonix-proxy's hop through the lab daemon's API socket, a unix socket where a
	// client names the port, gets "OK" once DialTCP has connected, and then talks to the VM.
	dir, err := os.MkdirTemp("", "cloonix-front-")
	if err != nil {
		return fmt.Errorf("cloonix: front socket dir: %w", err)
	}
	defer os.RemoveAll(dir)
	front := filepath.Join(dir, "front.sock")
	ln, err := net.Listen("unix", front)
	if err != nil {
		return fmt.Errorf("cloonix: front socket: %w", err)
	}
	defer ln.Close()
	go serveFront(ctx, ln, nat, mac)

	var d net.Dialer
	dial := func(ctx context.Context, port uint16) (net.Conn, error) {
		c, err := d.DialContext(ctx, "unix", front)
		if err != nil {
			return nil, fmt.Errorf("dial front %s: %w", front, err)
		}
		if _, err := fmt.Fprintf(c, "%d\n", port); err != nil {
			c.Close()
			return nil, fmt.Errorf("front request: %w", err)
		}
		if err := handshake(c); err != nil {
			c.Close()
			return nil, fmt.Errorf("front: %w", err)
		}
		return c, nil
	}
	err = measure(ctx, "cloonix", gf.mtu, m, dial)
	for _, p := range sw.Ports() {
		st := p.Stats()
		fmt.Fprintf(os.Stderr, "cloonix: lan port %s: tx %d frames, %d dropped (queue full)\n", p.Name(), st.TxFrames, st.Drops)
	}
	return err
}

// serveFront accepts front connections until ln closes: each names a port on one line, then is
// proxied with relay.Both (the NAT's 256 KiB copy loop) to that port at the address leased to mac, the
// way labd dials a VM.
func serveFront(ctx context.Context, ln net.Listener, nat *netstack.NAT, mac net.HardwareAddr) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			port, err := readPortLine(c)
			if err != nil {
				c.Close()
				return
			}
			ip, ok := nat.LeaseFor(mac)
			if !ok {
				c.Close()
				return
			}
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			up, err := nat.DialTCP(dctx, netip.AddrPortFrom(ip, port))
			cancel()
			if err != nil {
				c.Close()
				return
			}
			if _, err := c.Write([]byte("OK")); err != nil {
				c.Close()
				up.Close()
				return
			}
			relay.Both(c, up)
		}()
	}
}

// readPortLine reads "<port>\n" one byte at a time, so that nothing after the line is consumed.
func readPortLine(c net.Conn) (uint16, error) {
	var line []byte
	var b [1]byte
	for len(line) < 8 {
		if _, err := c.Read(b[:]); err != nil {
			return 0, err
		}
		if b[0] == '\n' {
			p, err := strconv.ParseUint(string(line), 10, 16)
			if err != nil {
				return 0, fmt.Errorf("front: port %q: %w", line, err)
			}
			return uint16(p), nil
		}
		line = append(line, b[0])
	}
	return 0, errors.New("front: request line too long")
}
