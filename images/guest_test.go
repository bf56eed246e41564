package images

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloonix-go/cloonix/vm"
)

// busyboxAwk runs the embedded cloudconfig.awk with the host's busybox awk.
func busyboxAwk(t *testing.T, mode, input string) string {
	t.Helper()
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skipf("busybox not installed (apt-get install busybox-static): %v", err)
	}
	dir := t.TempDir()
	prog := filepath.Join(dir, "cloudconfig.awk")
	in := filepath.Join(dir, "in.yaml")
	if err := os.WriteFile(prog, guestFile("cloudconfig.awk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, []byte(input), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bb, "awk", "-v", "mode="+mode, "-f", prog, in).CombinedOutput()
	if err != nil {
		t.Fatalf("busybox awk: %v\n%s", err, out)
	}
	return string(out)
}

func TestCloudConfigAwk(t *testing.T) {
	cases := []struct {
		name, mode, in, want string
	}{
		{"meta", "meta", "instance-id: iid-1\nlocal-hostname: 'r1'\n# comment\n\n",
			"meta-instance-id iid-1\nmeta-local-hostname r1\n"},
		{"scalars and root keys", "user", "#cloud-config\nhostname: t1\nfqdn: \"t1.lab\"\r\nssh_authorized_keys:\n" +
			"  - ssh-ed25519 AAAA one@x\n  - 'ssh-rsa BBBB two'\n",
			"hostname t1\nfqdn t1.lab\nrootkey ssh-ed25519 AAAA one@x\nrootkey ssh-rsa BBBB two\n"},
		{"flow root keys", "user", "ssh_authorized_keys: [ssh-ed25519 A, \"ssh-ed25519 B\"]\n",
			"rootkey ssh-ed25519 A\nrootkey ssh-ed25519 B\n"},
		{"users", "user", "users:\n  - default\n  - name: alice\n    shell: /bin/ash\n    groups: [wheel, adm]\n" +
			"    ssh_authorized_keys:\n      - ssh-ed25519 AAA a@x\n      - ssh-ed25519 BBB b@x\n" +
			"  - groups: frrvty, frr\n    name: bob\n    lock_passwd: true\n    ssh-authorized-keys: [ssh-ed25519 CCC]\n",
			"user alice\nushell alice /bin/ash\nugroups alice wheel,adm\nukey alice ssh-ed25519 AAA a@x\n" +
				"ukey alice ssh-ed25519 BBB b@x\nnote users: key lock_passwd ignored\nuser bob\nugroups bob frrvty,frr\nukey bob ssh-ed25519 CCC\n"},
		{"runcmd and unknown", "user", "runcmd:\n  - echo a > /tmp/a\n  - [ls, -l]\n  - 'echo \"q\"'\npackages:\n  - vim\n",
			"runcmd echo a > /tmp/a\nnote runcmd: list-form command ignored (use a string)\nruncmd echo \"q\"\n" +
				"note unknown key packages ignored\n"},
		{"write_files", "user", "write_files:\n  - path: /etc/motd\n    permissions: '0600'\n    content: |\n" +
			"      hello\n        indented\n\n      world\n\n  - path: /etc/one\n    content: single line\nhostname: h\n",
			"wbegin 0600 /etc/motd\nwline hello\nwline   indented\nwline \nwline world\nwend\n" +
				"wbegin - /etc/one\nwtext single line\nwend\nhostname h\n"},
		{"items at the key's indent", "user", "users:\n- name: carol\n  ssh_authorized_keys:\n  - ssh-ed25519 K c@x\nruncmd:\n- date\n",
			"user carol\nukey carol ssh-ed25519 K c@x\nruncmd date\n"},
		{"block at end of file", "user", "write_files:\n- path: /x\n  content: |\n    a\n    b\n",
			"wbegin - /x\nwline a\nwline b\nwend\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := busyboxAwk(t, c.mode, c.in)
			if got != c.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}

func TestGuestScriptsParse(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skipf("busybox not installed: %v", err)
	}
	for _, name := range []string{"initramfs-init", "rcS", "day0", "sshd", "shutdown", "udhcpc.script", "poweroff-button"} {
		f := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(f, guestFile(name), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bb, "sh", "-n", f).CombinedOutput(); err != nil {
			t.Errorf("%s: syntax error: %v %s", name, err, out)
		}
		if !strings.HasPrefix(string(guestFile(name)), "#!") {
			t.Errorf("%s has no #! line", name)
		}
	}
}

// TestInitramfsProbeMode checks that the initramfs knows the accelerator probe's command-line word and prints
// its marker (the probe boot itself is in TestAccelProbeE2E).
func TestInitramfsProbeMode(t *testing.T) {
	init := string(guestFile("initramfs-init"))
	for _, w := range []string{`" ` + vm.ProbeArg + ` "`, vm.ProbeMarker, "poweroff -f"} {
		if !strings.Contains(init, w) {
			t.Errorf("initramfs-init lacks %q", w)
		}
	}
}
