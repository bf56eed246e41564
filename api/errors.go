package api

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"syscall"
)

// Sentinel error kinds. A Backend returns errors that wrap one of them (with
// fmt.Errorf("...: %w", ErrX)) so that the server can choose the HTTP status;
// the text of the returned error is the reason shown to the user.
var (
	ErrUnknownEntity = errors.New("unknown entity")
	ErrUnknownVM     = errors.New("unknown VM")
	ErrNotRunning    = errors.New("VM not running")
	ErrNoLease       = errors.New("no DHCP lease yet")
	ErrRefused       = errors.New("connection refused")
	ErrTimeout       = errors.New("timed out")
	ErrBadRequest    = errors.New("bad request")
)

// Error is an error with an explicit HTTP status and a one-line reason.
type Error struct {
	Status int    // HTTP status code, e.g. http.StatusNotFound
	Reason string // one line, shown to the user as is
}

// Error returns the reason.
func (e *Error) Error() string { return e.Reason }

// HTTPStatus returns the status code.
func (e *Error) HTTPStatus() int { return e.Status }

// StatusOf maps an error to the HTTP status the server answers with. It
// honours, in order: an error implementing interface{ HTTPStatus() int }
// anywhere in the chain, the sentinel kinds of this package, context and
// syscall errors for timeouts and refusals, then 502 Bad Gateway.
func StatusOf(err error) int {
	var hs interface{ HTTPStatus() int }
	if errors.As(err, &hs) {
		if s := hs.HTTPStatus(); s >= 400 && s <= 599 {
			return s
		}
	}
	switch {
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnknownEntity), errors.Is(err, ErrUnknownVM):
		return http.StatusNotFound
	case errors.Is(err, ErrNotRunning), errors.Is(err, ErrNoLease):
		return http.StatusConflict
	case errors.Is(err, ErrRefused), errors.Is(err, syscall.ECONNREFUSED):
		return http.StatusBadGateway
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// Reason returns the error's text as one line: line breaks become "; " and
// surrounding space is trimmed. An empty text becomes the status text.
func Reason(err error) string {
	r := oneLine(err.Error())
	if r == "" {
		r = http.StatusText(StatusOf(err))
	}
	return r
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return strings.Join(fields, "; ")
}
