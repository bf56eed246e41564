package webview

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/pcapstream"
	"github.com/cloonix-go/cloonix/relay"
	"github.com/cloonix-go/cloonix/unixsock"
)

// MaxCapture bounds a capture the page asks for with a duration.
const MaxCapture = time.Hour

// capture is GET /api/capture?lab=NAME&target=T[&target=…][&for=10s][&last=60s]: the daemon's pcapng of the
// targets as a download, for the duration given, or streamed until the browser stops reading.
func (s *Server) capture(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lab := q.Get("lab")
	targets := q["target"]
	if len(targets) == 0 {
		http.Error(w, "name what to capture: target=LAN or target=VM:NIC", http.StatusBadRequest)
		return
	}
	var dur, last time.Duration
	for _, p := range []struct {
		name string
		into *time.Duration
	}{{"for", &dur}, {"last", &last}} {
		if v := q.Get(p.name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || d > MaxCapture {
				http.Error(w, fmt.Sprintf("%s=%q: give a duration up to %v, like 10s", p.name, v, MaxCapture), http.StatusBadRequest)
				return
			}
			*p.into = d
		}
	}
	c, err := s.client(r.Context(), lab)
	if err != nil {
		fail(w, err)
		return
	}
	ctx := r.Context()
	if dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, dur)
		defer cancel()
	}
	conn, err := c.Capture(ctx, targets, last)
	if err != nil {
		fail(w, err)
		return
	}
	defer conn.Close()
	go func() { <-ctx.Done(); conn.Close() }()
	name := fmt.Sprintf("%s-%s-%s.pcapng", lab, strings.ReplaceAll(strings.Join(targets, "+"), ":", "_"), time.Now().Format("20060102-150405"))
	w.Header().Set("Content-Type", "application/x-pcapng")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	s.opts.Log.Info("web: capture", "lab", lab, "targets", targets, "for", dur, "last", last)
	_ = pcapstream.Copy(flushWriter{w}, conn) // ends when the duration is over, the browser stops or the lab goes
}

// flushWriter flushes after each write, so a streamed capture reaches the browser block by block.
type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}

// console is GET /api/console?lab=NAME&vm=VM, a websocket joined to the VM's serial console: binary messages
// both ways. qemu serves one console client at a time, so a second one waits for the first to leave.
func (s *Server) console(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lab, vmName := q.Get("lab"), q.Get("vm")
	c, err := s.client(r.Context(), lab)
	if err != nil {
		fail(w, err)
		return
	}
	sock, err := consoleSocket(r.Context(), c, lab, vmName)
	if err != nil {
		fail(w, err)
		return
	}
	// The console is dialled before the websocket is accepted, so that a failure is an HTTP answer.
	serial, err := unixsock.Dial(r.Context(), sock)
	if err != nil {
		fail(w, fmt.Errorf("console of vm %s: %w", vmName, err))
		return
	}
	// The default origin check: the page's origin must be this server (no other site's page may open it).
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		serial.Close()
		return
	}
	s.opts.Log.Info("web: console", "lab", lab, "vm", vmName)
	ctx := context.WithoutCancel(r.Context())
	relay.Both(websocket.NetConn(ctx, ws, websocket.MessageBinary), serial)
}

// consoleSocket is the serial console socket of a VM of the lab, as its daemon reports it, after checking
// that it is the lab's own.
func consoleSocket(ctx context.Context, c *api.Client, lab, vmName string) (string, error) {
	vms, err := c.VMs(ctx)
	if err != nil {
		return "", err
	}
	dirs, err := labpath.For(lab)
	if err != nil {
		return "", err
	}
	for _, v := range vms {
		if v.Name != vmName {
			continue
		}
		if !v.State.Up() {
			return "", fmt.Errorf("%w: vm %s is %s; start it first", errBadRequest, vmName, v.State)
		}
		if want := dirs.SerialSocket(vmName); v.Console != want {
			return "", fmt.Errorf("vm %s: the daemon names console %s, not %s", vmName, v.Console, want)
		}
		return v.Console, nil
	}
	names := make([]string, 0, len(vms))
	for _, v := range vms {
		names = append(names, v.Name)
	}
	return "", fmt.Errorf("%w: lab %s has no vm %q (it has %s)", errNoLab, lab, vmName, strings.Join(names, ", "))
}
