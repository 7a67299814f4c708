"""Torn route dumps (docs/spec.md 4.6, 5.18, 10.1, 10.2; docs/design.md "Torn
dumps"; docs/reliability.md "Route dumps").

While other routes change, the kernel's IPv6 route dump can skip routes that
never changed, or list them twice, and says nothing (no NLM_F_DUMP_INTR).
wg-rtsync picks an interface up with a dump: acting on a torn one withdrew
learned AllowedIPs whose routes stood all along (no event follows for a
route that did not change), and installed a route where the dump had missed
a foreign route of the same identity, which the kernel's replace then
overwrote. These tests restart the daemon again and again while a storm of
unrelated route changes runs (stormlib.py), and check that neither happens.
"""

import os
import signal

from conftest import CONVERGE, GW1, converge
from netns import wait_until
from stormlib import Storm, changes_in_log, foreign, learned_set_up, replaced, standing

RESTARTS = int(os.environ.get("WGRS_DUMP_RESTARTS", "40"))
# Reads of table T while another table churns.
DUMPS_IN_STORM = 15


def our_adds_over_foreign(log):
    """Log lines of routes of ours added where the foreign ones stand."""
    return [line for p in foreign() for verb in ("add", "replace")
            for line in changes_in_log(log, "route %s %s " % (verb, p))]


def check_round(dev, d, want):
    # Nothing learned went, nothing was installed over a foreign route:
    # not now, and not for a moment (the log lists every change applied).
    assert dev.allowed(dev.p1) == want, "learned AllowedIPs withdrawn: %s" % sorted(
        want - dev.allowed(dev.p1))[:5]
    touched = replaced(dev)
    assert not touched, "foreign routes replaced: %s" % touched[:5]
    log = d.log()
    assert not changes_in_log(log, "allowed-ip del"), changes_in_log(log, "allowed-ip del")[:5]
    assert not our_adds_over_foreign(log), our_adds_over_foreign(log)[:5]


def test_pickup_during_a_route_storm_withdraws_and_replaces_nothing(
        dev, make_daemon, ns, workdir):
    learned_set_up(dev, ns, make_daemon, workdir)
    want = set(standing()) | {GW1 + "/128"}
    storm = Storm(ns, dev, workdir)
    torn = 0
    try:
        for _ in range(RESTARTS):
            storm.start()
            d = make_daemon().start()
            d.wait_managed(dev.name)  # its pickup dump was read in the storm
            storm.stop()
            d.wait_rounds(dev.name)
            check_round(dev, d, want)
            assert d.iface(dev.name)["learned"] == len(standing())
            torn += d.iface(dev.name).get("torn_route_dumps", 0)
            d.signal(signal.SIGTERM)
            assert d.proc.popen.wait(10) == 0
    finally:
        storm.stop()
    # The storm did tear pickup dumps: the test saw the race it is about.
    assert torn >= 1, "no pickup dump was torn in %d restarts" % RESTARTS


def test_storm_longer_than_the_hold_never_replaces_the_foreign_route(
        dev, make_daemon, ns, workdir):
    """A storm that outlasts the hold (3 s, spec 5.18): the daemon acts on
    what its dumps saw together, so a standing route all of them missed may
    be withdrawn for a while, and a foreign route all of them missed gets an
    add of ours; but that add is exclusive, and the kernel refuses it: no
    foreign route is replaced. Once the storm is over it reads the table
    again and everything is as a fresh start makes it."""
    learned_set_up(dev, ns, make_daemon, workdir)
    want = set(standing()) | {GW1 + "/128"}
    storm = Storm(ns, dev, workdir)
    try:
        for _ in range(3):
            storm.start()
            d = make_daemon().start()
            d.wait_managed(dev.name)
            rounds = d.iface(dev.name)["rounds"]
            # Until the hold is over and a round has run (in the storm).
            wait_until(lambda: d.iface(dev.name)["rounds"] > rounds, 15,
                       "a round in the storm, after the hold")
            touched = replaced(dev, in_storm=True)
            assert not touched, "foreign routes replaced in the storm: %s" % touched[:5]
            storm.stop()
            wait_until(lambda: dev.allowed(dev.p1) == want, CONVERGE,
                       "every learned AllowedIP back once quiet", interval=0.2)
            d.wait_rounds(dev.name)
            touched = replaced(dev)
            assert not touched, "foreign routes replaced: %s" % touched[:5]
            assert not our_adds_over_foreign(d.log())
            d.signal(signal.SIGTERM)
            assert d.proc.popen.wait(10) == 0
    finally:
        storm.stop()


def test_changes_of_another_table_tear_no_dump(dev, make_daemon, ns, workdir):
    """A busy table elsewhere (a routing daemon's main table) tears no dump
    of T (spec 5.18): a change of another table cannot make the kernel skip
    or repeat routes of T (each table is walked on its own). Counting every
    route change as a tear, a router whose main table never rests had every
    dump of T torn: an interface that needed a complete one never got it,
    periodic resyncs removed nothing, and the reads backed off to a minute.
    With watch_routes: false T is read after every poll, here while the
    storm churns main."""
    ns.ip("-6", "route", "add", "2001:db8:5::/64", "via", GW1, "dev", dev.name,
          "table", "1000", "proto", "static")
    d = make_daemon("routing_table: 1000\nwatch_routes: false\n"
                    "wg_poll_interval: 200ms\n").start()
    d.wait_managed(dev.name)
    converge("the route of T learned", lambda: "2001:db8:5::/64" in dev.allowed(dev.p1))
    storm = Storm(ns, dev, workdir)  # in table main
    try:
        storm.start()
        dumps = d.iface(dev.name)["route_dumps"]
        wait_until(lambda: d.iface(dev.name)["route_dumps"] >= dumps + DUMPS_IN_STORM,
                   CONVERGE, "%d reads of T in the storm" % DUMPS_IN_STORM)
        assert storm.proc.alive(), "the storm stopped"
        st = d.iface(dev.name)
    finally:
        storm.stop()
    assert st["torn_route_dumps"] == 0, "%d of %d reads of T torn by main's changes" % (
        st["torn_route_dumps"], st["route_dumps"])
    assert "2001:db8:5::/64" in dev.allowed(dev.p1)
