// Package virtq is the device side of a virtio split virtqueue (virtio 1.1, 2.7) in guest memory that a
// vhost-user backend mapped: the driver (the guest) makes descriptor chains available, the device takes them
// (Pop), reads and writes their buffers and gives them back as used (Push).
//
// Everything in guest memory is the guest's to write, at any time: every index and address is checked
// against the ring size and the mapped memory, a chain longer than the ring is a loop, and an indirect
// descriptor (a feature this backend does not offer) is an error. A bad chain is reported, never followed.
package virtq

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"
)

// Region is one piece of guest memory: GuestPhys is its guest-physical address, User its address in the
// front-end's (qemu's) address space, Data the bytes, mapped here.
type Region struct {
	GuestPhys uint64
	User      uint64
	Data      []byte
}

// Memory is the guest's memory as the backend mapped it.
type Memory struct {
	Regions []Region
}

// ErrBadAddress is an address range outside the mapped guest memory.
var ErrBadAddress = errors.New("virtq: address outside guest memory")

// Slice returns the n bytes at guest-physical address gpa, which must lie in one region.
func (m *Memory) Slice(gpa, n uint64) ([]byte, error) {
	for _, r := range m.Regions {
		if gpa >= r.GuestPhys && n <= uint64(len(r.Data)) && gpa-r.GuestPhys <= uint64(len(r.Data))-n {
			off := gpa - r.GuestPhys
			return r.Data[off : off+n : off+n], nil
		}
	}
	return nil, fmt.Errorf("%w: %#x+%d", ErrBadAddress, gpa, n)
}

// UserToGuest translates a front-end address (what SET_VRING_ADDR carries) to a guest-physical one.
func (m *Memory) UserToGuest(ua uint64) (uint64, error) {
	for _, r := range m.Regions {
		if ua >= r.User && ua-r.User < uint64(len(r.Data)) {
			return r.GuestPhys + (ua - r.User), nil
		}
	}
	return 0, fmt.Errorf("%w: front-end address %#x", ErrBadAddress, ua)
}

// ErrRing is a ring the driver corrupted as a whole (its available index); Pop makes no progress on it
// until the driver writes a sane index, so a device stops taking from it until the next kick.
var ErrRing = errors.New("virtq: corrupt ring")

// Descriptor flags.
const (
	descNext     = 1
	descWrite    = 2
	descIndirect = 4
)

// Chain is one descriptor chain the driver made available: what the device may read, then what it may
// write, in order.
type Chain struct {
	Head     uint16
	Readable [][]byte
	Writable [][]byte
}

// ReadableLen is the total length of the readable buffers.
func (c *Chain) ReadableLen() int {
	n := 0
	for _, b := range c.Readable {
		n += len(b)
	}
	return n
}

// WritableLen is the total length of the writable buffers.
func (c *Chain) WritableLen() int {
	n := 0
	for _, b := range c.Writable {
		n += len(b)
	}
	return n
}

// Queue is a split virtqueue of Num entries.
type Queue struct {
	Num       uint16
	mem       *Memory
	desc      []byte // Num × 16
	avail     []byte // 4 + 2·Num (+2 used_event)
	used      []byte // 4 + 8·Num (+2 avail_event)
	lastAvail uint16
	nextUsed  uint16
}

// New makes the queue whose descriptor table, available and used rings are at the guest-physical addresses
// given; lastAvail is where the driver's next chain is (SET_VRING_BASE), and the used index is read from
// the ring (a backend that takes over a running ring continues it).
func New(mem *Memory, num uint16, desc, avail, used uint64, lastAvail uint16) (*Queue, error) {
	if num == 0 || num&(num-1) != 0 || num > 32768 {
		return nil, fmt.Errorf("virtq: queue size %d is not a power of 2 up to 32768", num)
	}
	q := &Queue{Num: num, mem: mem, lastAvail: lastAvail}
	var err error
	if q.desc, err = mem.Slice(desc, 16*uint64(num)); err != nil {
		return nil, fmt.Errorf("descriptor table: %w", err)
	}
	if q.avail, err = mem.Slice(avail, 6+2*uint64(num)); err != nil {
		return nil, fmt.Errorf("available ring: %w", err)
	}
	if q.used, err = mem.Slice(used, 6+8*uint64(num)); err != nil {
		return nil, fmt.Errorf("used ring: %w", err)
	}
	if uintptr(unsafe.Pointer(&q.avail[0]))%4 != 0 || uintptr(unsafe.Pointer(&q.used[0]))%4 != 0 {
		return nil, errors.New("virtq: rings are not 4-byte aligned")
	}
	q.nextUsed = uint16(atomic.LoadUint32(q.word(q.used)) >> 16)
	return q, nil
}

// word is the 32-bit word at the start of a ring: flags in the low half, the index in the high half (little
// endian), read and written whole so the driver never sees half an update.
func (q *Queue) word(ring []byte) *uint32 { return (*uint32)(unsafe.Pointer(&ring[0])) }

// LastAvail is the index of the next chain the device will take (what GET_VRING_BASE answers).
func (q *Queue) LastAvail() uint16 { return q.lastAvail }

// Pop takes the next available chain, or returns nil when there is none. An error means the driver wrote
// a malformed chain; the chain is then consumed (and given back used with length 0), so that one bad chain
// cannot stall the queue.
func (q *Queue) Pop() (*Chain, error) {
	availIdx := uint16(atomic.LoadUint32(q.word(q.avail)) >> 16)
	if availIdx == q.lastAvail {
		return nil, nil
	}
	if uint16(availIdx-q.lastAvail) > q.Num {
		return nil, fmt.Errorf("%w: available index %d is %d ahead of %d, more than the ring's %d", ErrRing, availIdx, availIdx-q.lastAvail, q.lastAvail, q.Num)
	}
	slot := 4 + 2*uint64(q.lastAvail%q.Num)
	head := binary.LittleEndian.Uint16(q.avail[slot:])
	q.lastAvail++
	c, err := q.chain(head)
	if err != nil {
		if head < q.Num {
			q.Push(head, 0)
		}
		return nil, err
	}
	return c, nil
}

func (q *Queue) chain(head uint16) (*Chain, error) {
	c := &Chain{Head: head}
	i := head
	for n := 0; ; n++ {
		if i >= q.Num {
			return nil, fmt.Errorf("virtq: descriptor index %d out of a ring of %d", i, q.Num)
		}
		if n >= int(q.Num) {
			return nil, fmt.Errorf("virtq: chain from %d is longer than the ring (a loop)", head)
		}
		d := q.desc[16*uint64(i):]
		addr := binary.LittleEndian.Uint64(d)
		length := binary.LittleEndian.Uint32(d[8:])
		flags := binary.LittleEndian.Uint16(d[12:])
		next := binary.LittleEndian.Uint16(d[14:])
		if flags&descIndirect != 0 {
			return nil, errors.New("virtq: indirect descriptor (not negotiated)")
		}
		buf, err := q.mem.Slice(addr, uint64(length))
		if err != nil {
			return nil, err
		}
		if flags&descWrite != 0 {
			c.Writable = append(c.Writable, buf)
		} else {
			if len(c.Writable) > 0 {
				return nil, errors.New("virtq: a readable descriptor after a writable one")
			}
			c.Readable = append(c.Readable, buf)
		}
		if flags&descNext == 0 {
			return c, nil
		}
		i = next
	}
}

// Push gives chain head back to the driver as used, with written bytes written into its writable buffers.
func (q *Queue) Push(head uint16, written uint32) {
	slot := 4 + 8*uint64(q.nextUsed%q.Num)
	binary.LittleEndian.PutUint32(q.used[slot:], uint32(head))
	binary.LittleEndian.PutUint32(q.used[slot+4:], written)
	q.nextUsed++
	// The element first, then the index (x86 keeps stores in order; the atomic store keeps Go's compiler
	// from moving it).
	atomic.StoreUint32(q.word(q.used), uint32(q.nextUsed)<<16)
}

// WantsInterrupt tells whether the driver asked to be notified of used buffers (VRING_AVAIL_F_NO_INTERRUPT
// clear).
func (q *Queue) WantsInterrupt() bool { return atomic.LoadUint32(q.word(q.avail))&1 == 0 }
