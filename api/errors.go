package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
)

// Error kinds. A Backend returns errors that match one of them (make them with Errorf), so that the server
// can choose the HTTP status; the text of the returned error is the reason shown to the user.
var (
	ErrUnknownEntity = errors.New("unknown entity")
	ErrUnknownVM     = errors.New("unknown VM")
	ErrNotRunning    = errors.New("VM not running")
	ErrRunning       = errors.New("VM running already")
	ErrNoLease       = errors.New("no DHCP lease yet")
	ErrRefused       = errors.New("connection refused")
	ErrTimeout       = errors.New("timed out")
	ErrBadRequest    = errors.New("bad request")
)

// statuses is the one table from error kinds to HTTP statuses; StatusOf takes the first kind the error
// matches. Besides this package's kinds, the standard errors a Backend may pass on as they are: a refused
// connection, a deadline (the context's, or a socket's), and net.ErrClosed (a NAT or daemon shutting down).
var statuses = []struct {
	kind   error
	status int
}{
	{ErrBadRequest, http.StatusBadRequest},
	{ErrUnknownEntity, http.StatusNotFound},
	{ErrUnknownVM, http.StatusNotFound},
	{ErrNotRunning, http.StatusConflict},
	{ErrRunning, http.StatusConflict},
	{ErrNoLease, http.StatusConflict},
	{ErrRefused, http.StatusBadGateway},
	{syscall.ECONNREFUSED, http.StatusBadGateway},
	{ErrTimeout, http.StatusGatewayTimeout},
	{context.DeadlineExceeded, http.StatusGatewayTimeout},
	{os.ErrDeadlineExceeded, http.StatusGatewayTimeout},
	{net.ErrClosed, http.StatusServiceUnavailable},
}

// StatusOf maps an error to the HTTP status the server answers with (the statuses table); an error of no
// kind is 502 Bad Gateway.
func StatusOf(err error) int {
	for _, s := range statuses {
		if errors.Is(err, s.kind) {
			return s.status
		}
	}
	return http.StatusBadGateway
}

// kindError is an error with its own one-line text that still matches its kind through errors.Is.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// Errorf returns an error whose text is the formatted one-line reason and which matches kind (one of the
// kinds in the statuses table) with errors.Is.
func Errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
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
