# h2: in the upper half of 192.168.2.0/24, the half r3's hijack (192.168.2.128/25) would take; routes through
# r2. Run with sh by `cloonix-labd config push`; safe to run again.
set -e
ip link set eth1 up
ip addr replace 192.168.2.130/24 dev eth1
ip route replace 192.168.0.0/16 via 192.168.2.1 dev eth1
