// Package configpush pushes a configuration file into a running VM and saves a VM's running configuration,
// for every kind alike: the system scp copies the file through the lab's generated ssh_config (so through
// cloonix-proxy), then ssh runs the kind's load command. What differs between kinds (the remote path, the
// load, replace and show commands, scp -O, how a refusal looks) is data in the kind descriptor
// (kind.ConfigOps), never a switch over kind names.
package configpush

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cloonix-go/cloonix/kind"
)

// SCPMode chooses scp's protocol.
type SCPMode int

const (
	// SCPAuto uses the legacy protocol (scp -O) when the kind has no SFTP server (kind.SCPLegacy).
	SCPAuto SCPMode = iota
	// SCPLegacy always passes -O (the legacy SCP protocol; the guest runs scp itself).
	SCPLegacy
	// SCPSFTP never passes -O (OpenSSH 9's default: SFTP).
	SCPSFTP
)

// ParseSCPMode parses "auto", "legacy" (or "O") and "sftp".
func ParseSCPMode(s string) (SCPMode, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return SCPAuto, nil
	case "legacy", "o", "-o":
		return SCPLegacy, nil
	case "sftp":
		return SCPSFTP, nil
	}
	return SCPAuto, fmt.Errorf("scp mode %q is unknown; use auto, legacy (scp -O) or sftp", s)
}

// Target is one VM to push a configuration to or save one from.
type Target struct {
	Lab       string     // lab name
	VM        string     // VM name
	Kind      *kind.Kind // its kind descriptor (package kind)
	SSHConfig string     // the lab's generated ssh_config: labpath.Dirs.SSHConfig

	// SCP overrides the kind's choice of scp protocol; the zero value follows the kind.
	SCP SCPMode
	// SSHProgram and SCPProgram are the clients to run; "ssh" and "scp" (from PATH) when empty.
	SSHProgram, SCPProgram string
	// Env is added to the clients' environment (for example a PATH that holds cloonix-proxy).
	Env []string
	// Timeout bounds each ssh or scp run; 2 minutes when zero (IOS-XE's configure replace is slow).
	Timeout time.Duration
}

// RefusedError is returned when the VM answered but refused the configuration.
type RefusedError struct {
	VM     string
	Step   string // "scp" or the command that ran
	Answer string // what the VM printed
	Reason string // exit status or the error marker found
}

// Error quotes the VM's answer.
func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s refused %s (%s):\n%s", e.VM, e.Step, e.Reason, strings.TrimRight(e.Answer, "\n"))
}

func (t Target) check() error {
	if t.VM == "" || strings.ContainsAny(t.VM, ":/@ \t\n") {
		return fmt.Errorf("VM name %q cannot be an scp host; lab VM names have no ':', '/', '@' or blanks", t.VM)
	}
	if t.Kind == nil {
		return fmt.Errorf("VM %s: no kind descriptor", t.VM)
	}
	if !t.Kind.Config.Pushable() {
		return fmt.Errorf("VM %s: kind %s has no configuration push/save", t.VM, t.Kind.Name)
	}
	if t.SSHConfig == "" {
		return fmt.Errorf("VM %s: no ssh_config; bring the lab up first", t.VM)
	}
	if _, err := os.Stat(t.SSHConfig); err != nil {
		return fmt.Errorf("VM %s: lab ssh_config: %w; bring the lab up first (cloonix-labd up LABFILE)", t.VM, err)
	}
	return nil
}

// host is the scp/ssh destination: user@vm when the kind pushes as a user other than the ssh_config's.
func (t Target) host() string {
	if u := t.Kind.Config.User; u != "" {
		return u + "@" + t.VM
	}
	return t.VM
}

// legacySCP reports whether scp gets -O.
func (t Target) legacySCP() bool {
	switch t.SCP {
	case SCPLegacy:
		return true
	case SCPSFTP:
		return false
	}
	return t.Kind.SCPLegacy
}

// commonOpts are the options both clients get: the lab's config, never a prompt, only errors on stderr.
func (t Target) commonOpts() []string {
	return []string{"-F", t.SSHConfig, "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=30"}
}

// SCPArgs returns the scp argv (without the program) that copies file to remote on the VM. The local file
// is passed as an absolute path after "--", so scp reads neither a name with a ':' ("a:b.cfg") as a host
// nor a name starting with '-' ("-oProxyCommand=…") as an option.
func (t Target) SCPArgs(file, remote string) []string {
	var a []string
	if t.legacySCP() {
		a = append(a, "-O")
	}
	a = append(a, t.commonOpts()...)
	return append(a, "-q", "--", localPath(file), t.host()+":"+remote)
}

// localPath makes file absolute (it starts with '/', so scp sees a local path); if that fails it keeps the
// name behind "./", which does the same for a relative one.
func localPath(file string) string {
	if abs, err := filepath.Abs(file); err == nil {
		return abs
	}
	if strings.HasPrefix(file, "/") {
		return file
	}
	return "./" + file
}

// SSHArgs returns the ssh argv (without the program) that runs command on the VM.
func (t Target) SSHArgs(command string) []string {
	return append(append([]string{"-T"}, t.commonOpts()...), t.host(), command)
}

// Push copies file to the VM with the system scp (-O when the kind needs the legacy protocol) through the
// lab's ssh_config (so through cloonix-proxy), then loads it with the kind's command: merge by default,
// replace when replace is true. It returns the VM's answer, and an error quoting that answer when the VM
// refuses (*RefusedError).
func Push(ctx context.Context, t Target, file string, replace bool) (string, error) {
	if err := t.check(); err != nil {
		return "", err
	}
	st, err := os.Stat(file)
	if err != nil {
		return "", fmt.Errorf("config file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("config file %s is not a regular file", file)
	}
	ops := t.Kind.Config
	if replace && len(ops.ReplaceRequires) > 0 {
		if err := checkReplaceFile(t, file); err != nil {
			return "", err
		}
	}
	remote, command := ops.PushPath, ops.LoadCommand
	if replace {
		if ops.ReplacePath != "" {
			remote = ops.ReplacePath
		}
		if ops.ReplaceCommand != "" {
			command = ops.ReplaceCommand
		}
	}
	var answer strings.Builder
	out, err := t.run(ctx, t.scp(), t.SCPArgs(file, remote))
	answer.Write(out)
	if err := t.judge("scp to "+remote, out, err); err != nil {
		return answer.String(), err
	}
	if command == "" {
		return answer.String(), nil
	}
	out, err = t.run(ctx, t.ssh(), t.SSHArgs(command))
	answer.Write(out)
	return answer.String(), t.judge(command, out, err)
}

// Exec runs command on the VM over ssh through the lab's ssh_config (BatchMode: the lab's keys, never a
// prompt) and returns its answer. It needs no configuration ops of the kind: `up` uses it to prove a key
// login (kind.Kind.ReadinessLogin). A failure of ssh itself (exit 255: no connection, the key refused)
// says so with ssh's own words ("Permission denied (publickey)"); a refusal by the guest is a
// *RefusedError.
func Exec(ctx context.Context, t Target, command string) (string, error) {
	if t.VM == "" || strings.ContainsAny(t.VM, ":/@ \t\n") || t.Kind == nil {
		return "", fmt.Errorf("VM %q: not a lab VM with a kind", t.VM)
	}
	if _, err := os.Stat(t.SSHConfig); err != nil {
		return "", fmt.Errorf("VM %s: lab ssh_config: %w; bring the lab up first (cloonix-labd up LABFILE)", t.VM, err)
	}
	out, err := t.run(ctx, t.ssh(), t.SSHArgs(command))
	return string(out), t.judge(command, out, err)
}

// checkReplaceFile refuses a --replace file that lacks one of the kind's ReplaceRequires lines: the replace
// would delete them and lock the lab out of the VM.
func checkReplaceFile(t Target, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n") {
		lines = append(lines, strings.TrimLeft(l, " \t"))
	}
	var missing []string
	for _, want := range t.Kind.Config.ReplaceRequires {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, want) }) {
			missing = append(missing, strings.TrimSpace(want))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("config push --replace %s %s: the file lacks the lab's management lines %q, which the replace would delete, locking the lab out; start from the running config: cloonix-labd config save %s FILE, edit FILE, push it with --replace",
		t.VM, file, missing, t.VM)
}

// Save returns the VM's running configuration (show running-config or the kind's equivalent), with Unix
// line ends and without the lines before the kind's SaveSkipUntil.
func Save(ctx context.Context, t Target) ([]byte, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	ops := t.Kind.Config
	cmd, cancel := t.command(ctx, t.ssh(), t.SSHArgs(ops.SaveCommand))
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := bytes.ReplaceAll(stdout.Bytes(), []byte("\r\n"), []byte("\n"))
	if err := t.judge(ops.SaveCommand, append(append([]byte{}, out...), stderr.Bytes()...), t.ctxErr(cmd, err)); err != nil {
		return nil, err
	}
	if ops.SaveSkipUntil != "" {
		lines := strings.SplitAfter(string(out), "\n")
		for i, l := range lines {
			if strings.TrimRight(l, "\n") == ops.SaveSkipUntil {
				out = []byte(strings.Join(lines[i:], ""))
				break
			}
		}
	}
	return out, nil
}

func (t Target) ssh() string {
	if t.SSHProgram != "" {
		return t.SSHProgram
	}
	return "ssh"
}

func (t Target) scp() string {
	if t.SCPProgram != "" {
		return t.SCPProgram
	}
	return "scp"
}

// command builds a client run bounded by t.Timeout; call the returned cancel when it is done.
func (t Target) command(ctx context.Context, prog string, args []string) (*exec.Cmd, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout())
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = append(os.Environ(), t.Env...)
	// Own process group, killed whole: ssh's ProxyCommand child must not outlive a timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd, cancel
}

// run runs a client and returns its combined output, with Unix line ends.
func (t Target) run(ctx context.Context, prog string, args []string) ([]byte, error) {
	cmd, cancel := t.command(ctx, prog, args)
	defer cancel()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return bytes.ReplaceAll(out.Bytes(), []byte("\r\n"), []byte("\n")), t.ctxErr(cmd, err)
}

// ctxErr names a timeout or cancellation, which otherwise shows as "signal: killed".
func (t Target) ctxErr(cmd *exec.Cmd, err error) error {
	if err == nil {
		return nil
	}
	if cmd.Cancel != nil && cmd.ProcessState != nil && !cmd.ProcessState.Exited() {
		return fmt.Errorf("%s did not finish: %v (timeout %s, or cancelled)", filepath.Base(cmd.Path), err, t.timeout())
	}
	return err
}

func (t Target) timeout() time.Duration {
	if t.Timeout == 0 {
		return 2 * time.Minute
	}
	return t.Timeout
}

// judge turns a client's result into nil, a RefusedError (the VM answered no), or a transport error.
func (t Target) judge(step string, out []byte, err error) error {
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return fmt.Errorf("VM %s: %s: %w", t.VM, step, err)
		}
		if ee.ExitCode() == 255 && !strings.HasPrefix(step, "scp ") {
			// ssh's own failure (no connection, proxy refused, authentication): the VM never answered.
			return fmt.Errorf("VM %s: ssh could not run %q: %s", t.VM, step, strings.TrimSpace(string(out)))
		}
		return &RefusedError{VM: t.VM, Step: step, Answer: string(out), Reason: err.Error()}
	}
	if m, ok := containsFold(out, t.Kind.Config.ErrorMarkers); ok {
		return &RefusedError{VM: t.VM, Step: step, Answer: string(out), Reason: fmt.Sprintf("it answered %q", m)}
	}
	ops := t.Kind.Config
	if step == ops.ReplaceCommand && len(ops.ReplaceSuccessMarkers) > 0 {
		if _, ok := containsFold(out, ops.ReplaceSuccessMarkers); !ok {
			return &RefusedError{VM: t.VM, Step: step, Answer: string(out),
				Reason: fmt.Sprintf("its answer lacks a success line (%s)", strings.Join(ops.ReplaceSuccessMarkers, " or "))}
		}
	}
	return nil
}

// containsFold returns the first of markers that out holds, without regard to case.
func containsFold(out []byte, markers []string) (string, bool) {
	lower := bytes.ToLower(out)
	for _, m := range markers {
		if bytes.Contains(lower, bytes.ToLower([]byte(m))) {
			return m, true
		}
	}
	return "", false
}
