# h1: an address on the stretched segment 192.168.10.0/24 (VNI 10) through leaf l1 (eth0 keeps the
# management LAN and its default route through the NAT). Run with sh by `cloonix-labd config push`.
set -e
ip link set eth1 up
ip addr replace 192.168.10.11/24 dev eth1
