"""A storm of route changes during wg-rtsync's pickup dump, shared by
test_route_dumps.py and tests/tools/pickup_storm.py (docs/reliability.md,
"Route dumps"): STANDING routes via p1 that never change (learned), and
among them, every FOREIGN_EVERY-th, a foreign route of our route's identity
where p2 holds the same prefix statically (foreign()); and a storm of STORM
other routes added and deleted over and over. The storm's routes sort before the standing ones in the
kernel's walk of the IPv6 table: there a change shifts the count by which
the dump resumes, so the dump skips or repeats standing routes.
"""

import ipaddress
import os
import signal

from conftest import CONVERGE, GW1, GW2, converge, prefix_of
from netns import wait_until

STANDING = 3000  # routes that never change: learned, or foreign
FOREIGN_EVERY = 30  # of those, a foreign route where p2 has a static AllowedIP
STORM = 1000  # routes the storm adds and deletes, over and over


def _slots():
    return [str(ipaddress.ip_network("2001:db8:2:%x::/64" % i)) for i in range(STANDING)]


def standing():
    """The learned ones (via p1)."""
    return [p for i, p in enumerate(_slots()) if i % FOREIGN_EVERY]


def foreign():
    """p2's static AllowedIPs, each with a foreign route of our identity."""
    return [p for i, p in enumerate(_slots()) if not i % FOREIGN_EVERY]


def write_batch(path, lines):
    with open(path, "w") as f:
        f.write("".join(line + "\n" for line in lines))
    return path


class Storm:
    """ip -batch adding and deleting STORM routes through dev, in a loop;
    start() returns once a first pass is done."""

    def __init__(self, ns, dev, workdir):
        self.ns = ns
        self.mark = os.path.join(workdir, "storm.pass")
        self.batch = write_batch(os.path.join(workdir, "storm.batch"), [
            "route %s 2001:db8:1:%x::/64 dev %s proto static" % (verb, i, dev.name)
            for verb in ("add", "del") for i in range(STORM)])
        self.proc = None

    def start(self):
        if os.path.exists(self.mark):
            os.unlink(self.mark)
        self.proc = self.ns.start(["sh", "-c", "while :; do ip -6 -force -batch %s; "
                                   "touch %s; done" % (self.batch, self.mark)],
                                  name="route storm")
        wait_until(lambda: os.path.exists(self.mark), CONVERGE, "the storm going")
        return self

    def stop(self):
        if self.proc:
            self.proc.stop()
            self.proc = None
        # What a pass left behind, so that every round starts alike.
        self.ns.run(["sh", "-c", "ip -6 route flush root 2001:db8:1::/48 2>/dev/null; true"])


def learned_set_up(dev, ns, make_daemon, workdir):
    """p1 learns standing(); p2 holds foreign() statically, which foreign
    routes of our route's identity (metric 1024, like ours) block. Returns
    the daemon, stopped with SIGTERM (its state file and work kept)."""
    ns.ip("-6", "-batch", write_batch(os.path.join(workdir, "standing.batch"), [
        "route add %s via %s dev %s proto static" % (p, GW1, dev.name)
        for p in standing()] + [
        "route add %s dev %s proto static" % (p, dev.name) for p in foreign()]))
    dev.set_allowed(dev.p2, [GW2 + "/128"] + foreign())
    d = make_daemon().start()
    d.wait_managed(dev.name)
    want = set(standing()) | {GW1 + "/128"}
    wait_until(lambda: dev.allowed(dev.p1) == want, 60,
               "%d routes learned" % len(want), interval=0.2)
    converge("the state file to hold them",
             lambda: d.iface(dev.name)["learned"] == len(standing()))
    d.wait_rounds(dev.name)
    assert not replaced(dev), "foreign routes touched before the storm"
    d.signal(signal.SIGTERM)
    d.proc.popen.wait(10)
    return d


def replaced(dev, in_storm=False):
    """The foreign routes that are not there as they were made (protocol
    static, no gateway): ours would have protocol 98 and p2's gateway.
    in_storm: this very dump may be torn by the storm and miss routes that
    stand (the kernel's IPv6 dump does, spec 5.18), so only a route listed
    otherwise than made counts; a missing one proves nothing then."""
    now = {prefix_of(r["dst"]): r for r in dev.routes()}
    return sorted(p for p in foreign()
                  if (p in now or not in_storm) and
                  (now.get(p, {}).get("protocol") != "static" or "gateway" in now[p]))


def restore(dev, ns, prefixes):
    """Puts foreign routes back as they were (over ours, if need be)."""
    for p in prefixes:
        ns.ip("-6", "route", "replace", p, "dev", dev.name, "proto", "static")


def changes_in_log(log, what):
    """The applied changes of the log that name what ("allowed-ip del",
    "route add 2001:db8:3::/48", ...), failures left out."""
    return [line for line in log.splitlines()
            if what in line and "failed" not in line and "(again)" not in line]
