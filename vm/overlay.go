package vm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// QemuImg is the qemu-img binary CreateOverlay runs; tests and packagers may change it.
var QemuImg = "qemu-img"

// imageInfo is the part of `qemu-img info --output=json` this package reads.
type imageInfo struct {
	Format              string `json:"format"`
	FullBackingFilename string `json:"full-backing-filename"`
	BackingFormat       string `json:"backing-filename-format"`
}

func qemuImgInfo(ctx context.Context, path string) (imageInfo, error) {
	// -U (force-share): the image may be open in a running qemu, which holds a write lock.
	out, err := runTool(ctx, QemuImg, "info", "-U", "--output=json", path)
	if err != nil {
		return imageInfo{}, err
	}
	var info imageInfo
	if err := json.Unmarshal(out, &info); err != nil {
		return imageInfo{}, fmt.Errorf("parse qemu-img info of %s: %w", path, err)
	}
	return info, nil
}

// ErrOtherBase marks an overlay that exists on another base image than the one asked for.
var ErrOtherBase = errors.New("the overlay belongs to another base image")

// CreateOverlay creates overlay as a qcow2 image whose backing file is base (a qcow2), so the VM
// writes only to overlay and base is never written. base is recorded by absolute path. If overlay
// already exists with that backing file, CreateOverlay does nothing; if it exists with another
// backing file it refuses.
func CreateOverlay(ctx context.Context, base, overlay string) error {
	absBase, err := filepath.Abs(base)
	if err != nil {
		return fmt.Errorf("overlay %s: base path %s: %w", overlay, base, err)
	}
	if _, err := os.Stat(absBase); err != nil {
		return fmt.Errorf("overlay %s: base image %s is missing; build or fetch the image first: %w", overlay, absBase, err)
	}
	if _, err := os.Stat(overlay); err == nil {
		info, err := qemuImgInfo(ctx, overlay)
		if err != nil {
			return fmt.Errorf("overlay %s exists but cannot be read: %w", overlay, err)
		}
		if info.FullBackingFilename != absBase {
			return fmt.Errorf("overlay %s exists with backing file %q, not %s (was the image rebuilt?): %w; delete it to recreate the VM disk", overlay, info.FullBackingFilename, absBase, ErrOtherBase)
		}
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("overlay %s: %w", overlay, err)
	}
	binfo, err := qemuImgInfo(ctx, absBase)
	if err != nil {
		return fmt.Errorf("overlay %s: base image: %w", overlay, err)
	}
	if binfo.Format != "qcow2" {
		return fmt.Errorf("overlay %s: base image %s is %s, not qcow2; convert it with qemu-img convert -O qcow2", overlay, absBase, binfo.Format)
	}
	tmp := overlay + ".tmp"
	_ = os.Remove(tmp)
	if _, err := runTool(ctx, QemuImg, "create", "-q", "-f", "qcow2", "-b", absBase, "-F", "qcow2", tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("create overlay %s: %w", overlay, err)
	}
	if err := os.Rename(tmp, overlay); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("create overlay %s: %w", overlay, err)
	}
	return nil
}

// runTool runs a helper program and returns its stdout; the error carries its stderr.
func runTool(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return nil, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
		}
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}
