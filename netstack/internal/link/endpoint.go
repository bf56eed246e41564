// Package link is the Ethernet link endpoint shared by the NAT and the test guest: a gVisor
// stack.LinkEndpoint whose wire is a frame port (a LAN switch port or a qemu stream socket).
package link

import (
	"sync"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/cloonix-go/cloonix/lan"
)

// FramePort takes Ethernet frames from the NAT toward the LAN. lan.Port implements it: Input copies the
// frame before it returns, so the NAT reuses one buffer for every frame. Input is never called
// concurrently.
type FramePort interface {
	Input(frame []byte)
}

// Endpoint is a NIC: an Ethernet link endpoint whose wire is a LAN port.
//
// Outbound, gVisor calls WritePackets (one packet at a time with software GSO). Each packet is
// flattened into one reused buffer and handed to the port, whose queue and writer goroutine batch the
// frames toward each stream socket, so there is no allocation and no goroutine hand-off per frame here.
// Inbound, WriteFrames delivers a batch of frames from the switch to the stack.
type Endpoint struct {
	mtu     atomic.Uint32
	addr    tcpip.LinkAddress
	caps    stack.LinkEndpointCapabilities
	gsoSize uint32

	mu         sync.RWMutex
	dispatcher stack.NetworkDispatcher
	onClose    func()

	outMu   sync.Mutex
	port    FramePort
	scratch []byte

	rxFrames, rxDropped, txFrames, txDropped atomic.Uint64
}

var (
	_ stack.LinkEndpoint = (*Endpoint)(nil)
	_ stack.GSOEndpoint  = (*Endpoint)(nil)
)

// New returns an endpoint with IP MTU mtu, MAC addr, the given capabilities and software GSO size
// (0 disables GSO).
func New(mtu uint32, addr tcpip.LinkAddress, caps stack.LinkEndpointCapabilities, gsoSize uint32) *Endpoint {
	e := &Endpoint{addr: addr, caps: caps, gsoSize: gsoSize, scratch: make([]byte, lan.MaxFrameSize+stack.GVisorGSOMaxSize)}
	e.mtu.Store(mtu)
	return e
}

// SetPort sets where outbound frames go.
func (e *Endpoint) SetPort(p FramePort) {
	e.outMu.Lock()
	e.port = p
	e.outMu.Unlock()
}

// Deliver hands inbound Ethernet frames to the stack; they are copied. Frames not addressed to this NIC's MAC (unknown
// unicast the switch floods) are dropped here: the IP layer is promiscuous, so it would otherwise
// intercept traffic between VMs.
func (e *Endpoint) Deliver(frames [][]byte) {
	e.mu.RLock()
	d := e.dispatcher
	e.mu.RUnlock()
	if d == nil {
		e.rxDropped.Add(uint64(len(frames)))
		return
	}
	for _, f := range frames {
		if len(f) < header.EthernetMinimumSize || len(f) > lan.MaxFrameSize {
			e.rxDropped.Add(1)
			continue
		}
		eth := header.Ethernet(f)
		dst := eth.DestinationAddress()
		var typ tcpip.PacketType
		switch {
		case dst == e.addr:
			typ = tcpip.PacketHost
		case dst == header.EthernetBroadcastAddress:
			typ = tcpip.PacketBroadcast
		case header.IsMulticastEthernetAddress(dst):
			typ = tcpip.PacketMulticast
		default:
			e.rxDropped.Add(1)
			continue
		}
		proto := eth.Type()
		if proto != header.IPv4ProtocolNumber && proto != header.ARPProtocolNumber {
			e.rxDropped.Add(1)
			continue
		}
		pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(f)})
		if _, ok := pkt.LinkHeader().Consume(header.EthernetMinimumSize); !ok {
			pkt.DecRef()
			e.rxDropped.Add(1)
			continue
		}
		pkt.PktType = typ
		e.rxFrames.Add(1)
		d.DeliverNetworkPacket(proto, pkt)
		pkt.DecRef()
	}
}

// WritePackets implements stack.LinkWriter. The stack keeps its references to pkts: copy, never DecRef.
func (e *Endpoint) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	e.outMu.Lock()
	defer e.outMu.Unlock()
	n := 0
	for _, pkt := range pkts.AsSlice() {
		if e.port == nil {
			e.txDropped.Add(1)
			n++
			continue
		}
		size := pkt.Size()
		if size > len(e.scratch) {
			e.txDropped.Add(1)
			n++
			continue
		}
		vl, off := pkt.AsViewList()
		w := 0
		for v := vl.Front(); v != nil; v = v.Next() {
			s := v.AsSlice()
			if off >= len(s) {
				off -= len(s)
				continue
			}
			w += copy(e.scratch[w:], s[off:])
			off = 0
		}
		e.port.Input(e.scratch[:w])
		e.txFrames.Add(1)
		n++
	}
	return n, nil
}

// MTU implements stack.LinkEndpoint: the IP MTU (the frame carries 14 more bytes).
func (e *Endpoint) MTU() uint32 { return e.mtu.Load() }

// SetMTU implements stack.LinkEndpoint.
func (e *Endpoint) SetMTU(mtu uint32) { e.mtu.Store(mtu) }

// MaxHeaderLength implements stack.LinkEndpoint.
func (e *Endpoint) MaxHeaderLength() uint16 { return header.EthernetMinimumSize }

// LinkAddress implements stack.LinkEndpoint.
func (e *Endpoint) LinkAddress() tcpip.LinkAddress { return e.addr }

// SetLinkAddress implements stack.LinkEndpoint; the NAT's MAC is fixed at creation.
func (e *Endpoint) SetLinkAddress(tcpip.LinkAddress) {}

// Capabilities implements stack.LinkEndpoint.
func (e *Endpoint) Capabilities() stack.LinkEndpointCapabilities { return e.caps }

// GSOMaxSize implements stack.GSOEndpoint.
func (e *Endpoint) GSOMaxSize() uint32 { return e.gsoSize }

// SupportedGSO implements stack.GSOEndpoint: software (gVisor) GSO only.
func (e *Endpoint) SupportedGSO() stack.SupportedGSO {
	if e.gsoSize == 0 {
		return stack.GSONotSupported
	}
	return stack.GVisorGSOSupported
}

// Counters returns frames received, dropped on receive, sent and dropped on send.
func (e *Endpoint) Counters() (rx, rxDropped, tx, txDropped uint64) {
	return e.rxFrames.Load(), e.rxDropped.Load(), e.txFrames.Load(), e.txDropped.Load()
}

// Attach implements stack.LinkEndpoint.
func (e *Endpoint) Attach(d stack.NetworkDispatcher) {
	e.mu.Lock()
	e.dispatcher = d
	e.mu.Unlock()
}

// IsAttached implements stack.LinkEndpoint.
func (e *Endpoint) IsAttached() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.dispatcher != nil
}

// Wait implements stack.LinkEndpoint; the endpoint owns no goroutines.
func (e *Endpoint) Wait() {}

// ARPHardwareType implements stack.LinkEndpoint.
func (e *Endpoint) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareEther }

// AddHeader implements stack.LinkEndpoint.
func (e *Endpoint) AddHeader(pkt *stack.PacketBuffer) {
	eth := header.Ethernet(pkt.LinkHeader().Push(header.EthernetMinimumSize))
	eth.Encode(&header.EthernetFields{
		SrcAddr: pkt.EgressRoute.LocalLinkAddress,
		DstAddr: pkt.EgressRoute.RemoteLinkAddress,
		Type:    pkt.NetworkProtocolNumber,
	})
}

// ParseHeader implements stack.LinkEndpoint.
func (e *Endpoint) ParseHeader(pkt *stack.PacketBuffer) bool {
	_, ok := pkt.LinkHeader().Consume(header.EthernetMinimumSize)
	return ok
}

// Close implements stack.LinkEndpoint.
func (e *Endpoint) Close() {
	e.mu.Lock()
	f := e.onClose
	e.onClose = nil
	e.mu.Unlock()
	if f != nil {
		f()
	}
}

// SetOnCloseAction implements stack.LinkEndpoint.
func (e *Endpoint) SetOnCloseAction(f func()) {
	e.mu.Lock()
	e.onClose = f
	e.mu.Unlock()
}
