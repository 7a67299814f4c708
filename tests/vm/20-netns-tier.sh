#!/bin/bash
# The namespace tier against kernel WireGuard: the command of the CI job
# that runs it natively (WGRS_WG_FLAVOUR=kernel ./ci/test netns), on the
# subset of tests/vm/netns-subset.txt (WGRS_NETNS_SUBSET; set and empty:
# the whole tier), with the build the VM tier was given and BIRD 2
# (WGRS_VM_BIRD): the devices are `ip link add NAME type wireguard`,
# wg-rtsync uses its generic netlink backend, and 6.12 removes AllowedIPs
# through the temporary peer.
# timeout: 3600
set -u
cd "${WGRS_SRCDIR:-$(dirname "$0")/../..}" || exit 1
# Process start is slow under TCG: a longer deadline for every wait. The
# 16-node mesh of test_topo_scale (16 BIRDs, 120 peerings, every node
# pinging 30 addresses) needed more than 180 s to reach everything there.
export WGRS_CONVERGE=${WGRS_CONVERGE:-120} WGRS_TOPO_CONVERGE=${WGRS_TOPO_CONVERGE:-600}
export WGRS_WG_FLAVOUR=kernel WGRS_BIRD=${WGRS_VM_BIRD:-bird2}
export WGRS_NETNS_SUBSET=${WGRS_NETNS_SUBSET-tests/vm/netns-subset.txt}
# ./ci/test's own logs stay in the VM; the scenario's output is the record.
unset WGRS_LOGDIR
exec ./ci/test netns
