package labd

import (
	"context"
	"fmt"
	"github.com/cloonix-go/cloonix/events"
	"log/slog"
	"strings"
	"testing"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/lab"
)

// TestDialSentences: the line the user reads when the daemon cannot dial into a VM, and the status it
// gets, for each reason found before the NAT dials.
func TestDialSentences(t *testing.T) {
	l := testLab(t)
	l.LANs = []lab.LAN{{Name: "mgmt", MTU: 1500}, {Name: "lan12", MTU: 1500}}
	l.VMs = append(l.VMs, testVM(t, "linux", "far", "lan12"))
	d := &Daemon{lab: l, log: slog.New(slog.DiscardHandler), vms: map[string]*vmRun{}, events: events.New()}
	for i := range l.VMs {
		d.vms[l.VMs[i].Name] = newVMRun(d, &l.VMs[i])
		d.vmOrder = append(d.vmOrder, l.VMs[i].Name)
	}
	d.vms["vm1"].setState(api.StateBooting)
	d.vms["far"].setState(api.StateRunning)
	var err error
	if d.net, err = newNetwork(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.net.close)
	for target, want := range map[string]string{ // entity/host: status and line
		"dog/vm1":      `404 lab nemo: no entity named "dog" (known: nat)`,
		"nat/ghost":    "404 lab nemo: unknown VM: ghost (known: vm2, vm1, h1, far)",
		"nat/vm2":      "409 lab nemo: vm2 is not running (state: created)",
		"nat/far":      "404 lab nemo: far has no NIC on the LAN of nat",
		"nat/VM1.nemo": "409 lab nemo: VM1.nemo has no DHCP lease yet (state: booting)",
	} {
		entity, host, _ := strings.Cut(target, "/")
		_, err := d.Dial(context.Background(), entity, host, 22)
		if got := fmt.Sprintf("%d %v", api.StatusOf(err), err); err == nil || got != want {
			t.Errorf("dial %s: %q, want %q", target, got, want)
		}
	}
}
