package images

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
)

// builderVersion changes whenever the builder's output for the same inputs changes.
const builderVersion = "images/1"

//go:embed guest/*
var guestFS embed.FS

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

// Recipe describes one guest image as data: what an image file (examples/images/NAME/image.toml, or the
// user's own) says, with its base's lists and tables merged in.
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
	// BootModules are kernel modules loaded at every boot, by a hook that runs before the recipe's own
	// (for the data planes a router may need: macvlan, vxlan, mpls…); their files go to
	// /usr/lib/cloonix/boot-modules.
	BootModules []string `json:",omitempty"`
	// Hooks are scripts installed as /etc/cloonix/hooks/NAME, run at boot after sshd.
	Hooks map[string]string
	// Files are extra files (and lines appended to base files) for the root tree.
	Files []GuestFile `json:",omitempty"`
	// Append is the kernel command line.
	Append string
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
