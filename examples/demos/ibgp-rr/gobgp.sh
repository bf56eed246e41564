# gobgp: GoBGP, an iBGP client of rr announcing 10.4.0.0/24. Run with sh by `cloonix-labd config push`; safe
# to run again.
set -e
ip link set eth1 up
ip addr replace 10.0.0.4/24 dev eth1
cat >/etc/gobgpd.toml <<'CONF'
[global.config]
  as = 65000
  router-id = "10.0.0.4"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.0.0.1"
    peer-as = 65000
  [neighbors.timers.config]
    hold-time = 3
    keepalive-interval = 1
    connect-retry = 1
CONF
killall -q gobgpd || true
start-stop-daemon -S -b -x /usr/bin/gobgpd -- -f /etc/gobgpd.toml
i=0
until gobgp global >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "gobgpd did not answer" >&2; exit 1; }
	usleep 100000
done
gobgp global rib add -a ipv4 10.4.0.0/24
echo "gobgpd started, announcing 10.4.0.0/24"
