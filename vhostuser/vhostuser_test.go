package vhostuser

import (
	"context"
	"encoding/binary"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/cloonix-go/cloonix/virtq"
)

// fakeDevice records what the back-end gives it.
type fakeDevice struct {
	mu       sync.Mutex
	attached map[int]*virtq.Queue
	kicks    map[int]int
}

func (f *fakeDevice) Features() uint64 { return 0 }
func (f *fakeDevice) Config() []byte   { return binary.LittleEndian.AppendUint64(nil, 42) }
func (f *fakeDevice) NumQueues() int   { return 2 }
func (f *fakeDevice) Attach(i int, q *virtq.Queue, notify func()) {
	f.mu.Lock()
	f.attached[i] = q
	f.mu.Unlock()
}
func (f *fakeDevice) Kick(i int) {
	f.mu.Lock()
	f.kicks[i]++
	f.mu.Unlock()
}

// frontEnd plays qemu on one end of a socket pair.
type frontEnd struct {
	t *testing.T
	c *net.UnixConn
}

func (fe *frontEnd) send(req uint32, flags uint32, payload []byte, fds ...int) {
	b := binary.LittleEndian.AppendUint32(nil, req)
	b = binary.LittleEndian.AppendUint32(b, flagVersion|flags)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
	b = append(b, payload...)
	var oob []byte
	if len(fds) > 0 {
		oob = syscall.UnixRights(fds...)
	}
	if _, _, err := fe.c.WriteMsgUnix(b, oob, nil); err != nil {
		fe.t.Fatal(err)
	}
}

func (fe *frontEnd) reply() []byte {
	fe.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	h := make([]byte, 12)
	if _, err := fe.c.Read(h); err != nil {
		fe.t.Fatalf("no reply: %v", err)
	}
	if f := binary.LittleEndian.Uint32(h[4:]); f != flagVersion|flagReply {
		fe.t.Fatalf("reply flags %#x, qemu wants exactly 0x5", f)
	}
	p := make([]byte, binary.LittleEndian.Uint32(h[8:]))
	if _, err := fe.c.Read(p); err != nil && len(p) > 0 {
		fe.t.Fatal(err)
	}
	return p
}

func u32s(v ...uint32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, x)
	}
	return b
}

func pair(t *testing.T) (*frontEnd, *net.UnixConn) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "sock")
		defer f.Close() // FileConn holds a copy
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		return c.(*net.UnixConn)
	}
	return &frontEnd{t: t, c: conn(fds[0])}, conn(fds[1])
}

// TestNegotiation runs qemu 7.2's sequence for vhost-user-vsock on a real memfd and eventfds: features,
// config (the CID), the memory table, both rings; the device gets its queues and kicks, and GET_VRING_BASE
// takes them back.
func TestNegotiation(t *testing.T) {
	fe, be := pair(t)
	dev := &fakeDevice{attached: map[int]*virtq.Queue{}, kicks: map[int]int{}}
	done := make(chan error, 1)
	go func() { done <- Serve(context.Background(), be, dev, nil) }()

	fe.send(getFeatures, 0, nil)
	if f := binary.LittleEndian.Uint64(fe.reply()); f&FeatureVersion1 == 0 || f&FeatureProtocolFeatures == 0 {
		t.Fatalf("features %#x", f)
	}
	fe.send(getProtocolFeatures, 0, nil)
	if f := binary.LittleEndian.Uint64(fe.reply()); f&protoConfig == 0 {
		t.Fatalf("protocol features %#x lack CONFIG", f)
	}
	fe.send(setProtocolFeatures, 0, binary.LittleEndian.AppendUint64(nil, protoConfig|protoReplyAck))
	fe.send(setOwner, 0, nil)
	fe.send(getConfig, 0, append(u32s(0, 8, 0), make([]byte, 8)...))
	if cfg := fe.reply(); len(cfg) != 20 || binary.LittleEndian.Uint64(cfg[12:]) != 42 {
		t.Fatalf("config %x", cfg)
	}
	fe.send(setFeatures, 0, binary.LittleEndian.AppendUint64(nil, FeatureVersion1|FeatureProtocolFeatures))

	mfd, err := memfd(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	table := u32s(1, 0)
	table = binary.LittleEndian.AppendUint64(table, 0)          // guest phys
	table = binary.LittleEndian.AppendUint64(table, 1<<20)      // size
	table = binary.LittleEndian.AppendUint64(table, 0x7f000000) // qemu address
	table = binary.LittleEndian.AppendUint64(table, 0)          // offset
	fe.send(setMemTable, flagNeedReply, table, mfd)
	if ack := fe.reply(); len(ack) != 8 || binary.LittleEndian.Uint64(ack) != 0 {
		t.Fatalf("REPLY_ACK %x", ack)
	}
	for i := uint32(0); i < 2; i++ {
		base := uint64(0x7f000000 + 0x10000*uint64(i))
		fe.send(setVringNum, 0, u32s(i, 64))
		fe.send(setVringBase, 0, u32s(i, 0))
		addr := u32s(i, 0)
		addr = binary.LittleEndian.AppendUint64(addr, base)        // desc
		addr = binary.LittleEndian.AppendUint64(addr, base+0x2000) // used
		addr = binary.LittleEndian.AppendUint64(addr, base+0x1000) // avail
		addr = binary.LittleEndian.AppendUint64(addr, 0)
		fe.send(setVringAddr, 0, addr)
		kick, _ := eventfd()
		fe.send(setVringKick, 0, binary.LittleEndian.AppendUint64(nil, uint64(i)), kick)
		call, _ := eventfd()
		fe.send(setVringCall, 0, binary.LittleEndian.AppendUint64(nil, uint64(i)), call)
		fe.send(setVringEnable, 0, u32s(i, 1))
		syscall.Close(kick)
		syscall.Close(call)
	}
	fe.send(getFeatures, 0, nil) // a barrier: everything before it is handled
	fe.reply()
	dev.mu.Lock()
	if dev.attached[0] == nil || dev.attached[1] == nil || dev.kicks[0] == 0 {
		t.Errorf("attached %v kicks %v", dev.attached, dev.kicks)
	}
	dev.mu.Unlock()
	fe.send(getVringBase, 0, u32s(1, 0))
	if st := fe.reply(); binary.LittleEndian.Uint32(st) != 1 || binary.LittleEndian.Uint32(st[4:]) != 0 {
		t.Errorf("vring base %x", st)
	}
	dev.mu.Lock()
	if dev.attached[1] != nil {
		t.Error("GET_VRING_BASE left the ring attached")
	}
	dev.mu.Unlock()
	fe.c.Close()
	if err := <-done; err != nil {
		t.Errorf("Serve after the front-end hung up: %v", err)
	}
}

// TestMalformed: bad messages end the session with an error, never a panic.
func TestMalformed(t *testing.T) {
	for name, send := range map[string]func(fe *frontEnd){
		"oversized payload":   func(fe *frontEnd) { fe.send(setVringNum, 0, make([]byte, maxPayload+1)) },
		"ring out of range":   func(fe *frontEnd) { fe.send(setVringNum, 0, u32s(7, 64)) },
		"ring size not 2^n":   func(fe *frontEnd) { fe.send(setVringNum, 0, u32s(0, 100)) },
		"short vring addr":    func(fe *frontEnd) { fe.send(setVringAddr, 0, u32s(0, 0)) },
		"table without fds":   func(fe *frontEnd) { fe.send(setMemTable, 0, append(u32s(1, 0), make([]byte, 32)...)) },
		"unknown message":     func(fe *frontEnd) { fe.send(99, 0, nil) },
		"kick without its fd": func(fe *frontEnd) { fe.send(setVringKick, 0, binary.LittleEndian.AppendUint64(nil, 0)) },
	} {
		t.Run(name, func(t *testing.T) {
			fe, be := pair(t)
			dev := &fakeDevice{attached: map[int]*virtq.Queue{}, kicks: map[int]int{}}
			done := make(chan error, 1)
			go func() { done <- Serve(context.Background(), be, dev, nil) }()
			send(fe)
			select {
			case err := <-done:
				if err == nil {
					t.Error("no error")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the session did not end")
			}
			fe.c.Close()
		})
	}
}

func memfd(size int) (int, error) {
	fd, _, e := syscall.Syscall(319, uintptr(unsafePtr("cloonix-test")), 0, 0) // memfd_create
	if e != 0 {
		return -1, e
	}
	return int(fd), syscall.Ftruncate(int(fd), int64(size))
}

func eventfd() (int, error) {
	fd, _, e := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

func unsafePtr(s string) unsafe.Pointer {
	b := append([]byte(s), 0)
	return unsafe.Pointer(&b[0])
}
