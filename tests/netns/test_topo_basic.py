"""The topologies of the suite, with BGP (BIRD 2) over one WireGuard
interface per node and each gateway source of docs/spec.md 2.8: every node
reaches every other through the data plane, and what wg-rtsync learned is
exactly what the routes say (docs/topologies.md)."""

import pytest

import topo
from topofix import build, scenario, topo_harness  # noqa: F401 (fixtures)

HUB = "h-s1 h-s2"
MESH4 = "a-b a-c a-d b-c b-d c-d"
CHAIN = "a-b b-c c-d"


def learned_by(t, node_name, peer_name):
    """What node must have learned into peer's AllowedIPs: the prefixes of
    every node its best route reaches through that peer."""
    node, peer = t[node_name], t[peer_name]
    return {dst for dst, gw in node.best_routes().items() if gw == peer.ll}


def learned_problems(t):
    """Where the AllowedIPs or the daemon's learned count do not match what
    the best routes say (empty when converged)."""
    problems = []
    for node in t.nodes.values():
        allowed = node.allowed()
        total = 0
        for peer in node.peer_nodes():
            want = learned_by(t, node.name, peer.name)
            total += len(want)
            if not want <= allowed.get(peer.name, set()):
                problems.append("%s: %s's AllowedIPs lack %s" % (
                    node.name, peer.name, sorted(want - allowed.get(peer.name, set()))))
        # Counted as learned; the peers' link-local addresses stay static.
        st = node.rtsync.iface() or {}
        if st.get("learned") != total:
            problems.append("%s: %s learned, want %d" % (node.name, st.get("learned"), total))
    return problems


def check_learned(t):
    t.wait(lambda: not learned_problems(t), "the learned prefixes to match the routes")


@pytest.mark.parametrize("gateways", topo.GATEWAY_SOURCES)
def test_hub_and_spokes(scenario, build, gateways):
    t = build(HUB, gateways=gateways)
    t.wait_full_reachability()
    t.wait_invariants()
    check_learned(t)
    # The spokes reach each other through the hub: on the hub each spoke's
    # prefixes are in that spoke's AllowedIPs; on a spoke, everything is
    # in the hub's.
    h, s1, s2 = t["h"], t["s1"], t["s2"]
    for p in (s2.prefix6, s2.prefix4):
        t.wait_routes(h, p, "s2")
    for p in (h.prefix6, s2.prefix6, s2.prefix4):
        t.wait_routes(s1, p, "h")
    t.check_data_plane(s1, s2)


@pytest.mark.parametrize("gateways", topo.GATEWAY_SOURCES)
def test_full_mesh_of_four(scenario, build, gateways):
    t = build(MESH4, gateways=gateways)
    t.wait_full_reachability()
    t.wait_invariants()
    check_learned(t)
    # Every prefix is learned from the peer that originates it, once BGP
    # has settled on the direct paths.
    for node in t.nodes.values():
        for peer in node.peer_nodes():
            t.wait_routes(node, peer.prefix6, peer.name)
            t.wait_routes(node, peer.prefix4, peer.name)
    check_learned(t)
    t.check_data_plane(t["a"], t["d"])


@pytest.mark.parametrize("gateways", topo.GATEWAY_SOURCES)
def test_chain_forwards_through_learned_allowed_ips(scenario, build, gateways):
    t = build(CHAIN, gateways=gateways)
    a, b, c, d = (t[n] for n in "abcd")
    # a and d are no WireGuard peers of each other: a's only peer is b.
    assert list(a.peers) == ["b"] and list(d.peers) == ["c"]
    t.wait_full_reachability()
    t.wait_invariants()
    check_learned(t)
    # At every hop the far end's prefixes are learned into the next hop's
    # AllowedIPs, in both directions.
    towards_d = {a: "b", b: "c", c: "d"}
    towards_a = {b: "a", c: "b", d: "c"}
    for node, peer in towards_d.items():
        t.wait_routes(node, d.prefix6, peer)
        t.wait_routes(node, d.prefix4, peer)
    for node, peer in towards_a.items():
        t.wait_routes(node, a.prefix6, peer)
        t.wait_routes(node, a.prefix4, peer)
    t.check_data_plane(a, d)
    t.check_data_plane(d, a)


def test_gateway_sources_give_the_expected_link_local_addresses(scenario, build):
    """derived: each node's link-local address is the one wg-rtsync derives
    from its key; the others use fe80::N."""
    t = build("a-b", gateways="derived", rtsync="none")
    for node in t.nodes.values():
        res = node.ns.run([topo.find_binary(), "addr", node.wg.public_key, "fe80::/64"])
        assert node.ll == res.stdout.split()[0]
        assert node.ll in node.ns.addresses(node.wg.name)
    t2 = build("a-b", gateways="explicit", rtsync="none")
    assert [n.ll for n in t2.nodes.values()] == ["fe80::1", "fe80::2"]
