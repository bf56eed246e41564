package labd

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/capture"
)

// Capture starts a capture of targets: LAN names ("lan12") and VM NICs ("r1:eth1"), each one pcapng
// interface, starting last ago from the LANs' flight recorders. The capture is an event when it starts and
// when it stops.
func (d *Daemon) Capture(ctx context.Context, targets []string, last time.Duration) (api.Stream, error) {
	if d.net == nil {
		return nil, d.fail(api.ErrNotRunning, "the lab's network is not up yet")
	}
	var tgs []capture.Target
	seen := map[string]bool{}
	for _, name := range targets {
		if seen[name] {
			continue
		}
		seen[name] = true
		tg, err := d.captureTarget(name)
		if err != nil {
			return nil, err
		}
		tgs = append(tgs, tg)
	}
	if last > 0 {
		for _, tg := range tgs {
			if tg.LAN.RecorderBytes() == 0 {
				return nil, d.fail(api.ErrBadRequest, "capture --last: LAN %s has no flight recorder (recorder_kib = 0 in the lab file); capture it without --last", tg.LAN.Name())
			}
		}
	}
	s, err := capture.Start(tgs, last)
	if err != nil {
		return nil, d.fail(api.ErrBadRequest, "%v", err)
	}
	what := strings.Join(targetNames(tgs), " ")
	d.events.Publish(api.Event{Kind: "capture", What: "started", Detail: what})
	d.log.Info("capture started", "targets", what, "last", last)
	return func(ctx context.Context, w io.Writer) error {
		_ = s.WriteTo(ctx, w) // it ends when the reader goes away or the daemon stops: both normal ends
		var frames, dropped uint64
		for _, st := range s.Stats() {
			frames += st.Frames
			dropped += st.Dropped
		}
		detail := fmt.Sprintf("%s: %d frames, %d dropped", what, frames, dropped)
		d.events.Publish(api.Event{Kind: "capture", What: "stopped", Detail: detail})
		d.log.Info("capture stopped", "targets", what, "frames", frames, "dropped", dropped)
		return nil
	}, nil
}

// captureTarget resolves one capture target.
func (d *Daemon) captureTarget(name string) (capture.Target, error) {
	if vmName, nic, ok := strings.Cut(name, ":"); ok {
		r, found := d.vms[vmName]
		if !found {
			return capture.Target{}, d.fail(api.ErrUnknownVM, "capture %s: no VM named %q (VMs: %s)", name, vmName, nameList(d.vmOrder))
		}
		n, found := r.spec.NIC(nic)
		if !found {
			return capture.Target{}, d.fail(api.ErrBadRequest, "capture %s: vm %s has no NIC %q (NICs: %s)", name, vmName, nic, strings.Join(nicNames(r), ", "))
		}
		cl := d.net.captures[n.LAN]
		p := cl.Switch().Port(vmName + "/" + n.Name)
		if p == nil {
			return capture.Target{}, d.fail(api.ErrNotRunning, "capture %s: its switch port is gone (is %s running?)", name, vmName)
		}
		return capture.Target{Name: name, LAN: cl, Port: p,
			Description: fmt.Sprintf("lab %s: %s's %s on LAN %s, both ways", d.lab.Name, vmName, n.Name, n.LAN)}, nil
	}
	cl, ok := d.net.captures[name]
	if !ok {
		return capture.Target{}, d.fail(api.ErrBadRequest, "capture: no LAN named %q, and not a VM:NIC like r1:eth1 (LANs: %s)", name, strings.Join(d.lanNames(), ", "))
	}
	return capture.Target{Name: name, LAN: cl, Description: fmt.Sprintf("lab %s: LAN %s, every frame", d.lab.Name, name)}, nil
}

func targetNames(tgs []capture.Target) []string {
	out := make([]string, len(tgs))
	for i, tg := range tgs {
		out[i] = tg.Name
	}
	return out
}

func nicNames(r *vmRun) []string {
	var out []string
	for _, x := range r.spec.NICs {
		out = append(out, x.Name)
	}
	return out
}

func (d *Daemon) lanNames() []string {
	var out []string
	for name := range d.net.captures {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Events streams the lab's events (GET /v1/events): those kept after since first, when since is given.
func (d *Daemon) Events(ctx context.Context, since *uint64) (api.Stream, error) {
	from := d.events.Seq()
	if since != nil {
		from = *since
	}
	return func(ctx context.Context, w io.Writer) error { return d.events.Stream(ctx, from, w) }, nil
}
