#!/bin/bash
# The topology suite (tests/netns/test_topo_*.py) against kernel WireGuard:
# the same scenario code as on the host, with WGRS_WG_FLAVOUR=kernel, so the
# devices are `ip link add NAME type wireguard` and wg-rtsync uses its
# generic netlink backend. A subset, since every process start is slow under
# TCG (a test takes 30 to 110 s here, 2 to 7 s on the host): hub and spokes,
# the chain, learn and withdraw, the next-hop move after a link failure, the
# restart after kill -9, and the teardown checks; one gateway source each.
# Arguments go to pytest (-k, -x, ...).
# timeout: 900
set -u
cd "${WGRS_SRCDIR:-$(dirname "$0")/../..}" || exit 1
# Debian's python3 (with python3-pytest), not one earlier in PATH.
PYTHON=${PYTHON:-/usr/bin/python3}
export WGRS_WG_FLAVOUR=kernel
# Process start is slow under TCG: a longer deadline for every wait.
export WGRS_TOPO_CONVERGE=${WGRS_TOPO_CONVERGE:-180}
N=tests/netns
exec "$PYTHON" -m pytest -q -p no:cacheprovider "$@" \
	"$N/test_topo_basic.py::test_hub_and_spokes[cryptokey]" \
	"$N/test_topo_basic.py::test_chain_forwards_through_learned_allowed_ips[derived]" \
	"$N/test_topo_scenarios.py::test_learn_and_withdraw[explicit]" \
	"$N/test_topo_move.py::test_next_hop_moves_when_an_underlay_link_fails[cryptokey]" \
	"$N/test_topo_scenarios.py::test_restart_after_kill9_with_changes_while_down" \
	"$N/test_topo_cleanup.py::test_cleanup_removes_everything" \
	"$N/test_topo_zz_leftovers.py"
