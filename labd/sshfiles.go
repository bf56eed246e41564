package labd

import (
	"fmt"
	"path/filepath"

	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/sshsetup"
)

// SSHConfigPath is the generated ssh_config of a lab's state directory; FdpassSSHConfigPath is its
// ProxyUseFdpass variant.
func SSHConfigPath(stateDir string) string       { return filepath.Join(stateDir, "ssh_config") }
func FdpassSSHConfigPath(stateDir string) string { return filepath.Join(stateDir, "ssh_config.fdpass") }

// KnownHostsPath is the lab's own known_hosts: VM names repeat across labs, their keys must not collide.
func KnownHostsPath(stateDir string) string { return filepath.Join(stateDir, "known_hosts") }

// writeSSHSetup writes the lab's ssh_config files.
func (d *Daemon) writeSSHSetup() error {
	var entries []sshsetup.HostEntry
	for _, name := range d.vmOrder {
		v := d.vms[name].spec
		entries = append(entries, sshsetup.HostEntry{
			Name:             v.Name,
			User:             v.Kind.SSHUser,
			Via:              managementNAT(d.lab, v),
			LegacyAlgorithms: v.SSHLegacy,
		})
	}
	for _, fdpass := range []bool{false, true} {
		path := SSHConfigPath(d.dirs.State)
		if fdpass {
			path = FdpassSSHConfigPath(d.dirs.State)
		}
		if err := sshsetup.WriteSSHConfig(path, d.lab.Name, d.keys, KnownHostsPath(d.dirs.State), entries, fdpass); err != nil {
			return fmt.Errorf("ssh_config: %w", err)
		}
	}
	return nil
}

// managementNAT is the NAT on the LAN of the VM's first NIC (its management NIC), or the lab's first NAT.
func managementNAT(l *lab.Lab, v *lab.VM) string {
	for _, n := range l.NATs {
		if len(v.NICs) > 0 && v.NICs[0].LAN == n.LAN {
			return n.Name
		}
	}
	if len(l.NATs) > 0 {
		return l.NATs[0].Name
	}
	return ""
}
