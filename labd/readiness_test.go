package labd

import (
	"testing"

	"github.com/cloonix-go/cloonix/kind"
)

// TestReadinessLines: IOS-XE is ready at %CVAC-4-CONFIG_DONE on its first boot only; a later boot of its
// overlay (CVAC ran once and may stay silent) is also ready at the login prompt, which is what vrnetlab's
// launchers wait for on every boot (issue 17 item 4). Linux keeps its one line on every boot.
func TestReadinessLines(t *testing.T) {
	ios, _ := kind.Lookup("iosxe")
	lin, _ := kind.Lookup("linux")
	prompt := []byte("\r\n\r\nPress RETURN to get started!\r\n")
	if containsAny(prompt, readinessLines(ios, false)) {
		t.Error("the login prompt made a first boot ready (CVAC has not applied the day-0 yet)")
	}
	if !containsAny(prompt, readinessLines(ios, true)) {
		t.Error("the login prompt does not make a later boot ready: up after down would wait for CVAC forever")
	}
	if !containsAny([]byte("%CVAC-4-CONFIG_DONE: Configuration generated"), readinessLines(ios, true)) {
		t.Error("a later boot no longer accepts %CVAC-4-CONFIG_DONE")
	}
	if got := readinessLines(lin, true); len(got) != 1 || string(got[0]) != lin.ReadinessLine {
		t.Errorf("linux later boot: %q, want only %q", got, lin.ReadinessLine)
	}
}
