"""Topologies of WireGuard nodes that run a routing daemon and wg-rtsync.

A topology is described compactly: node names and edges, "a-b b-c c-d".
Every edge is an underlay link (a veth pair with addresses from
2001:db8:ffff::/48) and a WireGuard peering over it. Every node is a
network namespace (made by netns.Harness) with

- ONE WireGuard interface for all its peers, with a link-local address
  fe80::N/64 (or, for the derived gateway source, the address wg-rtsync
  derives from its public key), `addrgenmode none`;
- its own addresses on lo: 2001:db8:N::1/128 and 203.0.113.N/32, and BIRD 2
  announcing 2001:db8:N::/48 and 203.0.113.N/32 (or FRR, for nexthop objects);
- BIRD 2 (bird/*.conf templates, own control socket and pid file), BGP
  to every peer over the link-local addresses of the WireGuard interface,
  IPv4 with IPv6 next hops; or, with peering="global", over global
  addresses 2001:db8:fffe::N/64 of the WireGuard interfaces, each in its
  node's static AllowedIPs at the peers beside the link-local one;
- wg-rtsync with its configuration and state in the node's directory.

The WireGuard flavour is a parameter (WGRS_WG_FLAVOUR): "userspace"
(wireguard-go, the host) or "kernel" (`ip link add ... type wireguard`, the
VM tier). The gateway source of docs/spec.md 2.8 is a parameter too:
"explicit" (peers: in the config), "cryptokey" (no per-peer config: each
peer's static AllowedIPs hold its link-local address) and "derived"
(prefixes: [fe80::/64], link-local addresses derived from the keys).

Everything is owned by the Harness, which removes it (processes by PID,
namespaces, UAPI sockets, the directory) in Topology.cleanup(), from the
fixtures, at exit and on signals (netns.py). Only documentation and
link-local addresses are used, only inside the namespaces made here.
"""

import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime

import netns
from netns import HarnessError, check_address, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BIRD_DIR = os.path.join(HERE, "bird")
FRR_DIR = os.path.join(HERE, "frr")
TCPCHECK = os.path.join(HERE, "tcpcheck.py")

FLAVOURS = ("userspace", "kernel")
GATEWAY_SOURCES = ("explicit", "cryptokey", "derived")
# The addresses BGP sessions run between: the link-local ones of the
# WireGuard interfaces, or global ones on them (WG_GLOBAL6 % node index).
PEERINGS = ("link-local", "global")
WG_GLOBAL6 = "2001:db8:fffe::%x"
# Deadline of every wait for a convergence: generous for a loaded 2-core CI
# machine and for TCG in the VM; a passing run never waits this long.
CONVERGE = float(os.environ.get("WGRS_TOPO_CONVERGE", "60"))


def flavour():
    value = os.environ.get("WGRS_WG_FLAVOUR", "userspace")
    if value not in FLAVOURS:
        raise HarnessError("WGRS_WG_FLAVOUR=%s: use one of %s" % (value, ", ".join(FLAVOURS)))
    return value


def missing_tools(routing="bird"):
    tools = ["ip", "wg", "ping", "bird", "birdc"]
    if flavour() == "userspace":
        tools.append("wireguard-go")
    if routing == "frr":
        tools += ["/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "vtysh"]
    return [t for t in tools if shutil.which(t) is None]


def binary_from_env():
    """$WGRS_BINARY, the program the suite runs instead of the wg-rtsync it
    built (a port, or a wrapper; docs/conformance.md), as an absolute path;
    None when the variable is unset or empty. A name without a slash is
    looked up in PATH. HarnessError when it names nothing executable: the
    suite must not quietly test another program than the one asked for."""
    value = os.environ.get("WGRS_BINARY")
    if not value:
        return None
    path = os.path.abspath(value) if "/" in value else shutil.which(value)
    if not path or not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise HarnessError("WGRS_BINARY=%s: not an executable file" % value)
    return path


def find_binary():
    """wg-rtsync: $WGRS_BINARY, else $WGRS_BUILD/wg-rtsync, else the first
    build directory of the repository that has one."""
    explicit = binary_from_env()
    if explicit:
        return explicit
    dirs = [os.environ["WGRS_BUILD"]] if os.environ.get("WGRS_BUILD") else \
        [os.path.join(REPO, d) for d in ("build-ci", "build-e", "build-d", "build")]
    for d in dirs:
        path = os.path.join(d, "wg-rtsync")
        if os.access(path, os.X_OK):
            return path
    raise HarnessError("no wg-rtsync binary in %s (set WGRS_BUILD or WGRS_BINARY)" %
                       ", ".join(dirs))


def render(path, **values):
    """A template with @NAME@ placeholders (the same files ci/demo renders
    with sed). Every placeholder must get a value."""
    with open(path) as f:
        text = f.read()
    for key, value in values.items():
        text = text.replace("@%s@" % key, str(value))
    left = [m for m in re.findall(r"@[A-Z0-9_]+@", text) if m != "@PLACEHOLDER@"]
    if left:
        raise HarnessError("%s: no value for %s" % (path, ", ".join(sorted(set(left)))))
    return text


def _nets(prefixes):
    return {str(ipaddress.ip_network(p)) for p in prefixes}


def prefix_of(dst):
    """ip -j prints host routes without a length and "default" for /0."""
    if dst == "default":
        return None
    return str(ipaddress.ip_network(dst, strict=False))


def parse_edges(spec):
    """ "a-b b-c" -> (["a", "b", "c"], [("a", "b"), ("b", "c")]), nodes in
    order of first appearance."""
    nodes, edges = [], []
    for token in spec.split():
        a, sep, b = token.partition("-")
        if not sep or not a or not b or a == b:
            raise HarnessError("bad edge %r in %r (want NODE-NODE)" % (token, spec))
        for n in (a, b):
            if n not in nodes:
                nodes.append(n)
        if (a, b) in edges or (b, a) in edges:
            raise HarnessError("edge %s given twice" % token)
        edges.append((a, b))
    return nodes, edges


def mesh(n, prefix="n"):
    """The full mesh of n nodes, as an edge list: "n1-n2 n1-n3 ..."."""
    names = ["%s%d" % (prefix, i) for i in range(1, n + 1)]
    return " ".join("%s-%s" % (names[i], names[j])
                    for i in range(n) for j in range(i + 1, n))


# ---- WireGuard devices of both flavours, with the same methods ----

class WireGuardGo(netns.WireGuardGo):
    """wireguard-go (netns.py) plus what the topology needs: reading the
    AllowedIPs straight from the UAPI socket (cheap enough to poll every few
    milliseconds), and deleting and re-creating the device."""

    flavour = "userspace"

    def allowed_ips_fast(self):
        """{public key (base64): set of prefixes}, read over UAPI."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.socket)
            s.sendall(b"get=1\n\n")
            data = b""
            while not data.endswith(b"\n\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        out, key = {}, None
        for line in data.decode().splitlines():
            k, _, v = line.partition("=")
            if k == "public_key":
                key = _hex_to_base64(v)
                out[key] = set()
            elif k == "allowed_ip" and key is not None:
                out[key].add(str(ipaddress.ip_network(v, strict=False)))
        return out

    def delete(self):
        self.stop()

    def recreate(self):
        """The same device again (name, key, port): peers and addresses are
        for the caller to add back."""
        self.start()


class KernelWireGuard:
    """Kernel WireGuard (`ip link add NAME type wireguard`) in a namespace,
    with the methods of WireGuardGo."""

    flavour = "kernel"

    def __init__(self, harness, ns, name=None, listen_port=None):
        self.harness = harness
        self.ns = ns
        self.name = name or netns.unique_name("wg")
        self.listen_port = listen_port or next(netns.WireGuardGo._ports)
        self.private_key, self.public_key = netns.genkey()
        self.process = None

    def __repr__(self):
        return "KernelWireGuard(%s in %s)" % (self.name, self.ns.name)

    def start(self, timeout=10):
        res = self.ns.ip("link", "add", self.name, "type", "wireguard", check=False)
        if res.returncode != 0:
            raise HarnessError("cannot make kernel WireGuard device %s: %s" % (
                self.name, res.stderr.strip()))
        self.ns.run(["wg", "set", self.name, "private-key", "/dev/stdin",
                     "listen-port", str(self.listen_port)], input=self.private_key + "\n")
        return self

    up = netns.WireGuardGo.up
    add_peer = netns.WireGuardGo.add_peer
    peer_with = netns.WireGuardGo.peer_with
    show = netns.WireGuardGo.show
    allowed_ips = netns.WireGuardGo.allowed_ips
    latest_handshake = netns.WireGuardGo.latest_handshake

    def allowed_ips_fast(self):
        return {k: set(str(ipaddress.ip_network(p, strict=False)) for p in v)
                for k, v in self.allowed_ips().items()}

    def stop(self, timeout=5):
        self.ns.ip("link", "del", self.name, check=False)

    delete = stop
    recreate = start


def _hex_to_base64(hexkey):
    import base64
    return base64.b64encode(bytes.fromhex(hexkey)).decode()


def wireguard(harness, ns, wg_flavour=None):
    cls = KernelWireGuard if (wg_flavour or flavour()) == "kernel" else WireGuardGo
    return cls(harness, ns)


# ---- wg-rtsync in a node ----

class Rtsync:
    """wg-rtsync in a node's namespace, managing the node's interface only
    (-i), with its configuration and state_dir in the node's directory."""

    def __init__(self, node, extra_config=""):
        self.node = node
        self.binary = find_binary()
        self.dir = os.path.join(node.dir, "rtsync")
        os.makedirs(self.dir, exist_ok=True)
        self.state_dir = os.path.join(self.dir, "state")
        self.config_path = os.path.join(self.dir, "wg-rtsync.yaml")
        # `status` finds the daemon through the state_dir of a config file:
        # its own, so that it works while the daemon's file is a bad one.
        self.status_config = os.path.join(self.dir, "status.yaml")
        with open(self.status_config, "w") as f:
            f.write("state_dir: %s\n" % self.state_dir)
        self.extra_config = extra_config
        # {peer node name: [address, ...]}: more explicit gateways (any
        # gateway source; with "explicit" they join the peers' own).
        self.extra_gateways = {}
        self.proc = None
        self.procs = []
        self.write_config()

    def base_config(self):
        topo, node = self.node.topo, self.node
        lines = ["state_dir: %s" % self.state_dir]
        if topo.gateways == "derived":
            lines.append("prefixes: [fe80::/64]")
        else:
            lines.append("prefixes: []")
        gateways = {}
        for peer in node.peer_nodes():
            gws = peer.addresses() if topo.gateways == "explicit" else []
            gws += self.extra_gateways.get(peer.name, [])
            if gws:
                gateways[peer.wg.public_key] = gws
        if gateways:
            lines.append("peers:")
            for key, gws in gateways.items():
                lines.append('  "%s": {gateways: [%s]}' % (key, ", ".join(gws)))
        return "\n".join(lines) + "\n"

    def write_config(self, extra=None, raw=None):
        """The generated configuration plus extra (YAML text), or raw text
        as it is (for a bad configuration)."""
        if extra is not None:
            self.extra_config = extra
        text = raw if raw is not None else self.base_config() + self.extra_config
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.config_path)

    def argv(self, *extra):
        return [self.binary, "-c", self.config_path, "-v", "-i", self.node.wg.name] + \
            list(extra)

    def start(self, wait=True):
        """wait: until it manages the interface; "answers": until it answers
        on its control socket (before the interface exists), its first
        status kept in first_status."""
        self.proc = self.node.ns.start(self.argv(), name="wg-rtsync-" + self.node.name)
        self.procs.append(self.proc)
        if wait == "answers":
            self.first_status = self.node.topo.wait(
                lambda: self.alive_and(self.status),
                "wg-rtsync of %s to answer" % self.node.name)
        elif wait:
            self.node.topo.wait(lambda: self.alive_and(self.iface),
                                "wg-rtsync of %s to manage %s" % (self.node.name,
                                                                   self.node.wg.name))
        return self

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def alive_and(self, pred):
        if not self.alive():
            raise HarnessError("wg-rtsync of %s exited with %s:\n%s" % (
                self.node.name, self.proc.popen.returncode if self.proc else None,
                self.log()[-4000:]))
        return pred()

    def status(self):
        res = subprocess.run([self.binary, "-c", self.status_config, "status", "--json"],
                             capture_output=True, text=True, timeout=30)
        if res.returncode != 0:
            return None
        try:
            return json.loads(res.stdout)
        except ValueError:
            return None

    def iface(self):
        """The status entry of the node's interface, or None."""
        st = self.status()
        for i in (st or {}).get("interfaces", []):
            if i["name"] == self.node.wg.name:
                return i
        return None

    def wait_rounds(self, extra=2):
        """Until `extra` more sync rounds have finished: whatever the daemon
        had seen before has been acted on."""
        start = self.node.topo.wait(lambda: self.alive_and(self.iface),
                                    "status of %s" % self.node.name)["rounds"]
        self.node.topo.wait(
            lambda: self.alive_and(lambda: (self.iface() or {}).get("rounds", 0) >=
                                   start + extra),
            "%d more sync rounds on %s" % (extra, self.node.name))

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def kill9(self):
        self.signal(signal.SIGKILL)
        self.proc.popen.wait(10)

    def stop(self):
        return self.proc.stop() if self.proc else None

    def log(self):
        return "".join(p.log() for p in self.procs)


# ---- nodes ----

class Node:
    def __init__(self, topo, name, index):
        self.topo = topo
        self.name = name
        self.index = index
        self.ns = topo.harness.namespace()
        self.dir = os.path.join(topo.dir, name)
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        self.asn = 65000 + index
        self.router_id = "192.0.2.%d" % index
        self.addr6 = "2001:db8:%x::1" % index
        self.addr4 = "203.0.113.%d" % index
        self.prefix6 = "2001:db8:%x::/48" % index
        self.prefix4 = "203.0.113.%d/32" % index
        self.announced = [self.prefix4, self.prefix6]
        self.peers = {}          # peer name -> endpoint address
        self.static = {}         # peer name -> static AllowedIPs we set
        self.wg = wireguard(topo.harness, self.ns, topo.wg_flavour)
        self.ll = None
        # The global address of the WireGuard interface (peering="global").
        self.global6 = WG_GLOBAL6 % index if topo.peering == "global" else None
        self.router = topo.routing_of(name)
        self.bird = None
        self.frr = []
        self.rtsync = None
        self.bird_sock = os.path.join(self.dir, "bird.ctl")
        # Forwarding, for the nodes that pass traffic on; addresses that
        # survive a link going down, as an interface's configuration would.
        self.ns.run(["sh", "-c", "echo 1 >/proc/sys/net/ipv4/ip_forward && "
                     "echo 1 >/proc/sys/net/ipv6/conf/all/forwarding && "
                     "echo 1 >/proc/sys/net/ipv6/conf/all/keep_addr_on_down"])
        if topo.nexthop_compat_mode is not None:
            # 0: routes through nexthop objects come with RTA_NH_ID alone,
            # without the gateway the kernel adds by default.
            self.ns.run(["sh", "-c", "echo %d >/proc/sys/net/ipv4/nexthop_compat_mode" %
                         topo.nexthop_compat_mode])
        for addr in (self.addr6 + "/128", self.addr4 + "/32"):
            self.ns.addr_add("lo", addr)

    def __repr__(self):
        return "Node(%s %s)" % (self.name, self.ns.name)

    def add_lo(self, *addrs):
        """More local addresses (host prefixes) on lo."""
        for a in addrs:
            self.ns.addr_add("lo", a + ("/128" if ":" in a else "/32"))

    def peer_nodes(self):
        return [self.topo.nodes[n] for n in self.peers]

    def addresses(self):
        """The node's addresses on the WireGuard interface: its link-local
        one and its global one if it has one. Its peers hold them as static
        AllowedIPs, and routes through the node use one as gateway."""
        return [self.ll] + ([self.global6] if self.global6 else [])

    def bgp_address(self):
        """The address the node's BGP sessions run from."""
        return self.global6 or self.ll

    # -- WireGuard --
    def wg_up(self):
        """Starts the device with its address; the peers come separately."""
        self.wg.start()
        self.wg.up(*[a + "/64" for a in self.addresses()])

    def add_peers(self):
        for peer in self.peer_nodes():
            self.add_peer(peer)

    def add_peer(self, peer, extra_allowed=()):
        allowed = [a + "/128" for a in peer.addresses()] + list(extra_allowed)
        self.static[peer.name] = _nets(allowed)
        self.wg.add_peer(peer.wg.public_key, allowed,
                         (self.peers[peer.name], peer.wg.listen_port))

    def add_static(self, peer, *prefixes):
        """Adds static AllowedIPs to peer with `wg set` (which replaces the
        peer's list: the current one, learned prefixes included, is written
        back with them), and remembers them as static."""
        self._set_list(peer, self.allowed().get(peer.name, set()) | _nets(prefixes))
        self.static[peer.name] |= _nets(prefixes)

    def remove_static(self, peer, *prefixes):
        self.static[peer.name] -= _nets(prefixes)
        self._set_list(peer, self.allowed().get(peer.name, set()) - _nets(prefixes))

    def _set_list(self, peer, prefixes):
        self.ns.run(["wg", "set", self.wg.name, "peer", peer.wg.public_key, "allowed-ips",
                     ",".join(netns.check_allowed_ip(p) for p in sorted(prefixes))])

    def allowed(self):
        """{peer name: set of prefixes} (peers of other keys under their key)."""
        by_key = self.wg.allowed_ips_fast()
        names = {n.wg.public_key: n.name for n in self.topo.nodes.values()}
        return {names.get(k, k): v for k, v in by_key.items()}

    def holder(self, prefix):
        """The peer name whose AllowedIPs hold prefix, or None."""
        prefix = str(ipaddress.ip_network(prefix))
        for peer, prefixes in self.allowed().items():
            if prefix in prefixes:
                return peer
        return None

    # -- routes --
    def routes(self, family):
        """Routes of the main table as ip -j gives them (family "-4"/"-6")."""
        return json.loads(self.ns.ip("-j", family, "route", "show", "table", "main").stdout
                          or "[]")

    def wg_routes(self):
        """[(prefix, gateway or None, protocol, metric)] of both families
        through the WireGuard interface."""
        nexthops = None
        out = []
        for family in ("-4", "-6"):
            for r in self.routes(family):
                if r.get("dev") != self.wg.name and "nhid" not in r:
                    continue
                gw = r.get("gateway") or (r.get("via") or {}).get("host")
                if "nhid" in r:
                    if nexthops is None:
                        nexthops = {n["id"]: n for n in json.loads(
                            self.ns.ip("-j", "nexthop", "show").stdout or "[]")}
                    nh = nexthops.get(r["nhid"], {})
                    if nh.get("dev") != self.wg.name:
                        continue
                    gw = gw or nh.get("gateway")
                dst = prefix_of(r["dst"])
                if dst is None:
                    continue
                out.append((dst, gw, str(r.get("protocol")), r.get("metric", 0)))
        return out

    def best_routes(self):
        """{prefix: gateway} of the best (lowest metric) foreign route with a
        gateway through wg, per destination: what names a peer."""
        best = {}
        for dst, gw, proto, metric in self.wg_routes():
            if proto != "98" and gw and (dst not in best or metric < best[dst][1]):
                best[dst] = (gw, metric)
        return {dst: v[0] for dst, v in best.items()}

    def route_via(self, prefix):
        """The gateway of the best foreign route for prefix through wg."""
        return self.best_routes().get(str(ipaddress.ip_network(prefix)))

    def route_with_nexthop_object(self, prefix):
        """(route, nexthop object) of the main table's route for prefix as
        `ip -j route` and `ip -j nexthop show id N` give them; the object
        None when the route has no RTA_NH_ID, both None without a route."""
        prefix = str(ipaddress.ip_network(prefix))
        family = "-6" if ":" in prefix else "-4"
        route = next((r for r in self.routes(family) if prefix_of(r["dst"]) == prefix), None)
        if route is None or "nhid" not in route:
            return route, None
        nh = json.loads(self.ns.ip("-j", "nexthop", "show", "id", str(route["nhid"]), check=False)
                        .stdout or "[]")
        return route, (nh[0] if nh else None)

    def our_routes(self):
        """{prefix: gateway or None} of the routes wg-rtsync installed."""
        return {dst: gw for dst, gw, proto, _ in self.wg_routes() if proto == "98"}

    # -- data plane --
    def ping(self, dst, src=None, wait=1):
        check_address(dst)
        src = src or (self.addr6 if ":" in dst else self.addr4)
        flag = "-6" if ":" in dst else "-4"
        return self.ns.run(["ping", flag, "-n", "-q", "-c", "1", "-W", str(wait), "-I", src,
                            dst], check=False).returncode == 0

    def ping_many(self, targets, wait=1):
        """Pings every address once, in parallel; returns the ones that
        did not answer."""
        script = "".join(
            "ping %s -n -q -c 1 -W %d -I %s %s >/dev/null 2>&1 || echo %s &\n" % (
                "-6" if ":" in t else "-4", wait,
                self.addr6 if ":" in t else self.addr4, check_address(t), t)
            for t in targets) + "wait\n"
        res = self.ns.run(["sh", "-c", script], check=False, timeout=30)
        return res.stdout.split()

    # -- routing daemon --
    def bird_config(self):
        routes = {4: "", 6: ""}
        for p in self.announced:
            routes[ipaddress.ip_network(p).version] += "\troute %s unreachable;\n" % p
        bird_dir = self.topo.bird_dir
        text = render(os.path.join(bird_dir, "node.conf"), ROUTER_ID=self.router_id,
                      LOG=os.path.join(self.dir, "bird.log"), ROUTES4=routes[4],
                      ROUTES6=routes[6], WG=self.wg.name, ASN=self.asn,
                      BFD_MS=self.topo.bfd_ms)
        if self.topo.igp == "bgp":
            for peer in self.peer_nodes():
                text += render(os.path.join(bird_dir, "bgp-peer.conf"),
                               PEER_NAME="peer_" + peer.name, PEER_ADDR=peer.bgp_address(),
                               WG=self.wg.name, PEER_ASN=peer.asn)
        else:
            for name in self.topo.igp.split("+"):
                text += render(os.path.join(bird_dir, name + ".conf"), WG=self.wg.name,
                               OSPF_NEIGHBORS=self.ospf_neighbors(),
                               **self.topo.igp_values)
        return text

    def ospf_neighbors(self):
        """The neighbours block of an OSPF interface when the type is one
        that lists them (ptmp, nbma)."""
        if self.topo.igp_values.get("OSPF_TYPE") not in ("ptmp", "nbma"):
            return ""
        return "\t\t\tneighbors {\n%s\t\t\t};\n" % "".join(
            "\t\t\t\t%s;\n" % p.ll for p in self.peer_nodes())

    def write_bird_config(self):
        path = os.path.join(self.dir, "bird.conf")
        with open(path, "w") as f:
            f.write(self.bird_config())
        return path

    def start_routing(self):
        if self.router == "frr":
            return self.start_frr()
        path = self.write_bird_config()
        res = self.ns.run(["bird", "-p", "-c", path], check=False)
        if res.returncode != 0:
            raise HarnessError("bird -p %s: %s%s" % (path, res.stdout, res.stderr))
        pidfile = os.path.join(self.dir, "bird.pid")
        # -f: in the foreground, so the harness owns its PID and ends it.
        self.bird = self.ns.start(["bird", "-f", "-c", path, "-s", self.bird_sock,
                                   "-P", pidfile], name="bird-" + self.name)
        self.topo.wait(lambda: self._bird_answers(), "BIRD of %s to answer" % self.name)

    def _bird_answers(self):
        if not self.bird.alive():
            raise HarnessError("BIRD of %s exited:\n%s" % (self.name, self.bird.log()))
        return self.birdc("show", "status", check=False).returncode == 0

    def birdc(self, *args, check=True):
        return self.ns.run(["birdc", "-s", self.bird_sock] + list(args), check=check)

    def announce(self, *prefixes):
        """Originate more prefixes (BIRD reconfigure)."""
        for p in prefixes:
            netns.check_address(p)
            if p not in self.announced:
                self.announced.append(p)
        self.reconfigure_bird()

    def withdraw(self, *prefixes):
        for p in prefixes:
            self.announced.remove(p)
        self.reconfigure_bird()

    def reconfigure_bird(self):
        if self.router == "frr":
            raise HarnessError("announce/withdraw: only for BIRD nodes")
        path = self.write_bird_config()
        out = self.birdc("configure", '"%s"' % path).stdout
        if "Reconfigured" not in out and "Reconfiguration in progress" not in out:
            raise HarnessError("birdc configure on %s: %s" % (self.name, out))

    def bgp_states(self):
        """{protocol name: state} of the BGP sessions (BIRD nodes)."""
        out = self.birdc("show", "protocols", check=False).stdout
        states = {}
        for line in out.splitlines():
            f = line.split()
            if len(f) >= 4 and f[1] == "BGP":
                states[f[0]] = " ".join(f[5:]) if len(f) > 5 else f[3]
        return states

    def start_frr(self):
        """zebra and bgpd from Debian's frr in the namespace. zebra installs
        routes through nexthop objects (RTA_NH_ID), as FRR does."""
        # FRR drops to the frr user. Sticky: others may add their files,
        # not replace what lies there, wg-rtsync's state_dir (spec 6.1).
        os.chmod(self.dir, 0o1777)
        neighbors = ""
        for p in self.peer_nodes():
            addr = p.bgp_address()
            # A link-local neighbour needs its interface; a global one none
            # (FRR would treat it as link-local, with that bug: docs/bird.md).
            scope = "!" if p.global6 else " neighbor %s interface %s" % (addr, self.wg.name)
            neighbors += render(os.path.join(FRR_DIR, "bgp-neighbor.conf"), PEER_ADDR=addr,
                                PEER_ASN=p.asn, PEER_INTERFACE=scope)
        # next-hop-self: as BIRD's "next hop self"; the peers of one
        # WireGuard interface share its subnet but do not reach each other,
        # so bgpd must not pass a neighbour's global next hop on to another.
        activate = "".join("  neighbor %s activate\n  neighbor %s next-hop-self\n" % (
            p.bgp_address(), p.bgp_address()) for p in self.peer_nodes())
        nets = {4: "", 6: ""}
        for p in self.announced:
            nets[ipaddress.ip_network(p).version] += "  network %s\n" % p
        conf = render(os.path.join(FRR_DIR, "bgpd.conf"), NAME=self.name,
                      LOG=os.path.join(self.dir, "frr.log"), ASN=self.asn,
                      ROUTER_ID=self.router_id, NEIGHBORS=neighbors,
                      NETWORKS4=nets[4], NETWORKS6=nets[6], ACTIVATE=activate)
        paths = {}
        for daemon, text in (("zebra", "hostname %s\n" % self.name), ("bgpd", conf)):
            paths[daemon] = os.path.join(self.dir, daemon + ".conf")
            with open(paths[daemon], "w") as f:
                f.write(text)
        zserv = os.path.join(self.dir, "zserv.api")
        common = ["--vty_socket", self.dir, "-z", zserv, "-A", "127.0.0.1", "-P", "0",
                  "-u", "frr", "-g", "frr"]
        for daemon in ("zebra", "bgpd"):
            proc = self.ns.start(["/usr/lib/frr/" + daemon, "-f", paths[daemon],
                                  "-i", os.path.join(self.dir, daemon + ".pid")] + common,
                                 name="%s-%s" % (daemon, self.name))
            self.frr.append(proc)
            if daemon == "zebra":
                self.topo.wait(lambda: os.path.exists(zserv) or not proc.alive(),
                               "zebra of %s" % self.name)
            if not proc.alive():
                raise HarnessError("%s of %s exited:\n%s" % (daemon, self.name, proc.log()))

    def vtysh(self, *commands):
        argv = ["vtysh", "--vty_socket", self.dir]
        for c in commands:
            argv += ["-c", c]
        return self.ns.run(argv, check=False).stdout

    def frr_paths(self, prefix):
        """How many paths bgpd has for prefix (from every neighbour)."""
        family = "ipv6" if ":" in prefix else "ipv4"
        try:
            out = json.loads(self.vtysh("show bgp %s unicast %s json" % (family, prefix)) or "{}")
        except ValueError:
            return 0
        return len(out.get("paths", []))

    # -- diagnostics --
    def diagnostics(self):
        parts = ["==== node %s (%s, %s, %s)" % (self.name, self.ns.name, self.wg.name,
                                               " ".join(self.addresses()))]
        for argv in (["wg", "show", self.wg.name, "allowed-ips"], ["ip", "-4", "route"],
                     ["ip", "-6", "route"], ["ip", "nexthop"]):
            res = self.ns.run(argv, check=False)
            parts.append("$ " + " ".join(argv) + "\n" + res.stdout + res.stderr)
        if self.router == "bird" and self.bird:
            parts.append("$ birdc show protocols\n" +
                         self.birdc("show", "protocols", check=False).stdout)
        if self.router == "frr":
            parts.append(self.vtysh("show bgp summary"))
        if self.rtsync:
            parts.append("wg-rtsync log (tail):\n" + self.rtsync.log()[-3000:])
        return "\n".join(parts)


class Topology:
    """Nodes and edges from a compact description, built in a Harness.

    spec:       "a-b b-c" (see parse_edges; mesh(n) for a full mesh)
    gateways:   "explicit" | "cryptokey" | "derived" (docs/spec.md 2.8)
    igp:        "bgp" (default) or names of templates in bird/ joined by "+"
                ("ospf3", "ospf3+ospf3-ipv4", "babel"), with igp_values for
                their placeholders
    routing:    {node name: "frr"} for nodes that run FRR instead of BIRD
    peering:    "link-local" (default) or "global": the addresses of the
                WireGuard interfaces the BGP sessions run between
    nexthop_compat_mode: every node's net.ipv4.nexthop_compat_mode (0 or 1;
                default: the kernel's, 1)
    rtsync:     "start" (default), "first" (started before the WireGuard
                devices exist), "later" (the caller starts it) or "none"
    rtsync_config: extra YAML for every node's wg-rtsync
    bird_dir:   where the BIRD templates are (default tests/netns/bird)
    bfd_ms:     BFD's transmit and receive interval (default 100)
    """

    def __init__(self, harness, spec, gateways="cryptokey", igp="bgp", igp_values=None,
                 routing=None, rtsync="start", rtsync_config="", wg_flavour=None,
                 bird_dir=BIRD_DIR, bfd_ms=100, peering="link-local",
                 nexthop_compat_mode=None):
        if gateways not in GATEWAY_SOURCES:
            raise HarnessError("gateways=%s: use one of %s" % (gateways, GATEWAY_SOURCES))
        if peering not in PEERINGS:
            raise HarnessError("peering=%s: use one of %s" % (peering, PEERINGS))
        self.peering = peering
        self.nexthop_compat_mode = nexthop_compat_mode
        self.harness = harness
        self.spec = spec
        self.gateways = gateways
        self.igp = igp
        self.igp_values = igp_values or {}
        self.routing = routing or {}
        self.bird_dir = bird_dir
        self.bfd_ms = bfd_ms
        self.wg_flavour = wg_flavour or flavour()
        self.dir = os.path.join(harness.log_dir, "topo%d" % netns._next())
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        os.chmod(harness.log_dir, 0o755)
        names, self.edges = parse_edges(spec)
        self.nodes = {}
        self.links = {}
        for i, name in enumerate(names, 1):
            self.nodes[name] = Node(self, name, i)
        self._link_all()
        for node in self.nodes.values():
            node.ll = self._link_local(node)
        self.rtsync_config = rtsync_config
        self.build(rtsync)

    def routing_of(self, name):
        return self.routing.get(name, "bird")

    def _link_all(self):
        for i, (a, b) in enumerate(self.edges, 1):
            na, nb = self.nodes[a], self.nodes[b]
            veth = self.harness.veth(na.ns, nb.ns, addrgenmode_none=True)
            addr_a, addr_b = "2001:db8:ffff:%x::1" % i, "2001:db8:ffff:%x::2" % i
            na.ns.addr_add(veth.a, addr_a + "/64")
            nb.ns.addr_add(veth.b, addr_b + "/64")
            na.peers[b] = addr_b
            nb.peers[a] = addr_a
            self.links[(a, b)] = self.links[(b, a)] = veth

    def _link_local(self, node):
        if self.gateways != "derived":
            return "fe80::%x" % node.index
        res = netns.run([find_binary(), "addr", node.wg.public_key, "fe80::/64"])
        return res.stdout.split()[0]

    def build(self, rtsync):
        for node in self.nodes.values():
            node.rtsync = Rtsync(node, self.rtsync_config) if rtsync != "none" else None
            if rtsync == "first":
                node.rtsync.start(wait="answers")
        for node in self.nodes.values():
            node.wg_up()
        for node in self.nodes.values():
            node.add_peers()
        for node in self.nodes.values():
            node.start_routing()
        if rtsync == "start":
            self.start_rtsync()
        elif rtsync == "first":
            for node in self.nodes.values():
                self.wait(lambda: node.rtsync.alive_and(node.rtsync.iface),
                          "wg-rtsync of %s to pick up %s" % (node.name, node.wg.name))

    def start_rtsync(self):
        for node in self.nodes.values():
            node.rtsync.start(wait=False)
        for node in self.nodes.values():
            self.wait(lambda: node.rtsync.alive_and(node.rtsync.iface),
                      "wg-rtsync of %s to manage %s" % (node.name, node.wg.name))

    def __getitem__(self, name):
        return self.nodes[name]

    def link(self, a, b):
        """The veth of edge a-b and its end in a's namespace."""
        veth = self.links[(a, b)]
        return veth, (veth.a if veth.ns_a is self.nodes[a].ns else veth.b)

    def link_down(self, a, b):
        veth, end = self.link(a, b)
        self.nodes[a].ns.ip("link", "set", end, "down")

    def link_up(self, a, b):
        veth, end = self.link(a, b)
        self.nodes[a].ns.ip("link", "set", end, "up")

    # -- waiting and checking --
    def diagnostics(self):
        return "\n".join(n.diagnostics() for n in self.nodes.values())

    def wait(self, predicate, what, timeout=None):
        """wait_until with the suite's deadline; a timeout carries the state
        of every node."""
        try:
            return wait_until(predicate, timeout or CONVERGE, what)
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, self.diagnostics())) from None

    def targets(self, node):
        """The addresses of every other node."""
        return [a for n in self.nodes.values() if n is not node for a in (n.addr6, n.addr4)]

    def wait_full_reachability(self, timeout=None):
        """Every node pings both addresses of every other node."""
        pending = {n.name: self.targets(n) for n in self.nodes.values()}

        def step():
            threads = []
            for name, tgts in list(pending.items()):
                def work(name=name, tgts=tgts):
                    pending[name] = self.nodes[name].ping_many(tgts)
                t = threading.Thread(target=work)
                t.start()
                threads.append(t)
            for t in threads:
                t.join()
            for name in [k for k, v in pending.items() if not v]:
                del pending[name]
            return not pending

        self.wait(step, "full reachability (still failing: %s)" % pending, timeout)

    def wait_routes(self, node, prefix, via_peer):
        """Until node's kernel route for prefix goes via one of via_peer's
        addresses and that peer's AllowedIPs hold the prefix."""
        want = self.nodes[via_peer].addresses()
        self.wait(lambda: node.route_via(prefix) in want and node.holder(prefix) == via_peer,
                  "%s: %s via %s (route and AllowedIPs)" % (node.name, prefix, via_peer))

    def check_invariants(self, node, conflicts_ok=()):
        """docs/spec.md section 10 on one node, after convergence: 1. static
        AllowedIPs are all there; 3. every route of ours matches a static
        AllowedIP, every foreign route through a peer's gateway has its
        destination in that peer's AllowedIPs (except prefixes in
        conflicts_ok). Returns a list of violations."""
        allowed = node.allowed()
        problems = []
        for peer, prefixes in node.static.items():
            missing = prefixes - allowed.get(peer, set())
            if missing:
                problems.append("%s: static AllowedIPs of %s missing: %s" % (
                    node.name, peer, sorted(missing)))
        static_all = set().union(*node.static.values()) if node.static else set()
        by_addr = {a: n.name for n in self.nodes.values() for a in n.addresses()}
        for dst, gw, proto, _ in node.wg_routes():
            if proto == "98" and dst not in static_all:
                problems.append("%s: route of ours for %s matches no static "
                                "AllowedIP" % (node.name, dst))
        for dst, gw in node.best_routes().items():
            peer = by_addr.get(gw)
            if peer in node.peers and dst not in conflicts_ok and \
                    dst not in allowed.get(peer, set()):
                problems.append("%s: %s via %s is not in %s's AllowedIPs" % (
                    node.name, dst, gw, peer))
        return problems

    def assert_invariants(self, conflicts_ok=()):
        problems = [p for n in self.nodes.values()
                    for p in self.check_invariants(n, conflicts_ok)]
        if problems:
            raise AssertionError("\n".join(problems) + "\n" + self.diagnostics())

    def wait_invariants(self, conflicts_ok=()):
        self.wait(lambda: not any(self.check_invariants(n, conflicts_ok)
                                  for n in self.nodes.values()),
                  "the invariants of docs/spec.md section 10 on every node")

    # -- TCP transfer --
    def tcp_transfer(self, client, dst, servers, nbytes=1 << 20, port=5001):
        """Sends nbytes from client to dst over TCP. A server runs on every
        node of servers (the ones that may own dst); the one reached answers
        with its node name, the byte count and their SHA-256, which the
        client checks. Returns the name of the node reached."""
        check_address(dst)
        procs = []
        try:
            for node in servers:
                proc = node.ns.start([sys.executable, TCPCHECK, "server", str(port), node.name],
                                     name="tcpcheck-" + node.name)
                procs.append(proc)
                self.wait(lambda: _listening(node, port, proc),
                          "the TCP server on %s" % node.name)
            src = client.addr6 if ":" in dst else client.addr4
            res = client.ns.run([sys.executable, TCPCHECK, "client", dst, str(port), str(nbytes),
                                 src], check=False, timeout=60)
            if res.returncode != 0:
                raise AssertionError("TCP transfer %s -> %s failed: %s%s\n%s" % (
                    client.name, dst, res.stdout, res.stderr, self.diagnostics()))
            return res.stdout.split()[0]
        finally:
            for proc in procs:
                proc.stop()

    def check_data_plane(self, client, server, dst=None):
        """Ping (deadline loop) and a 1 MiB TCP transfer from client to
        server's addresses (or dst on server), both families."""
        for addr in ([dst] if dst else [server.addr6, server.addr4]):
            self.wait(lambda: client.ping(addr), "%s to ping %s" % (client.name, addr))
            got = self.tcp_transfer(client, addr, [server])
            assert got == server.name, "TCP to %s reached %s, not %s" % (addr, got,
                                                                        server.name)


def _listening(node, port, server):
    if not server.alive():
        raise HarnessError("TCP server exited:\n" + server.log())
    out = node.ns.run(["ss", "-Hltn", "sport = :%d" % port], check=False).stdout
    return bool(out.strip())


# ---- what a run holds (for the teardown tests) ----

def pid_alive(pid):
    """True for a process that exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def child_pids():
    """Live child processes of this process."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid() and fields[0] != "Z":
                out.append(int(entry))
    return out


def resources(harness):
    """Everything harness holds now: namespaces, the PIDs of its processes
    and of every process inside its namespaces, UAPI sockets, directories."""
    res = harness.resources()
    pids = set(res["pids"])
    for ns in harness.namespaces:
        pids |= set(ns.pids())
    return {"namespaces": res["namespaces"], "pids": sorted(pids),
            "sockets": [s for s in res["sockets"] if os.path.exists(s)],
            "dirs": [harness.log_dir]}


# ---- measuring a next-hop move ----

class RouteMonitor:
    """`ip -ts monitor route` in a node: when the kernel route changed."""

    def __init__(self, node):
        self.node = node
        self.proc = node.ns.start(["ip", "-ts", "monitor", "route"],
                                  name="monitor-" + node.name)
        time.sleep(0)  # started; lines before this point do not matter

    def first_change(self, prefix, gateway, after):
        """Wall-clock time of the first event after `after` that makes the
        route for prefix go via gateway, or None."""
        net = ipaddress.ip_network(prefix)
        for line in self.proc.log().splitlines():
            m = re.match(r"\[([0-9T:.\-]+)\]\s*(.*)", line)
            if not m:
                continue
            when = datetime.fromisoformat(m.group(1)).timestamp()
            rest = m.group(2)
            if when < after or rest.startswith("Deleted"):
                continue
            f = rest.split()
            if not f or f[0] == "default":
                continue
            try:
                dst = ipaddress.ip_network(f[0], strict=False)
            except ValueError:
                continue
            if dst == net and " %s " % gateway in " %s " % rest:
                return when
        return None

    def stop(self):
        self.proc.stop()


class Watcher(threading.Thread):
    """Calls probe() every few milliseconds (a UAPI read costs about one);
    probe returns the keys that hold now. Records when each key of keys was
    first seen holding (wall clock, as ip -ts and ping -D)."""

    def __init__(self, probe, keys, interval=0.005):
        super().__init__(daemon=True)
        self.probe, self.interval = probe, interval
        self.seen = {k: None for k in keys}
        self.stopping = threading.Event()
        self.error = None

    def run(self):
        try:
            while not self.stopping.is_set() and None in self.seen.values():
                now = time.time()
                for k in self.probe():
                    if k in self.seen and self.seen[k] is None:
                        self.seen[k] = now
                time.sleep(self.interval)
        except Exception as e:  # reported by the test
            self.error = e

    def done(self):
        return None not in self.seen.values()

    def stop(self):
        self.stopping.set()
        self.join(10)


def moved_from(node, prefixes, old_peer):
    """A probe for Watcher: which of prefixes node's AllowedIPs hold at a
    peer other than old_peer."""
    def probe():
        return {p for peer, held in node.allowed().items() if peer != old_peer
                for p in prefixes if p in held}
    return probe


class Pinger:
    """ping -D at 20 per second from a node: when replies come."""

    def __init__(self, node, dst, interval=0.05):
        self.node = node
        src = node.addr6 if ":" in dst else node.addr4
        self.proc = node.ns.start(["ping", "-D", "-n", "-i", str(interval), "-W", "1",
                                   "-I", src, check_address(dst)],
                                  name="ping-" + node.name)

    def replies(self):
        """[(sent, received)] wall-clock times of the answered pings: ping
        -D prints when a reply came, minus its round trip is when the
        request left."""
        out = []
        for line in self.proc.log().splitlines():
            m = re.match(r"\[(\d+\.\d+)\].*bytes from.* time=([\d.]+) ms", line)
            if m:
                received = float(m.group(1))
                out.append((received - float(m.group(2)) / 1000, received))
        return out

    def first_reply_after(self, t):
        """When the first reply to a request sent after t came (a request
        already in flight at t does not count)."""
        return next((r for s, r in self.replies() if s > t), None)

    def stop(self):
        self.proc.stop()


# ---- scenario lines ----

class Reporter:
    """One line per scenario (and per measurement) on the terminal, also when
    pytest captures output, and appended to $WGRS_TOPO_REPORT if set."""

    def __init__(self, config=None):
        plugins = config.pluginmanager if config else None
        self.tr = plugins.getplugin("terminalreporter") if plugins else None
        self.capture = plugins.getplugin("capturemanager") if plugins else None

    def line(self, text):
        if self.tr is not None and self.capture is not None:
            with self.capture.global_and_fixture_disabled():
                tw = getattr(self.tr, "_tw", None)
                if getattr(tw, "width_of_current_line", 0):
                    tw.line()  # after pytest's progress dots
                self.tr.write_line(text)
        else:
            print(text, flush=True)
        path = os.environ.get("WGRS_TOPO_REPORT")
        if path:
            with open(path, "a") as f:
                f.write(text + "\n")
