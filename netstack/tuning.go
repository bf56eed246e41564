package netstack

import (
	"fmt"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// This file holds every non-default gVisor setting the NAT uses, each with the reason. The numbers behind
// them are in ../shared/REFERENCE.md ("gVisor netstack: settings that matter").

const (
	// linkCapabilities: the guest's checksums are valid (virtio-net without a vnet header computes them
	// in full), so claim RX checksum offload and skip verifying them. Never claim TX offload: a stream
	// guest gets no offload metadata and would drop frames with partial checksums. ARP resolution is
	// required on an Ethernet LAN.
	linkCapabilities = stack.CapabilityRXChecksumOffload | stack.CapabilityResolutionRequired

	// gsoMaxSize: software GSO at 64 KiB lets TCP build one large segment and cut it into MSS-sized
	// packets in a tight loop, which took ~27% of the CPU off at MTU 1500. channel.Endpoint is fixed at
	// 32 KiB, which is why the NAT has its own endpoint.
	gsoMaxSize = stack.GVisorGSOMaxSize

	// groEnabled: generic receive offload in the link endpoint. Each batch of frames the switch hands
	// the NAT is merged per TCP flow (gVisor's stack/gro, flushed at the end of the batch, so no
	// timer and no added delay) before TCP sees it: fewer, larger segments for guest uploads through
	// the NAT and fewer ACKs to process.
	groEnabled = true

	// tcpBufDefault/tcpBufMax: several MiB of send and receive buffer. gonet never calls
	// ModerateRecvBuf, so receive-window auto-tuning does not run: the default must already be large.
	// Buffers fill only while data is queued, so idle flows cost nothing.
	tcpBufMin     = 4 << 10
	tcpBufDefault = 4 << 20
	tcpBufMax     = 8 << 20

	// copyBufSize: the copy buffer between a host socket and a gonet connection. gonet sends what one
	// Write gives it as one segment train; io.Copy's 32 KiB writes capped MTU 65520 at ~6.5 Gbit/s, 256 KiB
	// reached 9-10.7 Gbit/s.
	copyBufSize = 256 << 10

	// timeWait: a short TIME-WAIT so that many short DialVM connections (ssh, ansible) from the NAT's
	// single address do not pile up ephemeral ports. The LAN is one hop, so late duplicates are unlikely.
	timeWait = 2 * time.Second
)

// tuneStack applies the TCP settings to s.
func tuneStack(s *stack.Stack) error {
	opts := []struct {
		name string
		opt  tcpip.SettableTransportProtocolOption
	}{
		// SACK on: with RACK off it removed the spurious retransmits seen on bursts.
		{"SACK", ptr(tcpip.TCPSACKEnabled(true))},
		// RACK off (TCPRecovery 0): tailscale measured RACK as slow in gVisor (tailscale/tailscale#9707).
		{"RACK off", ptr(tcpip.TCPRecovery(0))},
		// reno: cubic overflowed in gVisor under tailscale's load (tailscale/tailscale#9707); on a
		// lossless one-hop LAN reno is as fast.
		{"reno", ptr(tcpip.CongestionControlOption("reno"))},
		{"send buffer range", &tcpip.TCPSendBufferSizeRangeOption{Min: tcpBufMin, Default: tcpBufDefault, Max: tcpBufMax}},
		{"receive buffer range", &tcpip.TCPReceiveBufferSizeRangeOption{Min: tcpBufMin, Default: tcpBufDefault, Max: tcpBufMax}},
		// Auto-tuning only runs for callers of ModerateRecvBuf; keep it on for any that do.
		{"moderate receive buffer", ptr(tcpip.TCPModerateReceiveBufferOption(true))},
		{"TIME-WAIT", ptr(tcpip.TCPTimeWaitTimeoutOption(timeWait))},
	}
	for _, o := range opts {
		// Options must be passed as pointers, or SetTransportProtocolOption silently ignores them.
		if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, o.opt); err != nil {
			return fmt.Errorf("gVisor TCP option %s: %s", o.name, err)
		}
	}
	return nil
}

// tuneNIC makes the NIC accept and send for any address: promiscuous so that packets to outside
// destinations reach the TCP and UDP forwarders, spoofing so that forwarded connections answer from the
// outside address the guest dialled.
func tuneNIC(s *stack.Stack, nic tcpip.NICID) error {
	if err := s.SetPromiscuousMode(nic, true); err != nil {
		return fmt.Errorf("gVisor promiscuous mode: %s", err)
	}
	if err := s.SetSpoofing(nic, true); err != nil {
		return fmt.Errorf("gVisor spoofing: %s", err)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
