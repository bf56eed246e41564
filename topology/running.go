package topology

import (
	"context"
	"fmt"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/lab"
)

// FromRunning builds the live graph of the lab a daemon runs: the lab file it was started from, with the
// daemon's VM states and links.
func FromRunning(ctx context.Context, c *api.Client) (Graph, error) {
	info, err := c.Lab(ctx)
	if err != nil {
		return Graph{}, err
	}
	l, err := lab.Load(info.File, lab.Env{})
	if err != nil {
		return Graph{}, fmt.Errorf("lab %s: its lab file: %w", info.Name, err)
	}
	var lv Live
	if lv.VMs, err = c.VMs(ctx); err != nil {
		return Graph{}, err
	}
	if lv.Links, err = c.Links(ctx); err != nil {
		return Graph{}, err
	}
	return FromLab(l, &lv), nil
}
