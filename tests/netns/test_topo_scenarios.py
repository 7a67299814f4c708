"""Scenarios of docs/spec.md sections 3 to 8 end to end: BIRD 2 (or FRR) and
wg-rtsync on every node, checked through the data plane (ping with a
deadline, a 1 MiB TCP transfer) after every convergence. Each scenario
prints one line with its name and duration (topofix.scenario); the next-hop
move after a link failure is in test_topo_move.py."""

import signal

import pytest

import topo
from topofix import build, scenario, topo_harness  # noqa: F401 (fixtures)

HUB = "h-s1 h-s2"
MESH4 = "a-b a-c a-d b-c b-d c-d"


def gone(node, prefix):
    return node.holder(prefix) is None and node.route_via(prefix) is None


def bird_routes(node, prefix):
    """The lines of `birdc show route PREFIX` after the banner."""
    out = node.birdc("show", "route", prefix, check=False).stdout.splitlines()
    return [line for line in out[1:] if line.strip() and line != "Network not found"]


def expected_gateway(t, peer, prefix):
    """The gateway wg-rtsync puts on a route it installs for a static
    AllowedIP of peer (docs/spec.md 4.4): the explicit or derived one,
    none with only the cryptokey source."""
    return None if t.gateways == "cryptokey" else peer.ll


# ---- learn and withdraw ----

@pytest.mark.parametrize("gateways", topo.GATEWAY_SOURCES)
def test_learn_and_withdraw(scenario, build, gateways):
    t = build(HUB, gateways=gateways)
    h, s1, s2 = t["h"], t["s1"], t["s2"]
    t.wait_full_reachability()
    extra = ["2001:db8:51::/48", "198.51.100.0/25"]
    s1.add_lo("2001:db8:51::1", "198.51.100.1")
    s1.announce(*extra)
    for p in extra:
        t.wait_routes(h, p, "s1")
        t.wait_routes(s2, p, "h")
    t.wait_invariants()
    t.check_data_plane(s2, s1, "2001:db8:51::1")
    t.check_data_plane(s2, s1, "198.51.100.1")
    t.check_data_plane(h, s1, "198.51.100.1")

    s1.withdraw(*extra)
    for node in (h, s2):
        for p in extra:
            t.wait(lambda: gone(node, p), "%s: %s withdrawn" % (node.name, p))
    t.wait_invariants()
    assert not s2.ping("198.51.100.1") and not s2.ping("2001:db8:51::1")
    # The rest is untouched.
    t.check_data_plane(s2, s1)


# ---- install: AllowedIPs -> routes ----

@pytest.mark.parametrize("gateways", topo.GATEWAY_SOURCES)
def test_install_direction_with_wg_set(scenario, build, gateways):
    t = build(HUB, gateways=gateways)
    h, s1, s2 = t["h"], t["s1"], t["s2"]
    t.wait_full_reachability()
    static = ["2001:db8:61::/48", "198.51.100.128/25"]
    s1.add_lo("2001:db8:61::1", "198.51.100.129")
    h.add_static(s1, *static)
    want = expected_gateway(t, s1, None)
    t.wait(lambda: all(h.our_routes().get(p, "missing") == want for p in static),
           "h: routes of ours for %s via %s" % (static, want))
    t.wait_invariants()
    t.check_data_plane(h, s1, "2001:db8:61::1")
    t.check_data_plane(h, s1, "198.51.100.129")
    # BIRD does not read our routes (learn off): they stay on h.
    h.rtsync.wait_rounds()
    for p in static:
        assert not bird_routes(h, p), p
        assert s2.route_via(p) is None and p not in s2.allowed()["h"]

    h.remove_static(s1, *static)
    t.wait(lambda: not set(static) & set(h.our_routes()), "h: our routes removed")
    t.wait_invariants()
    assert not h.ping("2001:db8:61::1")


def test_static_allowed_ips_are_never_removed(scenario, build):
    t = build(HUB, gateways="cryptokey")
    h, s1 = t["h"], t["s1"]
    t.wait_full_reachability()
    p = "2001:db8:71::/48"
    s1.add_lo("2001:db8:71::1")
    h.add_static(s1, p)
    t.wait(lambda: p in h.our_routes(), "h: our route for the static %s" % p)
    # s1 announces it too: BIRD's route wins the kernel, ours goes (a
    # foreign route with the same destination blocks the install) and the
    # prefix stays static at s1.
    s1.announce(p)
    t.wait(lambda: h.route_via(p) == s1.ll and p not in h.our_routes(),
           "h: BIRD's route for %s replaces ours" % p)
    t.wait_invariants()
    t.check_data_plane(h, s1, "2001:db8:71::1")
    # The withdrawal takes the route, never the static AllowedIP; ours is
    # installed again.
    s1.withdraw(p)
    t.wait(lambda: h.route_via(p) is None and p in h.our_routes(),
           "h: our route for %s back after the withdrawal" % p)
    h.rtsync.wait_rounds()
    assert p in h.allowed()["s1"]
    t.wait_invariants()
    t.check_data_plane(h, s1, "2001:db8:71::1")
    # A prefix learned from s1 moves on and off around it; the link-local
    # addresses of the peers (static) never moved at all.
    for node in t.nodes.values():
        for peer, statics in node.static.items():
            assert statics <= node.allowed()[peer]


# ---- conflicts ----

def test_conflict_static_wins_then_learned_wins(scenario, build):
    t = build(HUB, gateways="derived")
    h, s1, s2 = t["h"], t["s1"], t["s2"]
    t.wait_full_reachability()
    p, addr = "2001:db8:81::/48", "2001:db8:81::1"
    s1.add_lo(addr)
    s2.add_lo(addr)
    h.add_static(s1, p)
    # wg-rtsync reads WireGuard every wg_poll_interval: until it has seen
    # the static AllowedIP (its route is installed), a route via s2 would
    # look like a free prefix and be learned, which moves it away from s1.
    t.wait(lambda: p in h.our_routes(), "h: our route for the static %s" % p)
    s2.announce(p)
    # static-wins (default): the route names s2, the prefix stays with s1,
    # the conflict is counted and logged once.
    t.wait(lambda: h.route_via(p) == s2.ll, "h: BIRD's route for %s via s2" % p)
    t.wait(lambda: (h.rtsync.iface() or {}).get("conflicts", 0) >= 1, "h: a conflict counted")
    h.rtsync.wait_rounds()
    assert h.holder(p) == "s1"
    assert t.tcp_transfer(h, addr, [s1, s2]) == "s1"
    t.assert_invariants(conflicts_ok=[p])
    conflict_lines = [line for line in h.rtsync.log().splitlines()
                      if line.startswith("warning") and "conflict" in line and p in line]
    assert len(conflict_lines) == 1, conflict_lines

    # learned-wins, by a config reload: the prefix goes to s2.
    h.rtsync.write_config(extra="conflict: learned-wins\n")
    h.rtsync.signal(signal.SIGHUP)
    t.wait(lambda: h.holder(p) == "s2", "h: %s taken by s2 (learned-wins)" % p)
    assert t.tcp_transfer(h, addr, [s1, s2]) == "s2"
    # s2 withdraws: the prefix returns to its static holder s1, with a
    # route of ours again.
    s2.withdraw(p)
    t.wait(lambda: h.holder(p) == "s1" and p in h.our_routes(),
           "h: %s back at s1 with our route" % p)
    t.wait_invariants()
    assert t.tcp_transfer(h, addr, [s1, s2]) == "s1"


# ---- ambiguous gateways ----

def test_ambiguous_gateway_is_ignored_until_resolved(scenario, build):
    t = build(HUB, gateways="explicit")
    h, s2 = t["h"], t["s2"]
    t.wait_full_reachability()
    gw = "fe80::99"
    h.rtsync.extra_gateways = {"s1": [gw], "s2": [gw]}
    h.rtsync.write_config()
    h.rtsync.signal(signal.SIGHUP)
    h.rtsync.wait_rounds()
    s2.add_lo("2001:db8:91::1", "198.51.100.65")
    nets = ["2001:db8:91::/48", "198.51.100.64/26"]
    h.ns.ip("-6", "route", "add", nets[0], "via", gw, "dev", h.wg.name, "proto", "static")
    h.ns.ip("-4", "route", "add", nets[1], "via", "inet6", gw, "dev", h.wg.name,
            "proto", "static")
    t.wait(lambda: (h.rtsync.iface() or {}).get("ambiguous_gateways", 0) >= 1,
           "h: the ambiguous gateway counted")
    h.rtsync.wait_rounds()
    for p in nets:
        assert h.holder(p) is None, p
    warnings = [line for line in h.rtsync.log().splitlines()
                if line.startswith("warning") and gw in line]
    assert len(warnings) == 1, warnings

    # Only s2 claims it now: the routes are learned into s2.
    h.rtsync.extra_gateways = {"s2": [gw]}
    h.rtsync.write_config()
    h.rtsync.signal(signal.SIGHUP)
    for p in nets:
        t.wait(lambda: h.holder(p) == "s2", "h: %s learned into s2" % p)
    t.wait_invariants()
    t.check_data_plane(h, s2, "2001:db8:91::1")
    t.check_data_plane(h, s2, "198.51.100.65")


# ---- restarts, interfaces, reload ----

def test_restart_after_kill9_with_changes_while_down(scenario, build):
    t = build(MESH4, gateways="explicit")
    a, b, c, d = (t[n] for n in "abcd")
    t.wait_full_reachability()
    x = "2001:db8:b1::/48"
    b.add_lo("2001:db8:b1::1")
    b.announce(x)
    t.wait_routes(a, x, "b")
    t.wait(lambda: a.rtsync.iface()["learned"] == 7, "a: 6 + 1 learned prefixes")
    a.rtsync.kill9()

    # While wg-rtsync is down: b withdraws x, c announces y, a static
    # AllowedIP for d appears on a.
    y = "198.51.100.192/26"
    c.add_lo("198.51.100.193")
    b.withdraw(x)
    c.announce(y)
    d.add_lo("2001:db8:d1::1")
    a.add_static(d, "2001:db8:d1::/48")
    t.wait(lambda: a.route_via(x) is None and a.route_via(y) == c.ll,
           "a: BIRD's routes changed")
    assert a.holder(x) == "b"  # stale: nobody took it away
    assert not a.ping("198.51.100.193")  # y is not in c's AllowedIPs yet

    a.rtsync.start()
    t.wait(lambda: a.holder(x) is None and a.holder(y) == "c" and
           "2001:db8:d1::/48" in a.our_routes(), "a: converged after the restart")
    # x was learned before the crash (state file): withdrawn, not mistaken
    # for a static AllowedIP and installed as a route.
    assert x not in a.our_routes()
    t.wait_invariants()
    t.check_data_plane(a, c, "198.51.100.193")
    t.check_data_plane(a, d, "2001:db8:d1::1")
    assert a.rtsync.iface()["learned"] == 7


def test_started_before_the_interface_exists(scenario, build):
    t = build(HUB, gateways="derived", rtsync="first")
    for node in t.nodes.values():
        # Answering before the device came, managing nothing; managing it
        # since (build waits for that).
        assert node.rtsync.first_status["interfaces"] == []
        assert node.rtsync.iface() is not None
    t.wait_full_reachability()
    t.wait_invariants()
    t.check_data_plane(t["s1"], t["s2"])


def test_interface_deleted_and_recreated(scenario, build):
    t = build(HUB, gateways="cryptokey")
    h, s1, s2 = t["h"], t["s1"], t["s2"]
    t.wait_full_reachability()
    h.wg.delete()
    t.wait(lambda: h.rtsync.alive_and(lambda: h.rtsync.iface() is None),
           "h: wg-rtsync forgets the deleted interface")
    assert not s1.ping(s2.addr6)

    h.wg.recreate()
    h.wg.up(h.ll + "/64")
    h.add_peers()
    t.wait(lambda: h.rtsync.alive_and(h.rtsync.iface), "h: picked up again")
    t.wait_full_reachability()
    t.wait_invariants()
    for spoke in (s1, s2):
        t.wait_routes(h, spoke.prefix6, spoke.name)
    t.check_data_plane(s1, s2)


def test_sighup_reload_and_a_bad_new_config(scenario, build):
    t = build(HUB, gateways="explicit")
    h, s1 = t["h"], t["s1"]
    t.wait_full_reachability()

    def metrics():
        return {r["dst"]: r.get("metric") for r in h.routes("-6")
                if str(r.get("protocol")) == "98"}

    base = metrics()
    assert base and all(m != 50 for m in base.values()), base
    h.rtsync.write_config(extra="route_metric: 50\n")
    h.rtsync.signal(signal.SIGHUP)
    t.wait(lambda: set(metrics().values()) == {50} and set(metrics()) == set(base),
           "h: our routes at metric 50 after the reload")

    # A bad file: refused with a log line naming it, the old config stays.
    h.rtsync.write_config(raw="state_dir: %s\nroute_metric: 50\nno_such_key: 1\n" %
                          h.rtsync.state_dir)
    before = len(h.rtsync.log())
    h.rtsync.signal(signal.SIGHUP)
    t.wait(lambda: h.rtsync.config_path in h.rtsync.log()[before:],
           "h: wg-rtsync to complain about the bad config")
    assert "no_such_key" in h.rtsync.log()[before:]
    h.rtsync.wait_rounds()
    assert h.rtsync.alive() and set(metrics().values()) == {50}
    # Still at work with the old settings: a new prefix is learned.
    s1.add_lo("2001:db8:a5::1")
    s1.announce("2001:db8:a5::/48")
    t.wait_routes(h, "2001:db8:a5::/48", "s1")
    t.wait_invariants()
    t.check_data_plane(t["s2"], s1, "2001:db8:a5::1")


# ---- nexthop objects ----

def test_routes_through_nexthop_objects_by_hand(scenario, build):
    t = build(HUB, gateways="cryptokey")
    h, s1, s2 = t["h"], t["s1"], t["s2"]
    t.wait_full_reachability()
    s1.add_lo("2001:db8:c1::1", "198.51.100.33")
    s2.add_lo("2001:db8:c1::1", "198.51.100.33")
    wg = h.wg.name
    h.ns.ip("nexthop", "add", "id", "101", "via", s1.ll, "dev", wg)
    h.ns.ip("nexthop", "add", "id", "102", "via", s2.ll, "dev", wg)
    h.ns.ip("nexthop", "add", "id", "110", "group", "101/102")
    h.ns.ip("-6", "route", "add", "2001:db8:c1::/48", "nhid", "110", "proto", "static")
    h.ns.ip("-4", "route", "add", "198.51.100.32/27", "nhid", "101", "proto", "static")
    # A group names the peer of its first next hop.
    for p in ("2001:db8:c1::/48", "198.51.100.32/27"):
        t.wait(lambda: h.holder(p) == "s1", "h: %s learned into s1" % p)
    assert t.tcp_transfer(h, "2001:db8:c1::1", [s1, s2]) == "s1"
    assert t.tcp_transfer(h, "198.51.100.33", [s1, s2]) == "s1"
    # The objects change, the routes do not: the prefixes follow.
    h.ns.ip("nexthop", "replace", "id", "110", "group", "102/101")
    h.ns.ip("nexthop", "replace", "id", "101", "via", s2.ll, "dev", wg)
    for p in ("2001:db8:c1::/48", "198.51.100.32/27"):
        t.wait(lambda: h.holder(p) == "s2", "h: %s moved to s2" % p)
    assert t.tcp_transfer(h, "2001:db8:c1::1", [s1, s2]) == "s2"
    assert t.tcp_transfer(h, "198.51.100.33", [s1, s2]) == "s2"
    h.ns.ip("nexthop", "del", "id", "110")
    h.ns.ip("nexthop", "del", "id", "101")
    for p in ("2001:db8:c1::/48", "198.51.100.32/27"):
        t.wait(lambda: h.holder(p) is None, "h: %s withdrawn with its object" % p)
    t.wait_invariants()


def check_nexthop_object(node, prefix, via):
    """node's kernel route for prefix goes through a nexthop object
    (RTA_NH_ID, `ip route`: nhid N) whose next hop (`ip nexthop`) is one of
    via's addresses on the WireGuard interface."""
    route, nh = node.route_with_nexthop_object(prefix)
    assert route and nh, "%s: %s: no route through a nexthop object: %s" % (
        node.name, prefix, route)
    assert nh.get("dev") == node.wg.name and nh.get("gateway") in via.addresses(), \
        "%s: %s: nexthop object %s is not via %s" % (node.name, prefix, nh, via.name)
    return nh


@pytest.mark.parametrize("compat", ["compat-off", "compat-on"])
def test_frr_node_installs_routes_through_nexthop_objects(scenario, build, compat):
    """b runs FRR (zebra + bgpd) instead of BIRD and forwards between a and
    c: zebra installs every route through a nexthop object (RTA_NH_ID),
    IPv4 ones with IPv6 next hops; wg-rtsync learns them into the right
    peer, follows them from one object to another and drops them when FRR
    withdraws them. The BGP sessions run between global addresses of the
    WireGuard interfaces, as an operator configures FRR over WireGuard:
    FRR 9.1 to 10.3 (Debian 13) never validates the next hops of a
    neighbour configured by link-local address (docs/bird.md). With the
    kernel's nexthop compat mode off, the routes name their next hops by
    RTA_NH_ID alone."""
    t = build("a-b b-c", gateways="cryptokey", routing={"b": "frr"}, peering="global",
              nexthop_compat_mode=0 if compat == "compat-off" else 1)
    a, b, c = t["a"], t["b"], t["c"]
    t.wait_full_reachability()
    for node, far, via in ((a, c, "b"), (c, a, "b"), (b, a, "a"), (b, c, "c")):
        t.wait_routes(node, far.prefix6, via)
        t.wait_routes(node, far.prefix4, via)
    for far in (a, c):
        for prefix in (far.prefix6, far.prefix4):
            nh = check_nexthop_object(b, prefix, far)
            scenario.line("b: %s: nhid %s via %s" % (prefix, nh["id"], nh["gateway"]))
    t.wait_invariants()
    t.check_data_plane(a, c)
    t.check_data_plane(c, a)

    # A prefix that a and c both originate: b's route goes through a's
    # nexthop object, then through c's when a withdraws it, and away when
    # c withdraws it too.
    extra = ["2001:db8:f1::/48", "198.51.100.240/28"]
    hosts = ["2001:db8:f1::1", "198.51.100.241"]
    for node in (a, c):
        node.add_lo(*hosts)
    a.announce(*extra)
    for p in extra:
        t.wait_routes(b, p, "a")
        check_nexthop_object(b, p, a)
    for h in hosts:
        assert t.tcp_transfer(b, h, [a, c]) == "a"
    c.announce(*extra)
    t.wait(lambda: all(b.frr_paths(p) == 2 for p in extra), "b: FRR to have a's and c's paths")
    a.withdraw(*extra)
    for p in extra:
        t.wait_routes(b, p, "c")
        check_nexthop_object(b, p, c)
    t.wait_invariants()
    for h in hosts:
        assert t.tcp_transfer(b, h, [a, c]) == "c"
    c.withdraw(*extra)
    for p in extra:
        t.wait(lambda: gone(b, p), "b: %s withdrawn" % p)
        assert b.frr_paths(p) == 0
    t.wait_invariants()
    assert not any(b.ping(h) for h in hosts)
    t.check_data_plane(a, c)
