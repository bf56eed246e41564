package labd

import (
	"fmt"
	"os"

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

// writeDay0 writes the VM's day-0 medium: a NoCloud seed for Linux kinds.
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
	default:
		return fmt.Errorf("kind %s: day-0 medium %v is not supported yet", r.spec.Kind.Name, r.spec.Kind.Day0)
	}
}
