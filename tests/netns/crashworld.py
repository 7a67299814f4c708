"""The world of the crash-consistency tests (test_crash.py): one namespace,
one wireguard-go device with three peers, static AllowedIPs, foreign routes
that must never be touched, and the routes a test adds, moves and
withdraws. It knows every input it made, so it can say what a fresh start
on the same inputs converges to (docs/spec.md 10.4) and compare
the device and the routing table with it.

The expectation follows spec sections 3 and 4 for the configuration these
tests use (gateways by cryptokey: each peer holds its link-local gateway
as a static AllowedIP; conflict static-wins or learned-wins; no filter, no
limit). test_fresh_start_matches_the_expectation checks it against a real
fresh start.
"""

import ipaddress
import json
import os
import random

import topo
from conftest import prefix_of
from netns import wait_until

P98 = "98"
# Destinations of the routes the tests add, move and withdraw.
STORM_V6 = "2001:db8:1:%x::/64"
STORM_V4 = "198.51.100.%d/32"


def storm_pool(n_v6, n_v4):
    return [str(ipaddress.ip_network(STORM_V6 % i)) for i in range(n_v6)] + \
        [STORM_V4 % i for i in range(n_v4)]


class World:
    """Peers p1..p3 (gateways fe80::2..4), static AllowedIPs, and routes.

    statics: {peer index: set of prefixes}; routes: {destination: peer
    index} for the routes through a peer's gateway (protocol static) that
    the test manages; fixed foreign routes never change."""

    GATEWAYS = ("fe80::2", "fe80::3", "fe80::4")

    def __init__(self, harness, ns, workdir, conflict="static-wins"):
        from conftest import Peer
        self.harness, self.ns, self.dir = harness, ns, workdir
        self.conflict = conflict
        # WGRS_WG_FLAVOUR=kernel (the VM tier): kernel WireGuard instead.
        self.wg = topo.wireguard(harness, ns).start()
        self.name = self.wg.name
        self.peers = [Peer(gw) for gw in self.GATEWAYS]
        self.statics = {
            0: {"fe80::2/128", "2001:db8:f1::/48"},
            1: {"fe80::3/128", "2001:db8:f2::/48", "192.0.2.16/28"},
            2: {"fe80::4/128", "2001:db8:f4::/48"},
        }
        for i, p in enumerate(self.peers):
            self.wg.add_peer(p.public_key, sorted(self.statics[i]))
        self.wg.up("fe80::1/64")
        # Another link (no dummy module on every host: a veth pair).
        ns.ip("link", "add", "oth0", "type", "veth", "peer", "name", "oth1")
        ns.ip("link", "set", "oth0", "up")
        # Foreign routes: one via p1 for a destination static on p2 (a
        # conflict, and it blocks our install of 2001:db8:f2::/48), one
        # without gateway on the device, one on another link.
        self.fixed = [
            ("2001:db8:f2::/48", "via fe80::2 dev %s proto static" % self.name),
            ("2001:db8:f5::/48", "dev %s proto dhcp" % self.name),
            ("2001:db8:99::/48", "dev oth0 proto static"),
        ]
        for dst, rest in self.fixed:
            ns.ip(*("-6 route add %s %s" % (dst, rest)).split())
        self.routes = {}
        self.batch_path = os.path.join(workdir, "routes.batch")

    # ---- inputs ----

    def route_line(self, verb, dst, peer):
        """Metric 100: our routes have metric 0, and a route of the same
        identity (destination, tos, metric) would be refused (EEXIST)."""
        gw = self.GATEWAYS[peer]
        via = "via inet6 %s" % gw if ":" not in dst else "via %s" % gw
        return "route %s %s %s dev %s proto static metric 100" % (verb, dst, via,
                                                                  self.name)

    def del_line(self, dst):
        return "route del %s dev %s proto static metric 100" % (dst, self.name)

    def ops_random(self, rng, pool, n):
        """n random changes of the routes of pool (learn, move to another
        peer, withdraw), as ip -batch lines; self.routes follows them."""
        lines = []
        for _ in range(n):
            dst = rng.choice(pool)
            have = self.routes.get(dst)
            if have is None:
                peer = rng.randrange(3)
                lines.append(self.route_line("add", dst, peer))
                self.routes[dst] = peer
            elif rng.random() < 0.5:
                peer = rng.choice([p for p in range(3) if p != have])
                lines.append(self.route_line("replace", dst, peer))
                self.routes[dst] = peer
            else:
                lines.append(self.del_line(dst))
                del self.routes[dst]
        return lines

    def ops_set(self, want):
        """The lines that make the managed routes exactly want {dst: peer}."""
        lines = []
        for dst, peer in sorted(want.items()):
            have = self.routes.get(dst)
            if have is None:
                lines.append(self.route_line("add", dst, peer))
            elif have != peer:
                lines.append(self.route_line("replace", dst, peer))
        for dst in sorted(set(self.routes) - set(want)):
            lines.append(self.del_line(dst))
        self.routes = dict(want)
        return lines

    def write_batch(self, lines, path=None):
        path = path or self.batch_path
        with open(path, "w") as f:
            f.write("".join(l + "\n" for l in lines))
        return path

    def run_batch(self, lines):
        if lines:
            self.ns.ip("-batch", self.write_batch(lines))

    def start_batch(self, lines, path):
        """ip -batch in the background (a Process of the harness)."""
        return self.ns.start(["ip", "-batch", self.write_batch(lines, path)],
                             name="route-storm")

    # ---- what a fresh start converges to ----

    def static_holder(self, dst):
        for i, s in self.statics.items():
            if dst in s:
                return i
        return None

    def qualifying(self):
        """{destination: peer} of the foreign routes that name a peer."""
        q = dict(self.routes)
        q["2001:db8:f2::/48"] = 0  # the fixed conflict route via p1
        return q

    def expected(self):
        """(AllowedIPs per peer index, our routes {dst: gateway}, number
        of learned AllowedIPs)."""
        allowed = {i: set(s) for i, s in self.statics.items()}
        learned = 0
        for dst, w in self.qualifying().items():
            y = self.static_holder(dst)
            if y is None:
                allowed[w].add(dst)
                learned += 1
            elif y != w and self.conflict == "learned-wins":
                allowed[y].discard(dst)
                allowed[w].add(dst)
                learned += 1
        foreign = {dst for dst, _ in self.fixed} | set(self.routes)
        ours = {}
        for i in allowed:
            for dst in allowed[i] & self.statics[i]:
                if dst in foreign:
                    continue
                # Gateways by cryptokey name peers, but are no gateways
                # of theirs to install with (spec section 4).
                ours[dst] = ""
        return allowed, ours, learned

    # ---- what there is ----

    def device(self):
        """{peer index or public key (not ours): set of AllowedIPs}."""
        keys = {p.public_key: i for i, p in enumerate(self.peers)}
        return {keys.get(key, key): ips for key, ips in self.wg.allowed_ips_fast().items()}

    def table(self):
        """(our routes {dst: gateway}, foreign routes {(dst, dev, gw, proto)})
        of every table, both families."""
        ours, foreign = {}, set()
        for fam in ("-4", "-6"):
            out = json.loads(self.ns.ip("-j", fam, "route", "show", "table", "all")
                             .stdout or "[]")
            for r in out:
                if r.get("type", "unicast") != "unicast" or r.get("table") == "local":
                    continue
                dst = r["dst"]
                if dst == "default" or dst.startswith("fe80::"):
                    if r.get("protocol") != P98:
                        continue  # the kernel's link-local routes
                dst = prefix_of(dst)
                gw = r.get("gateway") or (r.get("via") or {}).get("host") or ""
                if r.get("protocol") == P98:
                    ours[dst] = gw
                else:
                    foreign.add((dst, r.get("dev"), gw, r.get("protocol")))
        return ours, foreign

    def foreign_expected(self):
        want = set()
        for dst, rest in self.fixed:
            words = rest.split()
            dev = words[words.index("dev") + 1]
            gw = words[words.index("via") + 1] if "via" in words else ""
            want.add((dst, dev, gw, words[words.index("proto") + 1]))
        for dst, peer in self.routes.items():
            want.add((dst, self.name, self.GATEWAYS[peer], "static"))
        return want

    def differences(self, daemon=None):
        """What differs from a fresh start on the current inputs, as a list
        of lines (empty: none)."""
        allowed, ours, learned = self.expected()
        diffs = []
        dev = self.device()
        for i in range(3):
            have = dev.pop(i, set())
            for p in sorted(allowed[i] - have):
                diffs.append("p%d lacks %s%s" % (i + 1, p,
                             " (static!)" if p in self.statics[i] else ""))
            for p in sorted(have - allowed[i]):
                diffs.append("p%d has %s" % (i + 1, p))
        for key in dev:
            diffs.append("a peer not ours: %s %s" % (key, sorted(dev[key])))
        have_ours, foreign = self.table()
        for dst in sorted(set(ours) | set(have_ours)):
            if ours.get(dst) != have_ours.get(dst):
                diffs.append("our route %s: want %s, have %s" % (
                    dst, ours.get(dst, "none"), have_ours.get(dst, "none")))
        fw = self.foreign_expected()
        for r in sorted(fw - foreign):
            diffs.append("foreign route missing: %s" % (r,))
        for r in sorted(foreign - fw):
            diffs.append("foreign route unexpected: %s" % (r,))
        if daemon is not None and not diffs:
            st = daemon.iface(self.name)
            if st is None:
                diffs.append("the daemon does not manage %s" % self.name)
            elif st["learned"] != learned:
                diffs.append("learned: want %d, the daemon says %d" % (
                    learned, st["learned"]))
        return diffs

    def wait_fresh(self, daemon, timeout, what):
        """Waits until the state equals a fresh start's; fails listing what
        still differs."""
        last = []

        def same():
            if daemon is not None and not daemon.proc.alive():
                raise AssertionError("wg-rtsync exited (%s) while waiting for %s" % (
                    daemon.proc.popen.returncode, what))
            last[:] = self.differences(daemon)
            return not last
        try:
            wait_until(same, timeout, what)
        except AssertionError as e:
            raise AssertionError("%s; %d differences: %s" % (
                e, len(last), "; ".join(last[:20]))) from None
