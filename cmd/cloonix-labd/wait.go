package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/api/tunnel"
	"github.com/cloonix-go/cloonix/configpush"
	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/labd"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/termsafe"
)

// waitUp follows the lab's VMs through created → booting → running, printing each change (and each VM the
// watchdog restarts under another accelerator), then waits until the sshd of each VM that a NAT reaches
// (lab.Lab.ManagementNAT) answers through it. It fails naming the VM that is not ready, with the tail of
// its console log, or saying the wait was interrupted.
func waitUp(ctx context.Context, c *api.Client, l *lab.Lab, timeout time.Duration) error {
	return waitVMs(ctx, c, waitOpts{lab: l.Name, file: l, progress: true, during: "the lab was coming up"}, timeout)
}

// waitOpts say what waitVMs waits for.
type waitOpts struct {
	lab string // the lab's name
	// file is the lab's file: a running VM is ready once its sshd answers through its management NAT (or
	// vsock) and, for kinds that ask, a key login works. Nil: a VM is ready once it is running (its kind's
	// readiness line).
	file     *lab.Lab
	vm       string // "": every VM of the lab; else only this one
	progress bool   // print each change of state and accelerator
	during   string // what a stop or crash interrupts, for its message: "the lab was coming up"
}

// waitVMs is waitUp for the VMs and the readiness that o names.
func waitVMs(ctx context.Context, c *api.Client, o waitOpts, timeout time.Duration) error {
	dirs, err := labpath.For(o.lab)
	if err != nil {
		return err
	}
	l := o.file
	seen := map[string]api.VMState{}
	accel := map[string]string{}
	sshOK := map[string]bool{}
	login := newLoginProber(l, dirs)
	sock := dirs.CtlSocket()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last []api.VMStatus
	for {
		vms, err := c.VMs(ctx)
		if err == nil {
			vms = slices.DeleteFunc(vms, func(v api.VMStatus) bool { return o.vm != "" && v.Name != o.vm })
			last = vms
		}
		done := err == nil
		for _, v := range vms {
			if seen[v.Name] != v.State && o.progress {
				fmt.Printf("%s %-12s %s\n", stamp(), v.Name, v.State)
			}
			seen[v.Name] = v.State
			if was, ok := accel[v.Name]; ok && was != v.Accel && o.progress {
				fmt.Printf("%s %-12s %s\n", stamp(), v.Name, v.AccelReason)
			}
			accel[v.Name] = v.Accel
			switch v.State {
			case api.StateCrashed, api.StateStopped:
				return fmt.Errorf("vm %s is %s while %s; %s", v.Name, v.State, o.during, consoleReport(dirs, v))
			case api.StateRunning:
			default:
				done = false
				continue
			}
			via, reachable := readyVia(l, v)
			if !reachable || sshOK[v.Name] {
				continue
			}
			if !login.bannerOK[v.Name] {
				switch {
				case sshAnswers(ctx, sock, via, v.Name):
					fmt.Printf("%s %-12s sshd answers through %s\n", stamp(), v.Name, via)
				case via != labpath.VsockEntity && v.Vsock && sshAnswers(ctx, sock, labpath.VsockEntity, v.Name):
					// An adopted VM whose network the user took down is still reachable, over vsock.
					fmt.Printf("%s %-12s sshd answers over vsock, not through %s (is its network down?)\n", stamp(), v.Name, via)
				default:
					done = false
					continue
				}
				login.bannerOK[v.Name] = true
			}
			ok, err := login.try(ctx, v.Name)
			if err != nil {
				return err
			}
			if !ok {
				done = false
				continue
			}
			sshOK[v.Name] = true
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			interrupted := errors.Is(ctx.Err(), context.Canceled)
			for _, v := range last {
				via, reachable := readyVia(l, v)
				if v.State == api.StateRunning && (!reachable || sshOK[v.Name]) {
					continue
				}
				what := "state " + string(v.State)
				if v.State == api.StateRunning {
					what = "its sshd does not answer through " + via
					if login.bannerOK[v.Name] {
						what = "its sshd answers but the key login does not work yet: " + login.last[v.Name]
					}
				}
				if interrupted {
					return fmt.Errorf("interrupted while waiting for vm %s (%s)", v.Name, what)
				}
				return fmt.Errorf("vm %s is not ready after %s (%s); %s", v.Name, timeout, what, consoleReport(dirs, v))
			}
			if interrupted {
				return fmt.Errorf("lab %s: interrupted while waiting for it to be ready", o.lab)
			}
			return fmt.Errorf("lab %s: not ready after %s: %v", o.lab, timeout, ctx.Err())
		case <-tick.C:
		}
	}
}

// readyVia is the entity through which up checks a running VM's sshd: its management NAT, else vsock
// when it has a vsock device; false when neither reaches it, or when there is no lab file to tell.
func readyVia(l *lab.Lab, v api.VMStatus) (string, bool) {
	if l == nil {
		return "", false
	}
	if nat, ok := l.ManagementNAT(v.Name); ok {
		return nat.Name, true
	}
	if v.Vsock {
		return labpath.VsockEntity, true
	}
	return "", false
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

// sshAnswers tells whether the VM's port 22 sends an SSH banner through the entity (a NAT, or vsock).
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

// loginProber proves a key login for the VMs whose kind asks for it (kind.Kind.ReadinessLogin): the system
// ssh with the lab's ssh_config and BatchMode runs the kind's harmless command. A banner is not enough for
// them: IOS-XE answers it and still refuses the lab's RSA key when ssh-rsa is not allowed (issue 17).
// Other kinds (linux, frr) are ready at the banner, as before, with no ssh run.
type loginProber struct {
	lab      *lab.Lab
	dirs     labpath.Dirs
	bannerOK map[string]bool      // the sshd banner answered through the NAT
	next     map[string]time.Time // no new attempt before this
	refused  map[string]int       // key refusals in a row
	last     map[string]string    // the last attempt's failure, for the timeout message
	ssh      string               // the ssh client; "" is ssh from PATH (tests put a fake here)
}

// loginRetry is the pause between key-login attempts; loginRefusals refusals of the key in a row end the
// wait at once (a refused key does not heal by waiting).
const (
	loginRetry    = 5 * time.Second
	loginRefusals = 3
)

func newLoginProber(l *lab.Lab, dirs labpath.Dirs) *loginProber {
	return &loginProber{lab: l, dirs: dirs, bannerOK: map[string]bool{}, next: map[string]time.Time{},
		refused: map[string]int{}, last: map[string]string{}}
}

// try reports whether the VM is ready once its banner answered: at once for kinds without a ReadinessLogin,
// else when the key login ran the command. It fails, naming the VM and ssh's reason, when the key was
// refused loginRefusals times in a row.
func (p *loginProber) try(ctx context.Context, name string) (bool, error) {
	i := slices.IndexFunc(p.lab.VMs, func(v lab.VM) bool { return v.Name == name })
	if i < 0 || p.lab.VMs[i].Kind == nil || p.lab.VMs[i].Kind.ReadinessLogin == "" {
		return true, nil
	}
	k := p.lab.VMs[i].Kind
	if time.Now().Before(p.next[name]) {
		return false, nil
	}
	p.next[name] = time.Now().Add(loginRetry)
	t := configpush.Target{Lab: p.lab.Name, VM: name, Kind: k, SSHConfig: p.dirs.SSHConfig(), Timeout: 45 * time.Second, SSHProgram: p.ssh}
	if exe, err := os.Executable(); err == nil { // the ssh_config runs cloonix-proxy from PATH
		t.Env = []string{"PATH=" + filepath.Dir(exe) + string(os.PathListSeparator) + os.Getenv("PATH")}
	}
	_, err := configpush.Exec(ctx, t, k.ReadinessLogin)
	if err == nil {
		fmt.Printf("%s %-12s key login works (ssh %s %q)\n", stamp(), name, name, k.ReadinessLogin)
		return true, nil
	}
	if ctx.Err() != nil {
		return false, nil
	}
	reason := termsafe.Line(strings.Join(strings.Fields(err.Error()), " "), 300)
	p.last[name] = reason
	if !strings.Contains(err.Error(), "Permission denied") {
		p.refused[name] = 0
		return false, nil
	}
	if p.refused[name]++; p.refused[name] < loginRefusals {
		return false, nil
	}
	hint := "check the key the router holds (cloonix-labd console " + name + ", show running-config | section pubkey-chain)"
	if k.SSHRSA {
		hint = "is ssh-rsa accepted? `ssh -G " + name + " | grep -i pubkeyaccepted` must list ssh-rsa (the lab's ssh_config: " +
			p.dirs.SSHConfig() + "); " + hint
	}
	return false, fmt.Errorf("vm %s: sshd answers but refuses the lab's key (%s); %s", name, reason, hint)
}
