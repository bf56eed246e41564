package tunnel

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"

	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/remote"
)

// Target is where a server name leads.
type Target struct {
	Name   string // the server name as given
	Socket string // the daemon's control socket (local servers)
	// Remote is the server for an entry with ssh = "user@host": the lab runs on another machine, reached
	// through the user's OpenSSH (package remote). Socket is then unused.
	Remote *remote.Server
	// Config is the config file the entry came from, "" for the default.
	Config string
}

// serverKeys are the keys a [server.NAME] table may hold, with what each means.
var serverKeys = map[string]string{
	"socket":     "a local daemon's control socket",
	"ssh":        "the ssh destination of a remote server, user@host",
	"lab":        "the lab's name on the remote server (default: the server's name)",
	"ssh_config": "an ssh_config file for ssh -F (default: your ~/.ssh/config)",
}

// Resolve looks name up in the client config (labpath.ConfigFile). With no
// entry, the name is the local lab of that name. A missing config file is not
// an error, nor is an environment without HOME (there is no config to read);
// a malformed file is, naming file and line.
func Resolve(name string) (Target, error) {
	sock, err := labpath.CtlSocket(name)
	if err != nil {
		return Target{}, err
	}
	t := Target{Name: name, Socket: sock}
	path, err := labpath.ConfigFile()
	if err != nil {
		return t, nil
	}
	servers, err := ReadConfig(path)
	if err != nil {
		return Target{}, err
	}
	if e, ok := servers[name]; ok {
		t.Config = path
		if s := e["socket"]; s != "" {
			t.Socket = s
		}
		if dest := e["ssh"]; dest != "" {
			r := &remote.Server{Name: name, Dest: dest, Lab: name, SSHConfig: e["ssh_config"], Config: path}
			if l := e["lab"]; l != "" {
				r.Lab = l
			}
			t.Remote = r
		}
	}
	return t, nil
}

// checkServer checks one [server.NAME] table: known keys, a lab name, an ssh destination that cannot be
// taken for an option, and socket and ssh not both.
func checkServer(name string, e map[string]string) string {
	for k := range e {
		if _, ok := serverKeys[k]; !ok {
			return "unknown key " + k + " in [server." + name + "]; the keys are lab, socket, ssh and ssh_config"
		}
	}
	if e["ssh"] != "" && e["socket"] != "" {
		return "[server." + name + "] has both ssh and socket; a server is local (socket) or remote (ssh), keep one"
	}
	if d := e["ssh"]; strings.HasPrefix(d, "-") || strings.ContainsAny(d, " \t\r\n'\"") {
		return "[server." + name + "] ssh = " + strconv.Quote(d) + " is no ssh destination; write user@host"
	}
	if l, ok := e["lab"]; ok && labpath.NameProblem(l) != "" {
		return "[server." + name + "] lab = " + strconv.Quote(l) + ": " + labpath.NameProblem(l)
	}
	if _, ok := e["lab"]; ok && e["ssh"] == "" {
		return "[server." + name + "] has lab but no ssh; lab names the lab on a remote server"
	}
	if _, ok := e["ssh_config"]; ok && e["ssh"] == "" {
		return "[server." + name + "] has ssh_config but no ssh; it is for remote servers"
	}
	return ""
}

// ReadConfig reads the [server.NAME] tables of a client config file. It
// understands the TOML subset that file needs: comments, table headers and
// string values (basic or literal). Other tables are skipped. A missing file
// gives an empty map.
//
//	[server.nemo]
//	ssh = "alice@labhost"          # a remote server, reached with the user's OpenSSH
//	lab = "cisco"                  # the lab's name there (default: nemo)
//	ssh_config = "/path/ssh_config" # ssh -F (default: ~/.ssh/config)
//
//	[server.local]
//	socket = "/run/user/1000/cloonix/other/ctl.sock"
func ReadConfig(path string) (map[string]map[string]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]map[string]string{}, nil
	}
	if err != nil {
		return nil, errors.New("read client config: " + err.Error())
	}
	defer f.Close()
	return parseConfig(path, bufio.NewScanner(f))
}

func parseConfig(path string, sc *bufio.Scanner) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	var cur map[string]string
	lineNo := 0
	bad := func(what string) error {
		return errors.New(path + ":" + strconv.Itoa(lineNo) + ": " + what)
	}
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			hdr, _, _ := strings.Cut(line, "#")
			hdr = strings.TrimSpace(hdr)
			if !strings.HasSuffix(hdr, "]") || strings.HasPrefix(hdr, "[[") {
				cur = nil
				if strings.HasPrefix(hdr, "[[") {
					continue
				}
				return nil, bad("malformed table header; write [server.NAME]")
			}
			key := strings.TrimSpace(hdr[1 : len(hdr)-1])
			rest, ok := strings.CutPrefix(key, "server.")
			if !ok {
				cur = nil
				continue
			}
			name, err := unquoteKey(strings.TrimSpace(rest))
			if err != nil || labpath.NameProblem(name) != "" {
				return nil, bad("bad server name in " + hdr + "; write [server.NAME]")
			}
			if out[name] == nil {
				out[name] = map[string]string{}
			}
			cur = out[name]
			continue
		}
		if cur == nil {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, bad("expected key = \"value\"")
		}
		k = strings.TrimSpace(k)
		val, err := parseString(strings.TrimSpace(v))
		if err != nil {
			return nil, bad(k + ": " + err.Error())
		}
		cur[k] = val
	}
	if err := sc.Err(); err != nil {
		return nil, errors.New("read client config " + path + ": " + err.Error())
	}
	for name, e := range out {
		if msg := checkServer(name, e); msg != "" {
			return nil, errors.New(path + ": " + msg)
		}
	}
	return out, nil
}

func unquoteKey(k string) (string, error) {
	if strings.HasPrefix(k, "\"") || strings.HasPrefix(k, "'") {
		return parseString(k)
	}
	return k, nil
}

// parseString parses a TOML basic ("...") or literal ('...') string followed
// by an optional comment.
func parseString(s string) (string, error) {
	if s == "" {
		return "", errors.New("missing value; write a quoted string")
	}
	var val, rest string
	switch s[0] {
	case '\'':
		end := strings.IndexByte(s[1:], '\'')
		if end < 0 {
			return "", errors.New("unterminated string")
		}
		val, rest = s[1:1+end], s[2+end:]
	case '"':
		var b strings.Builder
		i := 1
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] != '\\' {
				b.WriteByte(s[i])
				continue
			}
			i++
			if i >= len(s) {
				break
			}
			switch s[i] {
			case '"', '\\':
				b.WriteByte(s[i])
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				return "", errors.New("unsupported escape \\" + string(s[i]))
			}
		}
		if i >= len(s) {
			return "", errors.New("unterminated string")
		}
		val, rest = b.String(), s[i+1:]
	default:
		return "", errors.New("value must be a quoted string")
	}
	rest = strings.TrimSpace(rest)
	if rest != "" && rest[0] != '#' {
		return "", errors.New("unexpected text after the value")
	}
	return val, nil
}
