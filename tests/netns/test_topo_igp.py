"""OSPFv3 and Babel from BIRD 2 over ONE WireGuard interface per node:
what works and what WireGuard's lack of multicast prevents (docs/bird.md).

WireGuard sends a packet to the peer whose AllowedIPs hold its destination;
a multicast group (ff02::5 for OSPF, ff02::1:6 for Babel) reaches at most
the one peer that holds it, and no peer holds it by default. Each test
below shows the limit against a positive control in the same topology, so
that "nothing happened" is never just "not yet"."""

import re

from topofix import build, scenario, topo_harness  # noqa: F401 (fixtures)

MESH3 = "a-b a-c b-c"


def give_group(node, peer, group):
    """Puts a link-scope multicast group (ff02::/16, which never leaves the
    link) into peer's AllowedIPs on node, with peer's link-local address."""
    node.ns.run(["wg", "set", node.wg.name, "peer", peer.wg.public_key, "allowed-ips",
                 "%s/128,%s" % (peer.ll, group)])
    node.static[peer.name] |= {group}


def ospf_neighbors(node, instance="ospf6"):
    """{router IP: state} from `show ospf neighbors INSTANCE`."""
    out = node.birdc("show", "ospf", "neighbors", instance, check=False).stdout
    return {f[-1]: f[2] for f in (line.split() for line in out.splitlines())
            if len(f) >= 6 and re.match(r"\d+\.\d+\.\d+\.\d+$", f[0])}


def babel_neighbors(node):
    out = node.birdc("show", "babel", "neighbors", check=False).stdout
    return [f[0] for f in (line.split() for line in out.splitlines())
            if f and f[0].startswith("fe80:")]


def bird_log(node):
    with open(node.dir + "/bird.log") as f:
        return f.read()


def v6_targets(t, node):
    return [n.addr6 for n in t.nodes.values() if n is not node]


def v4_bird_routes(node):
    return [r for r in node.routes("-4") if str(r.get("protocol")) == "bird"]


def test_ospf3_ptmp_with_unicast_neighbours_works(scenario, build):
    """type ptmp with the neighbours listed: hellos go by unicast to each
    peer's link-local address, WireGuard carries them, OSPFv3 forms full
    adjacencies with every peer and wg-rtsync learns its IPv6 routes."""
    t = build(MESH3, igp="ospf3", igp_values={"OSPF_TYPE": "ptmp"})
    for node in t.nodes.values():
        t.wait(lambda: sorted(ospf_neighbors(node)) == sorted(p.ll for p in node.peer_nodes())
               and all(s.startswith("Full") for s in ospf_neighbors(node).values()),
               "%s: full OSPF adjacencies with every peer" % node.name)
    for node in t.nodes.values():
        t.wait(lambda: not node.ping_many(v6_targets(t, node)),
               "%s reaches every node over IPv6" % node.name)
        for peer in node.peer_nodes():
            t.wait_routes(node, peer.prefix6, peer.name)
    t.wait_invariants()
    t.check_data_plane(t["a"], t["c"], t["c"].addr6)


def test_ospf3_for_ipv4_has_no_ipv6_next_hops(scenario, build):
    """OSPFv3 for IPv4 (RFC 5838) forms adjacencies over the link-local
    addresses, but BIRD 2.0 computes IPv4 next hops only from IPv4
    addresses on the link: without one there is no IPv4 route at all."""
    t = build("a-b", igp="ospf3+ospf3-ipv4", igp_values={"OSPF_TYPE": "ptmp"})
    a, b = t["a"], t["b"]
    for node in (a, b):
        t.wait(lambda: any(s.startswith("Full")
                           for s in ospf_neighbors(node, "ospf4").values()),
               "%s: the IPv4 instance's adjacency" % node.name)
        t.wait(lambda: "ospf4: Cannot find next hop" in bird_log(node),
               "%s: BIRD to give up on the IPv4 next hops" % node.name)
    t.wait_routes(a, b.prefix6, "b")  # IPv6 (instance ospf6) works
    assert not v4_bird_routes(a) and not v4_bird_routes(b)


def test_ospf3_multicast_hellos_reach_only_the_peer_holding_the_group(scenario, build):
    """type ptp (the default for a point-to-point device) sends hellos to
    ff02::5: only a and b, which hold the group for each other, become
    neighbours; c, a peer of both, never sees a hello."""
    t = build(MESH3, igp="ospf3", igp_values={"OSPF_TYPE": "ptp"})
    a, b, c = t["a"], t["b"], t["c"]
    give_group(a, b, "ff02::5/128")
    give_group(b, a, "ff02::5/128")
    t.wait(lambda: list(ospf_neighbors(a)) == [b.ll] and list(ospf_neighbors(b)) == [a.ll]
           and ospf_neighbors(a)[b.ll].startswith("Full"), "the a-b adjacency")
    t.wait_routes(a, b.prefix6, "b")
    assert ospf_neighbors(c) == {}
    assert sorted(c.ping_many([a.addr6, b.addr6])) == sorted([a.addr6, b.addr6])


def test_babel_needs_multicast_and_ipv4_next_hops(scenario, build):
    """Babel sends hellos and IHUs to ff02::1:6: a and b, which hold the
    group for each other, become neighbours and exchange IPv6 routes; c
    gets nothing. IPv4 routes: BIRD 2.0 (Debian 12) sends them only with an
    IPv4 next hop address on the interface, so there are none; later BIRD
    (2.17 in Debian 13, BIRD 3) sends them with IPv6 next hops (RFC 9229),
    and wg-rtsync learns them as it learns BGP's."""
    t = build(MESH3, igp="babel")
    a, b, c = t["a"], t["b"], t["c"]
    give_group(a, b, "ff02::1:6/128")
    give_group(b, a, "ff02::1:6/128")
    t.wait(lambda: babel_neighbors(a) == [b.ll] and babel_neighbors(b) == [a.ll],
           "the a-b Babel neighbourship")
    t.wait_routes(a, b.prefix6, "b")
    t.wait_routes(b, a.prefix6, "a")
    t.check_data_plane(a, b, b.addr6)
    assert babel_neighbors(c) == []
    assert sorted(c.ping_many([a.addr6, b.addr6])) == sorted([a.addr6, b.addr6])
    # Either a's BIRD gives up on its IPv4 route, or b's IPv4 route reaches a.
    t.wait(lambda: "Missing IPv4 next hop address" in bird_log(a) or
           a.route_via(b.prefix4) is not None,
           "a: b's IPv4 route, or BIRD to refuse to send IPv4 routes")
    if "Missing IPv4 next hop address" in bird_log(a):
        assert not v4_bird_routes(a) and not v4_bird_routes(b)
    else:
        t.wait_routes(a, b.prefix4, "b")
        t.wait_routes(b, a.prefix4, "a")
        t.check_data_plane(a, b, b.addr4)
    assert babel_neighbors(c) == [] and not v4_bird_routes(c)
