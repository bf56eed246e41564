# A client: asks for an address on eth1 with DHCP (BusyBox's udhcpc), which the relay on gw carries to Kea;
# the lease's router stays second to eth0's default route, its DNS server becomes the resolver. Run with sh
# by `cloonix-labd config push`; safe to run again.
set -e
ip link set eth1 up
udhcpc -i eth1 -n -q -t 10 -T 1 -s /etc/cloonix/udhcpc.script
ip route replace 10.0.20.0/24 via 192.168.50.1 dev eth1
ip -4 addr show dev eth1
