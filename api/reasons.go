package api

import (
	"fmt"
	"strings"
	"time"
)

// kindError is an error with its own one-line text that still matches one of
// the sentinel kinds through errors.Is.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// Errorf returns an error whose text is the formatted one-line reason and
// which matches kind (one of the Err* sentinels) with errors.Is.
func Errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// UnknownEntity reports that the lab has no entity (NAT) of that name.
func UnknownEntity(lab, entity string, known []string) error {
	return Errorf(ErrUnknownEntity, "lab %s: no entity named %q (known: %s)", lab, entity, list(known))
}

// UnknownVM reports that the lab has no VM of that name, listing the known ones.
func UnknownVM(lab, vm string, known []string) error {
	return Errorf(ErrUnknownVM, "lab %s: no VM named %q (VMs: %s)", lab, vm, list(known))
}

// NotRunning reports that the VM exists but is not running.
func NotRunning(lab, vm, state string) error {
	return Errorf(ErrNotRunning, "lab %s: %s is not running (state: %s); its console log says why, and down then up restarts it", lab, vm, state)
}

// NoLease reports that the VM has no DHCP lease yet.
func NoLease(lab, vm, state string) error {
	return Errorf(ErrNoLease, "lab %s: %s has no DHCP lease yet (state: %s)", lab, vm, state)
}

// Refused reports that the VM refused the TCP connection.
func Refused(lab, vm string, port uint16) error {
	return Errorf(ErrRefused, "lab %s: %s refused the connection to port %d", lab, vm, port)
}

// Timeout reports that dialling the VM did not complete in time.
func Timeout(lab, vm string, port uint16, after time.Duration) error {
	return Errorf(ErrTimeout, "lab %s: connecting to %s port %d timed out after %s", lab, vm, port, after.Round(time.Millisecond))
}

func list(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
