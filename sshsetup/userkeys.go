package sshsetup

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// UserPublicKeys returns the user's public keys to authorize in the VMs, as
// authorized_keys lines: every home/.ssh/id_*.pub, then every key held by
// the ssh-agent at agentSock (skipped if agentSock is ""). Keys are
// deduplicated by key material. Unreadable or malformed files and an
// unreachable agent are skipped with a warning on slog's default logger; the
// error is reserved for failing to list ~/.ssh itself.
func UserPublicKeys(home string, agentSock string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(k ssh.PublicKey, comment string) {
		wire := string(k.Marshal())
		if seen[wire] {
			return
		}
		seen[wire] = true
		line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
		if comment != "" {
			line += " " + comment
		}
		out = append(out, line)
	}
	if home != "" {
		files, err := filepath.Glob(filepath.Join(home, ".ssh", "id_*.pub"))
		if err != nil {
			return nil, fmt.Errorf("sshsetup: list %s/.ssh: %w", home, err)
		}
		sort.Strings(files)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				slog.Warn("skipping unreadable public key", "file", f, "err", err)
				continue
			}
			k, comment, _, _, err := ssh.ParseAuthorizedKey(data)
			if err != nil {
				slog.Warn("skipping malformed public key", "file", f, "err", err)
				continue
			}
			add(k, comment)
		}
	}
	if agentSock != "" {
		keys, err := agentKeys(agentSock)
		if err != nil {
			slog.Warn("skipping ssh-agent keys", "socket", agentSock, "err", err)
		}
		for _, k := range keys {
			pk, err := ssh.ParsePublicKey(k.Blob)
			if err != nil {
				slog.Warn("skipping malformed ssh-agent key", "comment", k.Comment, "err", err)
				continue
			}
			add(pk, k.Comment)
		}
	}
	return out, nil
}

func agentKeys(sock string) ([]*agent.Key, error) {
	c, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("connect to ssh-agent: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	keys, err := agent.NewClient(c).List()
	if err != nil {
		return nil, fmt.Errorf("list ssh-agent keys: %w", err)
	}
	return keys, nil
}

// ReadAuthorizedKeys reads a file of authorized_keys lines (a remote client's own public keys) and returns
// each key as one line. Blank lines and comments are skipped; a line that is no public key is an error
// naming the file and line, because these keys come from another machine.
func ReadAuthorizedKeys(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sshsetup: read keys: %w", err)
	}
	var out []string
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("sshsetup: %s:%d: not a public key: %w", path, i+1, err)
		}
		l := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
		if comment != "" {
			l += " " + comment
		}
		out = append(out, l)
	}
	return out, nil
}
