"""Teardown of the topology suite: whatever happens (normal end, an
exception, Ctrl-C, SIGTERM), no namespace, process, UAPI socket or
directory of the run is left."""

import json
import os
import signal
import subprocess
import sys

import pytest

import netns
import topo
from topofix import scenario  # noqa: F401 (fixture)

HERE = os.path.dirname(os.path.abspath(__file__))

# Builds a hub and two spokes with everything running, prints what it holds
# as one JSON line, then fails or waits to be signalled.
CHILD = r"""
import json, sys
sys.path.insert(0, %(here)r)
import netns, topo
h = netns.Harness()
t = topo.Topology(h, "h-s1 h-s2")
t.wait_full_reachability()
pinger = topo.Pinger(t["s1"], t["s2"].addr6)
print(json.dumps(topo.resources(h)), flush=True)
if sys.argv[1] == "raise":
    raise RuntimeError("a failing test")
sys.stdin.read()
"""


def skip_without_tools():
    reason = topo.missing_tools()
    if reason:
        pytest.skip("missing tools: %s" % ", ".join(reason))


def leftovers(res):
    """What of res still exists."""
    live = set(netns.list_namespaces())
    left = {"namespaces": [n for n in res["namespaces"] if n in live],
            "pids": [p for p in res["pids"] if topo.pid_alive(p)],
            "sockets": [s for s in res["sockets"] if os.path.exists(s)],
            "dirs": [d for d in res["dirs"] if os.path.exists(d)]}
    return {k: v for k, v in left.items() if v}


def check_resources(res):
    # What a hub and two spokes must hold, so the check below means something.
    assert len(res["namespaces"]) == 3
    # BIRD and wg-rtsync per node, and wireguard-go for userspace WireGuard.
    per_node = 3 if topo.flavour() == "userspace" else 2
    assert len(res["pids"]) >= 3 * per_node
    if topo.flavour() == "userspace":
        assert len(res["sockets"]) == 3
    assert res["dirs"]


def test_cleanup_removes_everything(scenario):
    skip_without_tools()
    h = netns.Harness()
    try:
        t = topo.Topology(h, "h-s1 h-s2")
        t.wait_full_reachability()
        topo.Pinger(t["s1"], t["s2"].addr6)
        res = topo.resources(h)
        check_resources(res)
        assert leftovers(res) == {k: v for k, v in res.items() if v}
    finally:
        h.cleanup()
    assert leftovers(res) == {}


@pytest.mark.parametrize("how", ["raise", "SIGINT", "SIGTERM"])
def test_cleanup_after_failure_or_signal(scenario, how):
    skip_without_tools()
    child = subprocess.Popen([sys.executable, "-c", CHILD % {"here": HERE},
                              "raise" if how == "raise" else "wait"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        assert line, "the child failed to build:\n" + child.stderr.read()
        res = json.loads(line)
        check_resources(res)
        if how != "raise":
            child.send_signal(getattr(signal, how))
        child.wait(60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode != 0
    assert leftovers(res) == {}, child.stderr.read()
