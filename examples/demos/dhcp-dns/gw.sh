# gw: routes between the clients (192.168.50.1) and the servers (10.0.20.1), and relays the clients' DHCP
# to Kea on srv with ISC's dhcrelay. Run with sh by `cloonix-labd config push`; safe to run again.
set -e
ip link set eth1 up
ip link set eth2 up
ip addr replace 192.168.50.1/24 dev eth1
ip addr replace 10.0.20.1/24 dev eth2
sysctl -q -w net.ipv4.ip_forward=1
killall -q dhcrelay || true
touch /var/lib/dhcp-relay.leases 2>/dev/null || true
# -id: the clients' side (downstream), -iu: the server's side (upstream).
dhcrelay -4 -q -id eth1 -iu eth2 10.0.20.53
echo "dhcrelay relays eth1 to 10.0.20.53"
