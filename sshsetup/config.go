package sshsetup

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"
	"text/template"

	"github.com/cloonix-go/cloonix/atomicfile"
	"github.com/cloonix-go/cloonix/kind"
	"github.com/cloonix-go/cloonix/labpath"
)

// HostEntry is one VM in the generated ssh_config.
type HostEntry struct {
	Name string // VM name, used as the Host alias and passed to the proxy as %n
	User string // login user from the VM's kind; omitted if empty
	// Via is the lab entity (NAT) that dials the VM; "" when none reaches it: the VM then gets no Host
	// entry, only a comment saying so.
	Via string
	// LegacyAlgorithms adds SHA-1 key exchange and ssh-rsa (kinds with
	// ssh_legacy = true, e.g. old IOS-XE).
	LegacyAlgorithms bool
	// SCPLegacy adds a comment that this VM has no SFTP server: use scp -O (kind.Kind.SCPLegacy).
	SCPLegacy bool
	// SSHRSA accepts ssh-rsa (SHA-1) public-key signatures and host keys and tries the RSA key first, for
	// servers that advertise no server-sig-algs (kind.Kind.SSHRSA: IOS-XE, c8000v included).
	SSHRSA bool
	// IdentitiesOnly offers only the lab's keys, not the agent's, for servers that allow few
	// authentication attempts (kind.Kind.SSHIdentitiesOnly: IOS allows 3).
	IdentitiesOnly bool
	// Vsock adds a second alias, NAME.vsock, that reaches the VM over virtio-vsock (its network may be down).
	Vsock bool
}

// EntryFor is the entry of VM name of kind k, reached through NAT via ("" when no NAT reaches it) and, with
// vsock, over virtio-vsock too; legacy is set when the VM's ssh server needs SHA-1 key exchange and ssh-rsa.
// A VM no NAT reaches but vsock does is reached over vsock. It is the one place the entry is made from the
// kind's data, for the daemon's ssh_config and a remote client's.
func EntryFor(name string, k *kind.Kind, via string, vsock, legacy bool) HostEntry {
	e := HostEntry{Name: name, User: k.SSHUser, Via: via, Vsock: vsock, LegacyAlgorithms: legacy, SCPLegacy: k.SCPLegacy,
		SSHRSA: k.SSHRSA, IdentitiesOnly: k.SSHIdentitiesOnly}
	if via == "" && vsock {
		e.Via, e.Vsock = labpath.VsockEntity, false
	}
	return e
}

// RSAFirst reports whether the entry tries the lab's RSA key before its ed25519 key.
func (e HostEntry) RSAFirst() bool { return e.LegacyAlgorithms || e.SSHRSA }

// ConfigOptions describe a lab's ssh_config.
type ConfigOptions struct {
	Lab        string      // lab name (the proxy's SERVER argument)
	Keys       Keys        // the lab's key pairs (IdentityFile lines)
	KnownHosts string      // the lab's own known_hosts file
	Entries    []HostEntry // one Host entry per VM
	// ProxyPath is the proxy command; "cloonix-proxy" (found on PATH) if empty.
	ProxyPath string
}

// LegacyKexAlgorithms and LegacyHostKeyAlgorithms are appended (with "+")
// for entries with LegacyAlgorithms.
const (
	LegacyKexAlgorithms     = "diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha1,diffie-hellman-group1-sha1"
	LegacyHostKeyAlgorithms = "ssh-rsa"
)

//go:embed ssh_config.tmpl
var configTemplate string

var tmpl = template.Must(template.New("ssh_config").Funcs(template.FuncMap{
	"q": quoteArg,
	// dict gives the host block its entry, alias, entity and proxy target: "E", entry, "Alias", …
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
}).Parse(configTemplate))

// WriteSSHConfigs writes the lab's two ssh_config variants (0644, atomically): at plain, one whose
// ProxyCommand copies bytes (every ssh client), and at fdpass, one whose "cloonix-proxy --fdpass" hands
// its socket to ssh (ProxyUseFdpass yes, OpenSSH only). Each has one Host entry per VM a NAT reaches,
// through "cloonix-proxy <lab> <via> %n", with the lab's keys and its own known_hosts (accept-new).
func WriteSSHConfigs(plain, fdpass string, o ConfigOptions) error {
	for i, path := range []string{plain, fdpass} {
		data, err := renderSSHConfig(o, i == 1)
		if err != nil {
			return err
		}
		if err := atomicfile.Write(path, data, 0o644); err != nil {
			return fmt.Errorf("sshsetup: write ssh_config: %w", err)
		}
	}
	return nil
}

// renderSSHConfig returns the text of the lab's ssh_config, the ProxyUseFdpass variant if fdpass.
func renderSSHConfig(o ConfigOptions, fdpass bool) ([]byte, error) {
	if o.Lab == "" || strings.ContainsAny(o.Lab, " \t\r\n/\"'") {
		return nil, fmt.Errorf("sshsetup: invalid lab name %q", o.Lab)
	}
	if o.ProxyPath == "" {
		o.ProxyPath = "cloonix-proxy"
	}
	seen := map[string]bool{}
	var entries []HostEntry
	var unreachable []string
	for _, e := range o.Entries {
		if e.Name == "" || strings.ContainsAny(e.Name, " \t\r\n*?!,\"'#:/%") {
			return nil, fmt.Errorf("sshsetup: VM name %q cannot be an ssh Host alias; use letters, digits, '-', '_' and '.'", e.Name)
		}
		if seen[e.Name] {
			return nil, fmt.Errorf("sshsetup: VM %q is listed twice", e.Name)
		}
		seen[e.Name] = true
		if strings.ContainsAny(e.Via, " \t\r\n\"'") || strings.ContainsAny(e.User, " \t\r\n\"'") {
			return nil, fmt.Errorf("sshsetup: VM %q: user and entity must not contain spaces or quotes", e.Name)
		}
		if e.Via == "" {
			unreachable = append(unreachable, e.Name)
			continue
		}
		entries = append(entries, e)
	}
	o.Entries = entries
	var b bytes.Buffer
	err := tmpl.Execute(&b, struct {
		ConfigOptions
		FDPass                   bool
		Unreachable              []string
		LegacyKex, LegacyHostKey string
	}{o, fdpass, unreachable, LegacyKexAlgorithms, LegacyHostKeyAlgorithms})
	if err != nil {
		return nil, fmt.Errorf("sshsetup: render ssh_config: %w", err)
	}
	return b.Bytes(), nil
}

// IncludeLine is the line to put at the top of ~/.ssh/config (an Include
// inside a Host or Match block is conditional) to use the file at path.
func IncludeLine(path string) string { return "Include " + quoteArg(path) }

// quoteArg double-quotes an ssh_config argument that contains spaces.
func quoteArg(s string) string {
	if strings.ContainsAny(s, " \t") {
		return `"` + s + `"`
	}
	return s
}
