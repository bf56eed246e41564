package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestVMAction stops one VM of the shared lab and starts it again while the others run on: stopped, its
// qemu gone and its NIC without carrier; a second stop refused in one line; started, running, its NIC
// connected again with its impairment kept, ssh through the proxy working again, and each state change
// an event.
func TestVMAction(t *testing.T) {
	name := sharedNATLab(t)
	_, cfg := sshConfigOf(t, name)
	mustSSH(t, cfg, "vm2", "true")
	_, vm1PID := getStatus(t, name).vm("vm1")
	t.Cleanup(func() { // the next tests need vm2 as they found it
		if st, _ := getStatus(t, name).vm("vm2"); st != "running" {
			labd(t, "--lab", name, "vm", "start", "vm2")
		}
		labd(t, "--lab", name, "link", "vm2", "eth0", "clear")
	})
	mustLabd(t, "--lab", name, "link", "vm2", "eth0", "set", "delay=2ms")

	start := time.Now()
	out := mustLabd(t, "--lab", name, "vm", "stop", "vm2")
	t.Logf("%s (the command took %s)", strings.TrimSpace(out), time.Since(start).Round(time.Millisecond))
	if !strings.HasPrefix(out, "vm vm2: stopped (") {
		t.Errorf("vm stop printed %q, want vm vm2: stopped (…)", out)
	}
	s := getStatus(t, name)
	if st, pid := s.vm("vm2"); st != "stopped" || pid != 0 {
		t.Errorf("after vm stop, vm2 is %q with pid %d; want stopped, no pid", st, pid)
	}
	if st, pid := s.vm("vm1"); st != "running" || pid != vm1PID {
		t.Errorf("vm1 is %q pid %d after vm2 stopped, want running pid %d", st, pid, vm1PID)
	}
	if pids := qemuPIDs(t, "/cloonix/"+name+"/vm2.qmp"); len(pids) > 0 {
		t.Errorf("vm2's qemu still runs after vm stop: %v", pids)
	}
	if l := linkOf(t, name, "vm2", "eth0"); l.Carrier {
		t.Errorf("vm2:eth0 has carrier while vm2 is stopped: %+v", l)
	}

	r := labd(t, "--lab", name, "vm", "stop", "vm2")
	want := "cloonix-labd: vm vm2 is stopped already; start it with: cloonix-labd --lab " + name + " vm start vm2"
	if r.code == 0 || strings.TrimSpace(r.stderr) != want {
		t.Errorf("a second stop: %s; want a non-zero exit and %q", r, want)
	}

	start = time.Now()
	out = mustLabd(t, "--lab", name, "vm", "start", "vm2")
	t.Logf("%s (the command took %s)", strings.TrimSpace(out), time.Since(start).Round(time.Millisecond))
	if !strings.HasPrefix(out, "vm vm2: running (") {
		t.Errorf("vm start printed %q, want vm vm2: running (…)", out)
	}
	if st, pid := getStatus(t, name).vm("vm2"); st != "running" || pid == 0 {
		t.Errorf("after vm start, vm2 is %q with pid %d; want running with a pid", st, pid)
	}
	if pids := qemuPIDs(t, "/cloonix/"+name+"/vm2.qmp"); len(pids) != 1 {
		t.Errorf("vm2 has %d qemus after vm start, want 1: %v", len(pids), pids)
	}
	if r := labd(t, "--lab", name, "vm", "start", "vm2"); r.code == 0 || !strings.Contains(r.stderr, "vm vm2 runs already") {
		t.Errorf("a second start: %s; want a non-zero exit and 'vm vm2 runs already'", r)
	}
	// sshd answered once vm2 was running; the proxy reaches it through the NAT again (the same lease).
	if got := strings.TrimSpace(mustSSH(t, cfg, "vm2", "hostname")); got != "vm2" {
		t.Errorf("ssh vm2 hostname after vm start: %q", got)
	}
	if l := linkOf(t, name, "vm2", "eth0"); !l.Carrier || !l.Up || l.Out != "delay=2ms" {
		t.Errorf("vm2:eth0 after vm start: %+v; want carrier, up and its impairment delay=2ms kept", l)
	}

	ev := mustLabd(t, "--lab", name, "events", "--json", "--all", "--for", "1s")
	var states []string
	for _, line := range strings.Split(strings.TrimSpace(ev), "\n") {
		var e struct{ Kind, VM, What string }
		if json.Unmarshal([]byte(line), &e) == nil && e.Kind == "vm" && e.VM == "vm2" {
			states = append(states, e.What)
		}
	}
	if got, want := strings.Join(states, " "), "stopping stopped booting running"; !strings.HasSuffix(got, want) {
		t.Errorf("vm2's events end with %q, want %q", got, want)
	}
}

// linkOf is one NIC's entry of `link show --json`.
func linkOf(t *testing.T, labName, vm, nic string) (l struct {
	VM, NIC, Out string
	Up, Carrier  bool
}) {
	t.Helper()
	out := mustLabd(t, "--lab", labName, "link", "show", "--json")
	var links []struct {
		VM      string `json:"vm"`
		NIC     string `json:"nic"`
		Out     string `json:"out"`
		Up      bool   `json:"up"`
		Carrier bool   `json:"carrier"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil {
		t.Fatalf("link show --json: %v\n%s", err, out)
	}
	for _, x := range links {
		if x.VM == vm && x.NIC == nic {
			l.VM, l.NIC, l.Out, l.Up, l.Carrier = x.VM, x.NIC, x.Out, x.Up, x.Carrier
			return l
		}
	}
	t.Fatalf("link show has no %s:%s:\n%s", vm, nic, out)
	return l
}
