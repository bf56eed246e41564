// Package vhostuser is the back-end side of the vhost-user protocol (qemu docs/interop/vhost-user.rst): a
// device implemented in this process, outside qemu, for a guest that qemu runs. qemu (the front-end)
// connects to the back-end's UNIX socket and sends, as messages of a 12-byte header and a payload:
//
//   - the features (GET/SET_FEATURES, GET/SET_PROTOCOL_FEATURES) and the device's config space (GET_CONFIG:
//     for vsock, the guest's CID);
//   - the guest's memory (SET_MEM_TABLE): file descriptors of the shared guest RAM (memory-backend-memfd,
//     share=on), which the back-end maps, each with its guest-physical and qemu-virtual address;
//   - each virtqueue's size, ring addresses (in qemu's address space), first index (SET_VRING_NUM, _ADDR,
//     _BASE), and two eventfds: kick (the guest made buffers available) and call (the back-end tells the
//     guest it used some); SET_VRING_ENABLE starts and stops a ring, GET_VRING_BASE stops it and asks where
//     it stopped.
//
// Serve answers those messages and hands each started ring to a Device as a virtq.Queue. It offers the
// least qemu 7.2 needs for vhost-user-vsock: VIRTIO_F_VERSION_1, VHOST_USER_F_PROTOCOL_FEATURES, and of the
// protocol features CONFIG and REPLY_ACK. Everything in a message is checked; a malformed one ends the
// session with an error, never a panic.
package vhostuser

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"

	"github.com/cloonix-go/cloonix/virtq"
)

// Device is a virtio device served over vhost-user.
type Device interface {
	// Features are the device's own virtio feature bits (VERSION_1 is added).
	Features() uint64
	// Config is the device's config space.
	Config() []byte
	// NumQueues is how many virtqueues the back-end serves.
	NumQueues() int
	// Attach gives the device queue i, ready to use, and the function that notifies the guest of used
	// buffers; a nil queue takes it away (the ring stopped, or the guest memory changed). Attach must not
	// return while the device still uses the old queue.
	Attach(i int, q *virtq.Queue, notify func())
	// Kick says the guest made buffers available on queue i.
	Kick(i int)
}

// Stopper is an optional Device interface: Stopped says the front-end stopped ring i (GET_VRING_BASE: the
// guest reset its driver, rebooted, or qemu is quitting), unlike the brief detach of a memory-table change.
// A device forgets there what the guest forgot.
type Stopper interface {
	Stopped(i int)
}

// Message types (vhost-user.rst, "Front-end message types").
const (
	getFeatures         = 1
	setFeatures         = 2
	setOwner            = 3
	resetOwner          = 4
	setMemTable         = 5
	setLogBase          = 6
	setLogFD            = 7
	setVringNum         = 8
	setVringAddr        = 9
	setVringBase        = 10
	getVringBase        = 11
	setVringKick        = 12
	setVringCall        = 13
	setVringErr         = 14
	getProtocolFeatures = 15
	setProtocolFeatures = 16
	getQueueNum         = 17
	setVringEnable      = 18
	getConfig           = 24
	setConfig           = 25
)

// Feature bits.
const (
	FeatureVersion1         = 1 << 32 // VIRTIO_F_VERSION_1
	FeatureProtocolFeatures = 1 << 30 // VHOST_USER_F_PROTOCOL_FEATURES
	protoReplyAck           = 1 << 3  // VHOST_USER_PROTOCOL_F_REPLY_ACK
	protoConfig             = 1 << 9  // VHOST_USER_PROTOCOL_F_CONFIG
)

// Header flags.
const (
	flagVersion   = 0x1
	flagReply     = 0x4
	flagNeedReply = 0x8
)

// Limits on what a front-end may send.
const (
	maxPayload = 4096 // the largest message (a config of 256 bytes, a memory table of 8 regions) is far smaller
	maxRegions = 8
	maxFDs     = 8
	maxQueue   = 32768
)

type ring struct {
	num               uint16
	desc, used, avail uint64 // qemu addresses
	addrSet           bool
	base              uint16
	kick, call        *os.File
	enabled           bool
	q                 *virtq.Queue // non-nil while attached
	kickStop          chan struct{}
}

// session is one front-end connection.
type session struct {
	conn     *net.UnixConn
	dev      Device
	log      *slog.Logger
	features uint64
	protocol uint64
	mem      *virtq.Memory
	maps     [][]byte
	rings    []*ring
	wg       sync.WaitGroup
}

// Serve answers the front-end on conn until it hangs up (nil), ctx ends, or it sends something malformed
// (an error). It closes conn and every file the front-end passed.
func Serve(ctx context.Context, conn *net.UnixConn, dev Device, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &session{conn: conn, dev: dev, log: log}
	for i := 0; i < dev.NumQueues(); i++ {
		s.rings = append(s.rings, &ring{})
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer s.close()
	for {
		req, flags, payload, fds, err := s.read()
		if err != nil {
			closeFDs(fds)
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		reply, err := s.handle(req, payload, fds)
		if err != nil {
			return fmt.Errorf("vhost-user message %d: %w", req, err)
		}
		if reply == nil && flags&flagNeedReply != 0 {
			reply = make([]byte, 8) // REPLY_ACK: success
		}
		if reply != nil {
			if err := s.write(req, reply); err != nil {
				return err
			}
		}
	}
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		syscall.Close(fd)
	}
}

// read reads one message: the header (with the file descriptors that came with it), then the payload.
func (s *session) read() (req, flags uint32, payload []byte, fds []int, err error) {
	hdr := make([]byte, 12)
	oob := make([]byte, syscall.CmsgSpace(maxFDs*4))
	n, oobn, _, _, err := s.conn.ReadMsgUnix(hdr, oob)
	if oobn > 0 {
		msgs, perr := syscall.ParseSocketControlMessage(oob[:oobn])
		if perr == nil {
			for _, m := range msgs {
				if got, rerr := syscall.ParseUnixRights(&m); rerr == nil {
					fds = append(fds, got...)
				}
			}
		}
	}
	if err != nil {
		if n == 0 {
			return 0, 0, nil, fds, io.EOF
		}
		return 0, 0, nil, fds, err
	}
	if n == 0 {
		return 0, 0, nil, fds, io.EOF
	}
	if n < 12 {
		if _, err := io.ReadFull(s.conn, hdr[n:]); err != nil {
			return 0, 0, nil, fds, fmt.Errorf("read header: %w", err)
		}
	}
	req = binary.LittleEndian.Uint32(hdr)
	flags = binary.LittleEndian.Uint32(hdr[4:])
	size := binary.LittleEndian.Uint32(hdr[8:])
	if flags&0x3 != flagVersion {
		return 0, 0, nil, fds, fmt.Errorf("vhost-user version %d, want 1", flags&0x3)
	}
	if size > maxPayload {
		return 0, 0, nil, fds, fmt.Errorf("message %d: payload of %d bytes", req, size)
	}
	payload = make([]byte, size)
	if _, err := io.ReadFull(s.conn, payload); err != nil {
		return 0, 0, nil, fds, fmt.Errorf("read payload: %w", err)
	}
	return req, flags, payload, fds, nil
}

func (s *session) write(req uint32, payload []byte) error {
	b := make([]byte, 12+len(payload))
	binary.LittleEndian.PutUint32(b, req)
	binary.LittleEndian.PutUint32(b[4:], flagVersion|flagReply)
	binary.LittleEndian.PutUint32(b[8:], uint32(len(payload)))
	copy(b[12:], payload)
	_, err := s.conn.Write(b)
	return err
}

func u64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

// need checks a payload's size and the number of descriptors that came with it (closing extra ones).
func need(payload []byte, size int, fds []int, nfd int) error {
	if len(fds) > nfd {
		closeFDs(fds[nfd:])
	}
	if len(payload) < size {
		closeFDs(fds[:min(nfd, len(fds))])
		return fmt.Errorf("payload of %d bytes, want %d", len(payload), size)
	}
	return nil
}

// ringOf returns the ring a payload's first u32 names (the low 8 bits for kick/call/err).
func (s *session) ringOf(idx uint32) (*ring, int, error) {
	if int(idx) >= len(s.rings) {
		return nil, 0, fmt.Errorf("ring %d, the device has %d", idx, len(s.rings))
	}
	return s.rings[idx], int(idx), nil
}

func (s *session) handle(req uint32, p []byte, fds []int) ([]byte, error) {
	le := binary.LittleEndian
	switch req {
	case getFeatures:
		closeFDs(fds)
		return u64(s.dev.Features() | FeatureVersion1 | FeatureProtocolFeatures), nil
	case setFeatures:
		if err := need(p, 8, fds, 0); err != nil {
			return nil, err
		}
		s.features = le.Uint64(p)
		return nil, nil
	case getProtocolFeatures:
		closeFDs(fds)
		return u64(protoConfig | protoReplyAck), nil
	case setProtocolFeatures:
		if err := need(p, 8, fds, 0); err != nil {
			return nil, err
		}
		s.protocol = le.Uint64(p)
		return nil, nil
	case setOwner, resetOwner, setLogBase, setLogFD, setConfig:
		closeFDs(fds)
		return nil, nil
	case getQueueNum:
		closeFDs(fds)
		return u64(uint64(len(s.rings))), nil
	case getConfig:
		closeFDs(fds)
		if len(p) < 12 {
			return nil, fmt.Errorf("config request of %d bytes", len(p))
		}
		off, size := le.Uint32(p), le.Uint32(p[4:])
		cfg := s.dev.Config()
		out := make([]byte, 12+int(min(size, 256)))
		copy(out, p[:12])
		if uint64(off) < uint64(len(cfg)) {
			copy(out[12:], cfg[off:])
		}
		return out, nil
	case setMemTable:
		return nil, s.setMemTable(p, fds)
	case setVringNum, setVringBase, setVringEnable:
		if err := need(p, 8, fds, 0); err != nil {
			return nil, err
		}
		r, i, err := s.ringOf(le.Uint32(p))
		if err != nil {
			return nil, err
		}
		v := le.Uint32(p[4:])
		switch req {
		case setVringNum:
			if v == 0 || v > maxQueue || v&(v-1) != 0 {
				return nil, fmt.Errorf("ring %d size %d", i, v)
			}
			r.num = uint16(v)
		case setVringBase:
			r.base = uint16(v)
		case setVringEnable:
			r.enabled = v == 1
			if !r.enabled {
				s.detach(i)
			}
		}
		return nil, s.maybeStart(i)
	case setVringAddr:
		if err := need(p, 40, fds, 0); err != nil {
			return nil, err
		}
		r, i, err := s.ringOf(le.Uint32(p))
		if err != nil {
			return nil, err
		}
		r.desc, r.used, r.avail = le.Uint64(p[8:]), le.Uint64(p[16:]), le.Uint64(p[24:])
		r.addrSet = true
		return nil, s.maybeStart(i)
	case getVringBase:
		closeFDs(fds)
		if len(p) < 8 {
			return nil, errors.New("short GET_VRING_BASE")
		}
		r, i, err := s.ringOf(le.Uint32(p))
		if err != nil {
			return nil, err
		}
		s.detach(i)
		r.enabled = false
		s.stopKick(r)
		if st, ok := s.dev.(Stopper); ok {
			st.Stopped(i)
		}
		out := make([]byte, 8)
		le.PutUint32(out, uint32(i))
		le.PutUint32(out[4:], uint32(r.base))
		return out, nil
	case setVringKick, setVringCall, setVringErr:
		if len(p) < 8 {
			closeFDs(fds)
			return nil, errors.New("short vring file message")
		}
		v := le.Uint64(p)
		var f *os.File
		if v&0x100 == 0 {
			if len(fds) < 1 {
				return nil, errors.New("vring file message without a descriptor")
			}
			closeFDs(fds[1:])
			f = os.NewFile(uintptr(fds[0]), "vring-eventfd")
		} else {
			closeFDs(fds)
		}
		r, i, err := s.ringOf(uint32(v & 0xff))
		if err != nil {
			if f != nil {
				f.Close()
			}
			return nil, err
		}
		switch req {
		case setVringErr:
			if f != nil {
				f.Close()
			}
		case setVringCall:
			old := r.call
			r.call = f
			if r.q != nil {
				s.dev.Attach(i, r.q, s.notifier(r)) // the new call fd from now on
			}
			if old != nil {
				old.Close()
			}
		case setVringKick:
			s.stopKick(r)
			r.kick = f
			if s.protocol == 0 && s.features&FeatureProtocolFeatures == 0 {
				r.enabled = true // without protocol features a ring starts with its kick
			}
			return nil, s.maybeStart(i)
		}
		return nil, nil
	}
	closeFDs(fds)
	return nil, fmt.Errorf("unsupported message type %d", req)
}

// setMemTable maps the guest's memory regions and, for the rings that run, makes new queues on them.
func (s *session) setMemTable(p []byte, fds []int) error {
	le := binary.LittleEndian
	if len(p) < 8 {
		closeFDs(fds)
		return errors.New("short memory table")
	}
	n := int(le.Uint32(p))
	if n < 1 || n > maxRegions || len(p) < 8+32*n || len(fds) != n {
		closeFDs(fds)
		return fmt.Errorf("memory table of %d regions with %d descriptors in %d bytes", n, len(fds), len(p))
	}
	mem := &virtq.Memory{}
	var maps [][]byte
	fail := func(err error) error {
		for _, m := range maps {
			syscall.Munmap(m)
		}
		closeFDs(fds)
		return err
	}
	for i := 0; i < n; i++ {
		e := p[8+32*i:]
		gpa, size, ua, off := le.Uint64(e), le.Uint64(e[8:]), le.Uint64(e[16:]), le.Uint64(e[24:])
		if size == 0 || size > 1<<40 || off > 1<<40 {
			return fail(fmt.Errorf("region %d: size %d at offset %d", i, size, off))
		}
		m, err := syscall.Mmap(fds[i], 0, int(size+off), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
		if err != nil {
			return fail(fmt.Errorf("map region %d (%d bytes): %w", i, size, err))
		}
		maps = append(maps, m)
		mem.Regions = append(mem.Regions, virtq.Region{GuestPhys: gpa, User: ua, Data: m[off : off+size]})
	}
	closeFDs(fds) // the mappings stay
	running := []int{}
	for i, r := range s.rings {
		if r.q != nil {
			s.detach(i)
			running = append(running, i)
		}
	}
	old := s.maps
	s.mem, s.maps = mem, maps
	for _, i := range running {
		if err := s.maybeStart(i); err != nil {
			return err
		}
	}
	for _, m := range old {
		syscall.Munmap(m)
	}
	return nil
}

// maybeStart attaches ring i to the device once it has everything: memory, size, addresses, a kick and
// an enable.
func (s *session) maybeStart(i int) error {
	r := s.rings[i]
	if r.q != nil || s.mem == nil || r.num == 0 || !r.addrSet || r.kick == nil || !r.enabled {
		return nil
	}
	var gpa [3]uint64
	for k, ua := range []uint64{r.desc, r.avail, r.used} {
		g, err := s.mem.UserToGuest(ua)
		if err != nil {
			return fmt.Errorf("ring %d: %w", i, err)
		}
		gpa[k] = g
	}
	q, err := virtq.New(s.mem, r.num, gpa[0], gpa[1], gpa[2], r.base)
	if err != nil {
		return fmt.Errorf("ring %d: %w", i, err)
	}
	r.q = q
	s.dev.Attach(i, q, s.notifier(r))
	if r.kickStop == nil {
		stop := make(chan struct{})
		r.kickStop = stop
		kick := r.kick
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			buf := make([]byte, 8)
			for {
				if _, err := kick.Read(buf); err != nil {
					return
				}
				select {
				case <-stop:
					return
				default:
				}
				s.dev.Kick(i)
			}
		}()
	}
	s.dev.Kick(i) // buffers may be there already
	return nil
}

// detach takes ring i away from the device and remembers where it stopped.
func (s *session) detach(i int) {
	r := s.rings[i]
	if r.q == nil {
		return
	}
	s.dev.Attach(i, nil, nil)
	r.base = r.q.LastAvail()
	r.q = nil
}

// stopKick ends the ring's kick reader and closes the kick file.
func (s *session) stopKick(r *ring) {
	if r.kickStop != nil {
		close(r.kickStop)
		r.kickStop = nil
	}
	if r.kick != nil {
		r.kick.Close() // ends the reader's Read
		r.kick = nil
	}
}

// notifier signals the ring's call eventfd.
func (s *session) notifier(r *ring) func() {
	call := r.call
	one := u64(1)
	return func() {
		if call != nil {
			_, _ = call.Write(one)
		}
	}
}

func (s *session) close() {
	for i, r := range s.rings {
		s.detach(i)
		s.stopKick(r)
		if r.call != nil {
			r.call.Close()
			r.call = nil
		}
	}
	s.conn.Close()
	s.wg.Wait()
	for _, m := range s.maps {
		syscall.Munmap(m)
	}
	s.maps = nil
}
