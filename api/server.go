package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloonix-go/cloonix/lograte"
	"github.com/cloonix-go/cloonix/unixsock"
)

// Backend is what the daemon implements for the API server.
//
// Errors should match one of the error kinds (make them with Errorf); the
// kind chooses the HTTP status (StatusOf) and the text is sent to the
// client as the one-line reason.
//
// Further endpoints come as separate optional interfaces that the server
// detects with a type assertion (LinkSetter for POST /v1/link, VMController
// for POST /v1/vm), so that
// this one does not grow.
type Backend interface {
	// Lab describes the lab and the daemon.
	Lab(ctx context.Context) (LabInfo, error)
	// VMs lists the VMs in lab-file order.
	VMs(ctx context.Context) ([]VMStatus, error)
	// Leases lists the current DHCP leases.
	Leases(ctx context.Context) ([]Lease, error)
	// Dial opens a TCP connection to host:port through entity (a NAT name).
	// It must return only once the connection is established.
	Dial(ctx context.Context, entity, host string, port uint16) (net.Conn, error)
	// Down starts stopping the lab and returns; the server answers the
	// request after Down returns. Down must not wait for Serve to return.
	Down(ctx context.Context) error
}

// Limits on requests.
const (
	MaxHeaderBytes = 16 << 10 // request line plus headers
	MaxBodyBytes   = 64 << 10 // request body
)

// DefaultDialTimeout bounds Backend.Dial for a CONNECT request.
const DefaultDialTimeout = 20 * time.Second

// Server serves the API for one Backend. Create it with NewServer.
type Server struct {
	b           Backend
	log         *slog.Logger
	DialTimeout time.Duration // bound on Backend.Dial; DefaultDialTimeout if zero

	mu         sync.Mutex
	tunnels    map[net.Conn]struct{}
	wg         sync.WaitGroup
	refusedLog lograte.Limiter
}

// NewServer returns a server for b. A nil log discards log output.
func NewServer(b Backend, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{b: b, log: log, tunnels: make(map[net.Conn]struct{}), refusedLog: lograte.Limiter{Every: 10 * time.Second}}
}

// Handler returns the HTTP handler of the API (management and CONNECT).
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Server) httpServer() *http.Server {
	return &http.Server{
		Handler:           s.Handler(),
		MaxHeaderBytes:    MaxHeaderBytes,
		ReadHeaderTimeout: 10 * time.Second,
		// A whole request (its body too) and its answer are bounded, so a client that stalls cannot hold a
		// connection slot forever. The write bound covers a CONNECT's dial (DefaultDialTimeout) before the
		// 200; a hijacked tunnel clears both deadlines (serveConnect).
		ReadTimeout:  30 * time.Second,
		WriteTimeout: DefaultDialTimeout + 30*time.Second,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     log.New(slogWriter{s.log}, "", 0),
	}
}

// Serve answers requests on l until ctx is cancelled, then closes l, waits
// (briefly) for management requests and closes open tunnels. It returns nil
// after a cancellation and the listener's error otherwise.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	l = unixsock.Guard(l, MaxConns, s.refused)
	hs := s.httpServer()
	hs.BaseContext = func(net.Listener) context.Context { return ctx }
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	select {
	case err := <-errc:
		s.closeTunnels()
		return fmt.Errorf("api: serve %s: %w", l.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	s.closeTunnels()
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("api: shut down: %w", err)
	}
	return nil
}

// MaxConns bounds the connections the daemon serves at once (management requests and open tunnels: every
// ssh session is one); past it a new connection is closed at once.
const MaxConns = 512

// refused logs, at most every 10 s, a connection the guard closed.
func (s *Server) refused(why string) {
	if ok, held := s.refusedLog.Allow(time.Now()); ok {
		s.log.Warn("refused a connection to the control socket", "why", why, "suppressed", held)
	}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		s.serveConnect(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	path := r.URL.Path
	if sr, ok := streamRoutes[path]; ok {
		s.serveStream(w, r, sr)
		return
	}
	route, ok := routes[path]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s (the API has %s)", oneLine(path), endpoints))
		return
	}
	if r.Method != route.method {
		w.Header().Set("Allow", route.method)
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s needs method %s", path, route.method))
		return
	}
	if unbounded[path] {
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Time{})
	}
	v, err := route.fn(s.b, r)
	if err != nil {
		st := StatusOf(err)
		s.log.Debug("api request failed", "method", r.Method, "path", path, "status", st, "err", err)
		writeError(w, st, Reason(err))
		return
	}
	writeJSON(w, route.ok, v)
}

type route struct {
	method string
	ok     int
	fn     func(Backend, *http.Request) (any, error)
}

// unbounded are the routes whose answer may take longer than the server's read and write timeouts: a VM's
// stop waits for its guest to power off (its kind's stop timeout: two minutes for IOS-XE). The backend bounds
// them itself.
var unbounded = map[string]bool{"/" + Version + "/vm": true}

var routes = map[string]route{
	"/" + Version + "/lab": {http.MethodGet, http.StatusOK, func(b Backend, r *http.Request) (any, error) {
		return b.Lab(r.Context())
	}},
	"/" + Version + "/vms": {http.MethodGet, http.StatusOK, func(b Backend, r *http.Request) (any, error) {
		v, err := b.VMs(r.Context())
		if v == nil {
			v = []VMStatus{}
		}
		return v, err
	}},
	"/" + Version + "/leases": {http.MethodGet, http.StatusOK, func(b Backend, r *http.Request) (any, error) {
		v, err := b.Leases(r.Context())
		if v == nil {
			v = []Lease{}
		}
		return v, err
	}},
	"/" + Version + "/down": {http.MethodPost, http.StatusAccepted, func(b Backend, r *http.Request) (any, error) {
		if err := b.Down(r.Context()); err != nil {
			return nil, err
		}
		return map[string]string{"status": "stopping"}, nil
	}},
	"/" + Version + "/link":   {http.MethodPost, http.StatusOK, serveLink},
	"/" + Version + "/vm":     {http.MethodPost, http.StatusOK, serveVM},
	"/" + Version + "/impair": {http.MethodPost, http.StatusOK, serveImpair},
	"/" + Version + "/links":  {http.MethodGet, http.StatusOK, serveLinks},
	"/" + Version + "/fault":  {http.MethodPost, http.StatusOK, serveFault},
	"/" + Version + "/faults": {http.MethodGet, http.StatusOK, serveFaults},
	"/" + Version + "/keys": {http.MethodGet, http.StatusOK, func(b Backend, r *http.Request) (any, error) {
		kr, ok := b.(KeyReader)
		if !ok {
			return nil, Errorf(ErrBadRequest, "this daemon does not hand out its keys")
		}
		return kr.Keys(r.Context())
	}},
}

// KeyReader is the optional backend interface behind GET /v1/keys: the lab's SSH key pairs.
type KeyReader interface {
	Keys(ctx context.Context) (LabKeys, error)
}

// LinkSetter is the optional backend interface behind POST /v1/link: it takes a VM's NIC link down or up.
type LinkSetter interface {
	SetLink(ctx context.Context, vm, nic string, up bool) error
}

// Impairer is the optional backend interface behind POST /v1/impair and GET /v1/links.
type Impairer interface {
	Impair(ctx context.Context, req ImpairRequest) (LinkStatus, error)
	Links(ctx context.Context) ([]LinkStatus, error)
}

func serveImpair(b Backend, r *http.Request) (any, error) {
	im, ok := b.(Impairer)
	if !ok {
		return nil, Errorf(ErrBadRequest, "this daemon cannot impair links")
	}
	var req ImpairRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, Errorf(ErrBadRequest, "impair request: %v; send {\"vm\":\"r1\",\"nic\":\"eth1\",\"set\":[\"delay=50ms\"]}", err)
	}
	if req.VM == "" || req.NIC == "" || (len(req.Set) == 0) == !req.Clear {
		return nil, Errorf(ErrBadRequest, "impair request needs vm, nic, and set or clear, e.g. {\"vm\":\"r1\",\"nic\":\"eth1\",\"set\":[\"delay=50ms\"]}")
	}
	return im.Impair(r.Context(), req)
}

func serveLinks(b Backend, r *http.Request) (any, error) {
	im, ok := b.(Impairer)
	if !ok {
		return nil, Errorf(ErrBadRequest, "this daemon cannot list links")
	}
	return im.Links(r.Context())
}

// Faulter is the optional backend interface behind POST /v1/fault and GET /v1/faults.
type Faulter interface {
	Fault(ctx context.Context, req FaultRequest) ([]FaultStatus, error)
	Faults(ctx context.Context) ([]FaultStatus, error)
}

func serveFault(b Backend, r *http.Request) (any, error) {
	f, ok := b.(Faulter)
	if !ok {
		return nil, Errorf(ErrBadRequest, "this daemon cannot schedule faults")
	}
	var req FaultRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || (len(req.Add) == 0) == !req.Clear {
		return nil, Errorf(ErrBadRequest, "fault request: send {\"add\":[\"link=r1:eth1\",\"action=down\",\"for=3s\"]} or {\"clear\":true,\"id\":1}")
	}
	return f.Fault(r.Context(), req)
}

func serveFaults(b Backend, r *http.Request) (any, error) {
	f, ok := b.(Faulter)
	if !ok {
		return nil, Errorf(ErrBadRequest, "this daemon cannot schedule faults")
	}
	return f.Faults(r.Context())
}

// LinkRequest is the body of POST /v1/link.
type LinkRequest struct {
	VM  string `json:"vm"`
	NIC string `json:"nic"`
	Up  bool   `json:"up"`
}

func serveLink(b Backend, r *http.Request) (any, error) {
	ls, ok := b.(LinkSetter)
	if !ok {
		return nil, Errorf(ErrBadRequest, "this daemon cannot change link state")
	}
	var req LinkRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, Errorf(ErrBadRequest, "link request: %v; send {\"vm\":\"r1\",\"nic\":\"eth1\",\"up\":false}", err)
	}
	if req.VM == "" || req.NIC == "" {
		return nil, Errorf(ErrBadRequest, "link request needs vm and nic, e.g. {\"vm\":\"r1\",\"nic\":\"eth1\",\"up\":false}")
	}
	if err := ls.SetLink(r.Context(), req.VM, req.NIC, req.Up); err != nil {
		return nil, err
	}
	return req, nil
}

// VM actions of POST /v1/vm.
const (
	VMStop  = "stop"  // power the VM off (ACPI, then quit, then kill), as down does
	VMStart = "start" // boot it again from its disk
)

// VMRequest is the body of POST /v1/vm: stop or start one VM of the running lab.
type VMRequest struct {
	VM     string `json:"vm"`
	Action string `json:"action"` // VMStop or VMStart
}

// VMController is the optional backend interface behind POST /v1/vm: it stops or starts one VM and returns
// the VM's status after the action (as VMs gives it).
type VMController interface {
	VMAction(ctx context.Context, vm, action string) (VMStatus, error)
}

func serveVM(b Backend, r *http.Request) (any, error) {
	vc, ok := b.(VMController)
	if !ok {
		return nil, Errorf(ErrBadRequest, "this daemon cannot stop or start single VMs")
	}
	var req VMRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, Errorf(ErrBadRequest, "vm request: %v; send {\"vm\":\"r1\",\"action\":\"stop\"}", err)
	}
	if req.VM == "" {
		return nil, Errorf(ErrBadRequest, "vm request needs vm and action, e.g. {\"vm\":\"r1\",\"action\":\"stop\"}")
	}
	if req.Action != VMStop && req.Action != VMStart {
		return nil, Errorf(ErrBadRequest, "vm request: unknown action %q; use %q or %q", oneLine(req.Action), VMStop, VMStart)
	}
	return vc.VMAction(r.Context(), req.VM, req.Action)
}

const endpoints = "GET /v1/lab, GET /v1/vms, GET /v1/leases, GET /v1/keys, GET /v1/links, GET /v1/capture, GET /v1/events, POST /v1/down, GET /v1/faults, POST /v1/link, POST /v1/vm, POST /v1/impair, POST /v1/fault, CONNECT vm:port"

// Stream is a started streaming answer: it writes its body to w until ctx ends or a write fails (the
// client went away), and returns nil in both cases unless something else failed.
type Stream func(ctx context.Context, w io.Writer) error

// Capturer is the optional backend interface behind GET /v1/capture?target=T[&target=T…][&last=60s]: a
// live pcapng capture of LANs ("lan12") and NICs ("r1:eth1"), starting last ago from the flight recorders.
type Capturer interface {
	Capture(ctx context.Context, targets []string, last time.Duration) (Stream, error)
}

// EventSource is the optional backend interface behind GET /v1/events[?since=N]: the lab's events as JSON
// lines (Event), those kept after number N first (since=0: every kept one; no since: only new ones).
type EventSource interface {
	Events(ctx context.Context, since *uint64) (Stream, error)
}

func startEvents(b Backend, r *http.Request) (Stream, error) {
	es, ok := b.(EventSource)
	if !ok {
		return nil, Errorf(ErrBadRequest, "this daemon has no event stream")
	}
	var since *uint64
	if v := r.URL.Query().Get("since"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, Errorf(ErrBadRequest, "events: since=%s is not an event number; use since=0 for every kept event", oneLine(v))
		}
		since = &n
	}
	return es.Events(r.Context(), since)
}

// streamRoute is a GET whose answer is a stream, with the content type it sends.
type streamRoute struct {
	contentType string
	start       func(Backend, *http.Request) (Stream, error)
}

var streamRoutes = map[string]streamRoute{
	"/" + Version + "/capture": {"application/x-pcapng", startCapture},
	"/" + Version + "/events":  {"application/x-ndjson", startEvents},
}

func startCapture(b Backend, r *http.Request) (Stream, error) {
	c, ok := b.(Capturer)
	if !ok {
		return nil, Errorf(ErrBadRequest, "this daemon cannot capture")
	}
	q := r.URL.Query()
	targets := q["target"]
	if len(targets) == 0 {
		return nil, Errorf(ErrBadRequest, "capture needs at least one target, e.g. /v1/capture?target=lan12&target=r1:eth1")
	}
	var last time.Duration
	if v := q.Get("last"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, Errorf(ErrBadRequest, "capture: last=%s is not a duration; write it like 60s or 5m", oneLine(v))
		}
		last = d
	}
	return c.Capture(r.Context(), targets, last)
}

// serveStream starts a stream and sends it, flushed as it is written, with no write deadline: it lasts as
// long as the client reads (or the daemon stops). A refusal before the start is an ordinary error answer.
func (s *Server) serveStream(w http.ResponseWriter, r *http.Request, sr streamRoute) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s needs method GET", r.URL.Path))
		return
	}
	st, err := sr.start(s.b, r)
	if err != nil {
		s.log.Debug("api stream refused", "path", r.URL.Path, "err", err)
		writeError(w, StatusOf(err), Reason(err))
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	_ = rc.SetReadDeadline(time.Time{})
	w.Header().Set("Content-Type", sr.contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	if err := st(r.Context(), flushWriter{w, rc}); err != nil {
		s.log.Warn("api stream ended with an error", "path", r.URL.Path, "err", err)
	}
}

// flushWriter flushes each write to the client at once.
type flushWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		err = f.rc.Flush()
	}
	return n, err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encode response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// writeError answers status with reason as a one-line text/plain body.
func writeError(w http.ResponseWriter, status int, reason string) {
	reason = oneLine(reason)
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(reason)+1))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(reason + "\n"))
}

// slogWriter adapts net/http's error log to slog.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Warn("api http server", "msg", strings.TrimSpace(string(p)))
	return len(p), nil
}

var errHijack = errors.New("connection cannot be hijacked")
