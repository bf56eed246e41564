package labd

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cloonix-go/cloonix/sshsetup"
)

// writeSSHSetup writes the lab's ssh_config files.
func (d *Daemon) writeSSHSetup() error {
	o := sshsetup.ConfigOptions{Lab: d.lab.Name, Keys: d.keys, KnownHosts: d.dirs.KnownHosts(), Entries: d.sshEntries()}
	if err := sshsetup.WriteSSHConfigs(d.dirs.SSHConfig(), d.dirs.FdpassSSHConfig(), o); err != nil {
		return fmt.Errorf("lab %s: %w", d.lab.Name, err)
	}
	return nil
}

// sshEntries gives each VM of l, in name order, its ssh_config entry from its kind's data and the NAT
// that reaches it.
func (d *Daemon) sshEntries() []sshsetup.HostEntry {
	l := d.lab
	var entries []sshsetup.HostEntry
	for _, v := range l.VMs {
		via := ""
		if n, ok := l.ManagementNAT(v.Name); ok {
			via = n.Name
		}
		entries = append(entries, sshsetup.EntryFor(v.Name, v.Kind, via, v.Vsock && len(d.opts.VsockHelper) > 0, v.SSHLegacy))
	}
	slices.SortFunc(entries, func(a, b sshsetup.HostEntry) int { return strings.Compare(a.Name, b.Name) })
	return entries
}
