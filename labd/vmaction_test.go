package labd

import (
	"context"
	"errors"
	"testing"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/labpath"
)

// TestVMActionRefusals: an unknown VM names the lab's VMs (404), a stop of a VM whose qemu does not run says
// how to start it (409), an unknown action is a bad request, and no VM starts once the lab is going down.
func TestVMActionRefusals(t *testing.T) {
	d, err := New(Options{Lab: testLab(t), Dirs: labpath.Dirs{Runtime: t.TempDir(), State: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range d.lab.VMs {
		v := &d.lab.VMs[i]
		d.vms[v.Name] = newVMRun(d, v)
	}
	d.vmOrder = []string{"h1", "vm1", "vm2"}
	d.vms["vm2"].state = api.StateStopped
	ctx := context.Background()
	cases := []struct {
		vm, action string
		kind       error
		reason     string
	}{
		{"vm9", api.VMStop, api.ErrUnknownVM, `lab nemo: no VM named "vm9" (VMs: h1, vm1, vm2)`},
		{"vm2", api.VMStop, api.ErrNotRunning, "vm vm2 is stopped already; start it with: cloonix-labd --lab nemo vm start vm2"},
		{"vm1", api.VMStop, api.ErrNotRunning, "vm vm1 is not running (state: created); start it with: cloonix-labd --lab nemo vm start vm1"},
		{"vm1", "reboot", api.ErrBadRequest, `unknown VM action "reboot"; use stop or start`},
	}
	for _, c := range cases {
		_, err := d.VMAction(ctx, c.vm, c.action)
		if !errors.Is(err, c.kind) || err.Error() != c.reason {
			t.Errorf("%s %s: %v, want %q (%v)", c.action, c.vm, err, c.reason, c.kind)
		}
	}
	d.requestDown()
	if _, err := d.VMAction(ctx, "vm2", api.VMStart); !errors.Is(err, api.ErrNotRunning) || err.Error() != "lab nemo is going down; start it again with: cloonix-labd up LABFILE" {
		t.Errorf("start while going down: %v", err)
	}
	if st := d.vms["vm2"].State(); st != api.StateStopped {
		t.Errorf("vm2 is %s after refused actions, want stopped", st)
	}
}
