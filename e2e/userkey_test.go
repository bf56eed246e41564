package e2e

import (
	"os"
	"os/user"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The bare `ssh -o ProxyCommand='cloonix-proxy LAB nat %h' root@vm1` uses the user's own identity and
// ~/.ssh/known_hosts, as a user's shell would. OpenSSH finds ~/.ssh through the password database, not $HOME.
// When the user has no key, the tests make one for the run and remove it afterwards; lines they add to
// ~/.ssh/known_hosts are removed again too. restoreUserSSH undoes all of it (TestMain calls it).

var userSSH struct {
	mu       sync.Mutex
	once     sync.Once
	dir      string
	created  []string          // files this run created
	restored map[string][]byte // original contents of files this run changed
}

// userSSHDir is the ~/.ssh that OpenSSH reads.
func userSSHDir(t testing.TB) string {
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	os.Setenv("HOME", u.HomeDir) // labd reads the user's keys from $HOME: make both agree
	return filepath.Join(u.HomeDir, ".ssh")
}

// ensureUserKey makes sure the user has an ~/.ssh/id_* key that labd will authorize.
func ensureUserKey(t testing.TB) {
	userSSH.once.Do(func() {
		dir := userSSHDir(t)
		userSSH.dir = dir
		if m, _ := filepath.Glob(filepath.Join(dir, "id_*.pub")); len(m) > 0 {
			return
		}
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			userSSH.created = append(userSSH.created, dir)
		}
		key := filepath.Join(dir, "id_ed25519")
		r := runCmd(t, time.Minute, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "cloonix-e2e-temporary", "-f", key)
		if r.code != 0 {
			t.Fatalf("ssh-keygen: %s", r)
		}
		userSSH.created = append(userSSH.created, key, key+".pub")
	})
}

// addUserKnownHost appends a line to ~/.ssh/known_hosts for the rest of the run.
func addUserKnownHost(t testing.TB, line string) {
	userSSH.mu.Lock()
	defer userSSH.mu.Unlock()
	path := filepath.Join(userSSHDir(t), "known_hosts")
	if userSSH.restored == nil {
		userSSH.restored = map[string][]byte{}
	}
	if _, ok := userSSH.restored[path]; !ok {
		old, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			userSSH.created = append(userSSH.created, path)
		} else if err != nil {
			t.Fatal(err)
		} else {
			userSSH.restored[path] = old
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}

// restoreUserSSH puts ~/.ssh back as it was before the run.
func restoreUserSSH() {
	userSSH.mu.Lock()
	defer userSSH.mu.Unlock()
	for path, data := range userSSH.restored {
		_ = os.WriteFile(path, data, 0o600)
	}
	for i := len(userSSH.created) - 1; i >= 0; i-- {
		_ = os.Remove(userSSH.created[i])
	}
}
