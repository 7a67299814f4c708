#!/usr/bin/env python3
"""pickup_storm.py: restarts wg-rtsync RESTARTS times while a storm of
unrelated route changes runs, and counts what its pickup dumps did wrong
(docs/reliability.md, "Route dumps"). The set-up is the namespace test's
(tests/netns/stormlib.py): 2 900 learned routes that never change, and
among them 100 foreign routes of our route's identity where a peer holds
the same prefixes statically. Unlike the test, it does not stop at the first fault: it repairs
it (the next start relearns, the foreign route is put back) and goes on.

    sudo tests/tools/pickup_storm.py --binary build/wg-rtsync --restarts 30

One row of a Markdown table: the restarts; the pickup dumps the daemon
called torn (its status's torn_route_dumps, "-" when it has none); the
restarts after which learned AllowedIPs were missing, and how many in all;
the restarts in which it withdrew one at all (its log); the restarts in
which foreign routes were replaced, and how many in all."""

import argparse
import os
import shutil
import signal
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "netns"))

import conftest  # noqa: E402
import netns  # noqa: E402
import stormlib  # noqa: E402
from conftest import GW1, Daemon, Device  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", required=True, help="the wg-rtsync to run")
    ap.add_argument("--restarts", type=int, default=30)
    ap.add_argument("--label", default="wg-rtsync", help="the first column")
    args = ap.parse_args()
    os.environ["WGRS_BINARY"] = os.path.abspath(args.binary)
    h = netns.Harness()
    workdir = tempfile.mkdtemp(prefix="wgrs-")
    counts = dict(torn=0, has_torn=False, missing=0, missing_total=0, withdrew=0,
                  replaced=0, replaced_total=0)
    try:
        ns = h.namespace()
        dev = Device(h, ns).start()

        def make_daemon():
            return Daemon(h, ns, workdir)

        stormlib.learned_set_up(dev, ns, make_daemon, workdir)
        want = set(stormlib.standing()) | {GW1 + "/128"}
        storm = stormlib.Storm(ns, dev, workdir)
        for _ in range(args.restarts):
            storm.start()
            d = make_daemon().start()
            d.wait_managed(dev.name)
            storm.stop()
            d.wait_rounds(dev.name)
            st = d.iface(dev.name)
            if "torn_route_dumps" in st:
                counts["has_torn"] = True
                counts["torn"] += st["torn_route_dumps"]
            lost = want - dev.allowed(dev.p1)
            counts["missing"] += bool(lost)
            counts["missing_total"] += len(lost)
            counts["withdrew"] += bool(stormlib.changes_in_log(d.log(), "allowed-ip del"))
            gone = stormlib.replaced(dev)
            counts["replaced"] += bool(gone)
            counts["replaced_total"] += len(gone)
            d.signal(signal.SIGTERM)
            d.proc.popen.wait(10)
            stormlib.restore(dev, ns, gone)
        storm.stop()
    finally:
        h.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    print("| %s | %d | %s | %d (%d prefixes) | %d | %d (%d routes) |" % (
        args.label, args.restarts, counts["torn"] if counts["has_torn"] else "-",
        counts["missing"], counts["missing_total"], counts["withdrew"],
        counts["replaced"], counts["replaced_total"]))
    return 0


if __name__ == "__main__":
    conftest.CONVERGE = float(os.environ.get("WGRS_CONVERGE", "15"))
    sys.exit(main())
