"""The wg-rtsync daemon against wireguard-go in a network namespace
(docs/spec.md sections 3 to 6, 9). Every wait polls with a deadline; where a
test asserts that something did NOT happen, it first waits until the daemon
reports (in its status) that it has seen the input and finished sync rounds
after it."""

import ipaddress
import json
import os
import signal
import time

import pytest

import topo

from conftest import CONVERGE, GW1, GW2, Device, converge, prefix_of
from netns import HarnessError, wait_until

P98 = "98"


def ip(ns, *args):
    return ns.ip(*args)


# ---- learn: route -> AllowedIPs ----

def test_route_is_learned_and_withdrawn(dev, daemon, ns):
    ip(ns, "-6", "route", "add", "2001:db8:1::/48", "via", GW1, "dev", dev.name,
       "proto", "static")
    converge("2001:db8:1::/48 in p1's AllowedIPs",
             lambda: "2001:db8:1::/48" in dev.allowed(dev.p1))
    assert "2001:db8:1::/48" not in dev.allowed(dev.p2)
    # Learned, not static: no route of ours for it.
    assert "2001:db8:1::/48" not in dev.our_routes()

    ip(ns, "-6", "route", "del", "2001:db8:1::/48", "via", GW1, "dev", dev.name)
    converge("2001:db8:1::/48 withdrawn from p1",
             lambda: "2001:db8:1::/48" not in dev.allowed(dev.p1))
    # The static AllowedIP is never removed.
    assert dev.allowed(dev.p1) == {GW1 + "/128"}
    # The backend the flavour calls for, and a removal mode it detected
    # (6.12 and Debian's wireguard-go: the temporary peer).
    st = daemon.iface(dev.name)
    assert st["backend"] == ("kernel" if topo.flavour() == "kernel" else "uapi")
    assert st["removal"] == "temporary peer"


def test_ipv4_route_via_ipv6_next_hop_is_learned(dev, daemon, ns):
    ip(ns, "route", "add", "192.0.2.0/24", "via", "inet6", GW1, "dev", dev.name)
    converge("192.0.2.0/24 in p1's AllowedIPs",
             lambda: "192.0.2.0/24" in dev.allowed(dev.p1))
    ip(ns, "route", "del", "192.0.2.0/24", "via", "inet6", GW1, "dev", dev.name)
    converge("192.0.2.0/24 withdrawn", lambda: "192.0.2.0/24" not in dev.allowed(dev.p1))


def test_route_through_nexthop_object_is_learned(dev, daemon, ns):
    ip(ns, "nexthop", "add", "id", "42", "via", GW2, "dev", dev.name)
    ip(ns, "-6", "route", "add", "2001:db8:3::/48", "nhid", "42", "proto", "static")
    converge("2001:db8:3::/48 in p2's AllowedIPs",
             lambda: "2001:db8:3::/48" in dev.allowed(dev.p2))
    # The object now points at p1: the route moves with it.
    ip(ns, "nexthop", "replace", "id", "42", "via", GW1, "dev", dev.name)
    converge("2001:db8:3::/48 moved to p1",
             lambda: "2001:db8:3::/48" in dev.allowed(dev.p1)
             and "2001:db8:3::/48" not in dev.allowed(dev.p2))
    # Deleting the object deletes its routes, without a route event.
    ip(ns, "nexthop", "del", "id", "42")
    converge("2001:db8:3::/48 withdrawn",
             lambda: "2001:db8:3::/48" not in dev.allowed(dev.p1))


# ---- install: AllowedIPs -> route ----

def test_static_allowed_ip_is_installed_and_removed(dev, daemon):
    dev.set_allowed(dev.p2, [GW2 + "/128", "2001:db8:5::/48"])
    converge("a protocol 98 route for 2001:db8:5::/48",
             lambda: "2001:db8:5::/48" in dev.our_routes())
    dev.set_allowed(dev.p2, [GW2 + "/128"])
    converge("the route for 2001:db8:5::/48 gone",
             lambda: "2001:db8:5::/48" not in dev.our_routes())
    # The peers' own gateway prefixes are static too: installed.
    assert {GW1 + "/128", GW2 + "/128"} <= dev.our_routes()


def test_foreign_route_blocks_install(dev, daemon, ns):
    ip(ns, "-6", "route", "add", "2001:db8:6::/48", "dev", dev.name, "proto", "static")
    before = daemon.iface(dev.name)["allowed_ips"]
    dev.set_allowed(dev.p2, [GW2 + "/128", "2001:db8:6::/48"])
    converge("the daemon to see the new AllowedIP",
             lambda: daemon.iface(dev.name)["allowed_ips"] == before + 1)
    daemon.wait_rounds(dev.name)
    assert "2001:db8:6::/48" not in dev.our_routes()
    # The foreign route is untouched.
    assert dev.routes(dst="2001:db8:6::/48", protocol="static")
    ip(ns, "-6", "route", "del", "2001:db8:6::/48", "dev", dev.name)
    converge("our route once the foreign one is gone",
             lambda: "2001:db8:6::/48" in dev.our_routes())


# ---- events ----

def test_link_down_and_up_converges(dev, daemon, ns):
    dev.set_allowed(dev.p2, [GW2 + "/128", "2001:db8:5::/48"])
    ip(ns, "-6", "route", "add", "2001:db8:1::/48", "via", GW1, "dev", dev.name,
       "proto", "static")
    converge("learned and installed",
             lambda: "2001:db8:1::/48" in dev.allowed(dev.p1)
             and "2001:db8:5::/48" in dev.our_routes())

    ip(ns, "link", "set", dev.name, "down")
    # The kernel flushes the routes of a downed link without route events:
    # the learned prefix loses its route and is withdrawn.
    converge("2001:db8:1::/48 withdrawn after link down",
             lambda: "2001:db8:1::/48" not in dev.allowed(dev.p1))
    ip(ns, "link", "set", dev.name, "up")
    if "fe80::1" not in [a for a in ns.addresses(dev.name)]:
        ns.addr_add(dev.name, "fe80::1/64")
    converge("our routes back after link up",
             lambda: {GW1 + "/128", GW2 + "/128", "2001:db8:5::/48"} <= dev.our_routes())
    # And learning works again.
    ip(ns, "-6", "route", "add", "2001:db8:2::/48", "via", GW2, "dev", dev.name,
       "proto", "static")
    converge("2001:db8:2::/48 learned after link up",
             lambda: "2001:db8:2::/48" in dev.allowed(dev.p2))
    assert dev.allowed(dev.p1) == {GW1 + "/128"}


def test_restart_after_kill9_converges(dev, make_daemon, ns):
    d = make_daemon().start()
    d.wait_managed(dev.name)
    for net, gw in (("2001:db8:1::/48", GW1), ("2001:db8:7::/48", GW1)):
        ip(ns, "-6", "route", "add", net, "via", gw, "dev", dev.name, "proto", "static")
    converge("both learned", lambda: {"2001:db8:1::/48", "2001:db8:7::/48"} <=
             dev.allowed(dev.p1))
    converge("the state file to list both",
             lambda: d.iface(dev.name)["learned"] == 2)
    d.kill9()

    # While it is down: one route goes, one comes, a static AllowedIP appears.
    ip(ns, "-6", "route", "del", "2001:db8:1::/48", "via", GW1, "dev", dev.name)
    ip(ns, "-6", "route", "add", "2001:db8:8::/48", "via", GW2, "dev", dev.name,
       "proto", "static")
    dev.set_allowed(dev.p2, [GW2 + "/128", "2001:db8:9::/48"])

    d2 = make_daemon().start()
    d2.wait_managed(dev.name)
    converge("converged after the restart",
             lambda: dev.allowed(dev.p1) == {GW1 + "/128", "2001:db8:7::/48"}
             and dev.allowed(dev.p2) == {GW2 + "/128", "2001:db8:9::/48",
                                         "2001:db8:8::/48"}
             and "2001:db8:9::/48" in dev.our_routes())
    # The prefix learned before the crash was withdrawn, not taken for a
    # static AllowedIP and installed as a route.
    assert "2001:db8:1::/48" not in dev.our_routes()
    assert "2001:db8:7::/48" not in dev.our_routes()
    assert d2.iface(dev.name)["learned"] == 2


# ---- command line ----

def test_dry_run_changes_nothing_and_prints_the_plan(dev, make_daemon, ns):
    ip(ns, "-6", "route", "add", "2001:db8:1::/48", "via", GW1, "dev", dev.name,
       "proto", "static")
    d = make_daemon()
    allowed_before = dev.wg.allowed_ips()
    res = d.run("--dry-run", "--oneshot")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert "%s: allowed-ip add %s 2001:db8:1::/48 (learned)" % (
        dev.name, dev.p1.public_key) in lines
    assert any(l.startswith("%s: route add %s/128 " % (dev.name, GW1)) for l in lines)
    assert all(l.startswith(dev.name + ": ") for l in lines)
    assert dev.wg.allowed_ips() == allowed_before
    assert dev.our_routes() == set()
    assert not os.path.exists(os.path.join(d.state_dir, dev.name + ".state"))


def test_dry_run_daemon_plans_each_change(dev, make_daemon, ns):
    d = make_daemon(args=["--dry-run"]).start()
    d.wait_managed(dev.name)
    assert d.status()["dry_run"] is True
    ip(ns, "-6", "route", "add", "2001:db8:1::/48", "via", GW1, "dev", dev.name,
       "proto", "static")
    line = "%s: allowed-ip add %s 2001:db8:1::/48 (learned)" % (dev.name,
                                                             dev.p1.public_key)
    converge("the planned change in the output", lambda: line in d.log().splitlines())
    assert dev.allowed(dev.p1) == {GW1 + "/128"}
    assert dev.our_routes() == set()
    assert not os.path.exists(os.path.join(d.state_dir, dev.name + ".state"))


def test_oneshot_converges_and_exits(dev, make_daemon, ns):
    ip(ns, "-6", "route", "add", "2001:db8:1::/48", "via", GW1, "dev", dev.name,
       "proto", "static")
    d = make_daemon()
    res = d.run("--oneshot")
    assert res.returncode == 0, res.stderr
    assert "2001:db8:1::/48" in dev.allowed(dev.p1)
    assert {GW1 + "/128", GW2 + "/128"} <= dev.our_routes()
    with open(os.path.join(d.state_dir, dev.name + ".state")) as f:
        assert "%s 2001:db8:1::/48" % dev.p1.public_key in f.read()
    # A second run finds nothing to do.
    res = d.run("--oneshot", "--dry-run")
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""


def test_oneshot_unknown_interface_fails(dev, make_daemon):
    res = make_daemon().run("--oneshot", "-i", "wgrs-nonesuch")
    assert res.returncode == 1
    assert "wgrs-nonesuch: no such WireGuard interface" in res.stderr


def test_sighup_with_bad_config_keeps_the_old_one(dev, daemon, ns):
    daemon.write_config("routing_table: [not, a, table\n")
    daemon.signal(signal.SIGHUP)
    converge("the reload to be refused",
             lambda: "reload refused" in daemon.log())
    assert daemon.proc.alive()
    refusals = [l for l in daemon.log().splitlines() if "reload refused" in l]
    assert len(refusals) == 1 and "wg-rtsync.yaml" in refusals[0], refusals
    ip(ns, "-6", "route", "add", "2001:db8:1::/48", "via", GW1, "dev", dev.name,
       "proto", "static")
    converge("still learning", lambda: "2001:db8:1::/48" in dev.allowed(dev.p1))


def test_sighup_applies_new_settings(dev, daemon, ns):
    converge("our routes", lambda: GW2 + "/128" in dev.our_routes())
    daemon.write_config("route_metric: 77\n")
    daemon.signal(signal.SIGHUP)
    converge("our routes at metric 77",
             lambda: {str(r.get("metric")) for r in dev.routes(protocol=P98)} == {"77"}
             and len(dev.routes(protocol=P98)) == 2)


def test_sighup_new_route_protocol_takes_our_old_routes(dev, daemon):
    """spec 4.10: after a reload that changes route_protocol, the routes of
    ours made under the old protocol are deleted, and the static AllowedIPs
    are installed with the new one."""
    converge("our routes", lambda: {GW1 + "/128", GW2 + "/128"} <= dev.our_routes())
    daemon.write_config("route_protocol: 201\n")
    daemon.signal(signal.SIGHUP)
    converge("our routes with protocol 201 only",
             lambda: {prefix_of(r["dst"]) for r in dev.routes(protocol="201")} ==
             {GW1 + "/128", GW2 + "/128"} and not dev.routes(protocol=P98))


def test_interface_created_later_and_recreated(harness, ns, make_daemon):
    d = make_daemon().start()
    late = Device(harness, ns).start()
    d.wait_managed(late.name)
    ip(ns, "-6", "route", "add", "2001:db8:1::/48", "via", GW1, "dev", late.name,
       "proto", "static")
    converge("learned on the late interface",
             lambda: "2001:db8:1::/48" in late.allowed(late.p1))

    late.stop()
    converge("the daemon to forget it", lambda: d.iface(late.name) is None)
    again = Device(harness, ns, name=late.name).start()
    d.wait_managed(again.name)
    ip(ns, "-6", "route", "add", "2001:db8:2::/48", "via", GW2, "dev", again.name,
       "proto", "static")
    converge("learned on the recreated interface",
             lambda: "2001:db8:2::/48" in again.allowed(again.p2))
    assert d.proc.alive()


@pytest.mark.skipif(topo.flavour() == "kernel",
                    reason="a wireguard-go device before its key is set")
def test_device_without_private_key_waits_for_it(harness, ns, dev, make_daemon):
    """spec 5.13 and 6.1: a device is picked up only once it has a private
    key, because its state file is keyed by the public key. A daemon that
    took it up before the key was set would set the file of the real key
    aside, and then take a prefix learned before for a static one."""
    late = Device(harness, ns)
    wg = late.wg
    d = make_daemon()
    # An earlier run's state file for the key the device is about to get:
    # p1 learned 2001:db8:1::/48, whose route went while nobody watched.
    os.makedirs(d.state_dir)
    with open(os.path.join(d.state_dir, late.name + ".state"), "w") as f:
        f.write("wg-rtsync-state 2 %s\n%s 2001:db8:1::/48\nend 1\n" % (
            wg.public_key, late.p1.public_key))
    d.start()
    d.wait_managed(dev.name)
    harness.sockets.append(wg.socket)
    wg.process = ns.start(["wireguard-go", "-f", wg.name],
                          env={"WG_PROCESS_FOREGROUND": "1"}, name="wireguard-go")
    converge("wireguard-go's socket", lambda: os.path.exists(wg.socket))
    # New interfaces are looked for every wg_poll_interval, as often as dev
    # is polled (and a round follows each poll): three more rounds of dev,
    # and the daemon has looked at the device without a key.
    d.wait_rounds(dev.name, extra=3)
    assert d.iface(late.name) is None
    ns.run(["wg", "set", late.name, "private-key", "/dev/stdin",
            "peer", late.p1.public_key, "allowed-ips", GW1 + "/128,2001:db8:1::/48"],
           input=wg.private_key + "\n")
    d.wait_managed(late.name)
    converge("2001:db8:1::/48 withdrawn, as the state file says it was learned",
             lambda: late.allowed(late.p1) == {GW1 + "/128"})
    assert [f for f in os.listdir(d.state_dir) if ".bad-" in f] == []


def test_uapi_socket_of_another_namespace_is_not_taken(harness, ns, dev, make_daemon):
    """spec 2.1: /var/run/wireguard is shared by every namespace, so a tun
    link is a userspace WireGuard interface only when the server of its
    UAPI socket runs in the daemon's own namespace. Here the socket of that
    name belongs to a wireguard-go in another namespace: taking it would
    change that namespace's device."""
    if topo.flavour() == "kernel":
        pytest.skip("a test of the UAPI backend")
    other = harness.namespace()
    twin = harness.wireguard_go(other).start()
    twin.add_peer(dev.p1.public_key, [GW1 + "/128"])
    ns.ip("tuntap", "add", "dev", twin.name, "mode", "tun")
    d = make_daemon().start()
    d.wait_managed(dev.name)
    # Links are looked at every wg_poll_interval, as dev is polled.
    d.wait_rounds(dev.name, extra=3)
    assert d.iface(twin.name) is None
    assert [i["name"] for i in d.status()["interfaces"]] == [dev.name]


def test_second_daemon_leaves_the_control_socket_to_the_first(dev, make_daemon, workdir):
    """spec 9.6: the control socket is STATE_DIR/control.sock, mode 0600; a
    second daemon on the same state_dir finds it answering and runs without
    one, so that status still reaches the first. spec 8.7: state_dir in an
    interfaces: entry is where that interface's state file is; the second
    daemon keeps its own there, and sets aside the bad one it finds there
    (which also shows that it is up)."""
    first = make_daemon().start()
    first.wait_managed(dev.name)
    assert os.stat(first.control_path()).st_mode & 0o777 == 0o600
    own_dir = os.path.join(workdir, "second")
    os.makedirs(own_dir)
    with open(os.path.join(own_dir, dev.name + ".state"), "w") as f:
        f.write("not a state file\n")
    second = make_daemon('interfaces:\n  "*": {state_dir: %s}\n' % own_dir)
    second.start()  # returns at once: the first one answers
    converge("the second daemon to set its bad state file aside",
             lambda: second._alive_and(lambda: [
                 f for f in os.listdir(own_dir) if f.startswith(dev.name + ".state.bad-")]))
    assert second.status()["pid"] == first.proc.pid
    assert not [f for f in os.listdir(first.state_dir) if ".bad-" in f]


def test_status_json_reports_the_counts(dev, daemon, ns):
    ip(ns, "-6", "route", "add", "2001:db8:1::/48", "via", GW1, "dev", dev.name,
       "proto", "static")
    dev.set_allowed(dev.p2, [GW2 + "/128", "2001:db8:5::/48"])
    converge("learned and installed",
             lambda: "2001:db8:1::/48" in dev.allowed(dev.p1)
             and "2001:db8:5::/48" in dev.our_routes())
    st = converge("status counts",
                  lambda: (lambda i: i if i["learned"] == 1 and i["our_routes"] == 3
                           and i["allowed_ips"] == 4 else None)(daemon.iface(dev.name)))
    assert st["backend"] == ("kernel" if topo.flavour() == "kernel" else "uapi")
    assert st["peers"] == 2
    assert st["conflicts"] == 0 and st["ambiguous_gateways"] == 0
    assert st["filtered"] == 0 and st["over_limit"] == 0
    assert st["failed"] == 0 and st["last_error"] is None
    assert st["last_sync"] > 0

    # A withdrawal makes the backend pick its removal mode.
    ip(ns, "-6", "route", "del", "2001:db8:1::/48", "via", GW1, "dev", dev.name)
    st = converge("withdrawn", lambda: (lambda i: i if i["learned"] == 0 else None)(
        daemon.iface(dev.name)))
    assert st["removal"] in ("native", "temporary peer")
    text = daemon.run("status").stdout
    assert "interface %s" % dev.name in text and "learned 0" in text


def test_lost_events_enobufs_end_in_the_right_state(dev, make_daemon, ns, workdir):
    n = 50000
    d = make_daemon(env={"WGRS_EVENT_RCVBUF": "4096"}).start()
    d.wait_managed(dev.name)
    nets = [str(ipaddress.ip_network("2001:db8:a:%x::/64" % i)) for i in range(n)]
    batch = os.path.join(workdir, "routes.batch")
    with open(batch, "w") as f:
        for net in nets:
            f.write("route add %s via %s dev %s proto static\n" % (net, GW1, dev.name))
    ns.ip("-batch", batch)
    want = set(nets) | {GW1 + "/128"}
    wait_until(lambda: dev.allowed(dev.p1) == want, 180,
               "%d routes learned by p1" % n, interval=0.5)
    assert d.status()["lost_events"] >= 1, "the burst did not overflow the buffer"
    assert dev.allowed(dev.p2) == {GW2 + "/128"}

    lost = d.status()["lost_events"]
    with open(batch, "w") as f:
        for net in nets:
            f.write("route del %s via %s dev %s\n" % (net, GW1, dev.name))
    ns.ip("-batch", batch)
    wait_until(lambda: dev.allowed(dev.p1) == {GW1 + "/128"}, 180,
               "%d routes withdrawn from p1" % n, interval=0.5)
    assert d.status()["lost_events"] > lost, "the deletes did not overflow the buffer"
    assert d.iface(dev.name)["learned"] == 0


def test_polls_go_on_during_a_route_storm(dev, daemon, ns, workdir):
    """docs/spec.md 5.5: every interface is read every wg_poll_interval (1 s),
    storm or not. A static AllowedIP set while thousands of route events a
    second arrive is installed within a few intervals, not after the storm."""
    batch = os.path.join(workdir, "storm.batch")
    with open(batch, "w") as f:
        for verb in ("add", "del"):
            for i in range(1000):
                f.write("route %s 2001:db8:77:%x::/64 via %s dev %s proto static\n" % (
                    verb, i, GW1, dev.name))
    storm = ns.start(["sh", "-c", "while :; do ip -6 -force -batch %s; done" % batch],
                     name="route storm")
    try:
        rounds = daemon.iface(dev.name)["rounds"]
        wait_until(lambda: daemon.iface(dev.name)["rounds"] >= rounds + 20, CONVERGE,
                   "the daemon busy with the storm")
        dev.set_allowed(dev.p2, [GW2 + "/128", "2001:db8:5::/48"])
        # A poll within 1 s, and its round: 3 s leaves room for a busy
        # machine, and is less than the 5 s a poll put off would take.
        wait_until(lambda: "2001:db8:5::/48" in dev.our_routes(), 3.0,
                   "the new static AllowedIP installed during the storm")
        assert storm.alive(), "the storm ended early:\n" + storm.log()[-2000:]
    finally:
        storm.stop()


def test_poll_read_gives_way_to_a_route_change(fake, make_daemon, ns):
    """docs/spec.md 5.19: a route change that needs a WireGuard change is not
    held behind a poll read in progress. The fake device writes each get
    reply over 4 s and serves one request at a time, as wireguard-go does
    under its IPC lock: the read is abandoned (its connection closed), the
    AllowedIP set, and the device read again afterwards. Measured against
    the read: the set lands well before the read would have ended."""
    fake.start()
    d = make_daemon("wg_poll_interval: 1s\n").start()
    d.wait_managed(fake.name)
    fake.slow_gets = 4.0
    wait_until(lambda: fake.get_started is not None, CONVERGE, "a poll read under way")
    began = fake.get_started
    ns.ip("-6", "route", "add", "2001:db8:1::/48", "via", GW1, "dev", fake.name,
          "proto", "static")
    converge("learned", lambda: "2001:db8:1::/48" in fake.allowed(fake.p1.public_key))
    assert fake.set_times[-1] - began < 2.0, \
        "the set waited for the read: %.1f s after it began" % (fake.set_times[-1] - began)
    assert fake.faults["get_abandoned"] >= 1
    # Read again after the change, to its end.
    wait_until(lambda: any(whole and start > fake.set_times[-1]
                           for start, _, whole in fake.gets), 3 * CONVERGE,
               "a whole read after the change")
    assert d.proc.alive(), d.log()[-2000:]


def start_route_flap(ns, dev, pause):
    """A route via GW1 added and withdrawn again and again, pause seconds
    apart: a WireGuard change every pause, until stopped."""
    return ns.start(["sh", "-c", "while :; do "
                     "ip -6 route add 2001:db8:9::/48 via %s dev %s proto static; sleep %g; "
                     "ip -6 route del 2001:db8:9::/48 via %s dev %s; sleep %g; done"
                     % (GW1, dev, pause, GW1, dev, pause)], name="route flap")


def test_poll_read_abandoned_at_most_3_times_in_a_row(fake, make_daemon, ns, workdir):
    """docs/spec.md 5.19: a read is abandoned for a change at most 3 times in
    a row; then it is read to its end and the change waits for it, so that
    a device changed by hand is still read while changes keep coming."""
    fake.start()
    # No budget: a whole read of 1.5 s would put the next one off (5.5).
    d = make_daemon("wg_poll_interval: 200ms\nwg_poll_budget: 0%\n").start()
    d.wait_managed(fake.name)
    fake.slow_gets = 1.5
    flap = start_route_flap(ns, fake.name, 0.2)
    try:
        wait_until(lambda: fake.faults["get_abandoned"] >= 3, CONVERGE,
                   "reads abandoned for the changes")
        fake.set_allowed(fake.p2.public_key, [GW2 + "/128", "2001:db8:5::/48"])
        changed = time.monotonic()
        wait_until(lambda: any(whole and start > changed for start, _, whole in fake.gets),
                   4 * CONVERGE, "a whole read while the changes go on")
        converge("the AllowedIP set by hand taken for static",
                 lambda: "2001:db8:5::/48" in {r for r in fake_routes(ns, fake.name)})
        assert flap.alive(), "the flapping ended early:\n" + flap.log()[-2000:]
    finally:
        flap.stop()
    gets = list(fake.gets)
    run = 0
    for _, _, whole in gets:
        run = 0 if whole else run + 1
        assert run <= 3, "more than 3 reads abandoned in a row: %s" % gets
    # The status counts them: each one the daemon abandoned, the server saw
    # cut short (a read the server had not begun to answer it may not see).
    st = d.iface(fake.name)
    cut = sum(1 for _, _, whole in gets if not whole)
    assert 3 <= st["device_reads_abandoned"] <= cut + 1, (st, gets)


def test_abandoned_read_counts_against_the_budget(fake, make_daemon, ns):
    """docs/spec.md 5.5, 5.19: a read abandoned for a change cost WireGuard
    what it ran for (wireguard-go builds its whole reply first), so the
    next read comes as after a read of that length, not at once: read
    again at once, it stood in the way of the next change, up to four
    reads for one poll. At a budget of 10% the next read begins at least
    10 times the abandoned one's length after it began (5 here, for the
    time the stand-in takes to see the close); before, at once."""
    fake.start()
    d = make_daemon("wg_poll_interval: 200ms\nwg_poll_budget: 10%\n").start()
    d.wait_managed(fake.name)
    fake.slow_gets = 2.0
    flap = start_route_flap(ns, fake.name, 0.25)
    try:
        def pairs():
            gets = list(fake.gets)
            return [(a, b) for a, b in zip(gets, gets[1:]) if not a[2]]

        wait_until(lambda: len(pairs()) >= 2, 2 * CONVERGE,
                   "two abandoned reads, each followed by another")
        assert flap.alive(), "the flapping ended early:\n" + flap.log()[-2000:]
    finally:
        flap.stop()
    for a, b in pairs():
        assert b[0] - a[0] >= 5 * (a[1] - a[0]), \
            "read again %.2f s after an abandoned read of %.2f s began" % (
                b[0] - a[0], a[1] - a[0])
    assert d.iface(fake.name)["device_reads_abandoned"] >= 2
    assert d.proc.alive(), d.log()[-2000:]


def test_poll_budget_stretches_the_interval(fake, make_daemon):
    """docs/spec.md 5.5: after a read of R the next begins R / wg_poll_budget
    after it began, never sooner than wg_poll_interval. Reads of 0.5 s at a
    budget of 20%: one every 2.5 s, not every 200 ms; quick reads: every
    200 ms, as set."""
    fake.start()
    d = make_daemon("wg_poll_interval: 200ms\nwg_poll_budget: 20%\n").start()
    d.wait_managed(fake.name)
    wait_until(lambda: len(fake.gets) >= 6, CONVERGE, "quick reads")
    quick = list(fake.gets)
    gaps = [b[0] - a[0] for a, b in zip(quick, quick[1:])]
    assert min(gaps) >= 0.19 and max(gaps) < 1.0, gaps
    fake.slow_gets = 0.5

    def slow():
        return [g for g in fake.gets if g[2] and g[1] - g[0] >= 0.45]

    wait_until(lambda: len(slow()) >= 3, 4 * CONVERGE, "three slow reads")
    reads = slow()
    for a, b in zip(reads, reads[1:]):
        # R as the server saw it; the daemon's own R also holds its reading
        # of the reply, longer on a loaded machine or a sanitized build
        # (0.76 s here came out as about 1.09 s there): the upper bound only
        # says the interval is not stretched far beyond the rule.
        stretched = (a[1] - a[0]) / 0.20
        assert 0.9 * stretched <= b[0] - a[0] < 1.5 * stretched + 1.0, (a, b)
    # What the budget bounds is in the status: the reads and their time.
    st = d.iface(fake.name)
    whole = [g for g in fake.gets if g[2]]
    assert len(whole) - 1 <= st["device_reads"] <= len(whole), (st, whole)
    assert st["device_read_seconds"] >= sum(g[1] - g[0] for g in reads) - 0.05, st
    # And when the next read comes: put off by the last one, not 200 ms.
    last = reads[-1][1] - reads[-1][0]
    assert 0.2 < st["next_poll_in"] <= 1.5 * last / 0.20 + 1.0 or \
        fake.get_started is not None, st
    assert d.proc.alive(), d.log()[-2000:]


def fake_routes(ns, name):
    """The destinations of our routes (protocol 98) through link name."""
    out = set()
    for family in ("-4", "-6"):
        for r in json.loads(ns.ip("-j", family, "route", "show", "dev", name,
                                  "proto", P98).stdout or "[]"):
            out.add(r["dst"])
    return out


# ---- settings ----

def test_sigterm_keeps_our_work_by_default(dev, daemon, ns):
    ip(ns, "-6", "route", "add", "2001:db8:1::/48", "via", GW1, "dev", dev.name,
       "proto", "static")
    converge("learned and installed",
             lambda: "2001:db8:1::/48" in dev.allowed(dev.p1)
             and GW2 + "/128" in dev.our_routes())
    assert daemon.stop() == 0
    assert "2001:db8:1::/48" in dev.allowed(dev.p1)
    assert {GW1 + "/128", GW2 + "/128"} <= dev.our_routes()
    assert not os.path.exists(daemon.control_path())


def test_cleanup_on_exit_removes_our_work(dev, make_daemon, ns):
    d = make_daemon("cleanup_on_exit: true\n").start()
    d.wait_managed(dev.name)
    ip(ns, "-6", "route", "add", "2001:db8:1::/48", "via", GW1, "dev", dev.name,
       "proto", "static")
    converge("learned and installed",
             lambda: "2001:db8:1::/48" in dev.allowed(dev.p1)
             and GW2 + "/128" in dev.our_routes())
    assert d.stop() == 0
    assert dev.allowed(dev.p1) == {GW1 + "/128"}
    assert dev.allowed(dev.p2) == {GW2 + "/128"}
    assert dev.our_routes() == set()
    # The foreign route stays.
    assert dev.routes(dst="2001:db8:1::/48", protocol="static")
    with open(os.path.join(d.state_dir, dev.name + ".state")) as f:
        assert f.read().rstrip().endswith("end 0")


def test_watch_routes_off_syncs_after_each_poll(dev, make_daemon, ns):
    d = make_daemon("watch_routes: false\nwg_poll_interval: 200ms\n").start()
    d.wait_managed(dev.name)
    ip(ns, "-6", "route", "add", "2001:db8:1::/48", "via", GW1, "dev", dev.name,
       "proto", "static")
    converge("learned at a poll", lambda: "2001:db8:1::/48" in dev.allowed(dev.p1))
    ip(ns, "-6", "route", "del", "2001:db8:1::/48", "via", GW1, "dev", dev.name)
    converge("withdrawn at a poll", lambda: "2001:db8:1::/48" not in dev.allowed(dev.p1))


def test_batch_delay_still_converges(dev, make_daemon, ns):
    d = make_daemon("batch_delay: 300ms\n").start()
    d.wait_managed(dev.name)
    for i in range(20):
        ip(ns, "-6", "route", "add", "2001:db8:%x::/48" % (0x100 + i), "via", GW2, "dev",
           dev.name, "proto", "static")
    want = {"2001:db8:%x::/48" % (0x100 + i) for i in range(20)} | {GW2 + "/128"}
    converge("20 routes learned", lambda: dev.allowed(dev.p2) == want)


def test_prefix_learned_again_keeps_the_state_file_readable(dev, make_daemon, ns):
    """An AllowedIP taken off by hand and learned again: the intent block
    written before the new add ends with the count the file holds, not the
    model's, so the file is read at the next start (docs/spec.md 6.3)."""
    d = make_daemon().start()
    d.wait_managed(dev.name)
    ip(ns, "-6", "route", "add", "2001:db8:1::/48", "via", GW1, "dev", dev.name,
       "proto", "static")
    converge("learned and in the state file",
             lambda: "2001:db8:1::/48" in dev.allowed(dev.p1)
             and d.iface(dev.name)["learned"] == 1)
    dev.set_allowed(dev.p1, [GW1 + "/128"])
    converge("learned again after it was taken off",
             lambda: "2001:db8:1::/48" in dev.allowed(dev.p1))
    d.kill9()

    d2 = make_daemon().start()
    d2.wait_managed(dev.name)
    aside = [f for f in os.listdir(d2.state_dir) if ".state.bad-" in f]
    assert aside == [], d2.log()
    assert d2.iface(dev.name)["learned"] == 1
    # Ours, so withdrawn with its route, not kept as a static AllowedIP.
    ip(ns, "-6", "route", "del", "2001:db8:1::/48", "via", GW1, "dev", dev.name)
    converge("withdrawn with its route",
             lambda: dev.allowed(dev.p1) == {GW1 + "/128"})


def test_reload_to_another_state_dir_writes_the_state_there(dev, make_daemon, ns,
                                                          workdir):
    """A reload that moves an interface's state_dir writes its state file
    there after the next round, with no change of ownership needed: a
    restart would otherwise find no file there and take the learned
    AllowedIPs for static ones (docs/spec.md 6.1)."""
    d = make_daemon().start()
    d.wait_managed(dev.name)
    ip(ns, "-6", "route", "add", "2001:db8:1::/48", "via", GW1, "dev", dev.name,
       "proto", "static")
    converge("learned", lambda: d.iface(dev.name)["learned"] == 1)
    moved = os.path.join(workdir, "moved")
    os.makedirs(moved, mode=0o700)
    d.write_config('interfaces:\n  "*": {state_dir: %s}\n' % moved)
    d.signal(signal.SIGHUP)
    path = os.path.join(moved, dev.name + ".state")

    def written():
        try:
            with open(path) as f:
                return "%s 2001:db8:1::/48" % dev.p1.public_key in f.read()
        except FileNotFoundError:
            return False
    converge("the state file in the new state_dir", written)


def test_state_file_of_another_device_is_set_aside(dev, make_daemon):
    d = make_daemon()
    os.makedirs(d.state_dir)
    other = "wg-rtsync-state 1 %s\n%s 2001:db8:1::/48\nend 1\n" % (
        dev.p2.public_key, dev.p1.public_key)
    path = os.path.join(d.state_dir, dev.name + ".state")
    with open(path, "w") as f:
        f.write(other)
    d.start()
    d.wait_managed(dev.name)
    aside = [f for f in os.listdir(d.state_dir) if f.startswith(dev.name + ".state.bad-")]
    assert len(aside) == 1, os.listdir(d.state_dir)
    with open(os.path.join(d.state_dir, aside[0])) as f:
        assert f.read() == other
    assert any(l.startswith("warning: ") and dev.name in l for l in d.log().splitlines())
