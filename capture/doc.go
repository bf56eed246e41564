// Package capture records and streams the frames of a lab's LANs, rootless, from the userspace switch itself.
//
// A LAN (one per lan.Switch) installs the switch's tap. It keeps a flight recorder, a ring of the LAN's last
// frames bounded in bytes, so that a capture can start in the past (--last 60s), and hands each frame to the
// live captures that want it. A Session is one capture: a set of Targets (a whole LAN, or one port of it: a
// VM's NIC), a bounded queue per session that drops (and counts) rather than ever holding up the switch,
// and a writer that produces pcapng with one interface per target, named after it, so that Wireshark shows
// which link a frame was on, and with the drop counts in interface statistics blocks.
package capture
