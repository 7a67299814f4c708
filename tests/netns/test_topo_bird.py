"""Why BIRD must not read back the routes wg-rtsync installs (docs/bird.md,
"learn off and import none"). Node a holds P statically at peer b, which
has no route for it. With the suite's configuration b says so ("no
route"). When BIRD learns protocol 98 routes and exports them to BGP, a
announces P, b routes it back to a and learns it into a's AllowedIPs: a
routing loop, which WireGuard's source check (a packet from b must come
from an address in b's AllowedIPs) cuts after one round trip, turning it
into a silent black hole that lasts as long as the static AllowedIP."""

import os
import re
import shutil

import topo
from topofix import build, scenario, topo_harness  # noqa: F401 (fixtures)

P = "2001:db8:e1::/48"
DST = "2001:db8:e1::1"


def learning_templates(topo_harness):
    """The suite's templates with BIRD learning alien kernel routes and
    exporting everything to BGP: the configuration docs/bird.md warns of."""
    d = os.path.join(topo_harness.log_dir, "bird-learn-on")
    shutil.copytree(topo.BIRD_DIR, d)
    path = os.path.join(d, "node.conf")
    with open(path) as f:
        text = f.read()
    for old, new in (("learn off;", "learn on;"), ("import none;", "import all;"),
                     ("export where source ~ [RTS_STATIC, RTS_BGP];", "export all;")):
        assert old in text, old
        text = text.replace(old, new)
    with open(path, "w") as f:
        f.write(text)
    return d


def ping_once(node, dst):
    """One ping's output (stdout and stderr): it says whether a router, or
    the node's own kernel, found no route. No -I: with it, ping does not
    report a missing local route."""
    res = node.ns.run(["ping", "-6", "-n", "-c", "1", "-W", "2", dst], check=False)
    return res.stdout + res.stderr


def test_learn_off_keeps_our_routes_out_of_bgp(scenario, build):
    t = build("a-b", gateways="cryptokey")
    a, b = t["a"], t["b"]
    t.wait_full_reachability()
    # a says b holds P; b has no route for it.
    a.add_static(b, P)
    t.wait(lambda: P in a.our_routes(), "a: our route for %s" % P)
    a.rtsync.wait_rounds()
    b.rtsync.wait_rounds()
    assert b.route_via(P) is None and P not in b.allowed()["a"]
    # From a: b answers "no route"; from b: its own kernel does.
    out = ping_once(a, DST)
    assert "Destination unreachable: No route" in out, out
    out = ping_once(b, DST)
    assert "Network is unreachable" in out, out


def test_learn_on_makes_a_forwarding_loop(scenario, build, topo_harness):
    t = build("a-b", gateways="cryptokey", bird_dir=learning_templates(topo_harness))
    a, b = t["a"], t["b"]
    t.wait_full_reachability()
    a.add_static(b, P)
    # a's BIRD imports wg-rtsync's protocol 98 route and announces it; b
    # routes P back to a, and wg-rtsync on b learns it into a's AllowedIPs.
    t.wait(lambda: b.route_via(P) == a.ll and b.holder(P) == "a",
           "b: %s via a, learned into a's AllowedIPs" % P)
    # The route's kernel protocol: "Kernel.source: 98" (BIRD 2), "krt_source:
    # 98" (BIRD 3).
    out = a.birdc("show", "route", P, "all").stdout
    assert re.search(r"^\s*(Kernel\.source|krt_source): 98$", out, re.M), out
    # b sends to a, a sends back to b (P is b's, a's static AllowedIP
    # says), b's WireGuard drops it (b's own address is not in a's
    # AllowedIPs): no answer and no error, from either side.
    for node in (a, b):
        out = ping_once(node, DST)
        assert "1 packets transmitted, 0 received" in out and \
            "unreachable" not in out, out
