package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/shellquote"
)

// TestCaptureOSPF captures the OSPF demo's lab from its switch, rootless, and reads the captures with
// Debian's tshark: hellos from both routers on lan12, one named interface per target, frames from before
// the command (--last, the flight recorder), a pipe whose reader leaves, a reader that never reads (the LAN
// keeps its speed and the capture counts its drops), and the events of all that.
func TestCaptureOSPF(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Fatalf("tshark is not installed (test.sh installs Debian's tshark): %v", err)
	}
	keepDemoLab(t, "ospf")
	bin := filepath.Join(env.bin, "cloonix-labd")
	follower := exec.Command(bin, "--lab", "ospf", "events", "--json")
	var evs syncBuffer
	follower.Stdout = &evs
	if err := follower.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { follower.Process.Kill(); follower.Wait() })
	dir := t.TempDir()

	t.Run("last: hellos from both routers, from before the command", func(t *testing.T) {
		start := time.Now()
		f := filepath.Join(dir, "last.pcapng")
		mustLabd(t, "--lab", "ospf", "capture", "lan12", "--last", "5s", "--for", "1s", "-w", f)
		out := tshark(t, "-r", f, "-Y", "ospf.msg.hello", "-T", "fields", "-e", "frame.time_epoch", "-e", "ip.src")
		before, srcs := 0, map[string]bool{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			fs := strings.Fields(l)
			if len(fs) != 2 {
				continue
			}
			srcs[fs[1]] = true
			if ts, err := strconv.ParseFloat(fs[0], 64); err == nil && ts < float64(start.UnixNano())/1e9 {
				before++
			}
		}
		if !srcs["10.0.12.1"] || !srcs["10.0.12.2"] {
			t.Errorf("OSPF hellos on lan12 came from %v; want 10.0.12.1 (r1) and 10.0.12.2 (r2)\n%s", srcs, out)
		}
		if before < 4 {
			t.Errorf("%d hellos from before the command ran; with hello 1 s, --last 5s should give about 10", before)
		}
	})

	t.Run("two LANs and a NIC, three named interfaces", func(t *testing.T) {
		f := filepath.Join(dir, "two.pcapng")
		mustLabd(t, "--lab", "ospf", "capture", "lan12", "lan13", "r1:eth2", "--for", "3s", "-w", f)
		out := tshark(t, "-r", f, "-Y", "ospf", "-T", "fields", "-e", "frame.interface_name", "-e", "ip.src")
		got := map[string]bool{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			got[strings.Join(strings.Fields(l), " ")] = true
		}
		for _, want := range []string{"lan12 10.0.12.1", "lan12 10.0.12.2", "lan13 10.0.13.1", "lan13 10.0.13.3", "r1:eth2 10.0.13.1", "r1:eth2 10.0.13.3"} {
			if !got[want] {
				t.Errorf("no OSPF frame %q in the two-target capture; got %v", want, got)
			}
		}
		if got["r1:eth2 10.0.12.1"] || got["lan12 10.0.13.3"] || got["lan13 10.0.12.2"] {
			t.Errorf("a frame is on the wrong interface: %v", got)
		}
	})

	t.Run("a pipe whose reader leaves ends the capture cleanly", func(t *testing.T) {
		sh := fmt.Sprintf("set -o pipefail; %s --lab ospf capture lan12 | tshark -r - -c 6 -T fields -e frame.interface_name", bin)
		r := runCmd(t, time.Minute, "bash", "-c", sh)
		if r.code != 0 || strings.Count(r.stdout, "lan12\n") != 6 {
			t.Fatalf("capture | tshark -c 6: %s", r)
		}
	})

	t.Run("Ctrl-C leaves a whole file", func(t *testing.T) {
		f := filepath.Join(dir, "ctrlc.pcapng")
		cmd := exec.Command(bin, "--lab", "ospf", "capture", "lan12", "r1:eth1", "-w", f)
		var stderr syncBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2500 * time.Millisecond)
		cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("capture ended by Ctrl-C: %v (%s)", err, stderr.String())
		}
		r := runCmd(t, time.Minute, "tshark", "-r", f, "-T", "fields", "-e", "frame.interface_name")
		if r.code != 0 || strings.Contains(r.stderr, "cut short") || strings.Count(r.stdout, "lan12") < 4 {
			t.Errorf("tshark on the file Ctrl-C ended: %s", r)
		}
	})

	t.Run("through cloonix-proxy", func(t *testing.T) {
		sh := fmt.Sprintf("set -o pipefail; %s ospf capture r1:eth1 --last 3s | tshark -r - -c 4 -Y ospf -T fields -e frame.interface_name -e ip.src",
			filepath.Join(env.bin, "cloonix-proxy"))
		r := runCmd(t, time.Minute, "bash", "-c", sh)
		if r.code != 0 || !strings.Contains(r.stdout, "r1:eth1\t10.0.12.") {
			t.Fatalf("cloonix-proxy ospf capture r1:eth1 | tshark: %s", r)
		}
		r = runCmd(t, time.Minute, filepath.Join(env.bin, "cloonix-proxy"), "ospf", "capture", "lan77")
		if r.code != 1 || !strings.Contains(r.stderr, `no LAN named "lan77"`) {
			t.Errorf("cloonix-proxy ospf capture lan77: %s; want exit 1 naming the LAN", r)
		}
	})

	t.Run("a reader that never reads does not slow the LAN", func(t *testing.T) {
		_, cfg := sshConfigOf(t, "ospf")
		base := bulk(t, cfg)
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		stalled := exec.Command(bin, "--lab", "ospf", "capture", "edge1", "lan12", "edge2")
		stalled.Stdout = pw
		if err := stalled.Start(); err != nil {
			t.Fatal(err)
		}
		pw.Close()
		time.Sleep(time.Second)
		slow := bulk(t, cfg)
		pr.Close() // the reader goes away: the capture ends by itself
		done := make(chan error, 1)
		go func() { done <- stalled.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the stalled capture ended with %v once its reader left; want a clean exit", err)
			}
		case <-time.After(20 * time.Second):
			stalled.Process.Kill()
			t.Error("the stalled capture did not end when its reader went away")
		}
		t.Logf("16 MiB h1 -> h2 through lan12: %v alone, %v with a capture whose reader never reads", base, slow)
		if slow > 2*base+time.Second {
			t.Errorf("a stalled capture reader slowed the LAN: %v against %v", slow, base)
		}
		waitFor(t, 10*time.Second, "the capture's stopped event", func() bool {
			return strings.Contains(evs.String(), "edge1 lan12 edge2: ")
		})
		var drops int
		for _, l := range strings.Split(evs.String(), "\n") {
			if strings.Contains(l, `"stopped"`) && strings.Contains(l, "edge1 lan12 edge2: ") {
				fmt.Sscanf(l[strings.Index(l, "frames, ")+len("frames, "):], "%d dropped", &drops)
			}
		}
		if drops == 0 {
			t.Errorf("the stalled capture counted no dropped frames:\n%s", evs.String())
		}
	})

	t.Run("events", func(t *testing.T) {
		mustLabd(t, "--lab", "ospf", "link", "r1", "eth3", "down")
		mustLabd(t, "--lab", "ospf", "link", "r1", "eth3", "up")
		waitFor(t, 10*time.Second, "link events", func() bool { return strings.Count(evs.String(), `"kind":"link"`) >= 2 })
		var kinds []string
		for _, l := range strings.Split(strings.TrimSpace(evs.String()), "\n") {
			var e struct{ Kind, VM, NIC, What string }
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				t.Fatalf("events --json printed %q: %v", l, err)
			}
			kinds = append(kinds, e.Kind+" "+e.VM+":"+e.NIC+" "+e.What)
		}
		all := strings.Join(kinds, "\n")
		for _, want := range []string{"capture : started", "capture : stopped", "link r1:eth3 down", "link r1:eth3 up"} {
			if !strings.Contains(all, want) {
				t.Errorf("events lack %q:\n%s", want, all)
			}
		}
		past := mustLabd(t, "--lab", "ospf", "events", "--all", "--for", "1s")
		for _, want := range []string{"vm r1 running", "lease r1 bound", "link r1:eth3 down"} {
			if !strings.Contains(past, want) {
				t.Errorf("events --all lacks %q:\n%s", want, past)
			}
		}
	})

	t.Run("a scheduled flap: OSPF goes down and comes back, in the events", func(t *testing.T) {
		_, cfg := sshConfigOf(t, "ospf")
		neighbor := func() string { // r1's neighbor 2.2.2.2 (r2, over lan12): its state, "" when gone
			r := sshF(t, cfg, "r1", "show ip ospf neighbor")
			for _, l := range strings.Split(r.stdout, "\n") {
				if f := strings.Fields(l); len(f) > 2 && f[0] == "2.2.2.2" {
					return f[2]
				}
			}
			return ""
		}
		if st := neighbor(); !strings.HasPrefix(st, "Full") {
			t.Fatalf("before the fault, r1's neighbor 2.2.2.2 is %q, want Full", st)
		}
		out := mustLabd(t, "--lab", "ospf", "fault", "add", "link=r1:eth1", "action=down", "for=8s", "at=1s")
		if !strings.Contains(out, "link=r1:eth1 action=down for=8s at=1s") {
			t.Errorf("fault add printed:\n%s", out)
		}
		waitFor(t, 20*time.Second, "r1 to lose its neighbor 2.2.2.2 (dead interval 4 s)", func() bool { return neighbor() == "" })
		waitFor(t, 60*time.Second, "r1's neighbor 2.2.2.2 Full again after the fault", func() bool { return strings.HasPrefix(neighbor(), "Full") })
		waitFor(t, 10*time.Second, "the fault's end event", func() bool {
			return strings.Contains(evs.String(), `"kind":"fault","vm":"r1","nic":"eth1","what":"ended"`)
		})
		if out := mustLabd(t, "--lab", "ospf", "fault", "list"); !strings.Contains(out, "no scheduled faults") {
			t.Errorf("a fault that ran once is still listed:\n%s", out)
		}
		// In order: the fault scheduled, r1's eth1 down, fired, up, ended.
		all, at := evs.String(), 0
		for _, want := range []string{`"kind":"fault","vm":"r1","nic":"eth1","what":"scheduled"`,
			`"kind":"link","vm":"r1","nic":"eth1","lan":"lan12","what":"down"`, `"kind":"fault","vm":"r1","nic":"eth1","what":"fired"`,
			`"kind":"link","vm":"r1","nic":"eth1","lan":"lan12","what":"up"`, `"kind":"fault","vm":"r1","nic":"eth1","what":"ended"`} {
			i := strings.Index(all[at:], want)
			if i < 0 {
				t.Errorf("events lack %s after what came before it:\n%s", want, all)
				break
			}
			at += i
		}
	})

	t.Run("bad targets", func(t *testing.T) {
		for _, c := range []struct{ target, want string }{
			{"lan99", `no LAN named "lan99"`},
			{"r9:eth1", `no VM named "r9"`},
			{"r1:eth9", `has no NIC "eth9"`},
		} {
			r := labd(t, "--lab", "ospf", "capture", c.target, "-w", filepath.Join(dir, "bad.pcapng"))
			if r.code == 0 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Errorf("capture %s: %s; want one line with %q", c.target, r, c.want)
			}
		}
	})
}

// tshark runs Debian's tshark and fails the test unless it exits 0.
func tshark(t *testing.T, args ...string) string {
	t.Helper()
	r := runCmd(t, time.Minute, "tshark", args...)
	if r.code != 0 {
		t.Fatalf("tshark %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// bulk sends 16 MiB over TCP from h1 to h2 (through r1, lan12 and r2) and returns how long the sender took.
func bulk(t *testing.T, cfg string) time.Duration {
	t.Helper()
	recv := make(chan result, 1)
	go func() {
		recv <- sshF(t, cfg, "h2", "python3", "-c", shellquote.Quote(`
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("", 5001)); s.listen(1)
c, _ = s.accept(); n = 0
while True:
    b = c.recv(1 << 16)
    if not b: break
    n += len(b)
print(n)`))
	}()
	time.Sleep(1500 * time.Millisecond)
	r := sshF(t, cfg, "h1", "python3", "-c", shellquote.Quote(`
import socket, time
for i in range(50):
    try:
        s = socket.create_connection(("192.168.2.10", 5001)); break
    except OSError:
        time.sleep(0.2)
b = b"x" * 65536; t = time.time()
for _ in range(256): s.sendall(b)
s.shutdown(socket.SHUT_WR); s.recv(1); print(time.time() - t)`))
	got := <-recv
	if r.code != 0 || got.code != 0 || strings.TrimSpace(got.stdout) != strconv.Itoa(16<<20) {
		t.Fatalf("bulk h1 -> h2: sender %s; receiver %s", r, got)
	}
	secs, err := strconv.ParseFloat(strings.TrimSpace(r.stdout), 64)
	if err != nil {
		t.Fatalf("bulk: %s", r)
	}
	return time.Duration(secs * float64(time.Second))
}
