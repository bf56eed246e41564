// Package labd is the lab daemon: it brings one lab up (overlays, day-0 media, qemu processes, userspace LANs
// and NAT entities), watches its VMs, serves the control API on the lab's UNIX socket, and takes it all down
// again. cmd/cloonix-labd runs it as `cloonix-labd serve`; the rest of that CLI talks to it through package api.
package labd
