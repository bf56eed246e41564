package lab

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// openFile opens files named in lab files; tests replace it to simulate unreadable files as root.
var openFile = func(name string) (io.ReadCloser, fs.FileInfo, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// qcow2Magic starts every qcow2 file.
const qcow2Magic = "QFI\xfb"

// checkFile resolves a path from the lab file against the lab's directory and checks that it is a
// readable regular file (and a qcow2 image when qcow2 is set). what names the file in messages.
func (p *parser) checkFile(what, name string, qcow2 bool) (abs, msg, fix string) {
	abs = name
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(p.dir, name)
	}
	f, fi, err := openFile(abs)
	p.lastFileErr = err
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Sprintf("%s %s: no such file", what, name),
			fmt.Sprintf("fix the path (relative paths start at %s)", p.dir)
	case errors.Is(err, fs.ErrPermission):
		return "", fmt.Sprintf("%s %s: permission denied", what, name), "make it readable: chmod a+r " + abs
	case err != nil:
		return "", fmt.Sprintf("%s %s: %v", what, name, err), "fix the path"
	}
	defer f.Close()
	if !fi.Mode().IsRegular() {
		return "", fmt.Sprintf("%s %s is not a regular file", what, name), "name a file"
	}
	if qcow2 {
		magic := make([]byte, 4)
		if _, err := io.ReadFull(f, magic); err != nil || string(magic) != qcow2Magic {
			return "", fmt.Sprintf("%s %s is not a qcow2 image", what, name),
				fmt.Sprintf("convert it: qemu-img convert -O qcow2 %s %s.qcow2", name, name)
		}
	}
	return abs, "", ""
}

func isNotBuilt(err error) bool {
	return errors.Is(err, ErrImageNotBuilt) || errors.Is(err, fs.ErrNotExist)
}
