// Package sshsetup prepares SSH access to a lab's VMs: the lab's own key
// pairs, the user's public keys to authorize next to them, and the
// ssh_config file (one Host entry per VM, through cloonix-proxy) that users
// Include from ~/.ssh/config.
package sshsetup

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/cloonix-go/cloonix/atomicfile"
)

// RSABits is the size of the lab's RSA key (for router kinds that lack
// ed25519).
const RSABits = 3072

// Keys are the lab's key pairs.
type Keys struct {
	Ed25519Path string // private key file, OpenSSH format, 0600
	RSAPath     string // private key file, OpenSSH format, 0600
	Ed25519Pub  string // authorized_keys line, without newline
	RSAPub      string // authorized_keys line, without newline
}

// EnsureLabKeys creates id_ed25519 and id_rsa (with .pub files) in stateDir,
// or reuses the ones already there. Private keys are 0600, public ones 0644.
// An existing private key is checked to parse; its .pub is rewritten from it.
func EnsureLabKeys(stateDir string) (Keys, error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return Keys{}, fmt.Errorf("sshsetup: create state directory: %w", err)
	}
	comment := "cloonix-lab-" + filepath.Base(stateDir)
	k := Keys{
		Ed25519Path: filepath.Join(stateDir, "id_ed25519"),
		RSAPath:     filepath.Join(stateDir, "id_rsa"),
	}
	var err error
	k.Ed25519Pub, err = ensureKey(k.Ed25519Path, comment, func() (any, error) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	})
	if err != nil {
		return Keys{}, err
	}
	k.RSAPub, err = ensureKey(k.RSAPath, comment, func() (any, error) {
		return rsa.GenerateKey(rand.Reader, RSABits)
	})
	if err != nil {
		return Keys{}, err
	}
	return k, nil
}

// ensureKey loads or creates the private key at path and (re)writes path.pub.
// It returns the authorized_keys line.
func ensureKey(path, comment string, gen func() (any, error)) (string, error) {
	var signer ssh.Signer
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		signer, err = ssh.ParsePrivateKey(data)
		if err != nil {
			return "", fmt.Errorf("sshsetup: lab key %s is unreadable (%w); delete it (and the VMs' authorized keys go with it) to make a new one", path, err)
		}
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(path, 0o600); err != nil {
				return "", fmt.Errorf("sshsetup: chmod 600 %s: %w", path, err)
			}
		}
	case errors.Is(err, os.ErrNotExist):
		priv, err := gen()
		if err != nil {
			return "", fmt.Errorf("sshsetup: generate %s: %w", filepath.Base(path), err)
		}
		block, err := ssh.MarshalPrivateKey(priv, comment)
		if err != nil {
			return "", fmt.Errorf("sshsetup: encode %s: %w", filepath.Base(path), err)
		}
		if err := atomicfile.Write(path, pem.EncodeToMemory(block), 0o600); err != nil {
			return "", err
		}
		signer, err = ssh.NewSignerFromKey(priv)
		if err != nil {
			return "", fmt.Errorf("sshsetup: signer for %s: %w", filepath.Base(path), err)
		}
	default:
		return "", fmt.Errorf("sshsetup: read lab key: %w", err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " " + comment
	if err := atomicfile.Write(path+".pub", []byte(line+"\n"), 0o644); err != nil {
		return "", err
	}
	return line, nil
}
