package api

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/cloonix-go/cloonix/labpath"
)

// upTimeout bounds how long IsUp waits for a daemon's answer.
const upTimeout = 2 * time.Second

// IsUp tells whether a daemon answers on the client's socket (within 2 s).
func (c *Client) IsUp(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, upTimeout)
	defer cancel()
	_, err := c.Lab(ctx)
	return err == nil
}

// RunningLabs lists, sorted, the local labs whose daemon answers on its control socket: the entries of
// labpath.RuntimeRoot that are lab names.
func RunningLabs(ctx context.Context) ([]string, error) {
	root := labpath.RuntimeRoot()
	ents, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list running labs: %w", err)
	}
	var out []string
	for _, e := range ents {
		sock, err := labpath.CtlSocket(e.Name())
		if err == nil && e.IsDir() && NewClient(sock).IsUp(ctx) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}
