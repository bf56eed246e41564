package netstack

import (
	"fmt"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"

	"github.com/cloonix-go/cloonix/relay"
)

// This file holds every non-default gVisor setting the NAT uses, each with the reason. The numbers behind
// them are in ../shared/REFERENCE.md ("gVisor netstack: settings that matter").
//
// Where the dial-in time goes (bench/nat.sh and BenchmarkDialInThroughput, MTU 1500, 2 cores, profiled
// with -cpuprofile/-blockprofile):
//   - An earlier 0.45-1.3 Gbit/s at MTU 1500, with the CPU ~50% idle, came from the harness, not the
//     NAT: its NAT side was link.StreamPort on a socketpair (not the production path; it also woke its
//     writer once per frame), and its guest read with io.Copy into io.Discard, which reads 8 KiB at a
//     time. On the production path (lan.Switch, lan.RunQemuPort, a unix socket) with 256 KiB guest
//     reads, the same NAT moves 2.5-3.9 Gbit/s in one process and the CPU is ~90% busy: the fake
//     guest's gVisor input path takes ~46% of it, the NAT's send path (GSO split, the switch's copy,
//     writev) ~30%.
//   - The switch's per-port queue (1024 frames) overflows during slow start: 50-900 drops per GiB,
//     recovered by SACK without a timeout. It costs little; it is the LAN's congestion signal.
//   - GRO in the link endpoint (gVisor's stack/gro, flushed per batch) was tried and dropped: the
//     receiver then ACKs once per merged batch, the sender's ACK clock thins out, and MTU 1500 fell to
//     1.3-1.6 Gbit/s. Two gVisor traps on the way: software GSO gives every MSS piece PSH (which stops
//     GRO merging), and PacketData.ChecksumAtOffset ignores consumed headers (GRO's own checksum check
//     fails while the Ethernet header is in the buffer).
//   - Connect + 1 byte + close is ~110 us p50 in one process and 400-650 us across processes: the time is
//     goroutine hand-offs (front, TCP processor, switch port writers, stream readers: about ten per
//     round trip), each a futex wake-up of an idle thread on the other CPU. GOMAXPROCS=1 in the NAT's
//     process would keep them on one CPU; that is the daemon's call, not this package's.
//   - Profiled again for issue 15 (bench/fakeguest with FAKEGUEST_CPUPROFILE, connect + 1 byte + close,
//     MTU 1500, 2 cores shared with VM tests): the NAT's process is on CPU for only ~40-60% of the wall
//     time, so the latency is mostly waiting for the other process. Per connection there are five
//     frames each way, each its own writev and a wake-up of the other process (epoll, then a goroutine
//     hand-off there); with gVisor's hand-offs inside each process that is ~20 wake-ups in a row, and
//     an idle vCPU's wake-up costs tens of microseconds here. passt, a single-threaded C program on
//     epoll, measures about the same connect + 1 byte + close into the same fake guest, which puts the
//     floor in the harness and the kernel, not in the NAT. Of the CPU the NAT spends, ~35% is
//     syscalls (those writevs and the reads of the guest's frames), ~15% the scheduler (findRunnable,
//     futex: a goroutine readied on one P wakes an idle M for the other P, which spins; on 2 cores that
//     spin competes with the guest's process, which is why GOMAXPROCS=1 helps latency and costs
//     throughput), and 6-13% was runtime.newstack: each connection's new goroutines (the dialer's,
//     relay's) grew their stacks step by step inside gVisor's deep send path, copying every frame at
//     each step. DialTCP and relay now grow the stack once up front (relay.GrowStack): newstack fell
//     to ~3%, and the in-process BenchmarkConnectLatency (-cpu 1, 6 alternations) went from a median
//     131 to 122 us/op and p50 130 to 105 us; across processes the gain is inside the shared machine's
//     noise. A 1-byte request/response costs two frames each way: gVisor has no delayed ACK, so each
//     side sends a pure ACK before its application answers.

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

	// tcpBufDefault/tcpBufMax: several MiB of send and receive buffer. gonet never calls
	// ModerateRecvBuf, so receive-window auto-tuning does not run: the default must already be large.
	// Buffers fill only while data is queued, so idle flows cost nothing.
	tcpBufMin     = 4 << 10
	tcpBufDefault = 4 << 20
	tcpBufMax     = 8 << 20

	// copyBufSize: the copy buffer between a host socket and a gonet connection (relay's, shared with the
	// control API's tunnels and cloonix-proxy). gonet sends what one Write gives it as one segment train;
	// io.Copy's 32 KiB writes capped MTU 65520 at ~6.5 Gbit/s, 256 KiB reached 9-10.7 Gbit/s.
	copyBufSize = relay.BufSize

	// timeWait: a short TIME-WAIT so that many short DialTCP connections (ssh, ansible) from the NAT's
	// single address do not pile up ephemeral ports. The LAN is one hop, so late duplicates are unlikely.
	timeWait = 2 * time.Second
)

// egressBufSize bounds the send and receive buffers of a guest's egress TCP flow (the guest side of a
// connection the NAT dials out for it). The dial-in path (ssh, scp into VMs) keeps tcpBufDefault for
// throughput; an egress flow whose far end stalls would otherwise hold ~4.5 MiB of daemon heap (the 4 MiB
// receive buffer and the copy buffers: 16 stalled flows grew the heap by 138 MiB). With 1 MiB a flow holds
// at most ~1.5 MiB, and egress to the outside is rarely faster than what 1 MiB of window carries.
const egressBufSize = 1 << 20

// boundEgressBuffers applies egressBufSize to an egress flow's endpoint.
func boundEgressBuffers(ep tcpip.Endpoint) {
	ep.SocketOptions().SetReceiveBufferSize(egressBufSize, true)
	ep.SocketOptions().SetSendBufferSize(egressBufSize, true)
}

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
