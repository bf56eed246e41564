# bird: BIRD 2, an iBGP client of rr announcing 1000 prefixes (10.100.0.0/24 ... 10.103.231.0/24, written by
# this script), and keeping what rr reflects. Run with sh by `cloonix-labd config push`; safe to run again.
set -e
ip link set eth1 up
ip addr replace 10.0.0.2/24 dev eth1
mkdir -p /etc/bird /run/bird
i=0
: >/etc/bird/prefixes.conf
while [ $i -lt 1000 ]; do
	echo "route 10.$((100 + i / 256)).$((i % 256)).0/24 blackhole;" >>/etc/bird/prefixes.conf
	i=$((i + 1))
done
cat >/etc/bird/bird.conf <<'CONF'
router id 10.0.0.2;
protocol device {}
protocol static thousand {
	ipv4;
	include "/etc/bird/prefixes.conf";
}
protocol bgp to_rr {
	local 10.0.0.2 as 65000;
	neighbor 10.0.0.1 as 65000;
	hold time 3;
	keepalive time 1;
	connect retry time 1;
	ipv4 {
		import all;
		export where source = RTS_STATIC;
		next hop self;
	};
}
CONF
killall -q bird || true
bird -c /etc/bird/bird.conf -s /run/bird/bird.ctl
echo "bird: $(wc -l </etc/bird/prefixes.conf) static prefixes to announce"
