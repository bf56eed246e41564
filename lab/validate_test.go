package lab

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// head is a valid start of a lab file: lines 1-3.
const head = "version = 1\nname = \"nemo\"\n[nat]\n"

type want struct {
	line, col int
	msg, fix  string // substrings of Problem.Msg and Problem.Fix
}

func TestProblems(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "junk.qcow2", "not a qcow2 file at all", 0o644)
	writeFile(t, dir, "good.qcow2", qcow2Magic+"\x00\x00\x00\x03", 0o644)
	cases := []struct {
		name string
		src  string
		want []want
	}{
		{"unknown key typo", head + "[[vm]]\nname = \"vm1\"\nmemroy = 512\n",
			[]want{{6, 1, `unknown key "memroy" in [[vm]]`, `did you mean "memory"?`}}},
		{"unknown top-level key", "version = 1\nname = \"nemo\"\nnmae = \"x\"\n[nat]\n[[vm]]\nname = \"vm1\"\n",
			[]want{{3, 1, `unknown key "nmae" in the lab file`, `did you mean "name"?`}}},
		{"unknown key in nat", head + "subnett = \"10.1.0.0/24\"\n[[vm]]\nname = \"vm1\"\n",
			[]want{{4, 1, `unknown key "subnett" in [nat]`, `"subnet"`}}},
		{"duplicate VM", head + "[[vm]]\nname = \"vm1\"\n[[vm]]\nname = \"vm1\"\n",
			[]want{{7, 8, `duplicate VM name "vm1" (first at line 5)`, "own name"}}},
		{"duplicate LAN", head + "[[lan]]\nname = \"a\"\n[[lan]]\n  name = \"a\"\n[[vm]]\nname = \"vm1\"\n",
			[]want{{7, 10, `duplicate LAN name "a"`, ""}}},
		{"VM named like NAT", head + "[[vm]]\nname = \"nat\"\n",
			[]want{{5, 8, `VM name "nat" is also the name of a NAT`, "rename"}}},
		{"NIC on undefined LAN", head + "[[lan]]\nname = \"lan12\"\n[[vm]]\nname = \"vm1\"\n[vm.nics]\neth1 = \"lan13\"\n",
			[]want{{9, 8, `eth1 joins LAN "lan13", which is not declared`, `did you mean "lan12"?`}}},
		{"NIC on undefined LAN, inline table", head + "[[vm]]\nname = \"vm1\"\nnics = { eth0 = \"mgmt\", eth1 = \"nope\" }\n",
			[]want{{6, 32, `eth1 joins LAN "nope", which is not declared`, `[[lan]] name = "nope"`}}},
		{"name with colon", head + "[[vm]]\nname = \"vm:1\"\n",
			[]want{{5, 8, `VM name "vm:1" contains ':', which scp reads as host:path`, `"vm-1"`}}},
		{"name with slash", head + "[[vm]]\nname = \"a/b\"\n",
			[]want{{5, 8, `contains '/'`, `"a-b"`}}},
		{"name with space", head + "[[vm]]\nname = \"my vm\"\n",
			[]want{{5, 8, `contains a space`, `"my-vm"`}}},
		{"name upper case", head + "[[vm]]\nname = \"VM1\"\n",
			[]want{{5, 8, `VM name "VM1" contains upper case`, `"vm1"`}}},
		{"lab name upper case", "version = 1\nname = \"Nemo\"\n[[vm]]\nname = \"vm1\"\n",
			[]want{{2, 8, `lab name "Nemo" contains upper case`, `"nemo"`}}},
		{"LAN name too long", head + "[[lan]]\nname = \"" + strings.Repeat("a", 64) + "\"\n[[vm]]\nname = \"vm1\"\n",
			[]want{{5, 8, "64 characters long", ""}}},
		{"image not built", head + "[[vm]]\nname = \"vm1\"\nimage = \"big\"\n",
			[]want{{6, 9, `image "big" is not built`, "run: cloonix-labd image build big"}}},
		{"image cache error", head + "[[vm]]\nname = \"vm1\"\nimage = \"broken\"\n",
			[]want{{6, 9, `image "broken": cache index corrupt`, ""}}},
		{"image file missing", head + "[[vm]]\nname = \"vm1\"\nimage = \"./x.qcow2\"\n",
			[]want{{6, 9, "image file ./x.qcow2: no such file", "fix the path"}}},
		{"image file not qcow2", head + "[[vm]]\nname = \"vm1\"\nimage = \"junk.qcow2\"\n",
			[]want{{6, 9, "image file junk.qcow2 is not a qcow2 image", "qemu-img convert"}}},
		{"image file is a directory", head + "[[vm]]\nname = \"vm1\"\nimage = \"" + dir + "/\"\n",
			[]want{{6, 9, "is not a regular file", ""}}},
		{"day0 missing", head + "[[vm]]\nname = \"vm1\"\nday0 = \"vm1.yaml\"\n",
			[]want{{6, 8, "day-0 file vm1.yaml: no such file", ""}}},
		{"memory total too large", head + "[[vm]]\nname = \"vm1\"\nmemory = 2048\n[[vm]]\nname = \"vm2\"\nmemory = \"2G\"\n",
			[]want{{9, 10, "the VMs need 4096 MiB in total up to vm2, but this machine has 3000 MiB", "lower memory"}}},
		{"memory total too large with defaults", head + "[[vm]]\nname = \"r1\"\nkind = \"iosxe\"\nimage = \"good.qcow2\"\n",
			[]want{{4, 1, "the VMs need 4096 MiB in total up to r1", ""}}},
		{"memory not a size", head + "[[vm]]\nname = \"vm1\"\nmemory = \"lots\"\n",
			[]want{{6, 10, `memory the string "lots" is not a size`, `memory = "4G"`}}},
		{"memory below kind minimum", head + "[[vm]]\nname = \"vm1\"\nmemory = 16\n",
			[]want{{6, 10, "memory 16 MiB is out of range for kind linux", "at least 64 MiB"}}},
		{"wrong type", head + "[[vm]]\nname = \"vm1\"\ncpus = \"2\"\n",
			[]want{{6, 8, `cpus must be an integer, not the string "2"`, "cpus = 1"}}},
		{"unknown kind", head + "[[vm]]\nname = \"vm1\"\nkind = \"linx\"\n",
			[]want{{6, 8, `unknown kind "linx"`, `did you mean "linux"?`}}},
		{"unknown variant", head + "[[vm]]\nname = \"r1\"\nkind = \"iosxe\"\nvariant = \"asr\"\nimage = \"good.qcow2\"\nmemory = 4096\n",
			[]want{{7, 11, `kind iosxe has no variant "asr"`, "c8000v, csr1000v"}, {9, 10, "need 4096 MiB in total up to r1", ""}}},
		{"iosxe without image", head + "[[vm]]\nname = \"r1\"\nkind = \"iosxe\"\nmemory = 4096\n",
			[]want{{4, 1, "VM r1 of kind iosxe needs an image", "image ="}, {7, 10, "need 4096 MiB in total up to r1", ""}}},
		{"ssh_legacy on linux", head + "[[vm]]\nname = \"vm1\"\nssh_legacy = true\n",
			[]want{{6, 1, "ssh_legacy does not apply to kind linux", ""}}},
		{"bad boot_timeout", head + "[[vm]]\nname = \"vm1\"\nboot_timeout = \"soon\"\n",
			[]want{{6, 16, `boot_timeout "soon" is not a duration`, `"15m"`}}},
		{"gap in NICs", head + "[[lan]]\nname = \"l\"\n[[vm]]\nname = \"vm1\"\n[vm.nics]\neth2 = \"l\"\n",
			[]want{{9, 1, "interfaces eth1 are missing before eth2", "from eth0 without gaps"}}},
		{"gap in NICs without NAT", "name = \"nemo\"\n[[lan]]\nname = \"l\"\n[[vm]]\nname = \"vm1\"\nnics.eth1 = \"l\"\n",
			[]want{{6, 1, "interfaces eth0 are missing before eth1", ""}}},
		{"same interface twice", head + "[[lan]]\nname = \"l\"\n[[vm]]\nname = \"r1\"\nkind = \"iosxe\"\nimage = \"good.qcow2\"\nmemory = 4096\n[vm.nics]\nGi2 = \"l\"\nGigabitEthernet2 = \"l\"\n",
			[]want{{10, 10, "need 4096 MiB in total up to r1", ""}, {13, 1, "Gi2 and GigabitEthernet2 are the same interface", "keep one"}}},
		{"iosxe below 4 GiB", head + "[[vm]]\nname = \"r1\"\nkind = \"iosxe\"\nimage = \"good.qcow2\"\nmemory = 2560\n",
			[]want{{8, 10, "memory 2560 MiB is out of range for kind iosxe", "4096..8192 MiB"}, {8, 10, "need 4096 MiB in total up to r1", ""}}},
		{"iosxe with 3 vCPUs", head + "[[vm]]\nname = \"r1\"\nkind = \"iosxe\"\nimage = \"good.qcow2\"\nmemory = 4096\ncpus = 3\n",
			[]want{{8, 10, "need 4096 MiB in total up to r1", ""}, {9, 8, "cpus 3 is not supported by kind iosxe", "use one of 1, 2, 4"}}},
		{"bad interface name", head + "[[vm]]\nname = \"vm1\"\n[vm.nics]\nGi1 = \"mgmt\"\n",
			[]want{{7, 1, `bad interface name "Gi1" for kind linux`, "eth0..eth15"}}},
		{"lan as single table", head + "[lan]\nname = \"l\"\n[[vm]]\nname = \"vm1\"\n",
			[]want{{4, 1, "lan must be an array of tables", "[[lan]]"}}},
		{"mtu out of range", head + "[[lan]]\nname = \"l\"\nmtu = 100000\n[[vm]]\nname = \"vm1\"\n",
			[]want{{6, 7, "mtu 100000 is out of range", "576..65520"}}},
		{"subnet host bits", "name = \"nemo\"\n[nat]\nsubnet = \"10.1.2.3/24\"\n[[vm]]\nname = \"vm1\"\n",
			[]want{{3, 10, "subnet 10.1.2.3/24 has host bits set", `subnet = "10.1.2.0/24"`}}},
		{"gateway outside subnet", "name = \"nemo\"\n[nat]\ngateway = \"10.1.0.1\"\n[[vm]]\nname = \"vm1\"\n",
			[]want{{3, 11, "gateway 10.1.0.1 is not a host address of subnet 10.99.0.0/24", "10.99.0.1"}}},
		{"gateway in the DHCP pool", "name = \"nemo\"\n[nat]\ngateway = \"10.99.0.254\"\n[[vm]]\nname = \"vm1\"\n",
			[]want{{3, 11, "gateway 10.99.0.254 is past the first 8 host addresses", "10.99.0.1 to 10.99.0.8"}}},
		{"bad dns entry", "name = \"nemo\"\n[nat]\ndns = [\"1.1.1.1\", \"dns.example\"]\n[[vm]]\nname = \"vm1\"\n",
			[]want{{3, 19, `dns entry "dns.example" is not an IP address`, ""}}},
		{"two NATs on one LAN", "name = \"nemo\"\n[[nat]]\nname = \"a\"\n[[nat]]\nname = \"b\"\n[[vm]]\nname = \"vm1\"\n",
			[]want{{4, 1, `LAN "mgmt" already has a NAT`, "own LAN"}}},
		{"overlapping NAT subnets", "name = \"nemo\"\n[[nat]]\nname = \"a\"\nsubnet = \"10.0.0.0/8\"\n[[nat]]\nname = \"b\"\nlan = \"m2\"\nsubnet = \"10.5.0.0/16\"\n[[vm]]\nname = \"vm1\"\n",
			[]want{{8, 10, "subnet 10.5.0.0/16 overlaps subnet 10.0.0.0/8", ""}}},
		{"unsupported version", "version = 2\nname = \"nemo\"\n[[vm]]\nname = \"vm1\"\n",
			[]want{{1, 11, "unsupported schema version 2", "version = 1"}}},
		{"no lab name", "version = 1\n[[vm]]\nname = \"vm1\"\n",
			[]want{{1, 1, "the lab has no name", `name = "nemo"`}}},
		{"no VMs", head,
			[]want{{1, 1, "the lab declares no VMs", "[[vm]]"}}},
		{"VM without name", head + "[[vm]]\nmemory = 256\n",
			[]want{{4, 1, "[[vm]] has no name", `name = "vm1"`}}},
		{"syntax error", "version = 1\nname = \"nemo\nvm = 1\n",
			[]want{{2, 13, "TOML syntax: strings cannot contain newlines", "fix the syntax"}}},
		{"quoted keys and comments", head + "[[vm]] # first\n\"name\" = \"vm1\" # x\n'cpus' = 99\n",
			[]want{{6, 10, "cpus 99 is out of range for kind linux", "1..16"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := problemsOf(t, c.src, dir, fakeEnv(3000))
			if len(got) != len(c.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(c.want), (&ValidationError{Problems: got}).Error())
			}
			for i, w := range c.want {
				g := got[i]
				if g.File != "lab.toml" || g.Line != w.line || g.Col != w.col || !strings.Contains(g.Msg, w.msg) || !strings.Contains(g.Fix, w.fix) {
					t.Errorf("problem %d = %s\nwant at %d:%d msg containing %q, fix containing %q", i, g, w.line, w.col, w.msg, w.fix)
				}
			}
		})
	}
}

func TestUnreadableFiles(t *testing.T) {
	src := head + "[[vm]]\nname = \"vm1\"\nimage = \"a.qcow2\"\nday0 = \"u.yaml\"\n"
	check := func(t *testing.T, ps []Problem) {
		t.Helper()
		if len(ps) != 2 {
			t.Fatalf("got %v", ps)
		}
		if ps[0].Line != 6 || ps[0].Col != 9 || !strings.Contains(ps[0].Msg, "image file a.qcow2: permission denied") ||
			!strings.Contains(ps[0].Fix, "chmod a+r") {
			t.Errorf("image problem = %s", ps[0])
		}
		if ps[1].Line != 7 || ps[1].Col != 8 || !strings.Contains(ps[1].Msg, "day-0 file u.yaml: permission denied") {
			t.Errorf("day0 problem = %s", ps[1])
		}
	}
	t.Run("simulated", func(t *testing.T) {
		stubOpen(t, fs.ErrPermission)
		check(t, problemsOf(t, src, t.TempDir(), fakeEnv(3000)))
	})
	t.Run("real", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads every file; the simulated case covers the message")
		}
		dir := t.TempDir()
		writeFile(t, dir, "a.qcow2", qcow2Magic, 0o000)
		writeFile(t, dir, "u.yaml", "#cloud-config\n", 0o000)
		check(t, problemsOf(t, src, dir, fakeEnv(3000)))
	})
}

// TestAllProblemsAtOnce checks that one file with many problems reports all of them, in file order.
func TestAllProblemsAtOnce(t *testing.T) {
	src := `version = 1
name = "Nemo"

[nat]
subnet = "10.99.0.1/24"

[[lan]]
name = "lan12"

[[vm]]
name = "vm1"
memroy = 512
image = "nope"

[[vm]]
name = "vm1"
kind = "linux"
[vm.nics]
eth1 = "lan13"

[[vm]]
name = "r:1"
memory = 20000
`
	got := problemsOf(t, src, t.TempDir(), fakeEnv(3000))
	want := []want{
		{2, 8, `lab name "Nemo" contains upper case`, ""},
		{5, 10, "has host bits set", ""},
		{12, 1, `unknown key "memroy"`, ""},
		{13, 9, `image "nope" is not built`, ""},
		{16, 8, `duplicate VM name "vm1"`, ""},
		{19, 8, `eth1 joins LAN "lan13", which is not declared`, ""},
		{22, 8, `VM name "r:1" contains ':'`, ""},
		{23, 10, "this machine has 3000 MiB", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), (&ValidationError{Problems: got}).Error())
	}
	for i, w := range want {
		if got[i].Line != w.line || got[i].Col != w.col || !strings.Contains(got[i].Msg, w.msg) {
			t.Errorf("problem %d = %s; want %d:%d %q", i, got[i], w.line, w.col, w.msg)
		}
	}
	err := (&ValidationError{Problems: got}).Error()
	if lines := strings.Split(err, "\n"); len(lines) != len(want) || !strings.HasPrefix(lines[0], "lab.toml:2:8: lab name") ||
		!strings.Contains(lines[0], "; rename it") {
		t.Errorf("Error() =\n%s", err)
	}
}

func TestLoadReportsPath(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "my.toml", head+"[[vm]]\nname = \"VM\"\n", 0o644)
	_, err := Load(p, fakeEnv(3000))
	if err == nil || !strings.HasPrefix(err.Error(), p+":5:8: ") {
		t.Fatalf("Load error = %v", err)
	}
	if _, err := Load(filepath.Join(dir, "none.toml"), fakeEnv(3000)); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("Load of a missing file: %v", err)
	}
}

// TestRemoteImages: for a lab that runs on another machine (Env.ImagesOn) an image file is not opened here
// and must be absolute; on the server (Env.CopyFrom) a missing one says how to copy it there.
func TestRemoteImages(t *testing.T) {
	env := fakeEnv(8000)
	env.ImagesOn = "alice@labhost"
	src := head + "[[vm]]\nname = \"r1\"\nkind = \"iosxe\"\nimage = \"/srv/c8000v.qcow2\"\n"
	l, err := Parse("lab.toml", []byte(src), t.TempDir(), env)
	if err != nil {
		t.Fatalf("an absolute image path that is not here: %v", err)
	}
	if l.VMs[0].Image.Disk != "/srv/c8000v.qcow2" {
		t.Errorf("image %+v", l.VMs[0].Image)
	}
	rel := head + "[[vm]]\nname = \"r1\"\nkind = \"iosxe\"\nimage = \"c8000v.qcow2\"\n"
	ps := problemsOf(t, rel, t.TempDir(), env)
	if len(ps) != 1 || !strings.Contains(ps[0].Msg, "is relative, but the lab runs on alice@labhost") || !strings.Contains(ps[0].Fix, "scp c8000v.qcow2 alice@labhost:") {
		t.Errorf("relative image for a remote lab: %v", ps)
	}
	server := fakeEnv(8000)
	server.CopyFrom = "alice@labhost"
	ps = problemsOf(t, src, t.TempDir(), server)
	if len(ps) != 1 || !strings.Contains(ps[0].Msg, "image file /srv/c8000v.qcow2: no such file") ||
		ps[0].Fix != "copy it to this server first, from your machine: scp c8000v.qcow2 alice@labhost:/srv/c8000v.qcow2" {
		t.Errorf("missing image on the server: %v", ps)
	}
	day0 := head + "[[vm]]\nname = \"vm1\"\nday0 = \"cfg/u.yaml\"\n"
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "cfg"), 0o755)
	writeFile(t, dir, "cfg/u.yaml", "#cloud-config\n", 0o644)
	if l, err := Parse("lab.toml", []byte(day0), dir, env); err != nil || l.VMs[0].Day0Given != "cfg/u.yaml" || l.VMs[0].Day0 != filepath.Join(dir, "cfg/u.yaml") {
		t.Errorf("day0 as written: %+v %v", l, err)
	}
}

// TestVsockKey: vsock defaults to the kind's, may be turned off, not on where the kind has none; no NAT may be
// named vsock.
func TestVsockKey(t *testing.T) {
	l, err := Parse("lab.toml", []byte(head+"[[vm]]\nname = \"a\"\n[[vm]]\nname = \"b\"\nvsock = false\n"), t.TempDir(), fakeEnv(8000))
	if err != nil || !l.VMs[0].Vsock || l.VMs[1].Vsock {
		t.Fatalf("%+v %v", l, err)
	}
	ps := problemsOf(t, head+"[[vm]]\nname = \"r1\"\nkind = \"iosxe\"\nimage = \"/x.qcow2\"\nvsock = true\n", t.TempDir(), Env{ImagesOn: "a@b"})
	if len(ps) != 1 || !strings.Contains(ps[0].Msg, "kind iosxe has no vsock") {
		t.Errorf("vsock on iosxe: %v", ps)
	}
	ps = problemsOf(t, "version = 1\nname = \"nemo\"\n[nat]\nname = \"vsock\"\n[[vm]]\nname = \"a\"\n", t.TempDir(), fakeEnv(8000))
	if len(ps) != 1 || !strings.Contains(ps[0].Msg, `NAT name "vsock" is taken`) {
		t.Errorf("NAT named vsock: %v", ps)
	}
}
