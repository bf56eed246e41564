# rtr: the validator. Serves the demo's one ROA to routers over RTR on port 3323 with StayRTR, from a JSON
# file in the rpki-client format. Run with sh by `cloonix-labd config push`; safe to run again.
set -e
ip link set eth1 up
ip addr replace 10.0.9.9/24 dev eth1
mkdir -p /etc/rpki
cat >/etc/rpki/roas.json <<'ROAS'
{"roas": [{"prefix": "192.168.2.0/24", "maxLength": 24, "asn": "AS65002"}]}
ROAS
killall -q stayrtr || true
# -checktime=false: the file has no metadata with a generation time to check.
start-stop-daemon -S -b -x /usr/bin/stayrtr -- -bind :3323 -cache /etc/rpki/roas.json -checktime=false -refresh 5
echo "stayrtr serving /etc/rpki/roas.json on port 3323"
