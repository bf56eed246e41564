# srv: Kea's DHCPv4 server for the relayed clients' subnet 192.168.50.0/24 (router 192.168.50.1, DNS
# 10.0.20.53, domain lab) and Unbound, which answers for the zone lab. Run with sh by `cloonix-labd config
# push`; safe to run again.
set -e
ip link set eth1 up
ip addr replace 10.0.20.53/24 dev eth1
ip route replace 192.168.50.0/24 via 10.0.20.1 dev eth1
mkdir -p /etc/kea /var/lib/kea /run/kea /etc/unbound
cat >/etc/kea/kea-dhcp4.conf <<'CONF'
{ "Dhcp4": {
    "interfaces-config": { "interfaces": [ "eth1" ], "dhcp-socket-type": "udp" },
    "lease-database": { "type": "memfile", "persist": true, "name": "/var/lib/kea/kea-leases4.csv", "lfc-interval": 0 },
    "valid-lifetime": 600,
    "subnet4": [ {
        "id": 1,
        "subnet": "192.168.50.0/24",
        "pools": [ { "pool": "192.168.50.100 - 192.168.50.150" } ],
        "option-data": [
            { "name": "routers", "data": "192.168.50.1" },
            { "name": "domain-name-servers", "data": "10.0.20.53" },
            { "name": "domain-name", "data": "lab" } ]
    } ],
    "loggers": [ { "name": "kea-dhcp4", "output_options": [ { "output": "/var/log/kea-dhcp4.log" } ], "severity": "INFO" } ]
} }
CONF
cat >/etc/unbound/unbound.conf <<'CONF'
server:
	interface: 10.0.20.53
	access-control: 192.168.50.0/24 allow
	access-control: 10.0.20.0/24 allow
	do-ip6: no
	username: ""
	chroot: ""
	directory: "/etc/unbound"
	pidfile: "/run/unbound.pid"
	use-syslog: no
	logfile: "/var/log/unbound.log"
	module-config: "iterator"
	local-zone: "lab." static
	local-data: "srv.lab. IN A 10.0.20.53"
	local-data: "gw.lab. IN A 192.168.50.1"
	local-data: "www.lab. IN A 10.0.20.53"
CONF
killall -q kea-dhcp4 unbound || true
sleep 1
KEA_PIDFILE_DIR=/run/kea KEA_LOCKFILE_DIR=/run/kea start-stop-daemon -S -b -x /usr/sbin/kea-dhcp4 -- -c /etc/kea/kea-dhcp4.conf
unbound -c /etc/unbound/unbound.conf
echo "kea-dhcp4 and unbound started"
