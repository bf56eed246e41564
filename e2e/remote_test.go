package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// remoteLabTOML is the lab the remote-server test brings up on the server: a Linux VM with a day-0 file that
// travels with the lab file and a second NIC for link down/up, and an FRR router (its login shell is vtysh).
const remoteLabTOML = `
version = 1
name = "nemo"

[nat]

[[lan]]
name = "side"

[[vm]]
name = "vm1"
image = "tiny"
day0 = "cfg/vm1.yaml"
nics = { eth0 = "mgmt", eth1 = "side" }

[[vm]]
name = "r1"
kind = "frr"
`

// procUID is the real uid of a running process.
func procUID(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatalf("pid %d: %v", pid, err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "Uid:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatalf("pid %d: no Uid line", pid)
	return -1
}

// TestRemoteServer runs a lab on a "server" (a real sshd on 127.0.0.1, logging in as a user the test creates)
// and uses it from here, the client, with the same commands as a local lab: up of a lab file with a day-0
// file (the server builds the images it lacks, progress shown here), status, ssh/scp/sftp/rsync with a 64 MiB
// round trip, the fdpass variant, the exact ProxyCommand with the user's own key, 20 parallel sessions,
// Ansible over ssh and network_cli, console, link down/up, config save, down.
func TestRemoteServer(t *testing.T) {
	h := startRemoteHost(t)
	u := h.addUser(t, "clxa")
	h.writeClientServer(t, "nemo", u.Name)
	ensureUserKey(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "cfg"), 0o755)
	os.WriteFile(filepath.Join(dir, "cfg", "vm1.yaml"), []byte("#cloud-config\nwrite_files:\n  - path: /etc/remote-day0\n    content: sent by the client\n"), 0o644)
	file := filepath.Join(dir, "lab.toml")
	os.WriteFile(file, []byte(remoteLabTOML), 0o644)
	t.Cleanup(func() { labd(t, "--lab", "nemo", "down") })

	start := time.Now()
	r := labd(t, "--server", "nemo", "up", file)
	t.Logf("remote up (images built on the server) in %s", time.Since(start).Round(time.Millisecond))
	if r.code != 0 {
		t.Fatalf("remote up: %s", r)
	}
	for _, want := range []string{"image tiny is not built on this server: building it", "image frr is not built on this server: building it"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("up did not show the server's image build (%q):\n%s", want, r)
		}
	}
	for _, want := range []string{"lab nemo is up", "copied the lab's SSH keys", "ssh_config"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("up's output lacks %q:\n%s", want, r.stdout)
		}
	}

	// The lab runs as the server's user, in its directories; status reaches it through the forward.
	st := getStatus(t, "nemo")
	for _, v := range st.VMs {
		if v.State != "running" || v.PID == 0 {
			t.Fatalf("VM %s is %s (pid %d) after up", v.Name, v.State, v.PID)
		}
		if uid := procUID(t, v.PID); uid != u.UID {
			t.Errorf("VM %s's qemu runs as uid %d, want the server user's %d", v.Name, uid, u.UID)
		}
	}
	if uid := procUID(t, st.Lab.PID); uid != u.UID {
		t.Errorf("the daemon runs as uid %d, want %d", uid, u.UID)
	}
	if _, err := os.Stat(filepath.Join(u.Home, ".local", "state", "cloonix", "nemo", "upload", "files", "cfg", "vm1.yaml")); err != nil {
		t.Errorf("the day-0 file did not reach the server's upload directory: %v", err)
	}

	// ssh through the client's generated ssh_config (written here, Include-able here).
	gen, cfg := sshConfigOf(t, "nemo")
	if !strings.HasPrefix(gen, filepath.Join(env.root, "state")) {
		t.Errorf("ssh_config %s is not in the client's state directory", gen)
	}
	if out := mustSSH(t, cfg, "vm1", "cat /etc/remote-day0; echo; hostname"); out != "sent by the client\nvm1\n" {
		t.Errorf("vm1 (day-0 from the client): %q", out)
	}
	for _, k := range []string{"id_ed25519", "id_rsa"} {
		if fi, err := os.Stat(filepath.Join(filepath.Dir(gen), k)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("client copy of the lab key %s: %v %v", k, fi, err)
		}
	}

	// The exact command with the user's own key (authorized in the remote VMs) and a known_hosts of its own.
	known := filepath.Join(dir, "known_hosts")
	r = runCmd(t, time.Minute, "sh", "-c", "ssh -o BatchMode=yes -o UserKnownHostsFile="+known+
		" -o StrictHostKeyChecking=accept-new -o ProxyCommand='cloonix-proxy nemo nat %h' root@vm1 hostname")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "vm1" {
		t.Fatalf("the exact command with the user's key: %s", r)
	}

	// 64 MiB both ways, both scp protocols, sftp, rsync.
	data := make([]byte, 64<<20)
	rand.Read(data)
	sum := sha256.Sum256(data)
	want := hex.EncodeToString(sum[:])
	big := filepath.Join(dir, "big")
	os.WriteFile(big, data, 0o600)
	scp := func(args ...string) {
		t.Helper()
		if r := runCmd(t, 5*time.Minute, "scp", append([]string{"-F", cfg, "-o", "BatchMode=yes"}, args...)...); r.code != 0 {
			t.Fatalf("scp %v: %s", args, r)
		}
	}
	start = time.Now()
	scp(big, "vm1:/tmp/big")
	t.Logf("64 MiB scp up through the remote server: %s", time.Since(start).Round(time.Millisecond))
	if got := strings.Fields(mustSSH(t, cfg, "vm1", "sha256sum /tmp/big")); len(got) == 0 || got[0] != want {
		t.Fatalf("64 MiB arrived with sha256 %v, want %s", got, want)
	}
	scp("-O", "vm1:/tmp/big", filepath.Join(dir, "back"))
	if got := fileHash(t, filepath.Join(dir, "back")); got != want {
		t.Fatalf("64 MiB came back (scp -O) with sha256 %s, want %s", got, want)
	}
	batch := filepath.Join(dir, "batch")
	os.WriteFile(batch, []byte("put "+batch+" /tmp/batch\nget /tmp/batch "+filepath.Join(dir, "batch-back")+"\n"), 0o600)
	if r := runCmd(t, time.Minute, "sftp", "-F", cfg, "-o", "BatchMode=yes", "-b", batch, "vm1"); r.code != 0 {
		t.Fatalf("sftp -b: %s", r)
	}
	if r := runCmd(t, 2*time.Minute, "rsync", "-a", "-e", "ssh -F "+cfg+" -o BatchMode=yes", batch, "vm1:/tmp/rsynced"); r.code != 0 {
		t.Fatalf("rsync: %s", r)
	}
	if out := mustSSH(t, cfg, "vm1", "cmp /tmp/batch /tmp/rsynced && echo same"); out != "same\n" {
		t.Errorf("rsync: %q", out)
	}
	if out := mustSSH(t, filepath.Join(filepath.Dir(gen), "ssh_config.fdpass"), "vm1", "hostname"); out != "vm1\n" {
		t.Errorf("fdpass variant: %q", out)
	}

	// 20 sessions at once, after the master went away: the first dials set the forward up once.
	killMasters(t)
	inParallel(t, 20, func(i int) string {
		if i%2 == 1 { // r1's login shell is vtysh
			if r := sshF(t, cfg, "r1", "show version"); r.code != 0 || !strings.Contains(r.stdout, "FRRouting") {
				return fmt.Sprintf("session %d to r1: %s", i, r)
			}
			return ""
		}
		if r := sshF(t, cfg, "vm1", fmt.Sprintf("echo s-%d", i)); r.code != 0 || r.stdout != fmt.Sprintf("s-%d\n", i) {
			return fmt.Sprintf("session %d to vm1: %s", i, r)
		}
		return ""
	})

	// Ansible from here: -m ping on the Linux host, cli_command on FRR.
	out := mustLabd(t, "--server", "nemo", "inventory")
	inv := strings.TrimSpace(strings.SplitN(out, "\n", 2)[0])
	if r := ansible(t, "-i", inv, "linux", "-m", "ansible.builtin.ping"); r.code != 0 || !strings.Contains(r.stdout, `"ping": "pong"`) {
		t.Fatalf("ansible -m ping through the remote server: %s", r)
	}
	if r := ansible(t, "-i", inv, "frr", "-m", "ansible.netcommon.cli_command", "-a", `command="show version"`); r.code != 0 || !strings.Contains(r.stdout, "FRRouting") {
		t.Fatalf("ansible cli_command on r1 through the remote server: %s", r)
	}

	// config save from here, through the client's ssh_config.
	if out := mustLabd(t, "--server", "nemo", "config", "save", "r1"); !strings.Contains(out, "hostname r1") {
		t.Errorf("config save r1: %q", out)
	}

	// Link down/up: the guest loses its carrier.
	carrier := func() string {
		return sshF(t, cfg, "vm1", "ip link set eth1 up; cat /sys/class/net/eth1/carrier").stdout
	}
	if c := carrier(); c != "1\n" {
		t.Fatalf("vm1 eth1 carrier before link down: %q", c)
	}
	mustLabd(t, "--server", "nemo", "link", "vm1", "eth1", "down")
	waitFor(t, 20*time.Second, "vm1 eth1 carrier 0", func() bool { return carrier() == "0\n" })
	mustLabd(t, "--server", "nemo", "link", "vm1", "eth1", "up")
	waitFor(t, 20*time.Second, "vm1 eth1 carrier 1", func() bool { return carrier() == "1\n" })

	// Capture from here: ARP requests vm1 sends on eth1, read back from the server's flight recorder, through
	// cloonix-proxy and through the CLI; the link changes above are events there.
	mustSSH(t, cfg, "vm1", "ip addr add 10.7.0.1/24 dev eth1; ping -c 2 -W 1 10.7.0.9 >/dev/null; true")
	viaProxy := filepath.Join(t.TempDir(), "proxy.pcapng")
	sh := fmt.Sprintf("%s nemo capture vm1:eth1 --last 30s > %s & sleep 3; kill $!; wait $! 2>/dev/null; tshark -r %s -Y arp -T fields -e arp.dst.proto_ipv4",
		filepath.Join(env.bin, "cloonix-proxy"), viaProxy, viaProxy)
	if r := runCmd(t, time.Minute, "bash", "-c", sh); r.code != 0 || !strings.Contains(r.stdout, "10.7.0.9") {
		t.Errorf("cloonix-proxy nemo capture vm1:eth1, read by tshark: %s", r)
	}
	pcap := filepath.Join(t.TempDir(), "side.pcapng")
	mustLabd(t, "--server", "nemo", "capture", "side", "--last", "30s", "--for", "2s", "-w", pcap)
	if r := runCmd(t, time.Minute, "tshark", "-r", pcap, "-Y", "arp", "-T", "fields", "-e", "frame.interface_name"); r.code != 0 || !strings.Contains(r.stdout, "side") {
		t.Errorf("--server nemo capture side: tshark says %s", r)
	}
	if evs := mustLabd(t, "--server", "nemo", "events", "--all", "--for", "1s"); !strings.Contains(evs, "link vm1:eth1 down") || !strings.Contains(evs, "link vm1:eth1 up") {
		t.Errorf("--server nemo events --all lacks the link changes:\n%s", evs)
	}

	// validate from here: checks run over the client's ssh to the server's VMs and a wire check through the
	// forwarded API (vm1's ARP on side while it pings); the tests file is the client's.
	tests := filepath.Join(t.TempDir(), "tests.toml")
	os.WriteFile(tests, []byte(`[[test]]
name = "vm1 answers"
node = "vm1"
command = { cmd = "hostname", match = '^vm1' }

[[test]]
name = "r1 runs FRR"
node = "r1"
command = { cmd = "show version", match = 'FRRouting' }
wait = "30s"

[[test]]
name = "vm1 asks for 10.7.0.9 on side"
wire = { lan = "side", window = "8s", seen = "arp", from = ["vm1"] }
`), 0o644)
	pinger := exec.Command("ssh", "-F", cfg, "-o", "BatchMode=yes", "vm1", "ping -c 12 -i 0.5 -W 1 10.7.0.9 >/dev/null; true")
	if err := pinger.Start(); err != nil {
		t.Fatal(err)
	}
	v := labd(t, "--server", "nemo", "validate", tests)
	pinger.Wait()
	if v.code != 0 || !strings.Contains(v.stdout, "PASS side vm1 asks for 10.7.0.9 on side: arp from vm1 ") ||
		!strings.Contains(v.stdout, "validate nemo: 3 results: 3 passed") {
		t.Errorf("--server nemo validate: %s", v)
	}
	if v := labd(t, "--server", "nemo", "validate"); v.code == 0 || !strings.Contains(v.stderr, "give its tests file from this one: cloonix-labd --server nemo validate FILE") {
		t.Errorf("--server nemo validate without a file: %s", v)
	}

	// Console attach: a command typed on vm1's serial console, Ctrl-] leaves.
	cmd := exec.Command(filepath.Join(env.bin, "cloonix-labd"), "--server", "nemo", "console", "vm1")
	stdin, _ := cmd.StdinPipe()
	var cons syncBuffer
	cmd.Stdout, cmd.Stderr = &cons, &cons
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(time.Second)
	stdin.Write([]byte("\necho remote-console-$((6*7))-$(hostname)\n"))
	waitFor(t, 20*time.Second, "the console's answer", func() bool { return strings.Contains(cons.String(), "remote-console-42-vm1") })
	stdin.Write([]byte{0x1d})
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("console: %v\n%s", err, cons.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("Ctrl-] did not end the remote console")
	}

	// Down from here; then a dial says the lab is not up, and how to start it.
	pids := []int{st.Lab.PID}
	for _, v := range st.VMs {
		pids = append(pids, v.PID)
	}
	if out := mustLabd(t, "--server", "nemo", "down"); !strings.Contains(out, "lab nemo is down") {
		t.Errorf("down: %q", out)
	}
	for _, p := range pids {
		if alive(p) {
			t.Errorf("pid %d still runs after down", p)
		}
	}
	r = sshF(t, cfg, "vm1", "true")
	if !strings.Contains(r.stderr, "server nemo: lab nemo is not up on clxa@labhost; start it with: cloonix-labd --server nemo up LABFILE") {
		t.Errorf("ssh to a remote lab that is down: %s", r)
	}
}

// killMasters ends the client's ssh master connections, so the next dial sets everything up again.
func killMasters(t testing.TB) {
	t.Helper()
	socks, _ := filepath.Glob(filepath.Join(env.root, "run", "cloonix", "_ssh", "m-*.mux"))
	for _, s := range socks {
		exec.Command("ssh", "-o", "ControlPath="+s, "-O", "exit", "labhost").Run()
	}
}

// oneLine checks that a failed command said exactly one line on stderr containing want, and exited non-zero.
func oneLine(t *testing.T, what string, r result, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if r.code == 0 || len(lines) != 1 || !strings.Contains(lines[0], want) {
		t.Errorf("%s: want one line with %q and a non-zero exit, got %s", what, want, r)
	}
}

// TestRemoteServerFailures: every way reaching a remote server fails is one line naming the server and the
// fix, through real ssh: unknown host key (never accepted), login refused, no cloonix-labd on the server's
// PATH, an older and a newer server, and a lab that is not up.
func TestRemoteServerFailures(t *testing.T) {
	h := startRemoteHost(t)
	u := h.addUser(t, "clxf")
	dir := t.TempDir()
	base, err := os.ReadFile(h.SSHConfig)
	if err != nil {
		t.Fatal(err)
	}
	variant := func(name, from, to string) *remoteHost {
		p := filepath.Join(dir, name+".ssh_config")
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(base), from, to)), 0o600); err != nil {
			t.Fatal(err)
		}
		v := *h
		v.SSHConfig = p
		return &v
	}
	both := func(server, want string) {
		t.Helper()
		oneLine(t, "cloonix-proxy "+server, runCmd(t, time.Minute, filepath.Join(env.bin, "cloonix-proxy"), server, "nat", "vm1"), want)
		oneLine(t, "cloonix-labd --server "+server+" status", labd(t, "--server", server, "status"), want)
	}

	emptyKnown := filepath.Join(dir, "known_hosts.empty")
	os.WriteFile(emptyKnown, nil, 0o600)
	variant("hostkey", h.KnownHosts, emptyKnown).writeClientServer(t, "hostkey", u.Name)
	both("hostkey", "server hostkey (clxf@labhost): ssh does not trust the host key of clxf@labhost (unknown, or changed): check its fingerprint, then accept it with: ssh -F ")
	if data, _ := os.ReadFile(emptyKnown); len(data) != 0 {
		t.Errorf("the unknown host key was written to known_hosts: %q", data)
	}

	other := filepath.Join(dir, "other_key")
	if r := runCmd(t, time.Minute, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other); r.code != 0 {
		t.Fatal(r)
	}
	variant("nokey", h.ClientKey, other).writeClientServer(t, "nokey", u.Name)
	both("nokey", "server nokey (clxf@labhost): clxf@labhost refused the ssh login (clxf@127.0.0.1: Permission denied (publickey).): authorize your key there")

	h.writeClientServer(t, "nolab", u.Name)
	// A chatty login (sshd runs ~/.ssh/rc before each command; its output comes first) must not get in the way.
	if r := h.asUser(t, u, time.Minute, "sh", "-c", "printf 'echo Welcome to labhost\\n' > ~/.ssh/rc"); r.code != 0 {
		t.Fatal(r)
	}
	both("nolab", "server nolab: lab nolab is not up on clxf@labhost; start it with: cloonix-labd --server nolab up LABFILE")

	// Through a jump host (ProxyJump, the server itself here): the master keeps a ProxyCommand child that
	// holds ssh's stderr; the first dial must still answer at once, with the lab's state.
	labhostBlock, _, _ := strings.Cut(string(base), "\nHost *")
	jump := "Host labhost\n\tProxyJump " + u.Name + "@jumphost\n\n" + strings.Replace(labhostBlock, "Host labhost", "Host jumphost", 1) + "\n" + string(base)
	jp := filepath.Join(dir, "jump.ssh_config")
	os.WriteFile(jp, []byte(jump), 0o600)
	jv := *h
	jv.SSHConfig = jp
	jv.writeClientServer(t, "jumped", u.Name)
	killMasters(t)
	start := time.Now()
	both("jumped", "server jumped: lab jumped is not up on clxf@labhost; start it with: cloonix-labd --server jumped up LABFILE")
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("two first dials through a jump host took %s", d)
	}

	// The server's binary: missing, then built for an older and a newer protocol.
	labdBin := filepath.Join(h.BinDir, "cloonix-labd")
	saved := labdBin + ".saved"
	if err := os.Rename(labdBin, saved); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Rename(saved, labdBin) })
	both("nolab", "server nolab (clxf@labhost): no `cloonix-labd` on the PATH of clxf@labhost: install `cloonix-labd` and `cloonix-proxy` into a directory that `ssh -F ")
	for _, c := range []struct{ proto, want string }{
		{"0", "server nolab (clxf@labhost): clxf@labhost runs `cloonix-labd` dev (remote protocol 0), this client speaks protocol 1: upgrade `cloonix-labd` and `cloonix-proxy` on clxf@labhost"},
		{"2", "server nolab (clxf@labhost): clxf@labhost runs `cloonix-labd` dev (remote protocol 2), newer than this client (protocol 1): upgrade `cloonix-labd` and `cloonix-proxy` on this machine"},
	} {
		if r := runCmd(t, 3*time.Minute, "go", "build", "-o", labdBin, "-ldflags", "-X github.com/cloonix-go/cloonix/remote.protocol="+c.proto, "../cmd/cloonix-labd"); r.code != 0 {
			t.Fatalf("build a server of protocol %s: %s", c.proto, r)
		}
		os.Chmod(labdBin, 0o755)
		both("nolab", c.want)
	}
}

// TestRemoteTwoUsers: two users of one server each run a lab of the same name; each client reaches its own,
// and one user cannot reach the other's socket (refused, saying why).
func TestRemoteTwoUsers(t *testing.T) {
	h := startRemoteHost(t)
	ub, uc := h.addUser(t, "clxb"), h.addUser(t, "clxc")
	for _, u := range []remoteUser{ub, uc} {
		h.seedImages(t, u, "tiny")
	}
	h.writeClientServer(t, "twinb", ub.Name, `lab = "twin"`)
	h.writeClientServer(t, "twinc", uc.Name, `lab = "twin"`)
	file := writeLab(t, "version = 1\nname = \"twin\"\n[nat]\n[[vm]]\nname = \"vm1\"\nimage = \"tiny\"\n")
	for _, s := range []string{"twinb", "twinc"} {
		t.Cleanup(func() { labd(t, "--server", s, "down") })
		if r := labd(t, "--server", s, "up", file); r.code != 0 {
			t.Fatalf("up on %s: %s", s, r)
		}
	}
	for _, c := range []struct {
		server string
		u      remoteUser
	}{{"twinb", ub}, {"twinc", uc}} {
		st := getStatus(t, c.server)
		if st.Lab.Name != "twin" || len(st.VMs) != 1 || procUID(t, st.VMs[0].PID) != c.u.UID {
			t.Errorf("%s: lab %s, VMs %+v, want lab twin with vm1 run by uid %d", c.server, st.Lab.Name, st.VMs, c.u.UID)
		}
		_, cfg := sshConfigOf(t, c.server)
		if out := mustSSH(t, cfg, "vm1", "hostname"); out != "vm1\n" {
			t.Errorf("%s: ssh vm1 hostname: %q", c.server, out)
		}
	}
	// The systemd --user unit checks out for a user who installed it as its comment says (this machine has no
	// user manager to run it).
	if _, err := exec.LookPath("systemd-analyze"); err == nil {
		unit, err := filepath.Abs("../scripts/systemd/cloonix-labd@.service")
		if err != nil {
			t.Fatal(err)
		}
		script := "mkdir -p ~/.config/systemd/user ~/.config/cloonix/labs ~/.local/bin && cp " + unit + " ~/.config/systemd/user/ && " +
			"cp " + filepath.Join(h.BinDir, "cloonix-labd") + " " + filepath.Join(h.BinDir, "cloonix-proxy") + " ~/.local/bin/ && " +
			"cd ~/.config/systemd/user && cp cloonix-labd@.service cloonix-labd@twin.service && systemd-analyze verify ./cloonix-labd@twin.service"
		if r := h.asUser(t, ub, time.Minute, "sh", "-c", script); r.code != 0 || strings.TrimSpace(r.stdout+r.stderr) != "" {
			t.Errorf("systemd-analyze verify of the user unit: %s", r)
		}
	}
	// clxb names clxc's control socket in its own client config: the proxy and the CLI refuse it.
	other := fmt.Sprintf("/tmp/cloonix-%d/twin/ctl.sock", uc.UID)
	cfgDir := filepath.Join(ub.Home, ".config", "cloonix")
	if r := h.asUser(t, ub, time.Minute, "sh", "-c", "mkdir -p "+cfgDir+" && printf '[server.theirs]\\nsocket = \""+other+"\"\\n' > "+cfgDir+"/config.toml"); r.code != 0 {
		t.Fatal(r)
	}
	for _, args := range [][]string{{"cloonix-proxy", "theirs", "nat", "vm1"}, {"cloonix-labd", "--lab", "theirs", "status"}} {
		r := h.asUser(t, ub, time.Minute, args...)
		t.Logf("%v as clxb: %s", args, strings.TrimSpace(r.stderr))
		if r.code == 0 || !strings.Contains(r.stderr, "/tmp/cloonix-"+strconv.Itoa(uc.UID)+"/twin") ||
			!(strings.Contains(r.stderr, "permission denied") || strings.Contains(r.stderr, "not by you") || strings.Contains(r.stderr, "owned by uid")) {
			t.Errorf("%v as clxb on clxc's socket: want a refusal saying why, got %s", args, r)
		}
	}
}
