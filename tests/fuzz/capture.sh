#!/usr/bin/env bash
# capture.sh: real rtnetlink messages as seeds of the rtnl fuzz targets,
# beyond the fixtures (tests/fixtures/rtnl): attributes the decoders skip
# or must bound (metrics, cache info, preferences, labels, bridge ports,
# resilient and fdb nexthop groups, wide multipath).
#
#   sudo tests/fuzz/capture.sh BUILD_DIR
#
# Runs in a network namespace of its own (wgrs-fzcap-PID, deleted on the way
# out, also on failure), with rtnl_capture from BUILD_DIR/tests/unit, and
# writes corpus/rtnl_*/capture-*.bin. Only documentation and link-local
# addresses. What the kernel cannot make (a module it lacks) is skipped.
set -eu

build=${1:?usage: capture.sh BUILD_DIR}
cap=$(realpath "$build/tests/unit/rtnl_capture")
out=$(dirname "$(realpath "$0")")/corpus
ns=wgrs-fzcap-$$

[ -x "$cap" ] || {
	echo "capture.sh: no $cap (build it first)" >&2
	exit 1
}
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
ip netns add "$ns"

in_ns() { ip netns exec "$ns" "$@"; }
# ev TARGET NAME GROUPS CMD...: the notifications CMD caused.
ev() {
	local target=$1 name=$2 groups=$3
	shift 3
	in_ns "$cap" -g "$groups" "$out/$target/capture-$name.bin" -- "$@" ||
		echo "capture.sh: skipped $name ($*)" >&2
}
# dump TARGET NAME KIND
dump() { in_ns "$cap" -d "$3" "$out/$1/capture-$2.bin"; }
# maybe CMD...: a command the kernel may not support.
maybe() { in_ns "$@" 2>/dev/null || echo "capture.sh: skipped: $*" >&2; }

in_ns ip link set lo up
ev rtnl_link veth-bridge link sh -c '
	ip link add va type veth peer name vb &&
	ip link add br0 type bridge &&
	ip link set vb master br0 &&
	ip link set va up && ip link set vb up && ip link set br0 up'
maybe ip link add vx0 type vxlan id 42 dstport 4789 local 192.0.2.1
maybe ip tuntap add mode tun tun0
in_ns ip link set dev va mtu 1420
in_ns ip link set dev va alias "uplink to 192.0.2.2"

ev rtnl_addr flags addr4,addr6 sh -c '
	ip addr add 192.0.2.1/24 brd + dev va label va:one &&
	ip addr add 198.51.100.1 peer 198.51.100.2/32 dev va &&
	ip -6 addr add 2001:db8:1::1/64 dev va nodad noprefixroute valid_lft 3600 preferred_lft 1800 &&
	ip -6 addr add fe80::1/64 dev va nodad'

ev rtnl_route attributes route4,route6 sh -c '
	ip route add 198.51.100.64/26 via 192.0.2.2 dev va proto static metric 10 mtu 1400 advmss 1360 src 192.0.2.1 realm 7 &&
	ip route add 203.0.113.0/24 tos 0x10 via 192.0.2.3 dev va proto 98 &&
	ip route add 203.0.113.128/25 via 192.0.2.9 dev va onlink proto bird &&
	ip -6 route add 2001:db8:400::/48 via fe80::2 dev va pref high expires 600 proto bird &&
	ip -6 route add 2001:db8:500::/48 via fe80::2 dev va proto bird metric 100 &&
	ip -6 route append 2001:db8:500::/48 via fe80::3 dev va proto bird metric 100 &&
	ip route add 198.51.100.128/25 proto bird nexthop via 192.0.2.2 dev va weight 1 \
		nexthop via 192.0.2.3 dev va weight 2 nexthop via 192.0.2.4 dev va weight 3 \
		nexthop via 192.0.2.5 dev va weight 4 nexthop via 192.0.2.6 dev va weight 5 \
		nexthop via 192.0.2.7 dev va weight 6 nexthop via 192.0.2.8 dev va weight 255 \
		nexthop via inet6 fe80::4 dev va weight 7 &&
	ip route add prohibit 203.0.113.64/27 table 100 &&
	ip route add throw 203.0.113.96/27 table 100 &&
	ip route add multicast 198.18.0.0/15 dev va table 100'

ev rtnl_nexthop groups nexthop sh -c '
	ip nexthop add id 1 via 192.0.2.2 dev va &&
	ip nexthop add id 2 via 192.0.2.3 dev va &&
	ip nexthop add id 3 via fe80::2 dev va &&
	ip nexthop add id 20 group 1,1/2,255 &&
	ip nexthop add id 21 group 1/2 type resilient buckets 8 idle_timer 60'
maybe ip nexthop add id 4 via 192.0.2.4 fdb
maybe ip nexthop add id 22 group 4 fdb
ev rtnl_route nhid route4,route6 sh -c '
	ip route add 198.51.100.0/27 nhid 20 proto bird &&
	ip route add 198.51.100.32/27 nhid 21 proto bird &&
	ip -6 route add 2001:db8:600::/48 nhid 3 proto bird'

dump rtnl_link dump-link link
dump rtnl_addr dump-addr addr
dump rtnl_route dump-route4 route4
dump rtnl_route dump-route6 route6
dump rtnl_nexthop dump-nexthop nexthop

ev rtnl_route deletes route4,route6,nexthop sh -c '
	ip nexthop del id 20 && ip link set va down'
ev rtnl_link deletes link ip link del br0

echo "capture.sh: seeds written to $out/rtnl_*/capture-*.bin"
