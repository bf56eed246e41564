// Package cvac makes the day-0 medium of Cisco IOS-XE routers (CSR 1000v, Catalyst 8000v): the
// iosxe_config.txt that the router's CVAC service applies at first boot, and the ISO9660 CD-ROM that carries
// it.
//
// The CD-ROM must hold IOSXE_CONFIG.TXT;1 in the primary directory, as `genisoimage -l` writes it (the
// recipe vrnetlab proves). Nothing says IOS-XE reads Rock Ridge or Joliet names, and neither Go ISO library
// writes that primary name (see iso.go), so the package has its own minimal ISO9660 writer, and a reader
// that ignores every extension to check it.
package cvac
