// Package lan is the userspace Ethernet switch of a lab and the framing of qemu's stream netdev.
//
// A Switch is one LAN: a learning switch with MAC aging that floods broadcast, multicast and unknown
// unicast frames. Anything that can take a batch of frames (a FrameWriter) becomes a port with Attach.
// Each port has a bounded queue and one writer goroutine, so a slow or stuck port drops (and counts)
// frames instead of stalling the LAN. The forwarding path takes no switch-wide lock and allocates
// nothing per frame: the port table is an immutable snapshot behind an atomic pointer, the MAC table
// is a fixed open-addressed table of atomic words, and frames are copied into pooled buffers.
//
// RunQemuPort connects a port to a qemu "-netdev stream,server=on" UNIX socket, where each frame is a
// 4-byte big-endian length followed by the Ethernet frame, and reconnects when qemu restarts.
package lan
