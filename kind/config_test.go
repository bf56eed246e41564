package kind

import "testing"

// TestConfigOps checks the data config push/save reads: every kind can be pushed and saved, IOS-XE merges by
// copying to bootflash: then to running-config (NAPALM's merge) and replaces through nvram:replace-config with scp -O.
func TestConfigOps(t *testing.T) {
	for _, name := range Names() {
		k := mustLookup(t, name)
		if !k.Config.Pushable() {
			t.Errorf("%s: no config push/save data", name)
		}
	}
	x := mustLookup(t, "iosxe")
	c := x.Config
	if c.PushPath != "bootflash:cloonix-push.cfg" || c.LoadCommand != "copy bootflash:cloonix-push.cfg running-config" || c.ReplacePath != "nvram:replace-config" ||
		c.ReplaceCommand != "configure replace nvram:replace-config force" || c.SaveCommand != "show running-config" {
		t.Errorf("iosxe config ops: %+v", c)
	}
	if !x.SCPLegacy || x.DiskBus != "ide" || len(c.ErrorMarkers) == 0 {
		t.Errorf("iosxe: SCPLegacy %v DiskBus %q markers %v", x.SCPLegacy, x.DiskBus, c.ErrorMarkers)
	}
	for _, name := range []string{"linux", "frr"} {
		k := mustLookup(t, name)
		if k.SCPLegacy || k.Config.LoadCommand == "" || k.Config.User != "root" {
			t.Errorf("%s: %+v (SCPLegacy %v)", name, k.Config, k.SCPLegacy)
		}
	}
	if (ConfigOps{}).Pushable() {
		t.Error("empty ConfigOps is pushable")
	}
}
