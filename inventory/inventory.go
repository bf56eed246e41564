// Package inventory writes an Ansible inventory (YAML) for a lab: one group per node kind, every host reached
// through cloonix-proxy and the lab's daemon, with the lab's keys.
//
// Routers (kinds with an AnsibleNetworkOS) use ansible.netcommon.network_cli, which speaks SSH with paramiko
// or libssh, not OpenSSH. Each router gets the bare proxy command in ansible_paramiko_proxy_command (read
// from ansible-core 2.15 on, also by libssh) and ansible_libssh_proxy_command, and the same command as
// -o ProxyCommand="..." in ansible_ssh_common_args, because ansible-core 2.14 (Debian 12) ignores
// ansible_paramiko_proxy_command but parses ProxyCommand out of ansible_ssh_common_args. paramiko and
// libssh read only ~/.ssh/known_hosts, where VM names of other labs clash, so routers get
// ansible_host_key_checking: false; the path to the VM is the lab's private UNIX socket, which only its
// owner can open.
//
// Linux hosts use ansible.builtin.ssh (OpenSSH) with the ProxyCommand, the lab's known_hosts and
// StrictHostKeyChecking accept-new in ansible_ssh_common_args.
package inventory

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/cloonix-go/cloonix/kind"
	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/sshsetup"
)

// FileName is the inventory's name inside the lab's state directory.
const FileName = "inventory.yml"

// Host is one VM of the inventory.
type Host struct {
	Name string
	Kind *kind.Kind
	// Via is the lab entity (NAT) that dials the VM, as in `cloonix-proxy LAB VIA VM`; "" when none
	// reaches it (lab.Lab.ManagementNAT; the host is then left out, with a comment).
	Via string
	// SSHLegacy allows SHA-1 key exchange and ssh-rsa (old IOS-XE).
	SSHLegacy bool
	// Vsock is set when the VM has a virtio-vsock device: a host no NAT reaches goes over vsock.
	Vsock bool
}

// Options describe the inventory of one lab.
type Options struct {
	Lab        string
	Hosts      []Host
	Ed25519Key string // the lab's private keys
	RSAKey     string
	KnownHosts string // the lab's known_hosts (OpenSSH hosts)
	Proxy      string // the proxy command; "cloonix-proxy" (found on PATH) if empty
	// Vsock sends every host that has a vsock device over vsock, even where a NAT reaches it (for a lab
	// whose networks are down or under test).
	Vsock bool
}

// FromLab gathers the options for a resolved lab whose state (keys, known_hosts) is in stateDir.
func FromLab(l *lab.Lab, stateDir string) Options {
	o := Options{
		Lab:        l.Name,
		Ed25519Key: filepath.Join(stateDir, "id_ed25519"),
		RSAKey:     filepath.Join(stateDir, "id_rsa"),
		KnownHosts: filepath.Join(stateDir, "known_hosts"),
	}
	for _, v := range l.VMs {
		h := Host{Name: v.Name, Kind: v.Kind, SSHLegacy: v.SSHLegacy, Vsock: v.Vsock}
		if n, ok := l.ManagementNAT(v.Name); ok {
			h.Via = n.Name
		}
		o.Hosts = append(o.Hosts, h)
	}
	return o
}

//go:embed inventory.yml.tmpl
var tmplText string

var tmpl = template.Must(template.New("inventory").Funcs(template.FuncMap{"q": quote}).Parse(tmplText))

// group is one kind's hosts.
type group struct {
	Kind    *kind.Kind
	Network bool // network_cli (a router kind)
	Hosts   []hostVars
}

// hostVars is what one host line needs.
type hostVars struct {
	Name       string
	Proxy      string // bare proxy command with %h
	CommonArgs string // ansible_ssh_common_args
	Legacy     bool
}

// Render returns the inventory's YAML text.
func Render(o Options) ([]byte, error) {
	if o.Lab == "" || strings.ContainsAny(o.Lab, " \t\r\n\"'%") {
		return nil, fmt.Errorf("inventory: lab name %q cannot go into a proxy command", o.Lab)
	}
	if o.Proxy == "" {
		o.Proxy = "cloonix-proxy"
	}
	groups := map[string]*group{}
	var unreachable []string
	for _, h := range o.Hosts {
		if h.Kind == nil {
			return nil, fmt.Errorf("inventory: vm %s has no kind", h.Name)
		}
		if h.Vsock && (h.Via == "" || o.Vsock) {
			h.Via = labpath.VsockEntity
		}
		if h.Via == "" {
			unreachable = append(unreachable, h.Name)
			continue
		}
		if strings.ContainsAny(h.Name+h.Via, " \t\r\n\"'%") {
			return nil, fmt.Errorf("inventory: vm %s (via %s): names must not contain spaces, quotes or %%", h.Name, h.Via)
		}
		g := groups[h.Kind.Name]
		if g == nil {
			g = &group{Kind: h.Kind, Network: h.Kind.AnsibleNetworkOS != ""}
			groups[h.Kind.Name] = g
		}
		proxy := fmt.Sprintf("%s %s %s %%h", o.Proxy, o.Lab, h.Via)
		args := []string{"-o", "ProxyCommand=" + proxy}
		if !g.Network {
			args = append(args, "-o", "UserKnownHostsFile="+o.KnownHosts, "-o", "StrictHostKeyChecking=accept-new")
		}
		if h.SSHLegacy {
			args = append(args, "-o", "KexAlgorithms=+"+sshsetup.LegacyKexAlgorithms)
		}
		if h.SSHLegacy || h.Kind.SSHRSA {
			// kind.Kind.SSHRSA: no server-sig-algs, so the RSA key needs ssh-rsa (docs/iosxe.md).
			args = append(args, "-o", "HostKeyAlgorithms=+"+sshsetup.LegacyHostKeyAlgorithms, "-o", "PubkeyAcceptedAlgorithms=+ssh-rsa")
		}
		g.Hosts = append(g.Hosts, hostVars{Name: h.Name, Proxy: proxy, CommonArgs: shellJoin(args), Legacy: h.SSHLegacy})
	}
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	sort.Strings(names)
	var gs []*group
	for _, n := range names {
		gs = append(gs, groups[n])
	}
	var b bytes.Buffer
	err := tmpl.Execute(&b, struct {
		Options
		Groups      []*group
		Unreachable []string
	}{o, gs, unreachable})
	if err != nil {
		return nil, fmt.Errorf("inventory: render: %w", err)
	}
	return b.Bytes(), nil
}

// quote writes s as a YAML double-quoted scalar (JSON's string escapes are valid YAML).
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// shellJoin joins ssh arguments the way Ansible splits them (shlex): an argument with spaces or quotes is
// double-quoted after its first '=' (ProxyCommand="cloonix-proxy lab nat %h").
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if !strings.ContainsAny(a, " \t\"'\\") {
			out[i] = a
			continue
		}
		k, v, ok := strings.Cut(a, "=")
		esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
		if ok {
			out[i] = k + `="` + esc.Replace(v) + `"`
		} else {
			out[i] = `"` + esc.Replace(a) + `"`
		}
	}
	return strings.Join(out, " ")
}
