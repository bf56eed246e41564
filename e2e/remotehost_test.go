package e2e

// The harness for "remote lab server" tests: a real OpenSSH sshd that the test starts on 127.0.0.1 with its own
// host key and config, standing for a lab server, and real Unix users the test creates on it (so the tests
// need root, as CI runs them). The client side is the test's own user with a private key, known_hosts and
// ssh_config made for the run; the server's PATH puts copies of the freshly built cloonix-labd and
// cloonix-proxy first.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/images"
	"github.com/cloonix-go/cloonix/labpath"
)

// sshdPath is the server binary; sshd re-executes itself for every connection, so it must be absolute.
const sshdPath = "/usr/sbin/sshd"

// remoteUserMarker is the GECOS field of the users addUser creates: only users carrying it are deleted as
// stale leftovers of an earlier run.
const remoteUserMarker = "cloonix e2e remote user"

// remoteHost is a real sshd the test starts on 127.0.0.1 (own host key, own config), standing for a lab server.
// Only the users created by addUser may log in (sshd_config AllowGroups names a group made for this host).
type remoteHost struct {
	Port       int
	Dir        string // root-owned 0755 directory holding bin/ (copies of env.bin's cloonix-labd and cloonix-proxy, 0755), the sshd config, host key, pid file, log
	BinDir     string // Dir/bin: first on the PATH of every session (sshd_config SetEnv PATH=BinDir:/usr/local/bin:/usr/bin:/bin)
	ClientKey  string // private ed25519 key of the client side (the test's own user), 0600, in a temp dir of the test's user; its .pub beside it
	KnownHosts string // client known_hosts holding the host key as "[127.0.0.1]:PORT ssh-ed25519 ..."
	SSHConfig  string // client ssh_config: "Host labhost" (127.0.0.1, Port, ClientKey only, KnownHosts, strict, batch) and a "Host *" block with the same known_hosts and strictness
	Config     string // Dir/sshd_config
	HostKey    string // Dir/ssh_host_ed25519_key (its .pub beside it)
	Log        string // Dir/sshd.log: sshd's stderr (-e, LogLevel VERBOSE)
	Group      string // the Unix group in AllowGroups; addUser puts every user in it

	cmd  *exec.Cmd
	done chan struct{} // closed when sshd has exited
}

// remoteUser is a Unix user the test created on the "server".
type remoteUser struct {
	Name string
	UID  int
	Home string
}

// remotePath is the PATH of every session on the server and of asUser's commands.
func (h *remoteHost) remotePath() string {
	return h.BinDir + ":/usr/local/bin:/usr/bin:/bin"
}

// startRemoteHost starts an sshd on a free port of 127.0.0.1 for the test and stops it (and everything it
// started) when the test ends, printing the tail of its log if the test failed. It skips the test unless it
// runs as root, which creating users needs.
func startRemoteHost(t testing.TB) *remoteHost {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create users and run sshd for the remote-host tests (CI runs them as root)")
	}
	if _, err := os.Stat(sshdPath); err != nil {
		t.Fatalf("%s is missing (%v): the remote-host tests need the OpenSSH server; test.sh installs openssh-server", sshdPath, err)
	}
	for _, tool := range []string{"ssh", "ssh-keygen", "useradd", "userdel", "groupadd", "groupdel", "usermod", "pkill", "pgrep", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the remote-host tests need %s: %v", tool, err)
		}
	}
	// sshd's privilege separation directory; the Debian service makes it, and no service runs here.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}

	// t.TempDir() is 0700 under a 0700 parent: the users could not reach bin/. A directory of its own in /tmp,
	// 0755, can be.
	dir, err := os.MkdirTemp("/tmp", "clxr-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h := &remoteHost{
		Dir:     dir,
		BinDir:  filepath.Join(dir, "bin"),
		Config:  filepath.Join(dir, "sshd_config"),
		HostKey: filepath.Join(dir, "ssh_host_ed25519_key"),
		Log:     filepath.Join(dir, "sshd.log"),
		done:    make(chan struct{}),
	}
	if err := os.Mkdir(h.BinDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(h.BinDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"cloonix-labd", "cloonix-proxy", "cloonix-vsock-bridge"} {
		if err := rhCopyFile(filepath.Join(env.bin, b), filepath.Join(h.BinDir, b), 0o755, -1, -1); err != nil {
			t.Fatal(err)
		}
	}

	if r := runCmd(t, time.Minute, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "cloonix-e2e-remote-host", "-f", h.HostKey); r.code != 0 {
		t.Fatalf("ssh-keygen (host key): %s", r)
	}
	client := t.TempDir()
	h.ClientKey = filepath.Join(client, "id_ed25519")
	if r := runCmd(t, time.Minute, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "cloonix-e2e-remote-client", "-f", h.ClientKey); r.code != 0 {
		t.Fatalf("ssh-keygen (client key): %s", r)
	}

	h.Port = rhFreePort(t)
	h.Group = "clxr" + strconv.Itoa(h.Port)
	// A group of that name can only be a leftover of a killed run that used the same port.
	if !rhExists("group", h.Group) {
		if r := runCmd(t, time.Minute, "groupadd", h.Group); r.code != 0 {
			t.Fatalf("groupadd %s: %s", h.Group, r)
		}
	}
	t.Cleanup(func() {
		if r := runCmd(t, time.Minute, "groupdel", h.Group); r.code != 0 && rhExists("group", h.Group) {
			t.Errorf("groupdel %s: %s", h.Group, r)
		}
	})

	sshdConfig := strings.Join([]string{
		"ListenAddress 127.0.0.1",
		"Port " + strconv.Itoa(h.Port),
		"HostKey " + h.HostKey,
		"PidFile " + filepath.Join(dir, "sshd.pid"),
		"UsePAM no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PubkeyAuthentication yes",
		"AuthorizedKeysFile .ssh/authorized_keys",
		"StrictModes yes",
		"AllowGroups " + h.Group,
		"AllowStreamLocalForwarding yes",
		"AllowTcpForwarding local", // "no" also refuses UNIX-socket forwards (OpenSSH applies it to both)
		"X11Forwarding no",
		"PermitRootLogin no",
		"MaxStartups 100:30:200",
		"MaxSessions 50",
		"SetEnv PATH=" + h.remotePath(),
		"PrintMotd no",
		"PrintLastLog no",
		"LogLevel VERBOSE",
		"Subsystem sftp /usr/lib/openssh/sftp-server",
		"",
	}, "\n")
	if err := os.WriteFile(h.Config, []byte(sshdConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCmd(t, time.Minute, sshdPath, "-t", "-f", h.Config); r.code != 0 {
		t.Fatalf("sshd -t -f %s rejects the config: %s\nconfig:\n%s", h.Config, r, sshdConfig)
	}

	pub, err := os.ReadFile(h.HostKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(pub))
	if len(f) < 2 {
		t.Fatalf("host key %s.pub: %q", h.HostKey, pub)
	}
	h.KnownHosts = filepath.Join(client, "known_hosts")
	if err := os.WriteFile(h.KnownHosts, []byte(fmt.Sprintf("[127.0.0.1]:%d %s %s\n", h.Port, f[0], f[1])), 0o600); err != nil {
		t.Fatal(err)
	}
	h.SSHConfig = filepath.Join(client, "ssh_config")
	clientConfig := fmt.Sprintf(`Host labhost
	HostName 127.0.0.1
	Port %d
	IdentityFile %s
	IdentitiesOnly yes
	UserKnownHostsFile %s
	StrictHostKeyChecking yes
	BatchMode yes

Host *
	UserKnownHostsFile %s
	StrictHostKeyChecking yes
`, h.Port, h.ClientKey, h.KnownHosts, h.KnownHosts)
	if err := os.WriteFile(h.SSHConfig, []byte(clientConfig), 0o600); err != nil {
		t.Fatal(err)
	}

	logf, err := os.OpenFile(h.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	h.cmd = exec.Command(sshdPath, "-D", "-e", "-f", h.Config)
	h.cmd.Stdout, h.cmd.Stderr = logf, logf
	h.cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	if err := h.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", sshdPath, err)
	}
	logf.Close()
	go func() { _ = h.cmd.Wait(); close(h.done) }()
	t.Cleanup(func() {
		h.stop()
		if t.Failed() {
			t.Logf("tail of %s:\n%s", h.Log, rhTail(h.Log, 60))
		}
	})

	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(h.Port)), time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-h.done:
			t.Fatalf("sshd exited before accepting connections (%v); log:\n%s", h.cmd.ProcessState, rhTail(h.Log, 60))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd does not accept connections on 127.0.0.1:%d after 30s: %v; log:\n%s", h.Port, err, rhTail(h.Log, 60))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return h
}

// stop kills sshd and every process below it: the per-connection sshd processes run in sessions of their own,
// so they are found through their parent pids before the listener dies and orphans them.
func (h *remoteHost) stop() {
	if h.cmd == nil || h.cmd.Process == nil {
		return
	}
	select {
	case <-h.done:
	default:
		pids := append(rhDescendants(h.cmd.Process.Pid), h.cmd.Process.Pid)
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
		}
	}
}

// addUser creates the Unix user NAME (home /home/NAME, shell /bin/sh, in the host's AllowGroups group) whose
// ~/.ssh/authorized_keys holds the client key, and deletes it again, with its processes, home and
// /tmp/cloonix-UID, when the test ends. A user of that name left by an earlier run is deleted first. Keep
// names short ("clxa"): the users' lab sockets live in paths with a 107-byte limit.
func (h *remoteHost) addUser(t testing.TB, name string) remoteUser {
	t.Helper()
	if !regexp.MustCompile(`^[a-z][a-z0-9]{0,15}$`).MatchString(name) {
		t.Fatalf("remote user name %q: use a short name of lower-case letters and digits", name)
	}
	home := filepath.Join("/home", name)
	if old, err := user.Lookup(name); err == nil {
		if !strings.Contains(old.Name, remoteUserMarker) {
			t.Fatalf("user %s exists and was not made by these tests (GECOS %q); pick another name", name, old.Name)
		}
		rhDeleteUser(t, name, old.Uid, false)
	}
	if rhExists("group", name) { // useradd makes the user's own group; a stale one makes it fail
		_ = runCmd(t, time.Minute, "groupdel", name)
	}
	if fi, err := os.Stat(home); err == nil {
		st := fi.Sys().(*syscall.Stat_t)
		if _, err := user.LookupId(strconv.Itoa(int(st.Uid))); err != nil { // orphaned: its user is gone
			_ = os.RemoveAll(home)
		} else {
			t.Fatalf("%s exists and belongs to an existing user (uid %d)", home, st.Uid)
		}
	}
	if r := runCmd(t, time.Minute, "useradd", "-m", "-s", "/bin/sh", "-d", home, "-c", remoteUserMarker, "-G", h.Group, name); r.code != 0 {
		t.Fatalf("useradd %s: %s", name, r)
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("useradd %s: %v", name, err)
	}
	t.Cleanup(func() { rhDeleteUser(t, name, u.Uid, true) })
	// useradd leaves the password "!", which sshd without PAM takes for a locked account and refuses even
	// public keys; "*" means no password will ever match, but the account is not locked.
	if r := runCmd(t, time.Minute, "usermod", "-p", "*", name); r.code != 0 {
		t.Fatalf("usermod -p '*' %s: %s", name, r)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	ru := remoteUser{Name: name, UID: uid, Home: home}

	pub, err := os.ReadFile(h.ClientKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	sshDir := filepath.Join(home, ".ssh")
	if err := os.MkdirAll(sshDir, 0o700); err != nil {
		t.Fatal(err)
	}
	ak := filepath.Join(sshDir, "authorized_keys")
	if err := os.WriteFile(ak, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{sshDir, ak} {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(sshDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(ak, 0o600); err != nil {
		t.Fatal(err)
	}
	return ru
}

// rhDeleteUser ends every process of the user (TERM, up to 10 s, then KILL) and removes the user, its home
// and the runtime root its labs used (/tmp/cloonix-UID). report turns a user left behind into a test error.
func rhDeleteUser(t testing.TB, name, uid string, report bool) {
	t.Helper()
	_ = runCmd(t, time.Minute, "pkill", "-TERM", "-u", name)
	deadline := time.Now().Add(10 * time.Second)
	for runCmd(t, time.Minute, "pgrep", "-u", name).code == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	for i := 0; i < 50 && runCmd(t, time.Minute, "pgrep", "-u", name).code == 0; i++ {
		_ = runCmd(t, time.Minute, "pkill", "-KILL", "-u", name)
		time.Sleep(100 * time.Millisecond)
	}
	r := runCmd(t, time.Minute, "userdel", "-r", name)
	if _, err := user.Lookup(name); err == nil && report {
		t.Errorf("userdel -r %s: %s", name, r)
	}
	_ = os.RemoveAll(filepath.Join("/tmp", "cloonix-"+uid))
}

// asUser runs a command as u on this machine (setpriv with u's uid, gid and groups) in u.Home, with a clean
// environment: PATH=BinDir:/usr/local/bin:/usr/bin:/bin, HOME, USER, LOGNAME and SHELL, no XDG_* (as in an
// ssh session on the server).
func (h *remoteHost) asUser(t testing.TB, u remoteUser, timeout time.Duration, args ...string) result {
	t.Helper()
	if len(args) == 0 {
		t.Fatal("asUser: no command")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	full := append([]string{"--reuid=" + strconv.Itoa(u.UID), "--regid=" + rhGID(t, u), "--init-groups", "--"}, args...)
	cmd := exec.CommandContext(ctx, "setpriv", full...)
	cmd.Dir = u.Home
	cmd.Env = []string{"PATH=" + h.remotePath(), "HOME=" + u.Home, "USER=" + u.Name, "LOGNAME=" + u.Name, "SHELL=/bin/sh"}
	// A daemon the command leaves running may hold the output pipes: do not wait for it.
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if err != nil {
		r.code = -1
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.code = ee.ExitCode()
		} else if errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil {
			r.code = cmd.ProcessState.ExitCode()
		} else {
			r.stderr += "\n(" + err.Error() + ")"
		}
		if ctx.Err() != nil {
			r.stderr += fmt.Sprintf("\n(timed out after %s)", timeout)
		}
	}
	return r
}

// rhGID is u's primary group id.
func rhGID(t testing.TB, u remoteUser) string {
	t.Helper()
	pu, err := user.LookupId(strconv.Itoa(u.UID))
	if err != nil {
		t.Fatal(err)
	}
	return pu.Gid
}

// seedImages copies the test user's built images NAMES (the newest of each, as `up` picks them, from
// env.cacheDir, else the test user's image cache, normally ~/.cache/cloonix/images) into u's
// ~/.cache/cloonix/images, owned by u, so that u's `up` does not have to build them. The apt resolution
// cache (.resolved-NAME.json) goes along, so a `cloonix-labd image build NAME` by u is instant too.
func (h *remoteHost) seedImages(t testing.TB, u remoteUser, names ...string) {
	t.Helper()
	src := env.cacheDir
	if src == "" {
		src = labpath.ImageCache()
	}
	pu, err := user.LookupId(strconv.Itoa(u.UID))
	if err != nil {
		t.Fatal(err)
	}
	gid, _ := strconv.Atoi(pu.Gid)
	dst := u.Home
	for _, d := range []string{".cache", "cloonix", "images"} {
		dst = filepath.Join(dst, d)
		if err := os.Mkdir(dst, 0o755); err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
		if err := os.Chown(dst, u.UID, gid); err != nil {
			t.Fatal(err)
		}
	}
	cache := &images.Cache{Dir: src}
	for _, name := range names {
		img, err := cache.Lookup(context.Background(), name)
		if err != nil {
			t.Fatalf("seed image %s for %s: %v", name, u.Name, err)
		}
		to := filepath.Join(dst, filepath.Base(img.Dir))
		if err := rhCopyTree(img.Dir, to, u.UID, gid); err != nil {
			t.Fatalf("seed image %s for %s: %v", name, u.Name, err)
		}
		res := filepath.Join(src, ".resolved-"+name+".json")
		if _, err := os.Stat(res); err == nil {
			if err := rhCopyFile(res, filepath.Join(dst, filepath.Base(res)), 0o644, u.UID, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// clientConfigMu serialises the edits of the test process's client config file.
var clientConfigMu sync.Mutex

// writeClientServer appends to the test process's client config file ($XDG_CONFIG_HOME/cloonix/config.toml) the
// table [server.SERVER] with ssh = "USER@labhost", ssh_config = h.SSHConfig and each extra line verbatim (such as
// `lab = "x"`), and removes that table again when the test ends.
func (h *remoteHost) writeClientServer(t testing.TB, server, user string, extra ...string) {
	t.Helper()
	path, err := labpath.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n[server.%s]\n", server)
	fmt.Fprintf(&b, "ssh = %s\n", rhTOMLString(user+"@labhost"))
	fmt.Fprintf(&b, "ssh_config = %s\n", rhTOMLString(h.SSHConfig))
	for _, l := range extra {
		b.WriteString(l + "\n")
	}
	block := b.String()

	clientConfigMu.Lock()
	defer clientConfigMu.Unlock()
	old, err := os.ReadFile(path)
	created := os.IsNotExist(err)
	if err != nil && !created {
		t.Fatal(err)
	}
	if len(old) > 0 && old[len(old)-1] != '\n' {
		old = append(old, '\n')
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(old, block...), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		clientConfigMu.Lock()
		defer clientConfigMu.Unlock()
		cur, err := os.ReadFile(path)
		if err != nil {
			return
		}
		rest := strings.Replace(string(cur), block, "", 1)
		if created && strings.TrimSpace(rest) == "" {
			_ = os.Remove(path)
			return
		}
		if err := os.WriteFile(path, []byte(rest), 0o600); err != nil {
			t.Errorf("restore %s: %v", path, err)
		}
	})
}

// rhTOMLString quotes s as a TOML basic string.
func rhTOMLString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// rhFreePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func rhFreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// rhExists reports whether getent knows the key in the database ("passwd", "group").
func rhExists(db, key string) bool {
	return exec.Command("getent", db, key).Run() == nil
}

// rhDescendants lists the pids of every process below pid.
func rhDescendants(pid int) []int {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:]) // state ppid ...
		if len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		children[pp] = append(children[pp], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// rhCopyFile copies a regular file with the given mode, chowning it when uid >= 0.
func rhCopyFile(from, to string, mode os.FileMode, uid, gid int) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if uid >= 0 {
		if err := os.Chown(to, uid, gid); err != nil {
			return err
		}
	}
	return os.Chmod(to, mode)
}

// rhCopyTree copies a directory of regular files and directories, keeping the modes, owned by uid:gid.
func rhCopyTree(from, to string, uid, gid int) error {
	return filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		switch {
		case fi.IsDir():
			if err := os.MkdirAll(dst, 0o700); err != nil {
				return err
			}
			if err := os.Chown(dst, uid, gid); err != nil {
				return err
			}
			return os.Chmod(dst, fi.Mode().Perm())
		case fi.Mode().IsRegular():
			return rhCopyFile(p, dst, fi.Mode().Perm(), uid, gid)
		default:
			return fmt.Errorf("%s: not a regular file", p)
		}
	})
}

// rhTail is the last n lines of a file.
func rhTail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// TestRemoteHostHarness checks the harness itself with the real client: a user added to the host logs in with
// the client key and finds the built binaries first on its PATH, an unknown host key and an unauthorized key
// are refused, asUser runs as the user, seeded images are the user's, and a client server table comes and goes.
func TestRemoteHostHarness(t *testing.T) {
	h := startRemoteHost(t)
	u := h.addUser(t, "clxh")

	r := runCmd(t, time.Minute, "ssh", "-F", h.SSHConfig, "clxh@labhost", "id -un; echo $PATH; command -v cloonix-labd")
	if r.code != 0 {
		t.Fatalf("ssh clxh@labhost: %s", r)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || lines[0] != "clxh" || !strings.HasPrefix(lines[1], h.BinDir+":") ||
		lines[2] != filepath.Join(h.BinDir, "cloonix-labd") {
		t.Fatalf("ssh clxh@labhost: want clxh, a PATH starting with %s, %s/cloonix-labd; got %s", h.BinDir, h.BinDir, r)
	}

	empty := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCmd(t, time.Minute, "ssh", "-F", h.SSHConfig, "-o", "UserKnownHostsFile="+empty,
		"-o", "GlobalKnownHostsFile=/dev/null", "clxh@labhost", "true")
	if r.code != 255 || !strings.Contains(r.stderr, "Host key verification failed") {
		t.Fatalf("ssh with an empty known_hosts: want exit 255 and \"Host key verification failed\"; got %s", r)
	}

	other := filepath.Join(t.TempDir(), "id_other")
	if r := runCmd(t, time.Minute, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other); r.code != 0 {
		t.Fatalf("ssh-keygen: %s", r)
	}
	// "Host *" alone applies to 127.0.0.1: it must hold the known_hosts, so only the key is refused.
	r = runCmd(t, time.Minute, "ssh", "-F", h.SSHConfig, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", other,
		"-p", strconv.Itoa(h.Port), "clxh@127.0.0.1", "true")
	if r.code != 255 || !strings.Contains(r.stderr, "Permission denied") {
		t.Fatalf("ssh with a key not authorized: want exit 255 and \"Permission denied\"; got %s", r)
	}

	r = h.asUser(t, u, time.Minute, "id", "-u")
	if r.code != 0 || strings.TrimSpace(r.stdout) != strconv.Itoa(u.UID) {
		t.Fatalf("asUser id -u: want %d; got %s", u.UID, r)
	}
	r = h.asUser(t, u, time.Minute, "sh", "-c", "pwd; echo $HOME; env")
	if r.code != 0 || !strings.HasPrefix(r.stdout, u.Home+"\n"+u.Home+"\n") || strings.Contains(r.stdout, "XDG_") ||
		!strings.Contains(r.stdout, "PATH="+h.remotePath()+"\n") {
		t.Fatalf("asUser: want cwd and HOME %s, PATH=%s, no XDG_*; got %s", u.Home, h.remotePath(), r)
	}

	h.seedImages(t, u, "tiny")
	r = runCmd(t, time.Minute, "ssh", "-F", h.SSHConfig, "clxh@labhost", "cloonix-labd image list")
	if r.code != 0 || !strings.Contains(r.stdout, filepath.Join(u.Home, ".cache/cloonix/images/tiny-")) {
		t.Fatalf("cloonix-labd image list over ssh: want tiny in %s; got %s", u.Home, r)
	}
	r = runCmd(t, time.Minute, "ssh", "-F", h.SSHConfig, "clxh@labhost",
		"find ~/.cache ! -user clxh | head -1; cloonix-labd image build tiny")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "image tiny: "+u.Home) {
		t.Fatalf("seeded images: want all owned by clxh and an instant build; got %s", r)
	}

	cfg, err := labpath.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("client config", func(t *testing.T) {
		h.writeClientServer(t, "lab1", u.Name, `lab = "x"`)
		b, _ := os.ReadFile(cfg)
		want := fmt.Sprintf("[server.lab1]\nssh = \"clxh@labhost\"\nssh_config = %q\nlab = \"x\"\n", h.SSHConfig)
		if !strings.Contains(string(b), want) {
			t.Fatalf("%s: want\n%s\ngot\n%s", cfg, want, b)
		}
	})
	if b, err := os.ReadFile(cfg); err == nil && strings.Contains(string(b), "[server.lab1]") {
		t.Fatalf("%s still holds [server.lab1] after the subtest:\n%s", cfg, b)
	}
}
