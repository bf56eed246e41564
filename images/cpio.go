package images

import (
	"fmt"
	"io"
)

// cpioWriter writes a "newc" cpio archive, the format the kernel unpacks as an
// initramfs. Entries are owned by root whoever builds them.
type cpioWriter struct {
	w   io.Writer
	ino uint32
	n   int64
}

const (
	cpioDir  = 0o040000
	cpioReg  = 0o100000
	cpioLink = 0o120000
	cpioChr  = 0o020000
)

func (c *cpioWriter) write(b []byte) error {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return err
}

func (c *cpioWriter) pad() error {
	if r := c.n % 4; r != 0 {
		return c.write(make([]byte, 4-r))
	}
	return nil
}

// entry writes one header, name and body. rdev is major<<8|minor for devices.
func (c *cpioWriter) entry(name string, mode uint32, body []byte, rmajor, rminor uint32) error {
	c.ino++
	nlink := uint32(1)
	if mode&0o170000 == cpioDir {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, nlink, 0, len(body), 0, 0, rmajor, rminor, len(name)+1, 0)
	if err := c.write([]byte(hdr)); err != nil {
		return err
	}
	if err := c.write(append([]byte(name), 0)); err != nil {
		return err
	}
	if err := c.pad(); err != nil {
		return err
	}
	if err := c.write(body); err != nil {
		return err
	}
	return c.pad()
}

func (c *cpioWriter) dir(name string) error { return c.entry(name, cpioDir|0o755, nil, 0, 0) }
func (c *cpioWriter) file(name string, perm uint32, body []byte) error {
	return c.entry(name, cpioReg|perm, body, 0, 0)
}
func (c *cpioWriter) symlink(name, target string) error {
	return c.entry(name, cpioLink|0o777, []byte(target), 0, 0)
}
func (c *cpioWriter) chardev(name string, perm, major, minor uint32) error {
	return c.entry(name, cpioChr|perm, nil, major, minor)
}

// close writes the trailer.
func (c *cpioWriter) close() error {
	c.ino = 0
	return c.entry("TRAILER!!!", 0, nil, 0, 0)
}
