// Command cloonix-proxy is an OpenSSH ProxyCommand that reaches a lab VM
// through its lab daemon: it resolves SERVER to the daemon's control socket,
// sends one CONNECT request and then copies bytes between stdio and the
// socket (or, with --fdpass, hands the socket itself to ssh). A SERVER that
// the client config names as remote (ssh = "user@host") is reached through
// the local forward of its control socket over the user's OpenSSH master
// connection (package remote), set up on the first dial.
//
// It imports only packages api/tunnel, labpath, pcapstream, relay, remote and termsafe
// and small standard packages, so that it starts in about a millisecond.
package main

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cloonix-go/cloonix/api/tunnel"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/pcapstream"
	"github.com/cloonix-go/cloonix/remote"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // any failure: reason on stderr and in proxy.log
	exitUsage = 2 // bad command line
)

// connectTimeout bounds the whole CONNECT exchange (the daemon bounds its own
// dial at 20 s and answers 504 first).
const connectTimeout = 60 * time.Second

type options struct {
	fdpass bool
	server string
	entity string
	host   string
	port   uint16
	// capture: SERVER capture TARGET... streams pcapng to stdout instead (last: from the flight recorders).
	capture []string
	last    string
}

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	opts, code, err := parseArgs(args)
	if err != nil {
		os.Stderr.WriteString("cloonix-proxy: " + err.Error() + "\n" + shortUsage)
		return exitUsage
	}
	if code >= 0 {
		return code
	}
	if err := proxy(opts); err != nil {
		fail(opts.server, args, err)
		return exitError
	}
	return exitOK
}

// parseArgs returns the options, or an exit code >= 0 when the command is
// already done (help, version).
func parseArgs(args []string) (options, int, error) {
	var o options
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case a == "-h" || a == "--help" || a == "-help":
			os.Stdout.WriteString(usage)
			return o, exitOK, nil
		case a == "--version" || a == "-version" || a == "-V":
			os.Stdout.WriteString("cloonix-proxy " + version + "\n")
			return o, exitOK, nil
		case a == "--fdpass" || a == "-fdpass":
			o.fdpass = true
		case a == "--last" && i+1 < len(args):
			i++
			o.last = args[i]
		case strings.HasPrefix(a, "--last="):
			o.last = strings.TrimPrefix(a, "--last=")
		case len(a) > 1 && a[0] == '-':
			return o, -1, errors.New("unknown option " + a)
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) >= 2 && pos[1] == labpath.CaptureWord {
		o.server, o.capture = pos[0], pos[2:]
		if len(o.capture) == 0 {
			return o, -1, errors.New("capture needs a TARGET: a LAN (lan12) or a NIC (r1:eth1)")
		}
		if o.fdpass {
			return o, -1, errors.New("--fdpass is for ssh, not for capture")
		}
		if o.last != "" {
			if d, err := time.ParseDuration(o.last); err != nil || d <= 0 {
				return o, -1, errors.New("bad --last " + strconv.Quote(o.last) + ": want a duration such as 60s")
			}
		}
		return o, -1, labpath.CheckName("lab", o.server)
	}
	if o.last != "" {
		return o, -1, errors.New("--last is for capture: cloonix-proxy SERVER capture TARGET... --last 60s")
	}
	if len(pos) != 3 {
		return o, -1, errors.New("want 3 arguments SERVER ENTITY HOST[:PORT], got " + strconv.Itoa(len(pos)))
	}
	o.server, o.entity = pos[0], pos[1]
	host, port, err := splitHostPort(pos[2])
	if err != nil {
		return o, -1, err
	}
	o.host, o.port = host, port
	if err := labpath.CheckName("lab", o.server); err != nil {
		return o, -1, err
	}
	if err := labpath.CheckHost(o.host); err != nil {
		return o, -1, err
	}
	if o.entity == "" {
		return o, -1, errors.New("empty ENTITY: name the NAT, e.g. nat")
	}
	return o, -1, nil
}

// splitHostPort parses HOST[:PORT], the port defaulting to 22.
func splitHostPort(s string) (string, uint16, error) {
	host, port := s, "22"
	if i := strings.LastIndexByte(s, ':'); i >= 0 && !strings.HasSuffix(s, "]") {
		host, port = s[:i], s[i+1:]
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return "", 0, errors.New("bad port in " + strconv.Quote(s) + ": want HOST or HOST:PORT with PORT 1..65535")
	}
	return host, uint16(n), nil
}

func proxy(o options) error {
	t, err := tunnel.Resolve(o.server)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	open := func(sock string) (*net.UnixConn, error) {
		if o.capture != nil {
			return tunnel.Get(ctx, sock, capturePath(o))
		}
		return tunnel.Connect(ctx, sock, o.entity, o.host, o.port)
	}
	var conn *net.UnixConn
	if t.Remote != nil {
		// Through the forward of the remote lab's socket; the first dial (or the first after the ssh master
		// ended) sets it up. A daemon's refusal is final: the forward works.
		err = t.Remote.Reach(ctx, func(sock string) error {
			var err error
			conn, err = open(sock)
			return err
		}, func(err error) bool {
			var te *tunnel.Error
			return errors.As(err, &te)
		})
	} else {
		conn, err = open(t.Socket)
	}
	cancel()
	if err != nil {
		return explain(o, t, err)
	}
	defer conn.Close()
	if o.capture != nil {
		// The pcapng stream to stdout, a whole block at a time, until the daemon ends it, the reader goes away
		// (EPIPE), or Ctrl-C: the connection is closed and the output ends on a whole block.
		signal.Ignore(syscall.SIGPIPE)
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
		go func() { <-stop; conn.Close() }()
		return pcapstream.Copy(os.Stdout, conn)
	}
	if o.fdpass {
		return passFD(conn)
	}
	return pipe(conn)
}

// capturePath is the API path of the capture o asks for.
func capturePath(o options) string {
	q := url.Values{"target": o.capture}
	if o.last != "" {
		q.Set("last", o.last)
	}
	return "/v1/capture?" + q.Encode()
}

// explain turns a failure to reach the daemon into a sentence; a daemon's
// refusal is returned as is.
func explain(o options, t tunnel.Target, err error) error {
	var te *tunnel.Error
	var re *remote.Error
	if errors.As(err, &te) || errors.As(err, &re) {
		return err
	}
	if t.Remote != nil {
		if strings.Contains(err.Error(), "closed the connection without answering") {
			return errors.New("server " + o.server + " (" + t.Remote.Dest + "): " + remote.ForwardRefused)
		}
		return errors.New("server " + o.server + " (" + t.Remote.Dest + "): " + err.Error())
	}
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
		if t.Config == "" {
			return errors.New("lab " + o.server + " is not running (no daemon on " + t.Socket + "); start it with: cloonix-labd up LABFILE")
		}
		return errors.New("server " + o.server + " (from " + t.Config + ") does not answer on " + t.Socket)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("lab " + o.server + ": no answer from the daemon on " + t.Socket + " within " + connectTimeout.String())
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		err = oe.Err
	}
	return errors.New("lab " + o.server + ": " + t.Socket + ": " + err.Error())
}
