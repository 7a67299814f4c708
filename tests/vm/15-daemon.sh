#!/bin/bash
# The daemon's namespace tests (tests/netns/test_daemon.py) against kernel
# WireGuard: WGRS_WG_FLAVOUR=kernel makes their device with `ip link add NAME
# type wireguard`, so wg-rtsync uses its generic netlink backend, and 6.12
# removes AllowedIPs through the temporary peer. A subset: learn and
# withdraw, IPv4 via IPv6, nexthop objects, install, a foreign route blocking
# it, link down and up, a restart after kill -9, the dry run.
# Arguments go to pytest (-k, -x, ...).
# timeout: 600
set -u
cd "${WGRS_SRCDIR:-$(dirname "$0")/../..}" || exit 1
PYTHON=${PYTHON:-/usr/bin/python3}
export WGRS_WG_FLAVOUR=kernel
# Process start is slow under TCG: a longer deadline for every wait.
export WGRS_CONVERGE=${WGRS_CONVERGE:-120}
T=tests/netns/test_daemon.py
exec "$PYTHON" -m pytest -q -p no:cacheprovider "$@" \
	"$T::test_route_is_learned_and_withdrawn" \
	"$T::test_ipv4_route_via_ipv6_next_hop_is_learned" \
	"$T::test_route_through_nexthop_object_is_learned" \
	"$T::test_static_allowed_ip_is_installed_and_removed" \
	"$T::test_foreign_route_blocks_install" \
	"$T::test_link_down_and_up_converges" \
	"$T::test_restart_after_kill9_converges" \
	"$T::test_dry_run_changes_nothing_and_prints_the_plan"
