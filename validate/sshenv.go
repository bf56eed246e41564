package validate

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"time"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/kind"
)

// SSHEnv is a running lab as its user reaches it: the system's ssh with the lab's generated ssh_config (so
// through cloonix-proxy, locally or to a remote server) and the daemon's API.
type SSHEnv struct {
	SSHConfig string
	Client    *api.Client

	mu    sync.Mutex
	kinds map[string]*kind.Kind
}

// Run implements Env: `ssh -F SSHCONFIG [-l user] vm command`, in batch mode.
func (e *SSHEnv) Run(ctx context.Context, vm, user, command string) (string, error) {
	args := []string{"-F", e.SSHConfig, "-o", "BatchMode=yes", "-o", "ConnectTimeout=20", "-o", "LogLevel=ERROR"}
	if user != "" {
		args = append(args, "-l", user)
	}
	args = append(args, vm, command)
	cmd := exec.CommandContext(ctx, "ssh", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("ssh %s %q: %w", vm, command, err)
	}
	return out.String(), nil
}

// Kind implements Env, asking the daemon for the lab's VMs once.
func (e *SSHEnv) Kind(ctx context.Context, vm string) (*kind.Kind, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.kinds == nil {
		vms, err := e.Client.VMs(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the lab's VMs: %w", err)
		}
		kinds := map[string]*kind.Kind{}
		for _, v := range vms {
			k, err := kind.Lookup(v.Kind)
			if err != nil {
				return nil, fmt.Errorf("vm %s: %w", v.Name, err)
			}
			kinds[v.Name] = k
		}
		e.kinds = kinds
	}
	k, ok := e.kinds[vm]
	if !ok {
		return nil, fmt.Errorf("the lab has no VM %q", vm)
	}
	return k, nil
}

// Links implements Env.
func (e *SSHEnv) Links(ctx context.Context) ([]api.LinkStatus, error) { return e.Client.Links(ctx) }

// Capture implements Env.
func (e *SSHEnv) Capture(ctx context.Context, targets []string, last time.Duration) (io.ReadCloser, error) {
	return e.Client.Capture(ctx, targets, last)
}
