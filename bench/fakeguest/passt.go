package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
)

// runPasst measures through passt's port forwarding: passt (started by bench/nat.sh with -t) listens on
// host TCP ports of -host and forwards each connection to the guest's port behind it, so the measuring
// side dials plain TCP on loopback, as a passt user does. -sink-port, -echo-port and -rr-port name the
// host ports here, not the guest's.
func runPasst(ctx context.Context, args []string) error {
	fs := newFlagSet("passt")
	var m measureFlags
	m.register(fs)
	host := fs.String("host", "127.0.0.1", "the address passt's forwarded ports listen on")
	mtu := fs.Int("mtu", 1500, "the MTU passt and the guest run at (only reported)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if ip := net.ParseIP(*host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("passt: -host %q: want a loopback address (the benchmark stays on this host)", *host)
	}
	var d net.Dialer
	dial := func(ctx context.Context, port uint16) (net.Conn, error) {
		addr := net.JoinHostPort(*host, strconv.Itoa(int(port)))
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("dial passt's forwarded port %s: %w", addr, err)
		}
		return c, nil
	}
	return measure(ctx, "passt", *mtu, m, dial)
}
