package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/labd"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/remote"
)

// target is the lab a command acts on.
type target struct {
	name string
	dirs labpath.Dirs
	sock string
	// remote is set when the name is a remote server of the client config: the lab runs there, sock is
	// unused, and dirs hold this machine's files for it (package remote).
	remote *remote.Server
}

// resolveLab finds the lab named by --lab (before or after the command's name) or $CLOONIX_LAB, or the only
// lab that is up.
func resolveLab(c *cli.Context) (target, error) {
	name := labName(c)
	if name == "" {
		up, err := api.RunningLabs(c.Context)
		if err != nil {
			return target{}, err
		}
		switch len(up) {
		case 0:
			return target{}, errors.New("no lab is up; start one with: cloonix-labd up LABFILE")
		case 1:
			name = up[0]
		default:
			return target{}, fmt.Errorf("several labs are up (%s); name one with --lab NAME", strings.Join(up, ", "))
		}
	}
	return resolveNamed(name)
}

// requireUp fails with a clear message when the lab's daemon does not answer.
func (t target) requireUp(ctx context.Context) (*api.Client, error) {
	if t.remote != nil {
		return remoteClient(ctx, t.remote)
	}
	client := api.NewClient(t.sock)
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := client.Lab(lctx)
	switch {
	case err == nil:
		return client, nil
	case errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Errorf("lab %s is not up; start it with: cloonix-labd up LABFILE", t.name)
	}
	// The socket is there but may not be used (another user's, a bad directory): say why.
	return nil, fmt.Errorf("lab %s: %w", t.name, err)
}

// upLab resolves the lab a command acts on and fails unless its daemon answers.
func upLab(c *cli.Context) (target, *api.Client, error) {
	t, err := resolveLab(c)
	if err != nil {
		return target{}, nil, err
	}
	client, err := t.requireUp(c.Context)
	return t, client, err
}

// statusReport is what `status --json` prints.
type statusReport struct {
	Lab    api.LabInfo    `json:"lab"`
	VMs    []api.VMStatus `json:"vms"`
	Leases []api.Lease    `json:"leases"`
}

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show the lab's VMs (state, accelerator, pid, memory, address) and DHCP leases",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"}},
		Action: func(c *cli.Context) error {
			_, client, err := upLab(c)
			if err != nil {
				return err
			}
			var r statusReport
			if r.Lab, err = client.Lab(c.Context); err != nil {
				return err
			}
			if r.VMs, err = client.VMs(c.Context); err != nil {
				return err
			}
			if r.Leases, err = client.Leases(c.Context); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(r)
			}
			printStatus(r)
			return nil
		},
	}
}

func printStatus(r statusReport) {
	fmt.Printf("lab %s: daemon pid %d, up %s\n", r.Lab.Name, r.Lab.PID, time.Since(r.Lab.StartedAt).Round(time.Second))
	fmt.Printf("accelerator: %s (%s)\n\n", r.Lab.Accel, r.Lab.AccelReason)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "VM\tKIND\tSTATE\tACCEL\tPID\tMEMORY\tCPUS\tADDRESS\tVSOCK")
	for _, v := range r.VMs {
		pid := "-"
		if v.PID != 0 {
			pid = fmt.Sprint(v.PID)
		}
		ip := v.IP
		if ip == "" {
			ip = "-"
		}
		vsock := "-"
		if v.Vsock {
			vsock = "userspace" // the vhost-user back-end next to the VM's qemu (no /dev/vhost-vsock)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d MiB\t%d\t%s\t%s\n", v.Name, v.Kind, v.State, v.Accel, pid, v.MemoryMiB, v.CPUs, ip, vsock)
	}
	w.Flush()
	// A VM whose accelerator has its own story (restarted under TCG by the watchdog, adopted from a daemon
	// that chose otherwise) says why.
	for _, v := range r.VMs {
		if v.AccelReason != "" && v.AccelReason != r.Lab.AccelReason {
			fmt.Printf("%s: %s: %s\n", v.Name, v.Accel, v.AccelReason)
		}
		if v.NATDrops > 0 {
			fmt.Printf("%s: %d new connections dropped by the NAT (it held its share of flows or pending dials)\n", v.Name, v.NATDrops)
		}
	}
	if len(r.Leases) > 0 {
		fmt.Println()
		w = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "NAT\tLEASE\tMAC\tHOSTNAME\tEXPIRES")
		for _, l := range r.Leases {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", l.NAT, l.IP, l.MAC, l.Hostname, l.Expiry.Format(time.RFC3339))
		}
		w.Flush()
	}
}

func downCommand() *cli.Command {
	return &cli.Command{
		Name:  "down",
		Usage: "stop every VM of the lab and its daemon",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "purge", Usage: "also delete the lab's overlays, keys, known_hosts, leases and logs"},
		},
		Action: func(c *cli.Context) error {
			t, err := resolveLab(c)
			if err != nil {
				return err
			}
			if t.remote != nil {
				return remoteDown(c, t)
			}
			return downLocal(c, t)
		},
	}
}

// downLocal stops a local lab's daemon and VMs (and with --purge deletes its state).
func downLocal(c *cli.Context, t target) error {
	wasUp, err := stopDaemon(c.Context, t)
	if err != nil {
		return err
	}
	// No daemon now. One that died leaves its VMs running: stop them, so nothing is left behind and a
	// purge never deletes an overlay under a live qemu.
	stopped, err := labd.StopOrphans(c.Context, t.dirs, 20*time.Second)
	if err != nil {
		return fmt.Errorf("lab %s: stopping the VMs its daemon left failed: %w", t.name, err)
	}
	if len(stopped) > 0 {
		fmt.Printf("%s lab %s: stopped the VMs its daemon left running: %s\n", stamp(), t.name, strings.Join(stopped, ", "))
	}
	if c.Bool("purge") {
		if err := purge(t); err != nil {
			return err
		}
		fmt.Printf("%s lab %s: purged its state\n", stamp(), t.name)
		return nil
	}
	if len(stopped) == 0 && !wasUp {
		return fmt.Errorf("lab %s is not up; nothing to stop (--purge deletes its state)", t.name)
	}
	fmt.Printf("%s lab %s is down\n", stamp(), t.name)
	return nil
}

// stopDaemon stops the lab's daemon if one runs, deciding that from the lab's lock, not from an answer on
// the socket: a daemon still starting (probing the accelerator, starting qemus) does not answer yet, and
// killing its VMs under it, or purging its state, would strand it. A daemon that answers is asked to take
// the lab down; one that does not gets SIGTERM, which makes it stop what it started. It tells whether there
// was a daemon.
func stopDaemon(ctx context.Context, t target) (bool, error) {
	pid, alive := labd.DaemonAlive(t.dirs)
	if !alive {
		return false, nil
	}
	client := api.NewClient(t.sock)
	if client.IsUp(ctx) {
		vms, _ := client.VMs(ctx)
		fmt.Printf("%s lab %s: stopping %d VMs\n", stamp(), t.name, len(vms))
		dctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		if err := takeDown(dctx, client); err != nil {
			return true, fmt.Errorf("lab %s: %w", t.name, err)
		}
		return true, nil
	}
	if pid <= 0 {
		return true, fmt.Errorf("lab %s: a daemon holds %s but does not answer and wrote no pid; find it with: pgrep -af 'labd serve'", t.name, t.dirs.LockFile())
	}
	fmt.Printf("%s lab %s: its daemon (pid %d) is not answering yet (still starting?); asking it to stop\n", stamp(), t.name, pid)
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return true, fmt.Errorf("lab %s: stop daemon pid %d: %w", t.name, pid, err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if _, alive := labd.DaemonAlive(t.dirs); !alive {
			return true, nil
		}
		if time.Now().After(deadline) {
			return true, fmt.Errorf("lab %s: daemon pid %d still holds the lab's lock 3 minutes after SIGTERM; stop it with: kill -9 %d, then run down again", t.name, pid, pid)
		}
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitGone waits until none of the processes exists.
func waitGone(ctx context.Context, pids []int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var alive []string
		for _, pid := range pids {
			if syscall.Kill(pid, 0) == nil && !isZombie(pid) {
				alive = append(alive, fmt.Sprint(pid))
			}
		}
		if len(alive) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %s are still running after %s", strings.Join(alive, ", "), timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// isZombie tells whether a process has exited but not been reaped.
func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// purge deletes the lab's state and runtime directories.
func purge(t target) error {
	for _, dir := range []string{t.dirs.State, t.dirs.Runtime} {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("purge %s: %w", dir, err)
		}
	}
	return nil
}

// printJSON prints v as indented JSON, what every --json prints.
func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
