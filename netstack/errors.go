package netstack

import (
	"errors"
	"net/http"
)

// Sentinel kinds of DialVM failures; test them with errors.Is.
var (
	ErrUnknownVM  = errors.New("unknown VM")
	ErrNotRunning = errors.New("VM not running")
	ErrNoLease    = errors.New("VM has no DHCP lease")
	ErrRefused    = errors.New("connection refused")
	ErrTimeout    = errors.New("connection timed out")
	ErrClosed     = errors.New("NAT closed")
)

// DialError is what DialVM returns: one line for a human, a Kind for errors.Is.
type DialError struct {
	Kind error  // one of the Err* sentinels
	Msg  string // the whole one-line message, e.g. "lab nemo: r1 has no DHCP lease yet (state: booting)"
}

// Error implements error.
func (e *DialError) Error() string { return e.Msg }

// Unwrap lets errors.Is match the Kind.
func (e *DialError) Unwrap() error { return e.Kind }

// HTTPStatus maps the failure to the status the control API answers a CONNECT with.
func (e *DialError) HTTPStatus() int {
	switch e.Kind {
	case ErrUnknownVM:
		return http.StatusNotFound
	case ErrNotRunning, ErrNoLease:
		return http.StatusConflict
	case ErrRefused:
		return http.StatusBadGateway
	case ErrTimeout:
		return http.StatusGatewayTimeout
	default:
		return http.StatusServiceUnavailable
	}
}
