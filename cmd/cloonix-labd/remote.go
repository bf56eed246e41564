package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cloonix-go/cloonix/api"
	"github.com/cloonix-go/cloonix/api/tunnel"
	"github.com/cloonix-go/cloonix/atomicfile"
	"github.com/cloonix-go/cloonix/kind"
	"github.com/cloonix-go/cloonix/lab"
	"github.com/cloonix-go/cloonix/labpath"
	"github.com/cloonix-go/cloonix/remote"
	"github.com/cloonix-go/cloonix/sshsetup"
)

// resolveNamed is what a lab name leads to: a remote server or a socket of the client config, else the
// local lab of that name. A remote target's dirs are the client's own directories for that name (its
// generated ssh_config, known_hosts, key copies and inventory).
func resolveNamed(name string) (target, error) {
	tg, err := tunnel.Resolve(name)
	if err != nil {
		return target{}, err
	}
	dirs, err := labpath.For(name)
	if err != nil {
		return target{}, err
	}
	return target{name: name, dirs: dirs, sock: tg.Socket, remote: tg.Remote}, nil
}

// errNoAnswer is a forwarded socket that leads to no daemon; Reach then sets the forward up again, which
// says why.
var errNoAnswer = errors.New("no answer on the forwarded socket")

// remoteClient reaches a remote target's daemon through the forward of its control socket.
func remoteClient(ctx context.Context, r *remote.Server) (*api.Client, error) {
	var client *api.Client
	err := r.Reach(ctx, func(sock string) error {
		c := api.NewClient(sock)
		if !c.IsUp(ctx) {
			return errNoAnswer
		}
		client = c
		return nil
	}, func(error) bool { return false })
	if errors.Is(err, errNoAnswer) {
		// The server said the lab is up and the master took the forward, yet nothing answers through it.
		return nil, fmt.Errorf("server %s (%s): %s", r.Name, r.Dest, remote.ForwardRefused)
	}
	return client, err
}

// Server side: what a remote client runs here over ssh. Every sub-command prints remote.Hello first.

// remoteServerCommand is `cloonix-labd remote`, hidden: the server end of package remote.
func remoteServerCommand() *cli.Command {
	proto := func() cli.Flag {
		return &cli.IntFlag{Name: "proto", Usage: "the remote protocol the client speaks"}
	}
	// hello starts every answer: the protocol this server speaks (the client checks it). A client of another
	// protocol is refused before anything is done. From here on a client that goes away (Ctrl-C, its ssh
	// killed) makes writes to stdout fail, not kill this process: the command finishes what it must undo.
	hello := func(c *cli.Context) error {
		signal.Ignore(syscall.SIGPIPE)
		fmt.Print(remote.Hello(version))
		if p := c.Int("proto"); p != remote.Protocol() {
			return fmt.Errorf("this server speaks remote protocol %d, the client %d", remote.Protocol(), p)
		}
		return nil
	}
	return &cli.Command{
		Name:   "remote",
		Usage:  "what a remote client runs on this server over ssh (a [server.NAME] with ssh = \"user@host\" in its client config)",
		Hidden: true,
		Subcommands: []*cli.Command{
			{
				Name:  "socket",
				Usage: "print the lab's control socket, if the lab is up",
				Flags: []cli.Flag{proto()},
				Action: func(c *cli.Context) error {
					if err := hello(c); err != nil {
						return err
					}
					name := labName(c)
					sock, err := labpath.CtlSocket(name)
					if err != nil {
						return err
					}
					if !api.NewClient(sock).IsUp(c.Context) {
						return cli.Exit("lab "+name+" is not up on this server", remote.ExitNotUp)
					}
					fmt.Println("socket " + sock)
					return nil
				},
			},
			{
				Name:  "up",
				Usage: "receive a lab file and the files it names (a tar on stdin), then bring the lab up",
				Flags: []cli.Flag{proto(),
					&cli.StringFlag{Name: "as", Usage: "the client's name for this server (--server NAME in advice)"},
					&cli.StringFlag{Name: "file", Usage: "the lab file's path in the tar"},
					&cli.StringFlag{Name: "shown-root", Usage: "the client's directory that the tar's files/ stands for"},
					&cli.StringFlag{Name: "dest", Usage: "this server as the client's ssh reaches it (user@host)"},
					&cli.BoolFlag{Name: "no-wait"},
					&cli.BoolFlag{Name: "keep"},
					&cli.DurationFlag{Name: "timeout"},
				},
				Action: func(c *cli.Context) error {
					if err := hello(c); err != nil {
						return err
					}
					return serveRemoteUp(c)
				},
			},
			{
				Name:  "down",
				Usage: "take the lab down (what `down` does here)",
				Flags: []cli.Flag{proto(), &cli.BoolFlag{Name: "purge"}},
				Action: func(c *cli.Context) error {
					if err := hello(c); err != nil {
						return err
					}
					// This machine's lab of that name, whatever this user's own client config says of it.
					name := labName(c)
					dirs, err := labpath.For(name)
					if err != nil {
						return err
					}
					return downLocal(c, target{name: name, dirs: dirs, sock: dirs.CtlSocket()})
				},
			},
		},
	}
}

// Limits on what a remote client uploads with `up`.
const (
	maxUploadFiles = 1000
	maxUploadBytes = 256 << 20
)

// serveRemoteUp receives the client's tar (files/... and client_keys.pub) into the lab's upload directory
// and brings the lab up from it. The client keeps stdin open while it waits; EOF on stdin after the tar is
// its interrupt, and the lab is then taken down like an interrupted local `up`.
func serveRemoteUp(c *cli.Context) error {
	name := labName(c)
	dirs, err := labpath.For(name)
	if err != nil {
		return err
	}
	as := c.String("as")
	if api.NewClient(dirs.CtlSocket()).IsUp(c.Context) {
		return fmt.Errorf("lab %s is already up; run: cloonix-labd down --lab %s", name, as)
	}
	if err := dirs.Ensure(); err != nil {
		return err
	}
	warnNoLinger()
	upload := filepath.Join(dirs.State, "upload")
	if err := receiveUpload(os.Stdin, upload); err != nil {
		return fmt.Errorf("lab %s: receive the lab file: %w", name, err)
	}
	ctx, cancel := context.WithCancel(c.Context)
	defer cancel()
	go func() { // the client's stdin stays open until it is interrupted
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	c.Context = ctx
	root := filepath.Join(upload, "files")
	file := filepath.Join(root, filepath.FromSlash(c.String("file")))
	shownRoot := c.String("shown-root")
	o := upOpts{as: as, buildImages: true, userKeys: filepath.Join(upload, "client_keys.pub"), copyFrom: c.String("dest"),
		shown: filepath.Join(shownRoot, filepath.FromSlash(c.String("file")))}
	err = upLocal(c, file, o)
	if err != nil && shownRoot != "" {
		// Messages name the files as the user knows them, on their machine.
		return errors.New(strings.ReplaceAll(err.Error(), root, shownRoot))
	}
	return err
}

// warnNoLinger warns when the lab's runtime directory is logind's /run/user/UID and lingering is off for the
// user: logind deletes that directory when the user's last session ends, which for a remote client is when its
// ssh master connection ends, and with it the sockets of the VMs' consoles and QMP (the daemon makes its own
// socket again, qemu does not).
func warnNoLinger() {
	root := labpath.RuntimeRoot()
	if !strings.HasPrefix(root, "/run/user/") {
		return
	}
	u := os.Getenv("USER")
	if u == "" {
		u = os.Getenv("LOGNAME")
	}
	if u == "" {
		return
	}
	if _, err := os.Stat(filepath.Join("/var/lib/systemd/linger", u)); err == nil {
		return
	}
	fmt.Fprintf(os.Stderr, "%s warning: lingering is off for %s on this server: when your last ssh session here ends, logind deletes %s "+
		"and the lab's consoles and link control stop working; turn it on: loginctl enable-linger %s\n", stamp(), u, filepath.Dir(root), u)
}

// receiveUpload unpacks a client's tar into dir, replacing what an earlier up left there. Only regular files
// with clean relative names are taken, within the limits; everything is private (0600 files, 0700 dirs).
func receiveUpload(r io.Reader, dir string) error {
	tmp := dir + ".new"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	tr := tar.NewReader(r)
	var files int
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read the upload: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			return fmt.Errorf("upload entry %q is not a regular file", h.Name)
		}
		if !filepath.IsLocal(h.Name) || filepath.Clean(h.Name) != h.Name {
			return fmt.Errorf("upload entry %q is not a clean relative path", h.Name)
		}
		files++
		total += h.Size
		if files > maxUploadFiles || total > maxUploadBytes {
			return fmt.Errorf("the upload is over %d files or %d MiB; a lab file and its day-0 files are far smaller", maxUploadFiles, maxUploadBytes>>20)
		}
		path := filepath.Join(tmp, h.Name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		_, err = io.CopyN(f, tr, h.Size)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", h.Name, err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

// Client side.

// remoteUp brings the lab file abs up on a remote server: it checks the file here (the images are the
// server's), sends it with the files it names and the user's public keys, runs `up` there with its output
// shown here, and then writes the client's ssh_config, known_hosts and inventory.
func remoteUp(c *cli.Context, t target, abs string) error {
	r := t.remote
	l, err := lab.Load(abs, lab.Env{ImagesOn: r.Dest})
	if err != nil {
		return err
	}
	if l.Name != r.Lab {
		return fmt.Errorf("%s names lab %s, but server %s is lab %s on %s; write lab = %q in [server.%s] of %s, or name the lab %s in the file",
			l.File, l.Name, r.Name, r.Lab, r.Dest, l.Name, r.Name, r.Config, r.Lab)
	}
	files := []string{abs}
	for _, v := range l.VMs {
		if v.Day0 == "" {
			continue
		}
		if filepath.IsAbs(v.Day0Given) {
			return fmt.Errorf("%s: VM %s: day0 = %q is absolute; a remote up sends the day-0 files with the lab file, so write the path relative to %s",
				l.File, v.Name, v.Day0Given, l.Dir)
		}
		files = append(files, v.Day0)
	}
	root := commonDir(files)
	home, _ := os.UserHomeDir()
	keys, err := sshsetup.UserPublicKeys(home, os.Getenv("SSH_AUTH_SOCK"))
	if err != nil {
		return err
	}
	upload, err := uploadTar(root, files, keys)
	if err != nil {
		return err
	}
	rel, _ := filepath.Rel(root, abs)
	args := []string{"--lab", r.Lab, "--as", r.Name, "--file", filepath.ToSlash(rel), "--shown-root", root, "--dest", r.Dest}
	for _, f := range []string{"no-wait", "keep"} {
		if c.Bool(f) {
			args = append(args, "--"+f)
		}
	}
	if d := c.Duration("timeout"); d > 0 {
		args = append(args, "--timeout", d.String())
	}
	if c.Bool("foreground") {
		return fmt.Errorf("up --foreground keeps a daemon on this terminal; on server %s the daemon runs there: drop --foreground", r.Name)
	}
	fmt.Printf("%s server %s: sending %s and %d other files to %s\n", stamp(), r.Name, l.File, len(files)-1, r.Dest)
	if err := r.Run(c.Context, 4*time.Minute, false, bytes.NewReader(upload), os.Stdout, os.Stderr, "up", args...); err != nil {
		return err
	}
	client, err := remoteClient(c.Context, r)
	if err != nil {
		return err
	}
	return writeClientFiles(c.Context, t, client, true)
}

// commonDir is the deepest directory that holds every one of the absolute paths.
func commonDir(paths []string) string {
	dir := filepath.Dir(paths[0])
	for _, p := range paths[1:] {
		for dir != "/" && !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			dir = filepath.Dir(dir)
		}
	}
	return dir
}

// uploadTar packs files (below root) as files/<relative path>, and the user's keys as client_keys.pub.
func uploadTar(root string, files, keys []string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: time.Now()}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	for _, f := range slices.Compact(slices.Sorted(slices.Values(files))) {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(root, f)
		if err != nil {
			return nil, err
		}
		if err := add("files/"+filepath.ToSlash(rel), data); err != nil {
			return nil, fmt.Errorf("pack %s: %w", f, err)
		}
	}
	if err := add("client_keys.pub", []byte(strings.Join(keys, "\n")+"\n")); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeClientFiles writes, in the client's directory for a remote target, what reaching its VMs from here
// takes: copies of the lab's keys (0600: the generated files log in with them), a known_hosts of the
// client's own, the two ssh_config variants and the Ansible inventory, every ProxyCommand naming the
// server as the client knows it. say prints what it wrote.
func writeClientFiles(ctx context.Context, t target, client *api.Client, say bool) error {
	if err := t.dirs.Ensure(); err != nil {
		return err
	}
	vms, err := client.VMs(ctx)
	if err != nil {
		return fmt.Errorf("server %s: %w", t.name, err)
	}
	lk, err := client.Keys(ctx)
	if err != nil {
		return fmt.Errorf("server %s: the lab's keys: %w", t.name, err)
	}
	keys := sshsetup.Keys{Ed25519Path: t.dirs.Ed25519Key(), RSAPath: t.dirs.RSAKey()}
	for path, pem := range map[string]string{keys.Ed25519Path: lk.Ed25519, keys.RSAPath: lk.RSA} {
		if err := atomicfile.Write(path, []byte(pem), 0o600); err != nil {
			return fmt.Errorf("server %s: copy the lab's key: %w", t.name, err)
		}
	}
	if _, err := os.Stat(t.dirs.KnownHosts()); errors.Is(err, os.ErrNotExist) {
		if err := atomicfile.Write(t.dirs.KnownHosts(), nil, 0o600); err != nil {
			return err
		}
	}
	var entries []sshsetup.HostEntry
	for _, v := range vms {
		k, err := kind.Lookup(v.Kind)
		if err != nil {
			return fmt.Errorf("server %s: VM %s: %w", t.name, v.Name, err)
		}
		entries = append(entries, sshsetup.EntryFor(v.Name, k, v.Via, v.Vsock, v.SSHLegacy))
	}
	slices.SortFunc(entries, func(a, b sshsetup.HostEntry) int { return strings.Compare(a.Name, b.Name) })
	o := sshsetup.ConfigOptions{Lab: t.name, Keys: keys, KnownHosts: t.dirs.KnownHosts(), Entries: entries}
	if err := sshsetup.WriteSSHConfigs(t.dirs.SSHConfig(), t.dirs.FdpassSSHConfig(), o); err != nil {
		return fmt.Errorf("server %s: %w", t.name, err)
	}
	inv, err := renderInventory(ctx, t, client, false)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(t.dirs.Inventory(), inv, 0o644); err != nil {
		return fmt.Errorf("server %s: write inventory: %w", t.name, err)
	}
	if say {
		fmt.Printf("%s server %s: copied the lab's SSH keys to %s (0600; the generated ssh_config and inventory log in with them)\n",
			stamp(), t.name, t.dirs.State)
		fmt.Printf("%s server %s: ssh_config %s, inventory %s\n", stamp(), t.name, t.dirs.SSHConfig(), t.dirs.Inventory())
		fmt.Printf("# reach the VMs: ssh -F %s VM, or put at the top of ~/.ssh/config: %s\n", t.dirs.SSHConfig(), sshsetup.IncludeLine(t.dirs.SSHConfig()))
	}
	return nil
}

// remoteDown takes a remote target's lab down by running `down` on the server; with purge the client's
// own files for it go too.
func remoteDown(c *cli.Context, t target) error {
	args := []string{"--lab", t.remote.Lab}
	if c.Bool("purge") {
		args = append(args, "--purge")
	}
	if err := t.remote.Run(c.Context, 4*time.Minute, false, nil, os.Stdout, os.Stderr, "down", args...); err != nil {
		return err
	}
	if c.Bool("purge") {
		if err := os.RemoveAll(t.dirs.State); err != nil {
			return fmt.Errorf("server %s: remove this machine's files for it: %w", t.name, err)
		}
		fmt.Printf("%s server %s: removed this machine's files for it (%s)\n", stamp(), t.name, t.dirs.State)
	}
	return nil
}
