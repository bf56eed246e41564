package images

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

// builderVersion changes whenever the builder's output for the same inputs changes.
const builderVersion = "images/1"

//go:embed guest/*
var guestFS embed.FS

// frrFS holds the frr image's guest files. They live outside guest/ so that
// adding them does not change the tiny image's cache key; the recipe carries
// their contents, so they are hashed through Recipe.Key.
//
//go:embed guest-frr/*
var frrFS embed.FS

// GuestFile is a file a recipe adds to the root tree after the base files.
type GuestFile struct {
	// Path is the absolute guest path.
	Path string
	// Mode holds the permission bits.
	Mode fs.FileMode
	// Body is the file's content.
	Body string
	// Append adds Body to the end of an existing file (the base /etc/passwd,
	// /etc/group, /etc/shadow, /etc/shells) instead of replacing it.
	Append bool `json:",omitempty"`
}

// Recipe describes one guest image as data.
type Recipe struct {
	// Name is the image name, as in `cloonix-labd image build NAME`.
	Name string
	// Kernel is the kernel package (a metapackage such as linux-image-cloud-amd64
	// is followed to the real linux-image-* package).
	Kernel string
	// Whole are packages copied whole into the root tree (docs and man pages dropped).
	Whole []string
	// Pick maps a package to the paths copied from it (for example sshd from
	// openssh-server, scp and ssh-keygen from openssh-client).
	Pick map[string][]string
	// Libs are packages that only supply shared libraries; a library is copied
	// when some ELF file in the root tree needs it.
	Libs []string
	// Drop are guest path globs (path.Match syntax, for example
	// /usr/lib/python3.11/test or /usr/lib/python3.11/lib-dynload/_test*)
	// removed from the root tree after Whole and Pick, before the library walk.
	// A glob that matches nothing fails the build (a stale recipe).
	Drop []string `json:",omitempty"`
	// Programs are this project's programs the image carries (cloonix-vsock-bridge), copied from the host.
	Programs []HostProgram `json:",omitempty"`
	// Modules are kernel modules the initramfs loads (their dependencies are added).
	Modules []string
	// LateModules are kernel modules the root system may load later (CD-ROM for a
	// seed on -machine pc); they go to /usr/lib/cloonix/modules.
	LateModules []string
	// Hooks are scripts installed as /etc/cloonix/hooks/NAME, run at boot after sshd.
	Hooks map[string]string
	// Files are extra files (and lines appended to base files) for the root tree.
	Files []GuestFile `json:",omitempty"`
	// Append is the kernel command line.
	Append string
}

// tinyAppend boots fast under TCG: serial console, no mitigations cost, no EDD
// or PS/2 mouse probing, no crypto self-tests (~0.5 s under TCG).
//
// The clock is HPET (clocksource=hpet), not the TSC: under TCG on a busy host
// the kernel sometimes calibrates the TSC several times too slow ("PIT
// calibration deviates from HPET"), and a TSC clocksource then runs that many
// times too fast (OSPF and BGP timers expire early, adjacencies flap). qemu's
// HPET counts host time, so CLOCK_MONOTONIC and sleeps stay right whatever the
// calibration said. tsc=unstable keeps the kernel from ever switching back to
// the TSC (and skips the clocksource watchdog's TSC checks).
const tinyAppend = "console=ttyS0 root=/dev/vda rootfstype=ext4 rw quiet loglevel=4 mitigations=off edd=off " +
	"no_timer_check clocksource=hpet tsc=unstable cryptomgr.notests i8042.noaux i8042.nomux random.trust_cpu=on"

// sshdLibs are the packages that supply the shared libraries of OpenSSH's
// sshd (Debian's build links PAM, libwrap, libaudit, libsystemd, SELinux and
// Kerberos/GSSAPI) and of what those libraries need in turn; the builder's ELF
// walk copies only the files some binary asks for.
var sshdLibs = []string{
	"libwrap0", "libnsl2", "libtirpc3", "libaudit1", "libcap-ng0", "libpam0g", "libsystemd0", "libcap2",
	"libgcrypt20", "libgpg-error0", "liblzma5", "libselinux1", "libpcre2-8-0", "libgssapi-krb5-2", "libkrb5-3",
	"libk5crypto3", "libkrb5support0", "libkeyutils1", "libcom-err2",
}

// pythonLibs supply the shared libraries of python3.11 and of the extension
// modules the image keeps (pyexpat, _ctypes, _bz2, _uuid; _lzma, zlib, _ssl,
// _hashlib, _crypt and nis use libraries sshd already needs).
var pythonLibs = []string{"libexpat1", "libffi8", "libbz2-1.0", "libuuid1"}

// pythonDrop is what the tiny image leaves out of Python's standard library:
// the test suite and pydoc's topics (~1.1 MB, never imported by Ansible's
// modules), the test extension modules, and the extension modules (with
// their packages) that need libraries the image does not carry: sqlite3,
// curses, dbm.gnu/dbm.ndbm (dbm falls back to dbm.dumb) and readline (the
// interactive interpreter works, without line editing).
var pythonDrop = []string{
	"/usr/lib/python3.11/test",
	"/usr/lib/python3.11/pydoc_data",
	"/usr/lib/python3.11/sqlite3",
	"/usr/lib/python3.11/curses",
	"/usr/lib/python3.11/lib-dynload/_test*.so",
	"/usr/lib/python3.11/lib-dynload/_ctypes_test.*.so",
	"/usr/lib/python3.11/lib-dynload/_xxtestfuzz.*.so",
	"/usr/lib/python3.11/lib-dynload/xxlimited*.so",
	"/usr/lib/python3.11/lib-dynload/_sqlite3.*.so",
	"/usr/lib/python3.11/lib-dynload/_curses*.so",
	"/usr/lib/python3.11/lib-dynload/_dbm.*.so",
	"/usr/lib/python3.11/lib-dynload/readline.*.so",
}

func tinyRecipe() Recipe {
	return Recipe{
		Name:   "tiny",
		Kernel: "linux-image-cloud-amd64",
		// Python 3.11 (with /usr/bin/python3 from python3-minimal) for
		// Ansible's modules; see pythonDrop for what is left out.
		Whole: []string{"busybox-static", "openssh-sftp-server", "rsync",
			"python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib", "python3-minimal"},
		// OpenSSH's sshd rather than dropbear: dropbear allows only 5
		// unauthenticated connections per source address, and every connection
		// into a lab VM comes from the NAT's gateway address.
		Pick: map[string][]string{
			"openssh-server": {"usr/sbin/sshd"},
			"openssh-client": {"usr/bin/scp", "usr/bin/ssh-keygen"},
		},
		Libs: append([]string{
			"libc6", "libcrypt1", "zlib1g", "libacl1", "liblz4-1", "libpopt0", "libssl3", "libxxhash0", "libzstd1",
		}, append(sshdLibs, pythonLibs...)...),
		Drop: pythonDrop,
		Modules: []string{
			"virtio_pci", "virtio_blk", "virtio_net", "virtio_rng", "isofs",
			"button", "evdev",
			// virtio-vsock, for cloonix-vsock-bridge (the host reaches sshd when the network is down).
			"vmw_vsock_virtio_transport",
		},
		Programs:    []HostProgram{{Name: "cloonix-vsock-bridge", Path: "/usr/sbin/cloonix-vsock-bridge"}},
		LateModules: []string{"ata_piix", "sr_mod"},
		Append:      tinyAppend,
	}
}

// recipes is the registry of known images, the base image first.
var recipes = []struct {
	name string
	make func() Recipe
}{
	{"tiny", tinyRecipe},
	{"frr", frrRecipe},
}

// Recipes returns the names of the images this package knows how to build,
// the base image ("tiny") first.
func Recipes() []string {
	names := make([]string, 0, len(recipes))
	for _, r := range recipes {
		names = append(names, r.name)
	}
	return names
}

func lookupRecipe(name string) (Recipe, error) {
	for _, r := range recipes {
		if r.name == name {
			return r.make(), nil
		}
	}
	return Recipe{}, fmt.Errorf("unknown image %q: known images are %s", name, strings.Join(Recipes(), ", "))
}

// Packages returns every package the recipe downloads except the kernel, sorted.
func (r Recipe) Packages() []string {
	set := map[string]bool{}
	for _, p := range r.Whole {
		set[p] = true
	}
	for p := range r.Pick {
		set[p] = true
	}
	for _, p := range r.Libs {
		set[p] = true
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Key hashes everything that determines the image: the builder version, the
// recipe, the embedded guest files and the resolved package versions.
func (r Recipe) Key(versions map[string]string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "builder %s\n", builderVersion)
	rj, err := json.Marshal(r) // map keys are sorted by encoding/json
	if err != nil {
		return "", fmt.Errorf("hash recipe %s: %w", r.Name, err)
	}
	fmt.Fprintf(h, "recipe %d %s\n", len(rj), rj)
	err = fs.WalkDir(guestFS, "guest", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := guestFS.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "file %s %d\n", p, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash guest files: %w", err)
	}
	for _, p := range r.Programs {
		sum, err := hostProgramHash(p.Name)
		if err != nil {
			return "", fmt.Errorf("image %s: %w", r.Name, err)
		}
		fmt.Fprintf(h, "program %s %s\n", p.Name, sum)
	}
	pkgs := make([]string, 0, len(versions))
	for p := range versions {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		fmt.Fprintf(h, "pkg %s=%s\n", p, versions[p])
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func guestFile(name string) []byte {
	b, err := guestFS.ReadFile("guest/" + name)
	if err != nil {
		panic("images: embedded guest file missing: " + name)
	}
	return b
}
