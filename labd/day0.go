package labd

import (
	"fmt"
	"os"
	"path/filepath"

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

// iosxePassword is the secret of the day-0 user on IOS-XE routers, for the serial console only: ssh logs in
// with the lab's RSA key. A lab's own day-0 file can change it (it is applied after the lab's lines).
const iosxePassword = "admin"

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
		return cvac.WriteDay0ISO(r.day0Path(), cvac.Config{
			Hostname:       r.spec.Name,
			Domain:         r.d.lab.Name + ".cloonix",
			Username:       r.spec.Kind.SSHUser,
			Password:       iosxePassword,
			AuthorizedKey:  r.d.keys.RSAPub,
			UserConfig:     user,
			UserConfigName: filepath.Base(r.spec.Day0),
		})
	default:
		return fmt.Errorf("kind %s: day-0 medium %v is not supported yet", r.spec.Kind.Name, r.spec.Kind.Day0)
	}
}
