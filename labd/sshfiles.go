package labd

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/sshsetup"
)

// writeSSHSetup writes the lab's ssh_config files.
func (d *Daemon) writeSSHSetup() error {
	o := sshsetup.ConfigOptions{Lab: d.lab.Name, Keys: d.keys, KnownHosts: d.dirs.KnownHosts(), Entries: sshEntries(d.lab)}
	if err := sshsetup.WriteSSHConfigs(d.dirs.SSHConfig(), d.dirs.FdpassSSHConfig(), o); err != nil {
		return fmt.Errorf("lab %s: %w", d.lab.Name, err)
	}
	return nil
}

// sshEntries gives each VM of l, in name order, its ssh_config entry from its kind's data and the NAT
// that reaches it.
func sshEntries(l *lab.Lab) []sshsetup.HostEntry {
	var entries []sshsetup.HostEntry
	for _, v := range l.VMs {
		e := sshsetup.HostEntry{Name: v.Name, User: v.Kind.SSHUser, LegacyAlgorithms: v.SSHLegacy, SCPLegacy: v.Kind.SCPLegacy,
			SSHRSA: v.Kind.SSHRSA, IdentitiesOnly: v.Kind.SSHIdentitiesOnly}
		if n, ok := l.ManagementNAT(v.Name); ok {
			e.Via = n.Name
		}
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b sshsetup.HostEntry) int { return strings.Compare(a.Name, b.Name) })
	return entries
}
