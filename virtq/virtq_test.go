package virtq

import (
	"encoding/binary"
	"strings"
	"testing"
)

// ring lays a queue of num entries out in one region, as a driver would: descriptors at 0x1000, the
// available ring at 0x2000, the used ring at 0x3000, buffers from 0x10000.
type ring struct {
	mem  *Memory
	data []byte
	num  uint16
	next uint16 // next avail slot
}

func newRing(num uint16) *ring {
	data := make([]byte, 1<<20)
	return &ring{mem: &Memory{Regions: []Region{{GuestPhys: 0x100000, User: 0x7f0000000000, Data: data}}}, data: data, num: num}
}

func (r *ring) desc(i uint16, addr uint64, n uint32, flags, next uint16) {
	d := r.data[0x1000+16*int(i):]
	binary.LittleEndian.PutUint64(d, addr)
	binary.LittleEndian.PutUint32(d[8:], n)
	binary.LittleEndian.PutUint16(d[12:], flags)
	binary.LittleEndian.PutUint16(d[14:], next)
}

func (r *ring) offer(head uint16) {
	binary.LittleEndian.PutUint16(r.data[0x2000+4+2*int(r.next%r.num):], head)
	r.next++
	binary.LittleEndian.PutUint16(r.data[0x2002:], r.next)
}

func (r *ring) queue(t *testing.T) *Queue {
	q, err := New(r.mem, r.num, 0x101000, 0x102000, 0x103000, 0)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestChains(t *testing.T) {
	r := newRing(8)
	q := r.queue(t)
	if c, err := q.Pop(); c != nil || err != nil {
		t.Fatalf("empty ring: %v %v", c, err)
	}
	copy(r.data[0x10000:], "header")
	r.desc(0, 0x110000, 6, descNext, 1)
	r.desc(1, 0x111000, 100, descWrite, 0)
	r.offer(0)
	c, err := q.Pop()
	if err != nil || c == nil || len(c.Readable) != 1 || string(c.Readable[0]) != "header" || c.WritableLen() != 100 {
		t.Fatalf("chain: %+v %v", c, err)
	}
	copy(c.Writable[0], "answer")
	q.Push(c.Head, 6)
	if idx := binary.LittleEndian.Uint16(r.data[0x3002:]); idx != 1 {
		t.Errorf("used idx %d", idx)
	}
	if id, n := binary.LittleEndian.Uint32(r.data[0x3004:]), binary.LittleEndian.Uint32(r.data[0x3008:]); id != 0 || n != 6 {
		t.Errorf("used elem %d/%d", id, n)
	}
	if string(r.data[0x11000:0x11006]) != "answer" {
		t.Errorf("written %q", r.data[0x11000:0x11006])
	}
	if q.LastAvail() != 1 {
		t.Errorf("last avail %d", q.LastAvail())
	}
}

// TestMalformedChains: what a guest can write wrong is an error, the chain is given back, and the next
// good chain still works.
func TestMalformedChains(t *testing.T) {
	for _, c := range []struct {
		name string
		set  func(r *ring)
		want string
	}{
		{"loop", func(r *ring) { r.desc(0, 0x110000, 8, descNext, 1); r.desc(1, 0x110000, 8, descNext, 0) }, "loop"},
		{"next out of range", func(r *ring) { r.desc(0, 0x110000, 8, descNext, 99) }, "out of a ring"},
		{"address outside memory", func(r *ring) { r.desc(0, 0x900000000, 8, 0, 0) }, "outside guest memory"},
		{"length past the end", func(r *ring) { r.desc(0, 0x1ff000, 0x2000, 0, 0) }, "outside guest memory"},
		{"wrapping address", func(r *ring) { r.desc(0, ^uint64(0)-4, 16, 0, 0) }, "outside guest memory"},
		{"indirect", func(r *ring) { r.desc(0, 0x110000, 16, descIndirect, 0) }, "indirect"},
		{"readable after writable", func(r *ring) { r.desc(0, 0x110000, 8, descWrite|descNext, 1); r.desc(1, 0x111000, 8, 0, 0) }, "readable descriptor after"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRing(8)
			q := r.queue(t)
			c.set(r)
			r.offer(0)
			if ch, err := q.Pop(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %+v, %v; want an error with %q", ch, err, c.want)
			}
			r.desc(2, 0x110000, 8, 0, 0)
			r.offer(2)
			if ch, err := q.Pop(); err != nil || ch == nil || ch.Head != 2 {
				t.Fatalf("the next good chain: %+v %v", ch, err)
			}
		})
	}
	t.Run("avail index far ahead", func(t *testing.T) {
		r := newRing(8)
		q := r.queue(t)
		binary.LittleEndian.PutUint16(r.data[0x2002:], 200)
		if _, err := q.Pop(); err == nil {
			t.Fatal("an available index 200 ahead of a ring of 8 was accepted")
		}
	})
	t.Run("head out of range", func(t *testing.T) {
		r := newRing(8)
		q := r.queue(t)
		r.offer(4000)
		if _, err := q.Pop(); err == nil {
			t.Fatal("head 4000 accepted")
		}
	})
}

func TestNewChecks(t *testing.T) {
	r := newRing(8)
	if _, err := New(r.mem, 6, 0x101000, 0x102000, 0x103000, 0); err == nil {
		t.Error("size 6 accepted")
	}
	if _, err := New(r.mem, 8, 0x101000, 0x102001, 0x103000, 0); err == nil {
		t.Error("misaligned avail ring accepted")
	}
	if _, err := New(r.mem, 8, 0x1ffff0, 0x102000, 0x103000, 0); err == nil {
		t.Error("descriptor table past the memory accepted")
	}
	if g, err := r.mem.UserToGuest(0x7f0000000010); err != nil || g != 0x100010 {
		t.Errorf("UserToGuest: %#x %v", g, err)
	}
}
