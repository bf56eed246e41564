package webview

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/api/tunnel"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/topology"
)

// Options configure a Server.
type Options struct {
	// Lab limits the page to one lab; "" serves every lab of the user that is up.
	Lab string
	// Token is what every request must carry; "" makes a random one (New).
	Token string
	Log   *slog.Logger
}

// Server serves the page and its API. Create it with New.
type Server struct {
	opts  Options
	files fs.FS
	mux   *http.ServeMux
}

// TokenParam is the query parameter that carries the token (the page's URL, event streams, websockets and
// downloads); fetch requests may send it in the TokenHeader instead.
const (
	TokenParam  = "token"
	TokenHeader = "X-Cloonix-Token"
)

// New makes a server; it fails with ErrNotBuilt when the page was not built into the binary.
func New(o Options) (*Server, error) {
	files, err := assets()
	if err != nil {
		return nil, err
	}
	return newServer(o, files)
}

// newServer is New with the page's files given (tests serve their own).
func newServer(o Options, files fs.FS) (*Server, error) {
	if o.Token == "" {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("web: token: %w", err)
		}
		o.Token = hex.EncodeToString(b)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: o, files: files, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /{$}", s.authed(s.index))
	s.mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(files)))
	s.mux.HandleFunc("GET /api/labs", s.authed(s.labs))
	s.mux.HandleFunc("GET /api/graph", s.authed(s.graph))
	s.mux.HandleFunc("GET /api/live", s.authed(s.live))
	s.mux.HandleFunc("POST /api/link", s.authed(post(s, "link", setLink)))
	s.mux.HandleFunc("POST /api/impair", s.authed(post(s, "impair", setImpair)))
	s.mux.HandleFunc("POST /api/vm", s.authed(post(s, "vm", vmAction)))
	s.mux.HandleFunc("GET /api/capture", s.authed(s.capture))
	s.mux.HandleFunc("GET /api/console", s.authed(s.console))
	return s, nil
}

// Token is the token requests must carry.
func (s *Server) Token() string { return s.opts.Token }

// URL is the page's address on a listener at hostport, token included, with lab selected when not "".
func (s *Server) URL(hostport, lab string) string {
	u := "http://" + hostport + "/?" + TokenParam + "=" + s.opts.Token
	if lab != "" {
		u += "&lab=" + lab
	}
	return u
}

// Handler is the server's HTTP handler: loopback hosts only, then the routes.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			http.Error(w, "cloonix web answers only requests to 127.0.0.1, [::1] or localhost (this one is for "+r.Host+")", http.StatusMisdirectedRequest)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "no-referrer") // the token is in the page's URL
		s.mux.ServeHTTP(w, r)
	})
}

// Serve answers on l until ctx is done.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("web: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	_ = hs.Close() // event streams and consoles do not end by themselves
	return nil
}

// loopbackHost tells whether a request's Host names this machine's loopback: what a browser sends for the
// printed URL, and for an ssh -L forward of the socket. A DNS name that resolves to 127.0.0.1 (rebinding) does
// not pass.
func loopbackHost(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// tokenOK tells whether r carries the server's token. A GET may carry it in the URL (the page, event streams,
// websockets and downloads cannot set headers); anything else must send it in the TokenHeader, which a form or
// a page of another site cannot set, so that a leaked URL alone cannot change a lab.
func (s *Server) tokenOK(r *http.Request) bool {
	t := r.Header.Get(TokenHeader)
	if t == "" && r.Method == http.MethodGet {
		t = r.URL.Query().Get(TokenParam)
	}
	return subtle.ConstantTimeCompare([]byte(t), []byte(s.opts.Token)) == 1
}

func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.tokenOK(r) {
			http.Error(w, "the token is missing or wrong: open the URL that the web command printed", http.StatusForbidden)
			return
		}
		h(w, r)
	}
}

// index is the page; it needs the token too, so that the page of another user's server shows nothing.
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'")
	http.ServeFileFS(w, r, s.files, "index.html")
}

// fail answers an error as one line: a daemon's refusal keeps its status.
func fail(w http.ResponseWriter, err error) {
	status := http.StatusBadGateway
	var te *tunnel.Error
	switch {
	case errors.As(err, &te) && te.Status >= 400:
		status = te.Status
	case errors.Is(err, errBadRequest):
		status = http.StatusBadRequest
	case errors.Is(err, errNoLab):
		status = http.StatusNotFound
	}
	http.Error(w, err.Error(), status)
}

var (
	errBadRequest = errors.New("bad request")
	errNoLab      = errors.New("no such lab")
)

// client is the API client of the lab a request names (?lab= or the body's lab).
func (s *Server) client(ctx context.Context, lab string) (*api.Client, error) {
	if lab == "" {
		return nil, fmt.Errorf("%w: name the lab (lab=NAME)", errBadRequest)
	}
	if s.opts.Lab != "" && lab != s.opts.Lab {
		return nil, fmt.Errorf("%w: this page serves lab %s only", errNoLab, s.opts.Lab)
	}
	if err := labpath.CheckName("lab", lab); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadRequest, err)
	}
	sock, err := labpath.CtlSocket(lab)
	if err != nil {
		return nil, err
	}
	c := api.NewClient(sock)
	if !c.IsUp(ctx) {
		return nil, fmt.Errorf("%w: lab %s is not up; start it with: cloonix-labd up LABFILE", errNoLab, lab)
	}
	return c, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

// labs lists the labs the page may show.
func (s *Server) labs(w http.ResponseWriter, r *http.Request) {
	up, err := api.RunningLabs(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	if s.opts.Lab != "" {
		up = slices.DeleteFunc(up, func(n string) bool { return n != s.opts.Lab })
	}
	writeJSON(w, map[string]any{"labs": up, "only": s.opts.Lab})
}

// graphAnswer is GET /api/graph: the live graph, the lab's info and the ssh command of each VM.
type graphAnswer struct {
	Graph topology.Graph    `json:"graph"`
	Info  api.LabInfo       `json:"info"`
	SSH   map[string]string `json:"ssh"`
}

func (s *Server) graph(w http.ResponseWriter, r *http.Request) {
	lab := r.URL.Query().Get("lab")
	c, err := s.client(r.Context(), lab)
	if err != nil {
		fail(w, err)
		return
	}
	g, err := topology.FromRunning(r.Context(), c)
	if err != nil {
		fail(w, err)
		return
	}
	info, err := c.Lab(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	dirs, err := labpath.For(lab)
	if err != nil {
		fail(w, err)
		return
	}
	a := graphAnswer{Graph: g, Info: info, SSH: map[string]string{}}
	cfg := dirs.SSHConfig()
	for _, n := range g.Nodes {
		if n.Type == topology.TypeVM {
			a.SSH[n.Name] = "ssh -F " + cfg + " " + n.Name
		}
	}
	writeJSON(w, a)
}

// decode reads a JSON body of at most 64 KiB into v.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", errBadRequest, err)
	}
	return nil
}

// labBody is the part every POST body shares: the lab it acts on.
type labBody struct {
	Lab string `json:"lab"`
}

func (b labBody) lab() string { return b.Lab }

// linkRequest is POST /api/link.
type linkRequest struct {
	labBody
	VM  string `json:"vm"`
	NIC string `json:"nic"`
	Up  bool   `json:"up"`
}

// impairRequest is POST /api/impair: the daemon's request and the lab.
type impairRequest struct {
	labBody
	api.ImpairRequest
}

// vmRequest is POST /api/vm: stop or start one VM.
type vmRequest struct {
	labBody
	VM     string `json:"vm"`
	Action string `json:"action"`
}

// post serves a POST whose JSON body R names a lab: it decodes the body, finds the lab's API client, runs do
// and answers what do returns as JSON.
func post[R interface{ lab() string }](s *Server, what string, do func(context.Context, *api.Client, R) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req R
		if err := decode(r, &req); err != nil {
			fail(w, err)
			return
		}
		c, err := s.client(r.Context(), req.lab())
		if err != nil {
			fail(w, err)
			return
		}
		out, err := do(r.Context(), c, req)
		if err != nil {
			fail(w, err)
			return
		}
		s.opts.Log.Info("web: "+what, "lab", req.lab(), "request", req)
		writeJSON(w, out)
	}
}

func setLink(ctx context.Context, c *api.Client, req linkRequest) (any, error) {
	return map[string]bool{"ok": true}, c.SetLink(ctx, req.VM, req.NIC, req.Up)
}

func setImpair(ctx context.Context, c *api.Client, req impairRequest) (any, error) {
	return c.Impair(ctx, req.ImpairRequest)
}

func vmAction(ctx context.Context, c *api.Client, req vmRequest) (any, error) {
	return c.VMAction(ctx, req.VM, req.Action)
}
