package labpath

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// envVars are every variable the rules read.
var envVars = []string{"XDG_RUNTIME_DIR", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "HOME", "TMPDIR"}

// setEnv sets exactly the variables in vars and unsets the other envVars, for the rest of the test.
func setEnv(t *testing.T, vars map[string]string) {
	t.Helper()
	for _, k := range envVars {
		t.Setenv(k, "")
		if v, ok := vars[k]; ok {
			os.Setenv(k, v)
		} else {
			os.Unsetenv(k)
		}
	}
}

var euid = strconv.Itoa(os.Geteuid())

// TestRoots is the table of the rules: absolute XDG values win, relative ones are ignored, the runtime root
// falls back to $TMPDIR (then /tmp), and the HOME-based roots fail without an absolute HOME.
func TestRoots(t *testing.T) {
	const noHome = "ERR"
	cases := []struct {
		name                              string
		env                               map[string]string
		runtime, state, config, imageDirs string
	}{
		{"xdg", map[string]string{"XDG_RUNTIME_DIR": "/run/user/7", "XDG_STATE_HOME": "/st", "XDG_CONFIG_HOME": "/cf",
			"XDG_CACHE_HOME": "/ca", "HOME": "/home/u"},
			"/run/user/7/cloonix", "/st/cloonix", "/cf/cloonix/config.toml", "/ca/cloonix/images"},
		{"home only", map[string]string{"HOME": "/home/u"},
			"/tmp/cloonix-" + euid, "/home/u/.local/state/cloonix", "/home/u/.config/cloonix/config.toml", "/home/u/.cache/cloonix/images"},
		{"TMPDIR=/var/tmp", map[string]string{"TMPDIR": "/var/tmp", "HOME": "/home/u"},
			"/var/tmp/cloonix-" + euid, "/home/u/.local/state/cloonix", "/home/u/.config/cloonix/config.toml", "/home/u/.cache/cloonix/images"},
		{"relative xdg", map[string]string{"XDG_RUNTIME_DIR": "run", "XDG_STATE_HOME": "st", "XDG_CONFIG_HOME": "./cf",
			"XDG_CACHE_HOME": "ca", "HOME": "/home/u"},
			"/tmp/cloonix-" + euid, "/home/u/.local/state/cloonix", "/home/u/.config/cloonix/config.toml", "/home/u/.cache/cloonix/images"},
		{"no HOME", map[string]string{"TMPDIR": "/var/tmp"},
			"/var/tmp/cloonix-" + euid, noHome, noHome, "/var/tmp/cloonix-" + euid + "/images"},
		{"relative HOME", map[string]string{"HOME": "home/u"},
			"/tmp/cloonix-" + euid, noHome, noHome, "/tmp/cloonix-" + euid + "/images"},
		{"no HOME, xdg", map[string]string{"XDG_STATE_HOME": "/st", "XDG_CONFIG_HOME": "/cf", "XDG_CACHE_HOME": "/ca"},
			"/tmp/cloonix-" + euid, "/st/cloonix", "/cf/cloonix/config.toml", "/ca/cloonix/images"},
	}
	orErr := func(s string, err error) string {
		if err != nil {
			if !strings.Contains(err.Error(), "set HOME") {
				t.Errorf("error %q does not say what to set", err)
			}
			return noHome
		}
		return s
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			setEnv(t, c.env)
			if got := RuntimeRoot(); got != c.runtime {
				t.Errorf("RuntimeRoot() = %s, want %s", got, c.runtime)
			}
			if got := AccelCache(); got != c.runtime+"/accel.json" {
				t.Errorf("AccelCache() = %s", got)
			}
			if got := orErr(StateRoot()); got != c.state {
				t.Errorf("StateRoot() = %s, want %s", got, c.state)
			}
			if got := orErr(ConfigFile()); got != c.config {
				t.Errorf("ConfigFile() = %s, want %s", got, c.config)
			}
			if got := ImageCache(); got != c.imageDirs {
				t.Errorf("ImageCache() = %s, want %s", got, c.imageDirs)
			}
			sock, err := CtlSocket("nemo")
			if err != nil || sock != c.runtime+"/nemo/ctl.sock" {
				t.Errorf("CtlSocket(nemo) = %s, %v", sock, err)
			}
			d, err := For("nemo")
			if c.state == noHome {
				if err == nil || !strings.Contains(err.Error(), "lab nemo state directory") {
					t.Errorf("For(nemo) without a state root: %v", err)
				}
				return
			}
			if err != nil || d.CtlSocket() != sock || d.State != c.state+"/nemo" {
				t.Errorf("For(nemo) = %+v, %v", d, err)
			}
		})
	}
}

// TestFiles pins every file of a lab.
func TestFiles(t *testing.T) {
	setEnv(t, map[string]string{"XDG_RUNTIME_DIR": "/r", "XDG_STATE_HOME": "/s"})
	d, err := For("nemo")
	if err != nil {
		t.Fatal(err)
	}
	for got, want := range map[string]string{
		d.Runtime:                  "/r/cloonix/nemo",
		d.State:                    "/s/cloonix/nemo",
		d.CtlSocket():              "/r/cloonix/nemo/ctl.sock",
		d.PIDFile():                "/r/cloonix/nemo/labd.pid",
		d.LockFile():               "/s/cloonix/nemo/labd.lock",
		d.QMPSocket("vm1"):         "/r/cloonix/nemo/vm1.qmp",
		d.SerialSocket("vm1"):      "/r/cloonix/nemo/vm1.serial",
		d.QemuPID("vm1"):           "/r/cloonix/nemo/vm1.pid",
		d.NICSocket("vm1", "eth0"): "/r/cloonix/nemo/vm1-eth0.sock",
		d.DaemonLog():              "/s/cloonix/nemo/labd.log",
		d.SSHConfig():              "/s/cloonix/nemo/ssh_config",
		d.FdpassSSHConfig():        "/s/cloonix/nemo/ssh_config.fdpass",
		d.KnownHosts():             "/s/cloonix/nemo/known_hosts",
		d.Ed25519Key():             "/s/cloonix/nemo/id_ed25519",
		d.RSAKey():                 "/s/cloonix/nemo/id_rsa",
		d.Inventory():              "/s/cloonix/nemo/inventory.yml",
		d.ConsolePassword():        "/s/cloonix/nemo/console_password",
		d.Leases("nat"):            "/s/cloonix/nemo/leases-nat.json",
		d.VMDir("vm1"):             "/s/cloonix/nemo/vms/vm1",
		d.Overlay("vm1"):           "/s/cloonix/nemo/vms/vm1/disk.qcow2",
		d.Day0("vm1"):              "/s/cloonix/nemo/vms/vm1/day0.iso",
		d.ConsoleLog("vm1"):        "/s/cloonix/nemo/vms/vm1/console.log",
		d.QemuLog("vm1"):           "/s/cloonix/nemo/vms/vm1/qemu.log",
		d.QemuRecord("vm1"):        "/s/cloonix/nemo/vms/vm1/qemu.json",
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	for _, bad := range []string{"../etc", "Nemo", "", "a/b", ".", "-x"} {
		if _, err := For(bad); err == nil {
			t.Errorf("For(%q) succeeded", bad)
		}
		if _, err := CtlSocket(bad); err == nil {
			t.Errorf("CtlSocket(%q) succeeded", bad)
		}
	}
}

func TestProxyLog(t *testing.T) {
	st := t.TempDir()
	setEnv(t, map[string]string{"XDG_STATE_HOME": st})
	if err := os.MkdirAll(filepath.Join(st, "cloonix", "nemo"), 0o700); err != nil {
		t.Fatal(err)
	}
	for lab, want := range map[string]string{
		"nemo":   filepath.Join(st, "cloonix", "nemo", "proxy.log"),
		"nobody": filepath.Join(st, "cloonix", "proxy.log"), // no such lab: no lab directory is made
		"../x":   filepath.Join(st, "cloonix", "proxy.log"),
		"":       filepath.Join(st, "cloonix", "proxy.log"),
	} {
		if got, err := ProxyLog(lab); err != nil || got != want {
			t.Errorf("ProxyLog(%q) = %s, %v; want %s", lab, got, err, want)
		}
	}
	setEnv(t, nil)
	if _, err := ProxyLog("nemo"); err == nil {
		t.Error("ProxyLog without HOME or XDG_STATE_HOME succeeded")
	}
}

func TestNames(t *testing.T) {
	for _, c := range []struct{ name, why string }{
		{"vm1", ""},
		{"r-1", ""},
		{strings.Repeat("a", 63), ""},
		{"", "is empty"},
		{strings.Repeat("a", 64), "64 characters long"},
		{"r1:x", "':'"},
		{"a/b", "'/'"},
		{"a b", "space"},
		{"Vm1", "upper case"},
		{"1vm", "start with a letter"},
		{"vm-", "ends with '-'"},
		{"vm_1", "'_'"},
		{"vm.nemo", "'.'"},
	} {
		why := NameProblem(c.name)
		if c.why == "" && why != "" || c.why != "" && !strings.Contains(why, c.why) {
			t.Errorf("NameProblem(%q) = %q, want %q", c.name, why, c.why)
		}
	}
	if err := CheckName("VM", "Vm_1"); err == nil || err.Error() != `VM name "Vm_1" contains upper case; DNS is case-insensitive, so names are lower case; rename it, for example to "vm-1"` {
		t.Errorf("CheckName = %v", err)
	}
	if err := CheckName("lab", "123"); err == nil || !strings.HasSuffix(err.Error(), "use lower-case letters, digits and '-', starting with a letter") {
		t.Errorf("CheckName(123) = %v", err)
	}
	if CheckName("lab", "nemo") != nil {
		t.Error("CheckName(nemo) failed")
	}
}

func TestHosts(t *testing.T) {
	for host, ok := range map[string]bool{
		"vm1": true, "VM1": true, "vm1.nemo": true, "10.0.0.1": true, "vm_1": true,
		"": false, "a b": false, "a/b": false, `a\b`: false, "a\x00": false, "a\r\nX: y": false, "a\tb": false, "a\x7f": false,
	} {
		if err := CheckHost(host); (err == nil) != ok {
			t.Errorf("CheckHost(%q) = %v", host, err)
		}
	}
	for host, want := range map[string]string{"vm1": "vm1", "VM1": "vm1", "vm1.nemo": "vm1", "vm1.NEMO": "vm1", "vm1.other": "vm1.other"} {
		if got := VMOfHost(host, "nemo"); got != want {
			t.Errorf("VMOfHost(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestCheckSocketPath(t *testing.T) {
	if err := CheckSocketPath("/run/user/1000/cloonix/nemo/ctl.sock"); err != nil {
		t.Error(err)
	}
	if err := CheckSocketPath("/" + strings.Repeat("x", maxSocketPath)); err == nil || !strings.Contains(err.Error(), "shorter") {
		t.Errorf("long path: %v", err)
	}
}

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestEnsureCreatesPrivateDirs(t *testing.T) {
	base := t.TempDir()
	setEnv(t, map[string]string{"XDG_RUNTIME_DIR": filepath.Join(base, "run"), "XDG_STATE_HOME": filepath.Join(base, "state")})
	d, err := For("nemo")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Ensure(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{d.Runtime, d.State, filepath.Dir(d.Runtime), filepath.Dir(d.State)} {
		if m := mode(t, p); m != 0o700 {
			t.Errorf("%s has mode %o, want 700", p, m)
		}
	}
	// A loosened directory is tightened again.
	if err := os.Chmod(d.Runtime, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := d.Ensure(); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, d.Runtime); m != 0o700 {
		t.Errorf("after Ensure, mode %o", m)
	}
	if err := (Dirs{Runtime: d.Runtime}).Ensure(); err == nil {
		t.Error("Ensure of a Dirs without State succeeded")
	}
}

// TestEnsureTmpFallback checks that the runtime root in a shared TMPDIR is made private too.
func TestEnsureTmpFallback(t *testing.T) {
	tmp := t.TempDir()
	setEnv(t, map[string]string{"TMPDIR": tmp, "XDG_STATE_HOME": filepath.Join(tmp, "state")})
	d, err := For("nemo")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(d.Runtime)
	if root != filepath.Join(tmp, "cloonix-"+euid) {
		t.Fatalf("runtime root = %s", root)
	}
	if err := os.Mkdir(root, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := d.Ensure(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{root, d.Runtime} {
		if m := mode(t, p); m != 0o700 {
			t.Errorf("%s mode %o, want 700", p, m)
		}
	}
}

func TestEnsureRefusesSymlinkAndForeignOwner(t *testing.T) {
	base := t.TempDir()
	setEnv(t, map[string]string{"XDG_RUNTIME_DIR": base, "XDG_STATE_HOME": filepath.Join(base, "state")})
	d, _ := For("nemo")
	if err := os.MkdirAll(filepath.Dir(d.Runtime), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(t.TempDir(), d.Runtime); err != nil {
		t.Fatal(err)
	}
	err := d.Ensure()
	if err == nil || !strings.Contains(err.Error(), "is not a directory") || !strings.Contains(err.Error(), "remove it") {
		t.Fatalf("Ensure over a symlink: %v", err)
	}
	if err := os.Remove(d.Runtime); err != nil {
		t.Fatal(err)
	}

	if os.Geteuid() != 0 {
		t.Log("not root: cannot create a directory owned by someone else; foreign-owner case not run")
		return
	}
	if err := os.Mkdir(d.Runtime, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(d.Runtime, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	err = d.Ensure()
	if err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Fatalf("Ensure over a foreign dir: %v", err)
	}
	var st syscall.Stat_t
	if syscall.Stat(d.Runtime, &st) == nil && st.Uid != 65534 {
		t.Error("Ensure changed the owner")
	}
}
