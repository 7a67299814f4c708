"""A full mesh of 16 nodes (120 WireGuard peerings over 120 underlay links,
15 BGP sessions and 15 peers on ONE WireGuard interface per node): every node
reaches every other, every prefix is learned from its origin. About 20 s on
2 cores (docs/topologies.md); WGRS_TOPO_SCALE=N runs N nodes instead."""

import os
import time

import topo
from topofix import build, scenario, topo_harness  # noqa: F401 (fixtures)

NODES = int(os.environ.get("WGRS_TOPO_SCALE", "16"))


def test_full_mesh_scale(scenario, build):
    start = time.monotonic()
    # BFD at 1 s: at 100 ms, 16 userspace WireGuard processes forwarding
    # 15 x 2 x 10 packets a second each saturate 2 cores, and the pings that
    # check reachability time out (seen on a slower machine of this kind).
    t = build(topo.mesh(NODES), gateways="cryptokey", bfd_ms=1000)
    built = time.monotonic() - start
    t.wait_full_reachability()
    reached = time.monotonic() - start
    t.wait_invariants()
    for node in t.nodes.values():
        t.wait(lambda: all({p.prefix6, p.prefix4} <= node.allowed()[p.name]
                           for p in node.peer_nodes()),
               "%s: every prefix learned from its origin" % node.name)
        t.wait(lambda: node.rtsync.iface()["learned"] == 2 * (NODES - 1),
               "%s: %d learned prefixes" % (node.name, 2 * (NODES - 1)))
    first, last = t["n1"], t["n%d" % NODES]
    t.check_data_plane(first, last)
    scenario.line("%d nodes, %d peerings: built in %.1fs, every node reaches every "
                  "other after %.1fs" % (NODES, len(t.edges), built, reached))
