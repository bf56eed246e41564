package labd

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cloonix-go/cloonix/atomicfile"
	"github.com/cloonix-go/cloonix/cvac"
	"github.com/cloonix-go/cloonix/kind"
	"github.com/cloonix-go/cloonix/vm"
)

// day0Medium maps a kind's day-0 medium onto the way qemu attaches it.
func day0Medium(k *kind.Kind) vm.Medium {
	if k.Day0 == kind.Day0CVAC {
		return vm.MediumCDROM
	}
	return vm.MediumVirtioDisk
}

// consolePassword returns the lab's console password, made at random on first use and kept 0600 in the file
// at path (labpath.Dirs.ConsolePassword). IOS-XE's day-0 user needs one for the serial console; ssh logs in with the
// lab's RSA key. No lab shares it, and a lab's own day-0 file can change it (it is applied after ours).
//
// A file that exists but holds a password too short to be one of ours (or none) is refused, not silently
// replaced: the routers were configured with what it held.
func consolePassword(path string) (string, error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		pw := strings.TrimSpace(string(b))
		if len(pw) < 12 {
			return "", fmt.Errorf("console password file %s holds %d characters, not a password of ours (16); the routers were set up with it: put the password back, or delete the file and start the lab afresh with: cloonix-labd down --purge", path, len(pw))
		}
		return pw, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("console password: %w", err)
	}
	raw := make([]byte, 12)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("console password: %w", err)
	}
	pw := base64.RawURLEncoding.EncodeToString(raw)
	if err := atomicfile.Write(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("console password: %w", err)
	}
	return pw, nil
}

// writeDay0 writes the VM's day-0 medium: a NoCloud seed for Linux kinds, a CVAC CD-ROM holding
// iosxe_config.txt for IOS-XE (the lab's lines, then the user's day-0 file).
func writeDay0(r *vmRun) error {
	var user []byte
	if r.spec.Day0 != "" {
		b, err := os.ReadFile(r.spec.Day0)
		if err != nil {
			return fmt.Errorf("read day-0 file: %w", err)
		}
		user = b
	}
	switch r.spec.Kind.Day0 {
	case kind.Day0NoCloud:
		keys := append([]string{r.d.keys.Ed25519Pub, r.d.keys.RSAPub}, r.d.opts.UserKeys...)
		return vm.WriteNoCloudSeed(r.day0Path(), vm.SeedConfig{
			InstanceID:     r.d.lab.Name + "-" + r.spec.Name,
			Hostname:       r.spec.Name,
			AuthorizedKeys: keys,
			UserData:       user,
		})
	case kind.Day0CVAC:
		pw := r.d.consolePW
		if pw == "" {
			return fmt.Errorf("no console password for the lab")
		}
		return cvac.WriteDay0ISO(r.day0Path(), cvac.Config{
			Hostname:       r.spec.Name,
			Domain:         r.d.lab.Name + ".cloonix",
			Username:       r.spec.Kind.SSHUser,
			Password:       pw,
			AuthorizedKey:  r.d.keys.RSAPub,
			UserConfig:     user,
			UserConfigName: filepath.Base(r.spec.Day0),
		})
	default:
		return fmt.Errorf("kind %s: day-0 medium %v is not supported yet", r.spec.Kind.Name, r.spec.Kind.Day0)
	}
}
