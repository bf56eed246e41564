// Package remote reaches a lab that runs on another machine, through the user's own OpenSSH client: their
// ~/.ssh/config (ProxyJump, ports, identities), their agent and their known_hosts. cloonix opens no TCP port
// anywhere; the lab's daemon stays on its UNIX socket on the server.
//
// The mechanism: one OpenSSH master connection per destination (ControlMaster, ControlPersist, its socket in
// the private directory labpath.RemoteDir), and on it a forward of the remote lab's control socket to a
// local UNIX socket (ssh -O forward -L local.sock:remote.sock). Everything that talks to a local lab's
// socket talks to the forwarded one unchanged: cloonix-proxy's CONNECT (and its --fdpass, which hands ssh
// the forwarded socket itself), the CLI's API client. A dial over a live forward costs one channel open on
// the master, one round trip; no process starts on the server. Setting the forward up (the slow path, on
// the first dial or after the master ended) runs `cloonix-labd remote socket` on the server, which says
// where the lab's control socket is, checks that the lab is up and carries the protocol version.
//
// Commands that must run on the server (`up`, which also receives the lab file) go through Run, which
// passes their output through. Every failure of ssh itself (host key unknown, login refused, host
// unreachable) and of the server (no cloonix-labd on its PATH, another protocol version, lab not up) is
// one line naming the server and the fix.
//
// It imports only the standard library and labpath and termsafe, because cloonix-proxy imports it.
package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/shellquote"
	"github.com/cloonix-go/cloonix/termsafe"
)

// protocol is the version of what client and server say to each other (the remote commands, their output,
// the API behind the forwarded socket). Both ends must speak the same one. It is a string so that a test
// can build a server of another version with -ldflags -X.
var protocol = "1"

// Protocol returns the remote protocol version this build speaks.
func Protocol() int {
	n, _ := strconv.Atoi(protocol)
	return n
}

// helloPrefix starts the first line every remote command prints on its stdout: "cloonix-remote PROTO VERSION".
const helloPrefix = "cloonix-remote "

// Hello is the first line a remote command prints on its stdout: the protocol it speaks and the version of
// cloonix-labd (the build's version string).
func Hello(version string) string {
	return helloPrefix + protocol + " " + strings.ReplaceAll(termsafe.Line(version, 64), " ", "_") + "\n"
}

// ExitNotUp is the exit code of a remote command whose lab is not up.
const ExitNotUp = 3

// Persist is how long an idle master connection stays (ssh ControlPersist).
const Persist = "30m"

// ForwardRefused says why a forward that was set up leads nowhere, and the fix.
const ForwardRefused = "the lab is up there, but its sshd refuses to forward to the lab's UNIX socket " +
	"(in its sshd_config, AllowTcpForwarding no refuses UNIX-socket forwards too, as does AllowStreamLocalForwarding no, " +
	"DisableForwarding yes or no-port-forwarding in authorized_keys): allow local forwarding for your user there"

// Server is a remote lab server: a [server.NAME] entry of the client config with ssh = "user@host".
type Server struct {
	Name      string // the client's name for it: `cloonix-proxy NAME …`, `cloonix-labd --server NAME …`
	Dest      string // ssh destination: "user@host", or a Host alias of the user's ssh_config
	Lab       string // the lab's name on the server (default: Name)
	SSHConfig string // an ssh_config file for ssh -F; "" means the user's own ~/.ssh/config
	Config    string // the client config file the entry comes from, for messages
}

// key is a short hash naming the server's master connection: one per destination and ssh_config.
func (s Server) key(withLab bool) string {
	h := sha256.New()
	h.Write([]byte(s.Dest + "\x00" + s.SSHConfig))
	if withLab {
		h.Write([]byte("\x00" + s.Lab))
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// LocalSocket returns the local end of the forward of the lab's control socket. It may not be live yet:
// Reach sets it up when it does not work.
func (s Server) LocalSocket() (string, error) {
	dir, err := labpath.RemoteDir()
	if err != nil {
		return "", err
	}
	return labpath.RemoteSocket(dir, s.Name, s.key(true), ""), nil
}

// sshArgs returns ssh's arguments (without the program) that every invocation shares: the user's -F file,
// the master connection and the forwards' socket options.
func (s Server) sshArgs(dir string) []string {
	var a []string
	if s.SSHConfig != "" {
		a = append(a, "-F", s.SSHConfig)
	}
	return append(a,
		"-o", "ControlMaster=auto",
		"-o", "ControlPath="+labpath.RemoteControlPath(dir, s.key(false)),
		"-o", "ControlPersist="+Persist,
		// A forward's local socket replaces a stale one, and is 0600 (in a 0700 directory).
		"-o", "StreamLocalBindUnlink=yes",
		"-o", "StreamLocalBindMask=0177",
		// A master on a dead network ends within a minute instead of holding every dial.
		"-o", "ServerAliveInterval=15",
		"-o", "ServerAliveCountMax=4",
	)
}

// userSSH is an ssh command line the user can run themselves to look at the server (advice in messages).
func (s Server) userSSH(opts ...string) string {
	parts := []string{"ssh"}
	if s.SSHConfig != "" {
		parts = append(parts, "-F", shellquote.Quote(s.SSHConfig))
	}
	parts = append(parts, opts...)
	return strings.Join(append(parts, shellquote.Quote(s.Dest)), " ")
}

// remoteCommand is the command line the server's shell runs: cloonix-labd remote SUB --proto N ARGS….
func remoteCommand(sub string, args []string) string {
	parts := []string{"cloonix-labd", "remote", sub, "--proto", protocol}
	for _, a := range args {
		parts = append(parts, shellquote.Quote(a))
	}
	return strings.Join(parts, " ")
}

// command builds the ssh command that runs a remote sub-command on the server.
func (s Server) command(dir string, tty bool, sub string, args []string) *exec.Cmd {
	a := s.sshArgs(dir)
	if tty {
		a = append(a, "-t")
	} else {
		a = append(a, "-T")
	}
	a = append(a, "--", s.Dest, remoteCommand(sub, args))
	return exec.Command("ssh", a...)
}

// Reach calls try with the local socket of the lab's control socket. When try fails and final does not
// call the failure final (a refusal by the daemon is), it sets the forward up again and tries once more: so
// the first dial, and the first after the master connection ended or the lab was restarted, pay the set-up
// and every other dial goes straight through the forward.
func (s Server) Reach(ctx context.Context, try func(sock string) error, final func(error) bool) error {
	sock, err := s.LocalSocket()
	if err != nil {
		return err
	}
	if err := try(sock); err == nil || final(err) {
		return err
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	// Another dial may have set it up while this one waited for the lock.
	if err := try(sock); err == nil || final(err) {
		return err
	}
	if sock, err = s.connectLocked(ctx); err != nil {
		return err
	}
	return try(sock)
}

// lock takes the lock that serialises setting up the server's master and forwards.
func (s Server) lock(ctx context.Context) (func(), error) {
	dir, err := labpath.RemoteDir()
	if err != nil {
		return nil, err
	}
	unlock, err := lockFile(ctx, labpath.RemoteLock(dir, s.Name, s.key(true)))
	if err != nil {
		return nil, s.fail("waiting for another dial to set up the ssh connection: " + err.Error())
	}
	return unlock, nil
}

// Connect sets up (or repairs) the master connection and the forward of the lab's control socket and
// returns the local socket's path. A lock makes parallel first dials set it up once, one after the other.
func (s Server) Connect(ctx context.Context) (string, error) {
	unlock, err := s.lock(ctx)
	if err != nil {
		return "", err
	}
	defer unlock()
	return s.connectLocked(ctx)
}

// connectLocked is Connect with the lock held.
func (s Server) connectLocked(ctx context.Context) (string, error) {
	dir, err := labpath.RemoteDir()
	if err != nil {
		return "", err
	}
	if err := labpath.CheckSocketPath(labpath.RemoteControlPath(dir, s.key(false)) + ".XXXXXXXXXXXXXXXX"); err != nil {
		return "", s.fail("the ssh ControlPath (with the suffix ssh adds while it makes it): " + err.Error())
	}
	out, err := s.call(ctx, dir, "socket", "--lab", s.Lab)
	if err != nil {
		return "", err
	}
	remoteSock, ok := field(out, "socket")
	if !ok {
		return "", s.fail("its `cloonix-labd` answered `remote socket` without a socket line: " + firstLine(out))
	}
	local := labpath.RemoteSocket(dir, s.Name, s.key(true), "")
	if err := s.forward(ctx, dir, local, remoteSock); err != nil {
		return "", err
	}
	return local, nil
}

// Forward makes a local UNIX socket that the master connection forwards to remotePath on the server (a
// VM's console) and returns the local path. The lab must be reachable (it calls Connect first).
func (s Server) Forward(ctx context.Context, remotePath string) (string, error) {
	if _, err := s.Connect(ctx); err != nil {
		return "", err
	}
	dir, err := labpath.RemoteDir()
	if err != nil {
		return "", err
	}
	h := sha256.Sum256([]byte(remotePath))
	local := labpath.RemoteSocket(dir, s.Name, s.key(true), hex.EncodeToString(h[:])[:8])
	if err := s.forward(ctx, dir, local, remotePath); err != nil {
		return "", err
	}
	return local, nil
}

// forward asks the master to forward local to remotePath.
func (s Server) forward(ctx context.Context, dir, local, remotePath string) error {
	if err := labpath.CheckSocketPath(local); err != nil {
		return s.fail(err.Error())
	}
	a := append(s.sshArgs(dir), "-O", "forward", "-L", local+":"+remotePath, "--", s.Dest)
	cmd := exec.CommandContext(ctx, "ssh", a...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return s.fail("the ssh master would not forward " + remotePath + " to " + local + ": " + lastLine(stderr.Bytes(), err))
	}
	return nil
}

// call runs a remote sub-command without input and returns its stdout after the hello line. ssh's stdout
// and stderr are files, not pipes: a master that ssh starts keeps its ProxyCommand (ProxyJump) child, whose
// stderr is ours, for its whole life, and a pipe would hold Wait until then.
func (s Server) call(ctx context.Context, dir, sub string, args ...string) ([]byte, error) {
	cmd := s.command(dir, false, sub, args)
	outf, err := os.CreateTemp(dir, "out-*")
	if err != nil {
		return nil, s.fail("run ssh: " + err.Error())
	}
	defer os.Remove(outf.Name())
	defer outf.Close()
	errf, err := os.CreateTemp(dir, "err-*")
	if err != nil {
		return nil, s.fail("run ssh: " + err.Error())
	}
	defer os.Remove(errf.Name())
	defer errf.Close()
	cmd.Stdout, cmd.Stderr = outf, errf
	if err := cmd.Start(); err != nil {
		return nil, s.fail("run ssh: " + err.Error())
	}
	stop := context.AfterFunc(ctx, func() { _ = cmd.Process.Signal(syscall.SIGTERM) })
	err = cmd.Wait()
	stop()
	if ctx.Err() != nil {
		return nil, s.fail("no answer before the deadline (" + ctx.Err().Error() + "); is " + s.Dest + " reachable? try: " + s.userSSH() + " true")
	}
	out, _ := os.ReadFile(outf.Name())
	stderr, _ := os.ReadFile(errf.Name())
	hello, rest := findHello(out)
	if perr := s.checkHello(hello); perr != nil {
		return nil, s.explain(err, perr, stderr)
	}
	if err != nil {
		return nil, s.explain(err, nil, stderr)
	}
	return rest, nil
}

// Run runs a remote sub-command on the server with stdin, stdout and stderr passed through (the hello line
// taken off stdout; what ssh itself says before it is held back and, if ssh fails, made one line). When ctx
// ends, Run closes the command's stdin and waits (up to grace) for the command to finish, so the server
// side can clean up and say so; then it kills ssh. A tty runs it on a terminal (ssh -t).
func (s Server) Run(ctx context.Context, grace time.Duration, tty bool, stdin io.Reader, stdout, stderr io.Writer, sub string, args ...string) error {
	dir, err := labpath.RemoteDir()
	if err != nil {
		return err
	}
	cmd := s.command(dir, tty, sub, args)
	held := &holdWriter{out: stderr}
	// Our own pipes, read by our own goroutines, with a bounded drain after ssh exits: a master that this
	// ssh starts keeps a ProxyCommand (ProxyJump) child that holds them for the master's whole life.
	outR, outW, err := os.Pipe()
	if err != nil {
		return s.fail("run ssh: " + err.Error())
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return s.fail("run ssh: " + err.Error())
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	var inPipe io.WriteCloser
	if tty {
		cmd.Stdin = os.Stdin
	} else if inPipe, err = cmd.StdinPipe(); err != nil {
		return s.fail("run ssh: " + err.Error())
	}
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return s.fail("run ssh: " + err.Error())
	}
	helloc := make(chan error, 1)
	copied := make(chan struct{}, 2)
	go func() {
		defer func() { copied <- struct{}{} }()
		// A login script may print before the command runs: the hello is the first line that is one.
		var hello string
		var err error
		for i := 0; i < maxNoiseLines; i++ {
			if hello, err = readLine(outR); err != nil || strings.HasPrefix(hello, helloPrefix) {
				break
			}
		}
		if err == nil {
			err = s.checkHello(hello)
		}
		helloc <- err
		if err != nil {
			_, _ = io.Copy(io.Discard, outR)
			return
		}
		held.release()
		_, _ = io.Copy(stdout, outR)
	}()
	go func() {
		defer func() { copied <- struct{}{} }()
		_, _ = io.Copy(held, errR)
	}()
	done := make(chan error, 1)
	finished := make(chan struct{})
	if inPipe != nil {
		go func() {
			if stdin != nil {
				_, _ = io.Copy(inPipe, stdin)
			}
			// The server side reads on until EOF: EOF is how it learns of an interrupt.
			select {
			case <-ctx.Done():
			case <-finished:
			}
			inPipe.Close()
		}()
	}
	go func() {
		done <- cmd.Wait()
		close(finished)
	}()
	var werr error
	select {
	case werr = <-done:
	case <-ctx.Done():
		select {
		case werr = <-done:
		case <-time.After(grace):
			_ = cmd.Process.Kill()
			werr = <-done
		}
	}
	// ssh has exited: what it wrote is in the pipes; a child that still holds them gets a moment, no more.
	_ = outR.SetReadDeadline(time.Now().Add(time.Second))
	_ = errR.SetReadDeadline(time.Now().Add(time.Second))
	<-copied
	<-copied
	outR.Close()
	errR.Close()
	var herr error
	select {
	case herr = <-helloc:
	default:
		herr = errNoHello
	}
	if ctx.Err() != nil {
		return s.fail("interrupted; the server was told (its side takes a half-done command back, e.g. a half-started lab down); check with: cloonix-labd --server " + s.Name + " status")
	}
	if herr != nil || werr != nil {
		return s.explain(werr, herr, held.bytes())
	}
	return nil
}

// maxNoiseLines is how many lines a login script on the server may print before the hello line.
const maxNoiseLines = 50

// findHello finds the hello line among the first lines of a remote command's output (a login script may
// print before it) and returns it with what follows; "" when there is none.
func findHello(out []byte) (string, []byte) {
	for i := 0; i < maxNoiseLines && len(out) > 0; i++ {
		line, rest, _ := bytes.Cut(out, []byte("\n"))
		if bytes.HasPrefix(line, []byte(helloPrefix)) {
			return string(line), rest
		}
		out = rest
	}
	return "", nil
}

// errNoHello is checkHello's answer to output without the hello line.
var errNoHello = errors.New("no hello")

// checkHello checks a remote command's first line: the protocol must be ours.
func (s Server) checkHello(line string) error {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), helloPrefix)
	if !ok {
		return errNoHello
	}
	proto, version, _ := strings.Cut(rest, " ")
	version = termsafe.Line(version, 64)
	theirs, err := strconv.Atoi(proto)
	if err != nil {
		return s.fail("its `cloonix-labd` sent a malformed hello " + strconv.Quote(termsafe.Line(line, 80)))
	}
	ours := Protocol()
	switch {
	case theirs < ours:
		return s.fail(s.Dest + " runs `cloonix-labd` " + version + " (remote protocol " + proto + "), this client speaks protocol " +
			protocol + ": upgrade `cloonix-labd` and `cloonix-proxy` on " + s.Dest)
	case theirs > ours:
		return s.fail(s.Dest + " runs `cloonix-labd` " + version + " (remote protocol " + proto + "), newer than this client (protocol " +
			protocol + "): upgrade `cloonix-labd` and `cloonix-proxy` on this machine")
	}
	return nil
}

// explain makes one line of a remote command's failure: waitErr is how ssh ended, helloErr what its hello
// line said (errNoHello: none came, so the command never ran or is no cloonix-labd of ours), stderr what
// ssh and the command printed.
func (s Server) explain(waitErr, helloErr error, stderr []byte) error {
	var re *Error
	if errors.As(helloErr, &re) {
		return re
	}
	code := -1
	var ee *exec.ExitError
	if errors.As(waitErr, &ee) {
		code = ee.ExitCode()
	}
	text := string(stderr)
	last := lastLine(stderr, waitErr)
	if helloErr == nil {
		// The command ran: its own message is the reason.
		if code == ExitNotUp {
			return &Error{Server: s.Name, NotUp: true, Code: code, Msg: "server " + s.Name + ": lab " + s.Lab + " is not up on " + s.Dest +
				"; start it with: cloonix-labd --server " + s.Name + " up LABFILE"}
		}
		if len(stderr) == 0 && code > 0 {
			// Run passed the command's stderr through: its message is on the terminal already.
			return &Error{Server: s.Name, Code: code}
		}
		return s.fail(last)
	}
	switch {
	case code == 255 && strings.Contains(text, "Host key verification failed"),
		code == 255 && strings.Contains(text, "REMOTE HOST IDENTIFICATION HAS CHANGED"):
		return s.fail("ssh does not trust the host key of " + s.Dest + " (unknown, or changed): check its fingerprint, then accept it with: " +
			s.userSSH("-o", "BatchMode=no", "-o", "StrictHostKeyChecking=ask") + " true")
	case code == 255 && strings.Contains(text, "Permission denied"):
		return s.fail(s.Dest + " refused the ssh login (" + last + "): authorize your key there (ssh-copy-id" +
			strings.TrimPrefix(s.userSSH(), "ssh") + ") or load it into your agent (ssh-add)")
	case code == 255 && (strings.Contains(text, "Could not resolve hostname") || strings.Contains(text, "Connection refused") ||
		strings.Contains(text, "timed out") || strings.Contains(text, "No route to host")):
		return s.fail("cannot reach " + s.Dest + ": " + last)
	case code == 255:
		return s.fail("ssh " + s.Dest + " failed: " + last)
	case code == 127 || strings.Contains(text, "cloonix-labd: not found") || strings.Contains(text, "command not found"):
		return s.fail("no `cloonix-labd` on the PATH of " + s.Dest + ": install `cloonix-labd` and `cloonix-proxy` into a directory that `" +
			s.userSSH() + " 'echo $PATH'` lists")
	case strings.Contains(text, "No help topic for 'remote'"):
		return s.fail("the `cloonix-labd` on " + s.Dest + " is older than remote servers (it has no `remote` command): upgrade `cloonix-labd` and `cloonix-proxy` there")
	}
	return s.fail("ssh " + s.Dest + ": " + last)
}

// Error is a failure to reach a remote server, one line naming it and the fix.
type Error struct {
	Server string // the server's name
	NotUp  bool   // the server answered, and its lab is not up
	// Code is the remote command's exit code, when it ran and failed (0 otherwise).
	Code int
	// Msg is the line; "" when the remote command's own message was passed through already (Run).
	Msg string
}

// Error returns the line.
func (e *Error) Error() string { return e.Msg }

// ExitCode is the exit code to end with: the remote command's, else 1 (urfave/cli's ExitCoder).
func (e *Error) ExitCode() int {
	if e.Code > 0 {
		return e.Code
	}
	return 1
}

// fail is a failure about the server s, with msg saying what and how to fix it.
func (s Server) fail(msg string) error {
	return &Error{Server: s.Name, Msg: "server " + s.Name + " (" + s.Dest + "): " + msg}
}

// holdWriter holds what is written until release, then passes everything through.
type holdWriter struct {
	mu      sync.Mutex
	out     io.Writer
	buf     bytes.Buffer
	passing bool
}

func (h *holdWriter) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.passing {
		return h.out.Write(p)
	}
	if h.buf.Len() < 64<<10 {
		h.buf.Write(p)
	}
	return len(p), nil
}

// release writes what was held and passes what comes later straight through.
func (h *holdWriter) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.passing {
		_, _ = h.out.Write(h.buf.Bytes())
		h.buf.Reset()
		h.passing = true
	}
}

// bytes returns what was held (nothing once released).
func (h *holdWriter) bytes() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return bytes.Clone(h.buf.Bytes())
}

// readLine reads one line from r a byte at a time, so nothing after it is consumed.
func readLine(r io.Reader) (string, error) {
	var b []byte
	var c [1]byte
	for len(b) < 4096 {
		n, err := r.Read(c[:])
		if n == 1 {
			if c[0] == '\n' {
				return string(b), nil
			}
			b = append(b, c[0])
			continue
		}
		if err != nil {
			return string(b), err
		}
	}
	return string(b), errors.New("line too long")
}

// field finds "NAME VALUE" among the lines of out.
func field(out []byte, name string) (string, bool) {
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// firstLine is out's first line, made safe to print.
func firstLine(out []byte) string {
	l, _, _ := bytes.Cut(out, []byte("\n"))
	return termsafe.Line(string(l), 200)
}

// lastLine is the last non-empty line of stderr, made safe to print, or err's text when there is none.
func lastLine(stderr []byte, err error) string {
	lines := strings.Split(strings.TrimSpace(string(stderr)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return termsafe.Line(l, 300)
		}
	}
	if err != nil {
		return err.Error()
	}
	return "no message"
}

// lockFile takes an exclusive flock on path, waiting until ctx ends, and returns its release.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
