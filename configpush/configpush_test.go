package configpush

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloonix-go/cloonix/kind"
)

// fakeClient is a stand-in ssh/scp: it appends its argv (one line, fields separated by '|') to $FAKE_LOG,
// prints $FAKE_OUT and exits with $FAKE_CODE; when $FAKE_SLEEP is set it sleeps first.
const fakeClient = `#!/bin/sh
{ printf '%s' "$(basename "$0")"; for a in "$@"; do printf '|%s' "$a"; done; echo; } >> "$FAKE_LOG"
[ -n "$FAKE_SLEEP" ] && sleep "$FAKE_SLEEP"
case "$(basename "$0")" in
ssh) printf '%b' "$FAKE_SSH_OUT"; exit "${FAKE_SSH_CODE:-0}";;
scp) printf '%b' "$FAKE_SCP_OUT"; exit "${FAKE_SCP_CODE:-0}";;
esac
`

// iosxeSaved is the part of `config save` that holds the lab's management lines (cvac's day-0, as IOS-XE
// shows it back).
const iosxeSaved = `!
hostname r1
aaa new-model
aaa authentication login default local
aaa authorization exec default local
username admin privilege 15 secret 9 $9$abc
ip ssh pubkey-chain
  username admin
   key-hash ssh-rsa 0123456789ABCDEF
ip scp server enable
interface GigabitEthernet1
 ip address dhcp
!
end
`

// TestReplaceRefusesPartialFile: a --replace file without the lab's management lines would lock the lab
// out; it is refused before anything is copied, naming what is missing and how to start (issue 17 item 6).
func TestReplaceRefusesPartialFile(t *testing.T) {
	f := newFake(t, "iosxe", "r1", `FAKE_SSH_OUT=Rollback Done\r\n`)
	partial := strings.Replace(strings.Replace(iosxeSaved, "ip scp server enable\n", "", 1), " ip address dhcp\n", "", 1)
	os.WriteFile(f.file, []byte(partial), 0o644)
	_, err := Push(context.Background(), f.t, f.file, true)
	if err == nil || !strings.Contains(err.Error(), `"ip scp server enable" "ip address dhcp"`) ||
		!strings.Contains(err.Error(), "config save r1") || strings.Contains(err.Error(), "aaa new-model") {
		t.Fatalf("want a refusal naming exactly the two missing lines and config save, got %v", err)
	}
	if c := f.calls(t); len(c) != 0 {
		t.Errorf("a refused file was copied: %q", c)
	}
	if _, err := Push(context.Background(), f.t, f.file, false); err != nil {
		t.Errorf("a merge of a partial file is fine (it deletes nothing): %v", err)
	}
}

type fake struct {
	dir, log string
	t        Target
	file     string
}

func newFake(t *testing.T, kindName, vm string, env ...string) *fake {
	t.Helper()
	dir := t.TempDir()
	for _, p := range []string{"ssh", "scp"} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(fakeClient), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	k, err := kind.Lookup(kindName)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "ssh_config")
	os.WriteFile(cfg, []byte("Host *\n"), 0o644)
	file := filepath.Join(dir, "r1.cfg")
	text := "hostname r1\n"
	if kindName == "iosxe" {
		text = iosxeSaved // a replace file must keep the lab's management lines
	}
	os.WriteFile(file, []byte(text), 0o644)
	f := &fake{dir: dir, log: filepath.Join(dir, "log"), file: file}
	f.t = Target{Lab: "nemo", VM: vm, Kind: k, SSHConfig: cfg,
		SSHProgram: filepath.Join(dir, "ssh"), SCPProgram: filepath.Join(dir, "scp"),
		Env: append([]string{"FAKE_LOG=" + f.log}, env...)}
	return f
}

// calls returns the recorded runs, each as its argv.
func (f *fake) calls(t *testing.T) [][]string {
	t.Helper()
	b, err := os.ReadFile(f.log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out [][]string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" {
			out = append(out, strings.Split(l, "|"))
		}
	}
	return out
}

func has(args []string, want string) bool {
	for _, a := range args {
		if a == want {
			return true
		}
	}
	return false
}

// TestPushIOSXEMerge: a merge is NAPALM's: scp -O to bootflash:, then `copy bootflash:FILE running-config`
// over ssh, whose answer carries the parser's errors (issue 17 item 7).
func TestPushIOSXEMerge(t *testing.T) {
	f := newFake(t, "iosxe", "r1", `FAKE_SCP_OUT=`, `FAKE_SSH_OUT=Destination filename [running-config]? \r\n93 bytes copied in 0.010 secs\r\n`)
	if _, err := Push(context.Background(), f.t, f.file, false); err != nil {
		t.Fatal(err)
	}
	c := f.calls(t)
	if len(c) != 2 || c[0][0] != "scp" || c[1][0] != "ssh" {
		t.Fatalf("want scp to bootflash: then ssh copy, got %q", c)
	}
	scp := c[0]
	if !has(scp, "-O") || !has(scp, "r1:bootflash:cloonix-push.cfg") || !has(scp, f.file) || !has(scp, "-F") || !has(scp, f.t.SSHConfig) || !has(scp, "BatchMode=yes") {
		t.Errorf("scp argv %q", scp)
	}
	if got := c[1][len(c[1])-1]; got != "copy bootflash:cloonix-push.cfg running-config" {
		t.Errorf("ssh argv %q", c[1])
	}
}

// TestPushIOSXEMergeError: a refused line in a merge shows in copy's answer and fails the push, quoting it.
func TestPushIOSXEMergeError(t *testing.T) {
	out := `this is not an ios command\r\n        ^\r\n% Invalid input detected at '^' marker.\r\n\r\n93 bytes copied\r\n`
	f := newFake(t, "iosxe", "r1", "FAKE_SSH_OUT="+out)
	_, err := Push(context.Background(), f.t, f.file, false)
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "this is not an ios command") {
		t.Fatalf("want a RefusedError quoting the bad line, got %v", err)
	}
}

// TestIOSXEMarkers: NAPALM's markers (napalm/ios/ios.py) refuse a replace without regard to case, and a
// replace whose answer has no success line is refused too (issue 17 item 5).
func TestIOSXEMarkers(t *testing.T) {
	for _, out := range []string{
		`Failed to apply command interface Gi9\r\n`,
		`%ERROR: bootflash:x is not a valid config file\r\n`,
		`The rollback configlet from the last pass is listed below:\r\n********\r\nRollback aborted after 5 passes\r\n`,
		`The original configuration has been successfully restored.\r\n`,
		`ROLLBACK ABORTED after 5 passes\r\n`,
		`Total number of passes: 1\r\n`, // no success line
	} {
		f := newFake(t, "iosxe", "r1", "FAKE_SSH_OUT="+out)
		_, err := Push(context.Background(), f.t, f.file, true)
		var re *RefusedError
		if !errors.As(err, &re) {
			t.Errorf("replace answered %q: want refused, got %v", out, err)
		}
	}
	for _, out := range []string{`Total number of passes: 1\r\nRollback Done\r\n`,
		`The rollback configlet from the last pass is listed below:\r\n********\r\n!List of Rollback Commands:\r\nend\r\n********\r\n`} {
		f := newFake(t, "iosxe", "r1", "FAKE_SSH_OUT="+out)
		if _, err := Push(context.Background(), f.t, f.file, true); err != nil {
			t.Errorf("replace answered %q: %v", out, err)
		}
	}
}

func TestPushIOSXEReplace(t *testing.T) {
	f := newFake(t, "iosxe", "r1", `FAKE_SSH_OUT=Total number of passes: 1\r\nRollback Done\r\n`)
	answer, err := Push(context.Background(), f.t, f.file, true)
	if err != nil {
		t.Fatal(err)
	}
	c := f.calls(t)
	if len(c) != 2 || c[0][0] != "scp" || c[1][0] != "ssh" {
		t.Fatalf("want scp then ssh, got %q", c)
	}
	if !has(c[0], "-O") || !has(c[0], "r1:nvram:replace-config") {
		t.Errorf("scp argv %q", c[0])
	}
	if got := c[1][len(c[1])-1]; got != "configure replace nvram:replace-config force" || c[1][len(c[1])-2] != "r1" {
		t.Errorf("ssh argv %q", c[1])
	}
	if !strings.Contains(answer, "Rollback Done\n") || strings.Contains(answer, "\r") {
		t.Errorf("answer %q", answer)
	}
}

func TestPushIOSXERefused(t *testing.T) {
	out := `configure replace nvram:replace-config force\r\n           ^\r\n% Invalid input detected at '^' marker.\r\n`
	f := newFake(t, "iosxe", "r1", "FAKE_SSH_OUT="+out)
	answer, err := Push(context.Background(), f.t, f.file, true)
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("want a RefusedError although ssh exited 0, got %v", err)
	}
	if !strings.Contains(err.Error(), "% Invalid input detected") || !strings.Contains(err.Error(), "r1 refused") {
		t.Errorf("error does not quote the router: %v", err)
	}
	if !strings.Contains(answer, "Invalid input") {
		t.Errorf("answer %q", answer)
	}
}

func TestPushLinux(t *testing.T) {
	f := newFake(t, "linux", "h1", "FAKE_SSH_OUT=applied\\n")
	answer, err := Push(context.Background(), f.t, f.file, false)
	if err != nil {
		t.Fatal(err)
	}
	c := f.calls(t)
	if len(c) != 2 {
		t.Fatalf("calls %q", c)
	}
	if has(c[0], "-O") || !has(c[0], "root@h1:/tmp/cloonix-push.sh") {
		t.Errorf("scp argv %q (linux has sftp: no -O; pushes as root)", c[0])
	}
	if !has(c[1], "root@h1") || !strings.Contains(c[1][len(c[1])-1], "sh /etc/cloonix/config.sh") {
		t.Errorf("ssh argv %q", c[1])
	}
	if answer != "applied\n" {
		t.Errorf("answer %q", answer)
	}
}

func TestPushFRR(t *testing.T) {
	f := newFake(t, "frr", "r1")
	if _, err := Push(context.Background(), f.t, f.file, true); err != nil {
		t.Fatal(err)
	}
	c := f.calls(t)
	if len(c) != 2 || !has(c[0], "root@r1:/tmp/cloonix-push.conf") || c[1][len(c[1])-1] != "/usr/sbin/cloonix-frr-reload /tmp/cloonix-push.conf" {
		t.Errorf("calls %q", c)
	}
}

func TestPushCommandFails(t *testing.T) {
	f := newFake(t, "linux", "h1", "FAKE_SSH_OUT=ip: RTNETLINK answers: File exists\\n", "FAKE_SSH_CODE=2")
	_, err := Push(context.Background(), f.t, f.file, false)
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "RTNETLINK answers: File exists") || !strings.Contains(err.Error(), "exit status 2") {
		t.Fatalf("want a RefusedError quoting the guest, got %v", err)
	}
}

func TestPushSCPFails(t *testing.T) {
	f := newFake(t, "iosxe", "r1", "FAKE_SCP_OUT=scp: running-config: Permission denied\\n", "FAKE_SCP_CODE=1")
	_, err := Push(context.Background(), f.t, f.file, true)
	if err == nil || !strings.Contains(err.Error(), "Permission denied") {
		t.Fatalf("got %v", err)
	}
	if c := f.calls(t); len(c) != 1 {
		t.Errorf("ssh ran after a failed copy: %q", c)
	}
}

func TestSSHUnreachableIsNotARefusal(t *testing.T) {
	f := newFake(t, "linux", "h1", "FAKE_SSH_OUT=cloonix-proxy: no VM h1\\n", "FAKE_SSH_CODE=255")
	_, err := Push(context.Background(), f.t, f.file, false)
	var re *RefusedError
	if err == nil || errors.As(err, &re) || !strings.Contains(err.Error(), "no VM h1") {
		t.Fatalf("want a plain error quoting ssh, got %v", err)
	}
}

func TestSCPModeOverride(t *testing.T) {
	f := newFake(t, "linux", "h1")
	f.t.SCP = SCPLegacy
	Push(context.Background(), f.t, f.file, false)
	g := newFake(t, "iosxe", "r1")
	g.t.SCP = SCPSFTP
	Push(context.Background(), g.t, g.file, false)
	if c := f.calls(t); !has(c[0], "-O") {
		t.Errorf("SCPLegacy on linux: %q", c[0])
	}
	if c := g.calls(t); has(c[0], "-O") {
		t.Errorf("SCPSFTP on iosxe: %q", c[0])
	}
	for in, want := range map[string]SCPMode{"auto": SCPAuto, "legacy": SCPLegacy, "O": SCPLegacy, "sftp": SCPSFTP} {
		if got, err := ParseSCPMode(in); err != nil || got != want {
			t.Errorf("ParseSCPMode(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseSCPMode("rsync"); err == nil {
		t.Error("ParseSCPMode(rsync) succeeded")
	}
}

func TestSaveIOSXE(t *testing.T) {
	out := `Building configuration...\r\n\r\nCurrent configuration : 42 bytes\r\n!\r\nhostname r1\r\n!\r\nend\r\n`
	f := newFake(t, "iosxe", "r1", "FAKE_SSH_OUT="+out)
	got, err := Save(context.Background(), f.t)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "!\nhostname r1\n!\nend\n" {
		t.Errorf("saved %q", got)
	}
	if c := f.calls(t); len(c) != 1 || c[0][len(c[0])-1] != "show running-config" || c[0][len(c[0])-2] != "r1" {
		t.Errorf("ssh argv %q", c)
	}
}

func TestSaveRefused(t *testing.T) {
	f := newFake(t, "frr", "r1", "FAKE_SSH_OUT=Exiting: failed to connect to any daemons.\\n", "FAKE_SSH_CODE=1")
	if _, err := Save(context.Background(), f.t); err == nil || !strings.Contains(err.Error(), "failed to connect to any daemons") {
		t.Fatalf("got %v", err)
	}
}

func TestTimeout(t *testing.T) {
	f := newFake(t, "linux", "h1", "FAKE_SLEEP=5")
	f.t.Timeout = 300 * time.Millisecond
	start := time.Now()
	_, err := Save(context.Background(), f.t)
	if err == nil || !strings.Contains(err.Error(), "did not finish") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("timeout took %s", d)
	}
}

func TestBadInput(t *testing.T) {
	f := newFake(t, "linux", "h1")
	cases := map[string]func(*Target) string{
		"missing file":       func(*Target) string { return filepath.Join(f.dir, "nope.cfg") },
		"directory":          func(*Target) string { return f.dir },
		"vm with colon":      func(t *Target) string { t.VM = "a:b"; return f.file },
		"vm empty":           func(t *Target) string { t.VM = ""; return f.file },
		"no ssh_config":      func(t *Target) string { t.SSHConfig = filepath.Join(f.dir, "none"); return f.file },
		"kind without push":  func(t *Target) string { t.Kind = &kind.Kind{Name: "x"}; return f.file },
		"no kind descriptor": func(t *Target) string { t.Kind = nil; return f.file },
	}
	for name, mut := range cases {
		tg := f.t
		file := mut(&tg)
		if _, err := Push(context.Background(), tg, file, false); err == nil {
			t.Errorf("%s: Push succeeded", name)
		}
	}
	if c := f.calls(t); len(c) != 0 {
		t.Errorf("bad input still ran clients: %q", c)
	}
}

// TestPushOddFileNames: a local file named like a remote ("a:b.cfg") or like an option ("-oProxyCommand=…")
// reaches scp as an absolute path after "--", so scp can read it neither as a host nor as an option.
func TestPushOddFileNames(t *testing.T) {
	for _, name := range []string{"a:b.cfg", "-oProxyCommand=touch pwned"} {
		f := newFake(t, "frr", "r1")
		t.Chdir(f.dir)
		if err := os.WriteFile(name, []byte("hostname r1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Push(context.Background(), f.t, name, false); err != nil {
			t.Fatal(err)
		}
		scp := f.calls(t)[0]
		want := filepath.Join(f.dir, name)
		i := slices.Index(scp, want)
		if i < 1 || scp[i-1] != "--" {
			t.Errorf("%q: scp argv %q, want -- then %q", name, scp, want)
		}
		if has(scp, name) {
			t.Errorf("%q reached scp as given: %q", name, scp)
		}
	}
}
