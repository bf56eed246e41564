package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/api/tunnel"
	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/labd"
	"github.com/cloonix-go/cloonix/labpath"
)

// waitUp follows the lab's VMs through created → booting → running, printing each change (and each VM the
// watchdog restarts under another accelerator), then waits until the sshd of each VM that a NAT reaches
// (lab.Lab.ManagementNAT) answers through it. It fails naming the VM that is not ready, with the tail of
// its console log, or saying the wait was interrupted.
func waitUp(ctx context.Context, c *api.Client, l *lab.Lab, timeout time.Duration) error {
	dirs, err := labpath.For(l.Name)
	if err != nil {
		return err
	}
	seen := map[string]api.VMState{}
	accel := map[string]string{}
	sshOK := map[string]bool{}
	sock := dirs.CtlSocket()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last []api.VMStatus
	for {
		vms, err := c.VMs(ctx)
		if err == nil {
			last = vms
		}
		done := err == nil
		for _, v := range vms {
			if seen[v.Name] != v.State {
				fmt.Printf("%s %-12s %s\n", stamp(), v.Name, v.State)
				seen[v.Name] = v.State
			}
			if was, ok := accel[v.Name]; ok && was != v.Accel {
				fmt.Printf("%s %-12s %s\n", stamp(), v.Name, v.AccelReason)
			}
			accel[v.Name] = v.Accel
			switch v.State {
			case api.StateCrashed, api.StateStopped:
				return fmt.Errorf("vm %s is %s while the lab was coming up; %s", v.Name, v.State, consoleReport(dirs, v))
			case api.StateRunning:
			default:
				done = false
				continue
			}
			nat, hasNAT := l.ManagementNAT(v.Name)
			if !hasNAT || sshOK[v.Name] {
				continue
			}
			if sshAnswers(ctx, sock, nat.Name, v.Name) {
				sshOK[v.Name] = true
				fmt.Printf("%s %-12s sshd answers through %s\n", stamp(), v.Name, nat.Name)
			} else {
				done = false
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			interrupted := errors.Is(ctx.Err(), context.Canceled)
			for _, v := range last {
				nat, hasNAT := l.ManagementNAT(v.Name)
				if v.State == api.StateRunning && (!hasNAT || sshOK[v.Name]) {
					continue
				}
				what := "state " + string(v.State)
				if v.State == api.StateRunning {
					what = "its sshd does not answer through " + nat.Name
				}
				if interrupted {
					return fmt.Errorf("interrupted while waiting for vm %s (%s)", v.Name, what)
				}
				return fmt.Errorf("vm %s is not ready after %s (%s); %s", v.Name, timeout, what, consoleReport(dirs, v))
			}
			if interrupted {
				return fmt.Errorf("lab %s: interrupted while waiting for it to be ready", l.Name)
			}
			return fmt.Errorf("lab %s: not ready after %s: %v", l.Name, timeout, ctx.Err())
		case <-tick.C:
		}
	}
}

// consoleReport gives a VM's last console lines, or, when its console stayed empty, which accelerator ran
// it and what to try.
func consoleReport(dirs labpath.Dirs, v api.VMStatus) string {
	if tail := labd.ConsoleTail(dirs, v.Name, v.ConsoleOffset, 15); strings.TrimSpace(tail) != "" {
		return "last console lines:\n" + tail
	}
	qemuLog := dirs.QemuLog(v.Name)
	hint := "look at qemu's log " + qemuLog + "; if the image is broken, rebuild it with: cloonix-labd image build tiny"
	if v.Accel == "kvm" {
		hint = "KVM may hang on this host without a sound; try TCG with: CLOONIX_ACCEL=tcg cloonix-labd up LABFILE (and see " + qemuLog + ")"
	}
	return fmt.Sprintf("its console stayed empty under %s (%s); %s", v.Accel, v.AccelReason, hint)
}

// sshAnswers tells whether the VM's port 22 sends an SSH banner through the NAT.
func sshAnswers(ctx context.Context, sock, nat, vmName string) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := tunnel.Connect(ctx, sock, nat, vmName, 22)
	if err != nil {
		return false
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "SSH-")
}
