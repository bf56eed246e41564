// Package pcapstream copies a pcapng stream a whole block at a time, so that a capture ended by Ctrl-C, by
// --for or by the daemon leaves output every reader takes whole (no block cut in two). Standard library
// only: cloonix-proxy imports it.
package pcapstream

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"syscall"
)

// maxBlock bounds one block: the largest frame plus pcapng's own fields, with room to spare.
const maxBlock = 16 << 20

// Copy copies the pcapng stream src to dst a block at a time, flushing whenever nothing more is waiting so
// that a live reader sees each frame at once. It returns nil when src ends or is closed (mid-block: that
// block is left out) and when dst's reader went away (EPIPE), all normal ends of a capture; an error for a
// damaged stream or another write failure.
func Copy(dst io.Writer, src io.Reader) error {
	r := bufio.NewReaderSize(src, 256<<10)
	w := bufio.NewWriterSize(dst, 256<<10)
	order := binary.ByteOrder(binary.LittleEndian)
	head := make([]byte, 12)
	for {
		if _, err := io.ReadFull(r, head[:8]); err != nil {
			return end(w.Flush())
		}
		head = head[:8]
		if binary.LittleEndian.Uint32(head) == 0x0A0D0D0A { // a section header: its byte order follows
			head = head[:12]
			if _, err := io.ReadFull(r, head[8:12]); err != nil {
				return end(w.Flush())
			}
			if binary.BigEndian.Uint32(head[8:]) == 0x1A2B3C4D {
				order = binary.BigEndian
			} else {
				order = binary.LittleEndian
			}
		}
		n := int(order.Uint32(head[4:8]))
		if n < len(head) || n > maxBlock || n%4 != 0 {
			return fmt.Errorf("capture: a damaged pcapng block (length %d)", n)
		}
		block := make([]byte, n)
		copy(block, head)
		if _, err := io.ReadFull(r, block[len(head):]); err != nil {
			return end(w.Flush())
		}
		if _, err := w.Write(block); err != nil {
			return end(err)
		}
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return end(err)
			}
		}
	}
}

// end makes a reader that went away a normal end.
func end(err error) error {
	if err == nil || errors.Is(err, syscall.EPIPE) {
		return nil
	}
	return fmt.Errorf("capture: write: %w", err)
}
