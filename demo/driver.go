package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/kind"
	"github.com/cloonix-go/cloonix/validate"
)

// PushFunc copies file to the VM of the given kind and loads it (configpush.Push in the CLI).
type PushFunc func(ctx context.Context, vm string, k *kind.Kind, file string, replace bool) (string, error)

// CLIDriver drives a lab with the cloonix-labd executable (image build, up, down), the system ssh with the
// lab's ssh_config (so through cloonix-proxy), the daemon's API (link) and a PushFunc.
type CLIDriver struct {
	Exe       string // the cloonix-labd executable
	LabFile   string // the prepared lab file
	Lab       string // the lab's name
	SSHConfig string // the lab's generated ssh_config
	Socket    string // the daemon's API socket
	Pusher    PushFunc
	Keep      bool // pass --keep to up: a lab that fails to come up stays up to be looked at

	mu  sync.Mutex
	env *validate.SSHEnv
}

// BuildImages runs `cloonix-labd image build NAME` for each image.
func (c *CLIDriver) BuildImages(ctx context.Context, names []string) error {
	for _, n := range names {
		if _, err := c.labd(ctx, "image", "build", n); err != nil {
			return err
		}
	}
	return nil
}

// Up runs `cloonix-labd up [--keep] LABFILE`, which waits for every VM's sshd. What an earlier run left of the lab
// (whose overlays, made from an older image, would not start) is the caller's to clear first with Down, as
// Run does with Options.Leftover.
func (c *CLIDriver) Up(ctx context.Context) error {
	args := []string{"up", c.LabFile}
	if c.Keep {
		args = []string{"up", "--keep", c.LabFile}
	}
	_, err := c.labd(ctx, args...)
	return err
}

// Down runs `cloonix-labd --lab NAME down --purge`: a demo's lab leaves nothing behind.
func (c *CLIDriver) Down(ctx context.Context) error {
	_, err := c.labd(ctx, "--lab", c.Lab, "down", "--purge")
	return err
}

// interruptGrace is how long a cloonix-labd child has, once interrupted, to clean up before it is killed.
const interruptGrace = 30 * time.Second

// labd runs the executable and returns its output; a failure quotes the output's last lines. When ctx ends,
// the child gets SIGINT, as from a terminal's Ctrl-C, so that an interrupted `up` stops what it started; it
// is killed if it has not exited after interruptGrace.
func (c *CLIDriver) labd(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.Exe, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = interruptGrace
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("cloonix-labd %s: %w\n%s", strings.Join(args, " "), err, tail(out.String(), 15))
	}
	return out.String(), nil
}

// Push loads file into vm with the driver's PushFunc and the VM's kind (from the daemon).
func (c *CLIDriver) Push(ctx context.Context, vm, file string, replace bool) (string, error) {
	if c.Pusher == nil {
		return "", errors.New("no config push function")
	}
	k, err := c.Kind(ctx, vm)
	if err != nil {
		return "", err
	}
	return c.Pusher(ctx, vm, k, file, replace)
}

// lab is the running lab as validate reaches it: ssh with the lab's ssh_config, and the daemon's API.
func (c *CLIDriver) lab() *validate.SSHEnv {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.env == nil {
		c.env = &validate.SSHEnv{SSHConfig: c.SSHConfig, Client: api.NewClient(c.Socket)}
	}
	return c.env
}

// Run implements validate.Env: `ssh -F SSHCONFIG [-l user] vm cmd`.
func (c *CLIDriver) Run(ctx context.Context, vm, user, command string) (string, error) {
	return c.lab().Run(ctx, vm, user, command)
}

// Kind implements validate.Env.
func (c *CLIDriver) Kind(ctx context.Context, vm string) (*kind.Kind, error) {
	return c.lab().Kind(ctx, vm)
}

// Links implements validate.Env.
func (c *CLIDriver) Links(ctx context.Context) ([]api.LinkStatus, error) { return c.lab().Links(ctx) }

// Capture implements validate.Env.
func (c *CLIDriver) Capture(ctx context.Context, targets []string, last time.Duration) (io.ReadCloser, error) {
	return c.lab().Capture(ctx, targets, last)
}

// Impair asks the daemon to set words on the NIC (or clear it) in dir.
func (c *CLIDriver) Impair(ctx context.Context, vm, nic, dir, words string, clear bool) error {
	req := api.ImpairRequest{VM: vm, NIC: nic, Dir: dir, Clear: clear}
	if words != "" {
		req.Set = strings.Fields(words)
	}
	_, err := api.NewClient(c.Socket).Impair(ctx, req)
	return err
}

// SetLink asks the daemon to take the NIC down or up.
func (c *CLIDriver) SetLink(ctx context.Context, vm, nic string, up bool) error {
	return api.NewClient(c.Socket).SetLink(ctx, vm, nic, up)
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
