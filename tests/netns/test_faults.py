"""Faults from the kernel and WireGuard, injected (docs/reliability.md,
"Faults from the kernel and WireGuard"; docs/spec.md 5.11, 9.7, 9.10).

Real refusals where the kernel or the file system gives them: a gateway the
kernel cannot reach (ENETUNREACH), a downed link (ENETDOWN), a daemon
without CAP_NET_ADMIN (EPERM), a full or read-only state directory (ENOSPC,
EROFS). An LD_PRELOAD shim (route_refuse.c) where nothing real exists:
EEXIST and ENOBUFS. A fake UAPI server (fake_uapi.py) for what wireguard-go
cannot be made to do on demand: refuse a set, close the connection in the
middle of a reply, vanish with its link in the middle of a round.

Each fault is logged once per cause, retried on later passes (its count in
`status --json` grows), never crashes the daemon, never removes a static
AllowedIP or touches a foreign route, and ends: then the daemon says so and
converges."""

import ipaddress
import json
import os
import subprocess

import pytest

import topo
from conftest import CONVERGE, GW1, GW2, converge
from fake_uapi import FakeUapi
from netns import wait_until



def foreign_routes(ns):
    """Every route of the main table that is not ours (protocol 98), both
    families, as ip -j prints them."""
    out = []
    for family in ("-4", "-6"):
        out += [r for r in json.loads(ns.ip("-j", family, "route", "show", "table", "main")
                                      .stdout or "[]") if r.get("protocol") != "98"]
    return sorted(out, key=lambda r: json.dumps(r, sort_keys=True))


def failure(d, name, kind, cause):
    """The failures entry of interface name for (kind, cause), or None."""
    for f in (d.iface(name) or {}).get("failures", []):
        if f["kind"] == kind and f["cause"] == cause:
            return f
    return None


# status --prometheus names the kinds as label values.
KIND_IDS = {"allowed-ip add": "allowed_ip_add", "allowed-ip del": "allowed_ip_del",
            "route add": "route_add", "route del": "route_del",
            "reading the device": "device_read", "writing the state file": "state_write"}


def prometheus_failure(d, name, kind, cause):
    """(failures_total, failing) of status --prometheus for the cause."""
    out = subprocess.run([d.binary, "-c", d.config_path, "status", "--prometheus"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    labels = '{interface="%s",kind="%s",cause="%s"} ' % (name, KIND_IDS[kind], cause)
    values = {}
    for line in out.splitlines():
        for metric in ("failures_total", "failing"):
            if line.startswith("wg_rtsync_" + metric + labels):
                values[metric] = int(line.split()[-1])
    return values.get("failures_total"), values.get("failing")


def error_lines(d, *words):
    return [l for l in d.log().splitlines()
            if l.startswith("error: ") and all(w in l for w in words)]


def assert_logged_once_and_retried(d, name, kind, cause, rounds=3):
    """The cause is failing, said in one error line, and tried again by
    later rounds: its count grows while the log stays as it was."""
    first = converge("%s %s counted" % (kind, cause), lambda: d._alive_and(
        lambda: (lambda f: f if f and f["failing"] else None)(failure(d, name, kind, cause))))
    d.wait_rounds(name, extra=rounds)
    later = failure(d, name, kind, cause)
    assert later["count"] > first["count"], "not retried: %s" % later
    lines = error_lines(d, kind, cause)
    assert len(lines) == 1, "said %d times:\n%s" % (len(lines), "\n".join(lines))
    total, failing = prometheus_failure(d, name, kind, cause)
    assert total >= later["count"] and failing == 1, (total, failing)
    print(lines[0])  # pytest -rP shows them (docs/reliability.md)
    return later


def assert_ended(d, name, kind, cause):
    converge("%s %s ended" % (kind, cause), lambda: d._alive_and(
        lambda: not failure(d, name, kind, cause)["failing"]))
    ended = [l for l in d.log().splitlines() if "%s works again" % kind in l]
    assert ended
    print(ended[-1], "| status:", failure(d, name, kind, cause))


# ---- routes refused by the kernel ----

def test_route_add_refused_gateway_unreachable(dev, make_daemon, ns):
    """ENETUNREACH, real: the interface has 192.0.2.1/24, so the daemon takes
    192.0.2.3 for reachable (spec 4.5), but the connected route is gone, so
    the kernel refuses a route via it. Putting it back ends the fault."""
    d = make_daemon("wg_poll_interval: 200ms\npeers: {\"%s\": {gateways: [192.0.2.3]}}\n"
                    % dev.p2.public_key).start()
    d.wait_managed(dev.name)
    ns.addr_add(dev.name, "192.0.2.1/24")
    ns.ip("route", "del", "192.0.2.0/24", "dev", dev.name)
    foreign = foreign_routes(ns)
    dev.set_allowed(dev.p2, [GW2 + "/128", "198.51.100.0/24"])
    assert_logged_once_and_retried(d, dev.name, "route add", "ENETUNREACH")
    assert "198.51.100.0/24" not in dev.our_routes("-4")
    assert dev.allowed(dev.p2) == {GW2 + "/128", "198.51.100.0/24"}
    assert foreign_routes(ns) == foreign
    ns.ip("route", "add", "192.0.2.0/24", "dev", dev.name, "proto", "kernel", "scope",
          "link", "src", "192.0.2.1")
    converge("the route installed", lambda: "198.51.100.0/24" in dev.our_routes("-4"))
    assert_ended(d, dev.name, "route add", "ENETUNREACH")


def test_route_add_refused_link_down(dev, make_daemon, ns):
    """ENETDOWN, real: with the link down, the kernel has flushed our routes
    and refuses them back; link up ends it."""
    d = make_daemon("wg_poll_interval: 200ms\n").start()
    d.wait_managed(dev.name)
    converge("our routes", lambda: {GW1 + "/128", GW2 + "/128"} <= dev.our_routes())
    ns.ip("link", "set", dev.name, "down")
    assert_logged_once_and_retried(d, dev.name, "route add", "ENETDOWN")
    assert dev.allowed(dev.p1) == {GW1 + "/128"} and dev.allowed(dev.p2) == {GW2 + "/128"}
    ns.ip("link", "set", dev.name, "up")
    if "fe80::1" not in ns.addresses(dev.name):
        ns.addr_add(dev.name, "fe80::1/64")
    converge("our routes back", lambda: {GW1 + "/128", GW2 + "/128"} <= dev.our_routes())
    assert_ended(d, dev.name, "route add", "ENETDOWN")


def test_route_changes_refused_without_cap_net_admin(dev, make_daemon, ns):
    """EPERM, real: a daemon started as root but without CAP_NET_ADMIN (an
    empty bounding set, as a container or a unit without it would give) may
    read the routes and talk to wireguard-go (root's socket), but the kernel
    refuses every route it adds or deletes. It says so once per kind, learns
    all the same, and keeps trying; a capability cannot be given to a
    running process, so only a restart with it ends this."""
    if topo.flavour() == "kernel":
        pytest.skip("kernel WireGuard cannot be read without CAP_NET_ADMIN")
    # A route of ours that no AllowedIP wants: the daemon will delete it.
    ns.ip("-6", "route", "add", "2001:db8:9::/48", "dev", dev.name, "proto", "98")
    d = make_daemon("wg_poll_interval: 200ms\n")
    plain = d.argv
    d.argv = lambda *extra: ["setpriv", "--inh-caps=-all", "--ambient-caps=-all",
                             "--bounding-set=-all"] + plain(*extra)
    foreign = foreign_routes(ns)
    d.start()
    d.wait_managed(dev.name)
    assert "running without CAP_NET_ADMIN" in d.log()
    dev.set_allowed(dev.p2, [GW2 + "/128", "2001:db8:5::/48"])
    assert_logged_once_and_retried(d, dev.name, "route add", "EPERM")
    assert_logged_once_and_retried(d, dev.name, "route del", "EPERM")
    assert dev.routes(dst="2001:db8:9::/48", protocol="98")
    # Learning goes through WireGuard alone: it works.
    ns.ip("-6", "route", "add", "2001:db8:1::/48", "via", GW1, "dev", dev.name,
          "proto", "static")
    converge("learned", lambda: "2001:db8:1::/48" in dev.allowed(dev.p1))
    assert dev.allowed(dev.p2) == {GW2 + "/128", "2001:db8:5::/48"}
    assert [r for r in foreign_routes(ns) if r["dst"] != "2001:db8:1::/48"] == foreign


def shim_path():
    path = os.path.join(os.path.dirname(topo.find_binary()), "tests", "unit",
                        "wgrs-route-refuse.so")
    if topo.binary_from_env() or not os.path.exists(path):
        pytest.skip("the route_refuse.c shim is built with wg-rtsync's own tests")
    return path


@pytest.mark.parametrize("err", ["EEXIST", "ENOBUFS"])
def test_route_changes_refused_by_shim(dev, make_daemon, ns, workdir, err):
    """EEXIST and ENOBUFS, through the LD_PRELOAD shim (route_refuse.c): the
    kernel has no way to say them to our changes on demand. First the add
    of 2001:db8:5::/48 is refused, then, once installed, its deletion."""
    refusing = os.path.join(workdir, "refusing")
    open(refusing, "w").close()
    d = make_daemon("wg_poll_interval: 200ms\n", env={
        "LD_PRELOAD": shim_path(), "WGRS_REFUSE_ROUTES": "2001:db8:5::/48=" + err,
        "WGRS_REFUSE_WHILE": refusing}).start()
    d.wait_managed(dev.name)
    foreign = foreign_routes(ns)
    dev.set_allowed(dev.p2, [GW2 + "/128", "2001:db8:5::/48"])
    assert_logged_once_and_retried(d, dev.name, "route add", err)
    assert "2001:db8:5::/48" not in dev.our_routes()
    os.unlink(refusing)
    converge("installed", lambda: "2001:db8:5::/48" in dev.our_routes())
    assert_ended(d, dev.name, "route add", err)

    open(refusing, "w").close()
    dev.set_allowed(dev.p2, [GW2 + "/128"])
    assert_logged_once_and_retried(d, dev.name, "route del", err)
    assert "2001:db8:5::/48" in dev.our_routes()
    os.unlink(refusing)
    converge("deleted", lambda: "2001:db8:5::/48" not in dev.our_routes())
    assert_ended(d, dev.name, "route del", err)
    assert dev.allowed(dev.p1) == {GW1 + "/128"} and dev.allowed(dev.p2) == {GW2 + "/128"}
    assert foreign_routes(ns) == foreign


# ---- WireGuard misbehaving: a fake UAPI server ----

def test_wireguard_set_refused(fake, make_daemon, ns):
    """The server answers errno=-22 to every set, as wireguard-go answers a
    set it cannot apply (a new peer beyond its 65 536, for one): the prefix
    to learn waits, said once, tried again by every round, learned once the
    sets go through."""
    fake.start()
    d = make_daemon("wg_poll_interval: 200ms\n").start()
    d.wait_managed(fake.name)
    fake.refuse_sets = True
    foreign = foreign_routes(ns)
    ns.ip("-6", "route", "add", "2001:db8:1::/48", "via", GW1, "dev", fake.name,
          "proto", "static")
    assert_logged_once_and_retried(d, fake.name, "allowed-ip add", "EINVAL")
    assert fake.allowed(fake.p1.public_key) == {GW1 + "/128"}
    assert fake.allowed(fake.p2.public_key) == {GW2 + "/128"}
    fake.refuse_sets = False
    converge("learned", lambda: "2001:db8:1::/48" in fake.allowed(fake.p1.public_key))
    assert_ended(d, fake.name, "allowed-ip add", "EINVAL")
    assert d.iface(fake.name)["learned"] == 1
    assert [r for r in foreign_routes(ns) if r["dst"] != "2001:db8:1::/48"] == \
        [r for r in foreign if r["dst"] != "2001:db8:1::/48"]


def test_uapi_closed_mid_reply(fake, make_daemon, ns):
    """The server closes the connection half-way through its reply: to a
    get (the poll fails: said once, polled again), then to a set it has
    applied (the daemon cannot know it was: it tries again, and the result
    is the same as without the fault)."""
    fake.start()
    d = make_daemon("wg_poll_interval: 200ms\n").start()
    d.wait_managed(fake.name)
    fake.cut_gets = True
    first = converge("a failed poll counted", lambda: d._alive_and(
        lambda: failure(d, fake.name, "reading the device", "EPIPE")))
    wait_until(lambda: failure(d, fake.name, "reading the device", "EPIPE")["count"]
               >= first["count"] + 3, CONVERGE, "more polls")
    assert len(error_lines(d, "reading the device", "EPIPE")) == 1
    print(error_lines(d, "reading the device", "EPIPE")[0])
    fake.cut_gets = False
    assert_ended(d, fake.name, "reading the device", "EPIPE")

    # Two: the daemon sends a set again at once on a fresh connection when
    # the one it kept was closed before any reply; the second try fails too.
    fake.cut_sets = 2
    ns.ip("-6", "route", "add", "2001:db8:1::/48", "via", GW1, "dev", fake.name,
          "proto", "static")
    converge("the failed learn counted", lambda: d._alive_and(
        lambda: failure(d, fake.name, "allowed-ip add", "EPIPE")))
    assert fake.faults["cut_set"] == 2
    assert len(error_lines(d, "allowed-ip add", "EPIPE")) == 1
    converge("learned", lambda: d.iface(fake.name)["learned"] == 1
             and "2001:db8:1::/48" in fake.allowed(fake.p1.public_key))
    assert_ended(d, fake.name, "allowed-ip add", "EPIPE")
    # Learned, not taken for static: the route's end withdraws it.
    ns.ip("-6", "route", "del", "2001:db8:1::/48", "via", GW1, "dev", fake.name)
    converge("withdrawn", lambda: fake.allowed(fake.p1.public_key) == {GW1 + "/128"})
    assert fake.allowed(fake.p2.public_key) == {GW2 + "/128"}
    print("\n".join(error_lines(d, "allowed-ip add")))


def test_lost_set_reply_then_kill9_keeps_the_prefix_learned(fake, make_daemon, ns):
    """A learned add applied by the server but its reply lost, then a kill -9
    before the next poll could tell that it was made: the restart takes the
    prefix for learned (its intent stays open in the state file until a read
    of the device settles it, spec 6.3), so the end of its route, while the
    daemon was down, withdraws it."""
    fake.start()
    d = make_daemon("wg_poll_interval: 120s\n").start()
    d.wait_managed(fake.name)
    fake.cut_sets = 2
    ns.ip("-6", "route", "add", "2001:db8:1::/48", "via", GW1, "dev", fake.name,
          "proto", "static")
    converge("the failed learn counted", lambda: d._alive_and(
        lambda: failure(d, fake.name, "allowed-ip add", "EPIPE")))
    assert "2001:db8:1::/48" in fake.allowed(fake.p1.public_key)  # made
    assert d.iface(fake.name)["learned"] == 0  # not known yet: no poll since
    d.kill9()
    ns.ip("-6", "route", "del", "2001:db8:1::/48", "via", GW1, "dev", fake.name)
    d.start()
    d.wait_managed(fake.name)
    converge("withdrawn", lambda: fake.allowed(fake.p1.public_key) == {GW1 + "/128"})
    assert fake.allowed(fake.p2.public_key) == {GW2 + "/128"}


def test_interface_deleted_mid_round(fake, harness, make_daemon, ns):
    """The link goes while a round is under way: the server deletes it when
    the round's WireGuard set arrives, and goes (wireguard-go exits with its
    tun link). The round's changes fail, the daemon forgets the interface,
    and picks it up again when it comes back."""
    fake.start()
    d = make_daemon("wg_poll_interval: 200ms\n").start()
    d.wait_managed(fake.name)
    fake.delete_on_set = True
    ns.ip("-6", "route", "add", "2001:db8:1::/48", "via", GW1, "dev", fake.name,
          "proto", "static")
    converge("the link deleted by the set", lambda: fake.faults["deleted"] == 1)
    converge("the interface forgotten", lambda: d._alive_and(
        lambda: d.iface(fake.name) is None))
    assert len(error_lines(d)) <= 2, "\n".join(error_lines(d))
    print("\n".join(error_lines(d) + [l for l in d.log().splitlines() if "forgotten" in l]))
    again = FakeUapi(harness, ns, {fake.p1.public_key: [GW1 + "/128"],
                                   fake.p2.public_key: [GW2 + "/128"]}, name=fake.name)
    again.private_key, again.public_key = fake.private_key, fake.public_key
    again.start()
    try:
        d.wait_managed(fake.name)
        ns.ip("-6", "route", "add", "2001:db8:1::/48", "via", GW1, "dev", fake.name,
              "proto", "static")
        converge("learned on the new link",
                 lambda: "2001:db8:1::/48" in again.allowed(fake.p1.public_key))
    finally:
        again.stop()


# ---- the state directory full or read-only ----

@pytest.fixture
def tiny_state_dir(make_daemon):
    """A daemon whose state_dir is a 64 KiB tmpfs of its own, unmounted at
    the end (after the daemon has stopped)."""
    d = make_daemon("wg_poll_interval: 200ms\n")
    os.makedirs(d.state_dir)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "wgrs-faults",
                    d.state_dir], check=True)
    try:
        yield d
    finally:
        if d.proc:
            d.stop()
        subprocess.run(["umount", "-l", d.state_dir], check=False)


def fill(path):
    """Writes path until the file system is full."""
    f = open(path, "wb", buffering=0)
    try:
        while f.write(b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        f.close()


@pytest.mark.parametrize("how", ["full", "read-only"])
def test_state_dir_full_or_read_only(dev, tiny_state_dir, ns, how):
    """The state file cannot be written (ENOSPC, EROFS): said once, written
    again after every round, and written as soon as it can be; the
    interface goes on being synced in between."""
    d = tiny_state_dir.start()
    d.wait_managed(dev.name)
    state = os.path.join(d.state_dir, dev.name + ".state")
    cause = {"full": "ENOSPC", "read-only": "EROFS"}[how]
    filler = os.path.join(d.state_dir, "filler")
    if how == "full":
        fill(filler)
    else:
        subprocess.run(["mount", "-o", "remount,ro", d.state_dir], check=True)
    foreign = foreign_routes(ns)
    batch = os.path.join(os.path.dirname(d.state_dir), "routes.batch")
    nets = [str(ipaddress.ip_network("2001:db8:1:%x::/64" % i)) for i in range(200)]
    with open(batch, "w") as f:
        for net in nets:
            f.write("route add %s via %s dev %s proto static\n" % (net, GW1, dev.name))
    ns.ip("-batch", batch)
    assert_logged_once_and_retried(d, dev.name, "writing the state file", cause)
    dev.set_allowed(dev.p2, [GW2 + "/128", "2001:db8:5::/48"])
    converge("installed all the same", lambda: "2001:db8:5::/48" in dev.our_routes())
    if how == "full":
        os.unlink(filler)
    else:
        subprocess.run(["mount", "-o", "remount,rw", d.state_dir], check=True)
    assert_ended(d, dev.name, "writing the state file", cause)
    converge("the state file holds what was learned", lambda: os.path.exists(state)
             and all(n in open(state).read() for n in nets))
    assert GW2 + "/128" in dev.allowed(dev.p2) and GW1 + "/128" in dev.allowed(dev.p1)
    assert [r for r in foreign_routes(ns) if not r["dst"].startswith("2001:db8:1:")] == \
        [r for r in foreign if not r["dst"].startswith("2001:db8:1:")]
