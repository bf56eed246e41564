// Command fakeguest is the NAT benchmark harness of bench/nat.sh. Its subcommands:
//
//	fakeguest guest    a fake VM: a gVisor stack with a static address on a qemu stream unix socket,
//	                   either listening as qemu's "-netdev stream,server=on" does (-mode server, what a
//	                   cloonix LAN port dials) or connecting as qemu's client does (-mode client, what
//	                   gvproxy -listen-qemu and passt --socket expect). It serves a TCP sink (reads to
//	                   EOF, answers the byte count), a 1-byte echo that closes after answering, and a
//	                   stream echo for the request/response test.
//	fakeguest cloonix  runs a cloonix NAT as a port of a lan.Switch whose qemu port dials the guest's
//	                   socket (the production path), fronts DialTCP with a unix socket that speaks a
//	                   one-line handshake (like cloonix-proxy's API hop), and measures through it.
//	fakeguest gvproxy  measures through gvproxy's /tunnel HTTP endpoint on its -listen unix socket.
//	fakeguest passt    measures through passt's forwarded TCP ports on 127.0.0.1 (passt -t).
//
// The measuring subcommands print one line of JSON with the throughput runs (Gbit/s), the
// connect + 1 byte + close latency percentiles (µs, like netperf's TCP_CRR) and the 1-byte
// request/response percentiles on one open connection (µs, like TCP_RR); "fakeguest table" turns those
// lines into one markdown table. All traffic stays on unix sockets and loopback.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/cloonix-go/cloonix/netstack/fakeguest"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: fakeguest guest|cloonix|gvproxy|passt|table [flags] (-h for each)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// FAKEGUEST_CPUPROFILE=prefix writes prefix-<subcommand>.pprof, for profiling either side.
	if p := os.Getenv("FAKEGUEST_CPUPROFILE"); p != "" {
		f, err := os.Create(p + "-" + os.Args[1] + ".pprof")
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	var err error
	switch os.Args[1] {
	case "guest":
		err = runGuest(ctx, os.Args[2:])
	case "cloonix":
		err = runCloonix(ctx, os.Args[2:])
	case "gvproxy":
		err = runGvproxy(ctx, os.Args[2:])
	case "passt":
		err = runPasst(ctx, os.Args[2:])
	case "table":
		err = runTable(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q: use guest, cloonix, gvproxy, passt or table", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakeguest:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// guestFlags are the guest's identity, shared by the guest and the cloonix subcommands (the NAT
// reserves the guest's address for its MAC).
type guestFlags struct {
	addr, gw, mac string
	mtu           int
}

func (g *guestFlags) parse() (netip.Prefix, netip.Addr, net.HardwareAddr, error) {
	p, err := netip.ParsePrefix(g.addr)
	if err != nil {
		return p, netip.Addr{}, nil, fmt.Errorf("-addr %q: want an IPv4 prefix like 10.99.0.10/24: %w", g.addr, err)
	}
	gw, err := netip.ParseAddr(g.gw)
	if err != nil {
		return p, gw, nil, fmt.Errorf("-gw %q: want an IPv4 address like 10.99.0.1: %w", g.gw, err)
	}
	mac, err := net.ParseMAC(g.mac)
	if err != nil {
		return p, gw, mac, fmt.Errorf("-mac %q: want a MAC like 02:00:00:00:00:10: %w", g.mac, err)
	}
	if g.mtu < 576 || g.mtu > 65520 {
		return p, gw, mac, fmt.Errorf("-mtu %d: want 576..65520", g.mtu)
	}
	return p, gw, mac, nil
}

func runGuest(ctx context.Context, args []string) error {
	fs := newFlagSet("guest")
	var gf guestFlags
	fs.StringVar(&gf.addr, "addr", "10.99.0.10/24", "static address and prefix")
	fs.StringVar(&gf.gw, "gw", "10.99.0.1", "default gateway")
	fs.StringVar(&gf.mac, "mac", "02:00:00:00:00:10", "MAC address")
	fs.IntVar(&gf.mtu, "mtu", 1500, "NIC MTU")
	sock := fs.String("socket", "", "qemu stream unix socket path (required)")
	mode := fs.String("mode", "server", "server: listen like qemu server=on; client: connect like qemu server=off")
	sinkPort := fs.Uint("sink-port", 5001, "TCP sink port")
	echoPort := fs.Uint("echo-port", 7, "TCP 1-byte echo port")
	rrPort := fs.Uint("rr-port", 7008, "TCP stream echo port (request/response on one connection)")
	dhcp := fs.Bool("dhcp", true, "ask the LAN's DHCP server for a lease (a cloonix NAT dials only leased VMs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sock == "" {
		return fmt.Errorf("guest: -socket is required")
	}
	addr, gw, mac, err := gf.parse()
	if err != nil {
		return fmt.Errorf("guest: %w", err)
	}
	g, err := fakeguest.New(mac, addr, gw, gf.mtu)
	if err != nil {
		return err
	}
	defer g.Close()
	errc := make(chan error, 4)
	go func() { errc <- g.ServeSink(ctx, uint16(*sinkPort)) }()
	go func() { errc <- g.ServeEcho1(ctx, uint16(*echoPort)) }()
	go func() { errc <- g.ServeEchoStream(ctx, uint16(*rrPort)) }()
	switch *mode {
	case "server":
		ready := make(chan struct{})
		go func() { errc <- g.ServeQemuServer(ctx, *sock, ready) }()
		select {
		case <-ready:
		case err := <-errc:
			return err
		}
	case "client":
		go func() { errc <- g.ServeQemuClient(ctx, *sock) }()
	default:
		return fmt.Errorf("guest: -mode %q: want server or client", *mode)
	}
	slog.Info("fake guest up", "addr", addr, "mac", mac.String(), "mtu", gf.mtu, "socket", *sock, "mode", *mode)
	if *dhcp {
		go func() {
			for ctx.Err() == nil {
				dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				ack, err := g.DHCP(dctx)
				cancel()
				if err == nil {
					slog.Info("fake guest got a DHCP lease", "ip", ack.YourIPAddr)
					return
				}
				slog.Debug("fake guest DHCP", "err", err)
			}
		}()
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
}
