// Package vsockdev is a virtio-vsock device (virtio 1.2, 5.10) in this process, served to qemu over
// vhost-user (package vhostuser), so that the host opens streams to a guest's AF_VSOCK listener without the
// kernel's /dev/vhost-vsock and without root.
//
// The pieces: the guest posts empty buffers on the rx queue (0) for packets to it, and puts its packets on
// the tx queue (1); the event queue stays qemu's. A packet is a 44-byte header (ParseHeader) and data. A
// host-initiated stream (Device.Dial) sends REQUEST, the guest answers RESPONSE (or RST: nothing listens),
// then RW packets flow both ways under credit-based flow control: each side tells the other its buffer size
// (buf_alloc) and how much of what it received its reader has taken (fwd_cnt), and never sends more than the
// other can hold. SHUTDOWN closes one or both directions, RST ends a stream, CREDIT_UPDATE/REQUEST carry
// credit alone. The guest cannot open streams to the host: a guest reaches host services only if the lab
// file says so, and this device offers none.
//
// Everything the guest writes is checked: a header that is short, names another CID or type, data past the
// credit it was given, or a packet for a stream that does not exist is answered with RST or dropped, never
// trusted. The host end of a stream is a net.Conn (Conn).
//
// The device runs in a helper process next to each VM's qemu (`cloonix-labd vsock-backend`, ServeControl),
// because qemu 7.2 cannot renegotiate vhost-user-vsock with a new back-end: the helper lives as long as the
// VM, and the lab daemon dials through its control socket (DialControl), so a daemon restart keeps vsock.
package vsockdev

import (
	"encoding/binary"
	"fmt"
)

// HostCID is the host's context id; the guest's comes from the device's config space.
const HostCID = 2

// Packet operations.
const (
	OpRequest       = 1
	OpResponse      = 2
	OpRST           = 3
	OpShutdown      = 4
	OpRW            = 5
	OpCreditUpdate  = 6
	OpCreditRequest = 7
)

// TypeStream is the only socket type this device carries.
const TypeStream = 1

// Shutdown flags.
const (
	ShutdownRcv  = 1 // the sender will receive no more
	ShutdownSend = 2 // the sender will send no more
)

// HeaderLen is the size of a packet header.
const HeaderLen = 44

// MaxData is the most data one guest packet may carry (the Linux driver sends at most 64 KiB).
const MaxData = 64 << 10

// Header is a virtio-vsock packet header (struct virtio_vsock_hdr, little endian).
type Header struct {
	SrcCID, DstCID   uint64
	SrcPort, DstPort uint32
	Len              uint32
	Type, Op         uint16
	Flags            uint32
	BufAlloc, FwdCnt uint32
}

// ParseHeader reads a header from the first HeaderLen bytes of b.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, fmt.Errorf("vsock: packet of %d bytes, shorter than its %d-byte header", len(b), HeaderLen)
	}
	le := binary.LittleEndian
	return Header{
		SrcCID: le.Uint64(b), DstCID: le.Uint64(b[8:]),
		SrcPort: le.Uint32(b[16:]), DstPort: le.Uint32(b[20:]),
		Len: le.Uint32(b[24:]), Type: le.Uint16(b[28:]), Op: le.Uint16(b[30:]),
		Flags: le.Uint32(b[32:]), BufAlloc: le.Uint32(b[36:]), FwdCnt: le.Uint32(b[40:]),
	}, nil
}

// Put writes the header into the first HeaderLen bytes of b.
func (h Header) Put(b []byte) {
	le := binary.LittleEndian
	le.PutUint64(b, h.SrcCID)
	le.PutUint64(b[8:], h.DstCID)
	le.PutUint32(b[16:], h.SrcPort)
	le.PutUint32(b[20:], h.DstPort)
	le.PutUint32(b[24:], h.Len)
	le.PutUint16(b[28:], h.Type)
	le.PutUint16(b[30:], h.Op)
	le.PutUint32(b[32:], h.Flags)
	le.PutUint32(b[36:], h.BufAlloc)
	le.PutUint32(b[40:], h.FwdCnt)
}

// Marshal returns the header's bytes.
func (h Header) Marshal() []byte {
	b := make([]byte, HeaderLen)
	h.Put(b)
	return b
}
