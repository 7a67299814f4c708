"""pytest fixtures for the namespace tests of the wg-rtsync daemon.

Each test gets its own Harness (netns.py): a fresh namespace, a wireguard-go
device with two peers, and a helper to run wg-rtsync in that namespace with a
configuration in a temporary directory. Everything is removed when the test
ends, failed or not: processes by PID, the namespace, the UAPI socket, the
temporary directory.

The binary (topo.find_binary): $WGRS_BINARY, else $WGRS_BUILD/wg-rtsync,
else the first build directory of the repository that has one. With
WGRS_BINARY the suite tests any program with wg-rtsync's command line, a
port for instance (docs/conformance.md says what it needs of it); a value
that names nothing executable stops the run at once.
"""

import ipaddress
import json
import os
import shutil
import signal
import subprocess
import tempfile

import pytest

import netns
import topo
from netns import Harness, HarnessError, wait_until

# Gateways of the two peers: each peer holds its own as a static AllowedIP,
# so it names the peer by cryptokey routing (docs/spec.md 2.8).
GW1, GW2 = "fe80::2", "fe80::3"
# Deadline of every wait for the daemon to converge. Generous: a loaded CI
# machine is slow, and a passing test never waits this long.
CONVERGE = float(os.environ.get("WGRS_CONVERGE", "15"))


def prefix_of(dst):
    """ip -j prints a host route without its length: "fe80::2" -> "fe80::2/128"."""
    return str(ipaddress.ip_network(dst, strict=False))


def pytest_configure(config):
    """A WGRS_BINARY that names nothing executable is an error of the run,
    not a reason to skip, nor to test the built wg-rtsync instead."""
    try:
        topo.binary_from_env()
    except HarnessError as e:
        raise pytest.UsageError(str(e))


def missing_tools():
    """The harness's tools, less wireguard-go for kernel WireGuard."""
    tools = netns.missing_tools()
    if topo.flavour() == "kernel":
        tools = [t for t in tools if t != "wireguard-go"]
    return tools


def pytest_collection_modifyitems(config, items):
    reason = None
    if os.geteuid() != 0:
        reason = "namespace tests need root"
    elif missing_tools():
        reason = "missing tools: %s" % ", ".join(missing_tools())
    if reason:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def harness():
    h = Harness()
    try:
        yield h
    finally:
        h.cleanup()


@pytest.fixture
def workdir():
    """A short temporary directory (unix socket paths are limited to 107
    bytes, pytest's tmp_path can be longer)."""
    d = tempfile.mkdtemp(prefix="wgrs-")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def ns(harness):
    return harness.namespace()


class Peer:
    def __init__(self, gateway):
        self.private_key, self.public_key = netns.genkey()
        self.gateway = gateway


class Device:
    """A wireguard-go device in ns with two peers, p1 (gateway fe80::2) and
    p2 (gateway fe80::3), and address fe80::1/64."""

    def __init__(self, harness, ns, name=None):
        self.harness, self.ns = harness, ns
        # WGRS_WG_FLAVOUR=kernel (the VM tier): kernel WireGuard instead.
        if topo.flavour() == "kernel":
            self.wg = topo.KernelWireGuard(harness, ns, name=name)
        else:
            self.wg = harness.wireguard_go(ns, name=name)
        self.name = self.wg.name
        self.p1, self.p2 = Peer(GW1), Peer(GW2)

    def start(self):
        self.wg.start()
        for p in (self.p1, self.p2):
            self.wg.add_peer(p.public_key, [p.gateway + "/128"])
        self.wg.up("fe80::1/64")
        return self

    def stop(self):
        self.wg.stop()

    def allowed(self, peer):
        """The AllowedIPs of peer, as a set of strings."""
        return {prefix_of(p) for p in self.wg.allowed_ips().get(peer.public_key, [])}

    def set_allowed(self, peer, prefixes):
        """Replaces the AllowedIPs of peer (wg set semantics)."""
        self.ns.run(["wg", "set", self.name, "peer", peer.public_key, "allowed-ips",
                     ",".join(netns.check_allowed_ip(p) for p in prefixes)])

    def routes(self, family="-6", **match):
        """Routes of the main table through the device, as ip -j gives them;
        match filters on fields (protocol="98")."""
        out = json.loads(self.ns.run(["ip", "-j", family, "route", "show", "table", "main",
                                      "dev", self.name]).stdout or "[]")
        if "dst" in match:
            match["dst"] = prefix_of(match["dst"])
        return [r for r in out if all(
            str(prefix_of(r["dst"]) if k == "dst" else r.get(k)) == str(v)
            for k, v in match.items())]

    def our_routes(self, family="-6"):
        """Destinations of our routes (protocol 98), as prefixes."""
        return {prefix_of(r["dst"]) for r in self.routes(family, protocol="98")}


@pytest.fixture
def dev(harness, ns):
    return Device(harness, ns).start()


@pytest.fixture
def fake(harness, ns):
    """A userspace WireGuard device served by a fake UAPI server
    (fake_uapi.py) with p1 (fe80::2) and p2 (fe80::3), each holding its
    gateway as a static AllowedIP; started by the test (fake.start())."""
    from fake_uapi import FakeUapi

    p1, p2 = Peer(GW1), Peer(GW2)
    f = FakeUapi(harness, ns, {p1.public_key: [GW1 + "/128"], p2.public_key: [GW2 + "/128"]})
    f.p1, f.p2 = p1, p2
    yield f
    f.stop()


class Daemon:
    """wg-rtsync in a namespace, with its configuration and state_dir in a
    temporary directory."""

    def __init__(self, harness, ns, workdir, config="", env=None, args=(), binary=None):
        self.harness, self.ns = harness, ns
        self.binary = binary or topo.find_binary()
        self.dir = workdir
        self.state_dir = os.path.join(workdir, "state")
        self.config_path = os.path.join(workdir, "wg-rtsync.yaml")
        self.env = env or {}
        self.args = list(args)
        self.proc = None
        self.write_config(config)
        harness.__dict__.setdefault("wgrs_daemons", []).append(self)

    def write_config(self, text):
        with open(self.config_path, "w") as f:
            f.write("state_dir: %s\n%s" % (self.state_dir, text))

    def argv(self, *extra):
        return [self.binary, "-c", self.config_path, "-v"] + self.args + list(extra)

    def start(self, wait=True):
        """Starts it; with wait, until it answers on its control socket."""
        self.proc = self.ns.start(self.argv(), env=self.env, name="wg-rtsync")
        if not wait:
            return self
        wait_until(lambda: self._alive_and(self._answers), CONVERGE,
                   "wg-rtsync to answer on its control socket")
        return self

    def _answers(self):
        try:
            return self.status()
        except HarnessError:
            return None  # not yet, or a stale socket of an earlier run

    def _alive_and(self, pred):
        if not self.proc.alive():
            raise HarnessError("wg-rtsync exited with %s:\n%s" % (
                self.proc.popen.returncode, self.proc.log()))
        return pred()

    def control_path(self):
        return os.path.join(self.state_dir, "control.sock")

    def run(self, *extra, check=False, timeout=120):
        """Runs wg-rtsync to completion (--oneshot, status) in the namespace."""
        return self.ns.run(self.argv(*extra), check=check, timeout=timeout)

    def status(self):
        res = subprocess.run([self.binary, "-c", self.config_path, "status", "--json"],
                             capture_output=True, text=True, timeout=30)
        if res.returncode != 0:
            raise HarnessError("status failed (%d): %s" % (res.returncode, res.stderr))
        return json.loads(res.stdout)

    def iface(self, name):
        """The status entry of interface name, or None."""
        for i in self.status()["interfaces"]:
            if i["name"] == name:
                return i
        return None

    def wait_managed(self, name):
        return wait_until(lambda: self._alive_and(lambda: self.iface(name)), CONVERGE,
                          "wg-rtsync to manage %s" % name)

    def wait_rounds(self, name, extra=2):
        """Waits until the daemon has finished `extra` more sync rounds of
        name: whatever it had seen before has then been acted on."""
        start = self.wait_managed(name)["rounds"]
        wait_until(lambda: self._alive_and(
            lambda: (self.iface(name) or {}).get("rounds", 0) >= start + extra),
            CONVERGE, "%d more sync rounds of %s" % (extra, name))

    def log(self):
        return self.proc.log() if self.proc else ""

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def kill9(self):
        self.signal(signal.SIGKILL)
        self.proc.popen.wait(10)

    def stop(self):
        return self.proc.stop()


@pytest.fixture
def make_daemon(harness, ns, workdir):
    """make_daemon(config="", env=None, args=(), binary=None) -> Daemon (not
    started)."""
    def make(config="", env=None, args=(), binary=None):
        return Daemon(harness, ns, workdir, config, env, args, binary)
    return make


@pytest.fixture
def daemon(make_daemon, dev):
    """A started daemon managing dev."""
    d = make_daemon().start()
    d.wait_managed(dev.name)
    return d


def converge(what, predicate):
    """Waits for predicate with the test deadline."""
    return wait_until(predicate, CONVERGE, what)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, append the daemon's log to the report."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        h = item.funcargs.get("harness")
        for i, d in enumerate(getattr(h, "wgrs_daemons", [])):
            report.sections.append(("wg-rtsync log %d" % (i + 1), d.log()[-20000:]))
