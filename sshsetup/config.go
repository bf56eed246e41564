package sshsetup

import (
	"bytes"
	_ "embed"
	"fmt"
	"path/filepath"
	"strings"
	"text/template"
)

// HostEntry is one VM in the generated ssh_config.
type HostEntry struct {
	Name string // VM name, used as the Host alias and passed to the proxy as %n
	User string // login user from the VM's kind; omitted if empty
	// Via is the lab entity (NAT) that dials the VM; "nat" if empty.
	Via string
	// LegacyAlgorithms adds SHA-1 key exchange and ssh-rsa (kinds with
	// ssh_legacy = true, e.g. old IOS-XE).
	LegacyAlgorithms bool
	// SCPLegacy adds a comment that this VM has no SFTP server: use scp -O.
	SCPLegacy bool
}

// ConfigOptions describe a lab's ssh_config.
type ConfigOptions struct {
	Lab        string      // lab name (the proxy's SERVER argument)
	Keys       Keys        // the lab's key pairs (IdentityFile lines)
	KnownHosts string      // the lab's own known_hosts file
	Entries    []HostEntry // one Host entry per VM
	// FDPass selects "cloonix-proxy --fdpass" with "ProxyUseFdpass yes"
	// (OpenSSH only) instead of the stdio ProxyCommand.
	FDPass bool
	// ProxyPath is the proxy command; "cloonix-proxy" (found on PATH) if empty.
	ProxyPath string
}

// Config file names inside a lab's state directory.
const (
	ConfigFile       = "ssh_config"        // stdio ProxyCommand
	ConfigFileFDPass = "ssh_config.fdpass" // ProxyUseFdpass yes
)

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
}).Parse(configTemplate))

// RenderSSHConfig returns the text of the lab's ssh_config.
func RenderSSHConfig(o ConfigOptions) ([]byte, error) {
	if o.Lab == "" || strings.ContainsAny(o.Lab, " \t\r\n/\"'") {
		return nil, fmt.Errorf("sshsetup: invalid lab name %q", o.Lab)
	}
	if o.ProxyPath == "" {
		o.ProxyPath = "cloonix-proxy"
	}
	seen := map[string]bool{}
	entries := make([]HostEntry, len(o.Entries))
	for i, e := range o.Entries {
		if e.Name == "" || strings.ContainsAny(e.Name, " \t\r\n*?!,\"'#:/%") {
			return nil, fmt.Errorf("sshsetup: VM name %q cannot be an ssh Host alias; use letters, digits, '-', '_' and '.'", e.Name)
		}
		if seen[e.Name] {
			return nil, fmt.Errorf("sshsetup: VM %q is listed twice", e.Name)
		}
		seen[e.Name] = true
		if e.Via == "" {
			e.Via = "nat"
		}
		if strings.ContainsAny(e.Via, " \t\r\n\"'") || strings.ContainsAny(e.User, " \t\r\n\"'") {
			return nil, fmt.Errorf("sshsetup: VM %q: user and entity must not contain spaces or quotes", e.Name)
		}
		entries[i] = e
	}
	o.Entries = entries
	var b bytes.Buffer
	err := tmpl.Execute(&b, struct {
		ConfigOptions
		LegacyKex, LegacyHostKey string
	}{o, LegacyKexAlgorithms, LegacyHostKeyAlgorithms})
	if err != nil {
		return nil, fmt.Errorf("sshsetup: render ssh_config: %w", err)
	}
	return b.Bytes(), nil
}

// WriteSSHConfig writes the ssh_config of lab to path (0644, atomically):
// one Host entry per VM through "cloonix-proxy <lab> <via> %n" (found on
// PATH), the lab keys, the lab's own known_hosts with accept-new. fdpass
// selects the ProxyUseFdpass variant. Use WriteSSHConfigOptions for more
// control (e.g. an absolute proxy path).
func WriteSSHConfig(path, lab string, keys Keys, knownHosts string, entries []HostEntry, fdpass bool) error {
	return WriteSSHConfigOptions(path, ConfigOptions{Lab: lab, Keys: keys, KnownHosts: knownHosts, Entries: entries, FDPass: fdpass})
}

// WriteSSHConfigOptions renders o and writes it to path (0644, atomically).
func WriteSSHConfigOptions(path string, o ConfigOptions) error {
	data, err := RenderSSHConfig(o)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, data, 0o644)
}

// WriteSSHConfigs writes both variants into stateDir: ConfigFile (stdio
// ProxyCommand) and ConfigFileFDPass (ProxyUseFdpass yes); o.FDPass is
// ignored. It returns their paths.
func WriteSSHConfigs(stateDir string, o ConfigOptions) (plain, fdpass string, err error) {
	plain = filepath.Join(stateDir, ConfigFile)
	fdpass = filepath.Join(stateDir, ConfigFileFDPass)
	o.FDPass = false
	if err := WriteSSHConfigOptions(plain, o); err != nil {
		return "", "", err
	}
	o.FDPass = true
	if err := WriteSSHConfigOptions(fdpass, o); err != nil {
		return "", "", err
	}
	return plain, fdpass, nil
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
