# h1: an address on its edge LAN and routes to the demo's networks through r1 (eth0 keeps the management
# LAN and its default route through the NAT). Run with sh by `cloonix-labd config push`; safe to run again.
set -e
ip link set eth1 up
ip addr replace 192.168.1.10/24 dev eth1
ip route replace 192.168.0.0/16 via 192.168.1.1 dev eth1
