// Package vm runs one qemu virtual machine: it builds the qemu argv from a Spec, creates the
// per-VM qcow2 overlay on the shared base image, probes whether KVM really works, starts qemu
// detached from the caller (own session, own log) so it survives labd, re-adopts it by pid and
// start time, talks QMP, stops it (ACPI power-off, then quit, then SIGKILL), writes the NoCloud
// day-0 seed ISO, and attaches a terminal to the serial console.
//
// The package knows nothing about labs or kinds beyond what a Spec says; package labd fills the
// Spec from the lab model and the node kind.
package vm
