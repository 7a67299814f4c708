"""Runs after the other namespace tests (file order): nothing of this
pytest run is left except what a live harness still owns (none, at this
point, unless a fixture leaked)."""

import os

import netns
import topo


def test_nothing_of_this_run_is_left():
    owned = {"namespaces": set(), "sockets": set()}
    for h in list(netns._live):
        owned["namespaces"] |= {ns.name for ns in h.namespaces}
        owned["sockets"] |= set(h.sockets)
    mine = "wgrs-%d-" % os.getpid()
    namespaces = [n for n in netns.list_namespaces()
                  if n.startswith(mine) and n not in owned["namespaces"]]
    try:
        entries = os.listdir(netns.UAPI_DIR)
    except OSError:
        entries = []
    sockets = [os.path.join(netns.UAPI_DIR, e) for e in entries
               if e.startswith("wg%dx" % os.getpid()) and
               os.path.join(netns.UAPI_DIR, e) not in owned["sockets"]]
    children = topo.child_pids()
    assert (namespaces, sockets, children) == ([], [], [])
