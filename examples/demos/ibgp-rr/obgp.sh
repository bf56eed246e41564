# obgp: OpenBGPD, an iBGP client of rr announcing 10.3.0.0/24. Run with sh by `cloonix-labd config push`;
# safe to run again.
set -e
ip link set eth1 up
ip addr replace 10.0.0.3/24 dev eth1
mkdir -p /run/openbgpd
cat >/etc/bgpd.conf <<'CONF'
AS 65000
router-id 10.0.0.3
network 10.3.0.0/24
neighbor 10.0.0.1 {
	remote-as 65000
	descr "rr"
	holdtime 3
}
allow from any
allow to any
CONF
chmod 600 /etc/bgpd.conf
killall -q bgpd || true
sleep 1
bgpd -f /etc/bgpd.conf
echo "openbgpd started"
