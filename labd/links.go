package labd

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/cloonix-go/cloonix/atomicfile"
)

// Link state survives a daemon restart. `cloonix-labd link VM NIC down` sets two things: qemu's link
// (set_link, which qemu keeps as long as it runs) and the switch port's (the daemon's, lost when it dies).
// A new daemon that adopts the VM therefore has to take the port down again: it reads the links that are
// down from labpath.Dirs.Links. A VM started afresh has all its links up, so its entries are dropped.

// linksDown is the content of links.json: "vm/nic" of every link that is down.
type linksDown struct {
	Down []string `json:"down"`
}

// readLinksDown returns the links recorded as down. A missing file means none; an unreadable one is an
// error naming the file and the fix.
func (d *Daemon) readLinksDown() (map[string]bool, error) {
	b, err := os.ReadFile(d.dirs.Links())
	if errors.Is(err, os.ErrNotExist) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("link state: %w", err)
	}
	var l linksDown
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("link state %s is damaged (%v); delete it (every link then comes back up at the next start)", d.dirs.Links(), err)
	}
	m := map[string]bool{}
	for _, k := range l.Down {
		m[k] = true
	}
	return m, nil
}

// writeLinksDown saves the set of links that are down.
func (d *Daemon) writeLinksDown(m map[string]bool) error {
	l := linksDown{Down: []string{}}
	for k, down := range m {
		if down {
			l.Down = append(l.Down, k)
		}
	}
	sort.Strings(l.Down)
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(d.dirs.Links(), append(b, '\n'), 0o600)
}

// recordLink notes a link taken down or up with `cloonix-labd link`.
func (d *Daemon) recordLink(vmName, nic string, up bool) error {
	d.linksMu.Lock()
	defer d.linksMu.Unlock()
	m, err := d.readLinksDown()
	if err != nil {
		return err
	}
	m[vmName+"/"+nic] = !up
	return d.writeLinksDown(m)
}

// restoreLinks takes down again the switch ports of adopted VMs whose links were down, and forgets the links
// of VMs started afresh. It runs once the networks are connected.
func (d *Daemon) restoreLinks() error {
	d.linksMu.Lock()
	defer d.linksMu.Unlock()
	m, err := d.readLinksDown()
	if err != nil {
		return err
	}
	if len(m) == 0 {
		return nil
	}
	for _, name := range d.vmOrder {
		r := d.vms[name]
		r.mu.Lock()
		adopted := r.adopted
		r.mu.Unlock()
		for _, nic := range r.spec.NICs {
			key := name + "/" + nic.Name
			if !m[key] {
				continue
			}
			if !adopted {
				delete(m, key)
				continue
			}
			if sw := d.net.switches[nic.LAN]; sw != nil {
				if p := sw.Port(key); p != nil {
					p.SetLinkUp(false)
					d.log.Info("link kept down across the restart", "vm", name, "nic", nic.Name)
				}
			}
		}
	}
	return d.writeLinksDown(m)
}
