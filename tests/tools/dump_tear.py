#!/usr/bin/env python3
"""dump_tear.py: how often an rtnetlink route dump misses or repeats routes
that never changed, while other routes change (docs/reliability.md, "Route
dumps"). The kernel alone: no wg-rtsync.

In a network namespace of its own (tests/netns/netns.py makes and removes
it), a veth link carries STANDING routes that never change; an `ip -batch`
loop adds and deletes OTHER routes of the same table meanwhile (the storm).
The tool dumps the table DUMPS times, as wg-rtsync does (RTM_GETROUTE with
NLM_F_DUMP, read to NLMSG_DONE), and counts the dumps that lacked a standing
route, that listed one twice, and that the kernel flagged NLM_F_DUMP_INTR.
Around each dump a second socket is subscribed to the route groups, as
wg-rtsync's watch is (src/rtnl/nl_route.c): the last column counts the torn
dumps it did NOT notice (a torn dump during which no route event arrived),
which must be 0 for wg-rtsync to hold every torn dump for what it is.

    sudo tests/tools/dump_tear.py                 # IPv6, 1 024 standing routes
    sudo tests/tools/dump_tear.py --reader ip     # with `ip -6 route show`
    sudo tests/tools/dump_tear.py --family 4
    sudo tests/tools/dump_tear.py --no-storm      # the control: nothing torn

Root is needed for the namespace. Only documentation prefixes are used."""

import argparse
import ipaddress
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

NETLINK_ROUTE = 0
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_DUMP_INTR, NLM_F_DUMP = 1, 2, 16, 0x300
RTA_DST, RTA_TABLE, RTA_PRIORITY = 1, 15, 6
RTMGRP_IPV4_ROUTE, RTMGRP_IPV6_ROUTE = 0x40, 0x400
SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NETLINK_DROP_MEMBERSHIP = 270, 1, 2
RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE = 7, 11


def standing(family, n):
    if family == 6:
        return [str(ipaddress.ip_network("2001:db8:2:%x::/64" % i)) for i in range(n)]
    return ["198.19.%d.%d/32" % (i // 256, i % 256) for i in range(n)]


def stormy(family, n):
    if family == 6:
        return ["2001:db8:1:%x::/64" % i for i in range(n)]
    return ["198.18.%d.%d/32" % (i // 256, i % 256) for i in range(n)]


def dump(family):
    """One dump of every route of the family: ([(dst, len, table, metric)],
    DUMP_INTR seen)."""
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    s.bind((0, 0))
    af = socket.AF_INET6 if family == 6 else socket.AF_INET
    req = struct.pack("=LHHLL", 16 + 12, RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
    req += struct.pack("=BBBBBBBBL", af, 0, 0, 0, 0, 0, 0, 0, 0)
    s.send(req)
    routes, intr = [], False
    while True:
        data = s.recv(65536)
        off = 0
        while off + 16 <= len(data):
            ln, typ, flags, _seq, _pid = struct.unpack_from("=LHHLL", data, off)
            if ln < 16:
                raise SystemExit("bad netlink message length %d" % ln)
            if flags & NLM_F_DUMP_INTR:
                intr = True
            if typ == NLMSG_DONE:
                s.close()
                return routes, intr
            if typ == NLMSG_ERROR:
                raise SystemExit("dump failed: %d" % struct.unpack_from("=i", data, off + 16))
            if typ == RTM_NEWROUTE:
                fam, dlen, _sl, _tos, table = struct.unpack_from("=BBBBB", data, off + 16)
                metric, dst, a = 0, b"", off + 28
                while a + 4 <= off + ln:
                    alen, atyp = struct.unpack_from("=HH", data, a)
                    if alen < 4:
                        break
                    payload = data[a + 4:a + alen]
                    if atyp == RTA_DST:
                        dst = payload
                    elif atyp == RTA_TABLE:
                        table = struct.unpack("=L", payload)[0]
                    elif atyp == RTA_PRIORITY:
                        metric = struct.unpack("=L", payload)[0]
                    a += (alen + 3) & ~3
                addr = socket.inet_ntop(socket.AF_INET6 if fam == socket.AF_INET6
                                        else socket.AF_INET,
                                        dst.ljust(16 if fam == socket.AF_INET6 else 4,
                                                  b"\0"))
                routes.append(("%s/%d" % (addr, dlen), table, metric))
            off += (ln + 3) & ~3


def dump_ip(family):
    """The same through `ip route show` (iproute2's reader, as in issue 17):
    ([(dst, table, metric)] of table main, DUMP_INTR unknown: False)."""
    out = subprocess.run(["ip", "-%d" % family, "route", "show"], check=True,
                         capture_output=True, text=True).stdout
    return [(line.split()[0], 254, 0) for line in out.splitlines() if line], False


def watch_open(family):
    """A socket that hears route events, with a small buffer: only whether
    something arrived matters (a full buffer says so too, with ENOBUFS)."""
    w = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    w.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    w.bind((0, 0))
    w.setblocking(False)
    return w


def heard(w):
    """Drains w; True when anything (or an overflow) arrived."""
    got = False
    while True:
        try:
            w.recv(65536)
            got = True
        except BlockingIOError:
            return got
        except OSError:  # ENOBUFS: it overflowed, so something arrived
            got = True


def inner(args):
    """Runs inside the namespace."""
    fam = "-6" if args.family == 6 else "-4"
    subprocess.run(["ip", "link", "add", "st0", "type", "veth", "peer", "name", "st1"],
                   check=True)
    for dev in ("st0", "st1"):
        subprocess.run(["ip", "link", "set", dev, "up"], check=True)
    with tempfile.NamedTemporaryFile("w", suffix=".batch", delete=False) as f:
        for p in standing(args.family, args.standing):
            f.write("route add %s dev st0 proto static\n" % p)
        fixed = f.name
    subprocess.run(["ip", fam, "-batch", fixed], check=True)
    with tempfile.NamedTemporaryFile("w", suffix=".batch", delete=False) as f:
        for verb in ("add", "del"):
            for p in stormy(args.family, args.storm_routes):
                f.write("route %s %s dev st0 proto static\n" % (verb, p))
        storm_file = f.name
    storm = None
    if args.storm:
        storm = subprocess.Popen(["sh", "-c", "while :; do ip %s -force -batch %s; done"
                                  % (fam, storm_file)], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(0.5)
    want = set(standing(args.family, args.standing))
    group = RTNLGRP_IPV6_ROUTE if args.family == 6 else RTNLGRP_IPV4_ROUTE
    w = watch_open(args.family)
    counts = dict(torn=0, missing=0, doubled=0, intr=0, heard=0, torn_unheard=0)
    try:
        for _ in range(args.dumps):
            heard(w)
            w.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group)
            routes, intr = (dump_ip if args.reader == "ip" else dump)(args.family)
            w.setsockopt(SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, group)
            events = heard(w)
            seen = [r[0] for r in routes if r[1] == 254 and r[0] in want]
            missing = len(want - set(seen)) > 0
            doubled = len(seen) != len(set(seen))
            torn = missing or doubled
            counts["torn"] += torn
            counts["missing"] += missing
            counts["doubled"] += doubled
            counts["intr"] += intr
            counts["heard"] += events
            counts["torn_unheard"] += torn and not events
    finally:
        if storm:
            os.killpg(storm.pid, 9)
            storm.wait()
        os.unlink(fixed)
        os.unlink(storm_file)
    print("| IPv%d | %s | %d | %s | %d | %d | %d | %d | %d | %d |" % (
        args.family, args.reader, args.standing, "yes" if args.storm else "no", args.dumps,
        counts["missing"], counts["doubled"], counts["intr"], counts["heard"],
        counts["torn_unheard"]))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--family", type=int, choices=(4, 6), default=6)
    ap.add_argument("--standing", type=int, default=1024, help="routes that never change")
    ap.add_argument("--storm-routes", type=int, default=1000,
                    help="routes the storm adds and deletes, over and over")
    ap.add_argument("--dumps", type=int, default=100)
    ap.add_argument("--no-storm", dest="storm", action="store_false")
    ap.add_argument("--reader", choices=("netlink", "ip"), default="netlink",
                    help="dump as wg-rtsync does, or with `ip route show`")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inner:
        return inner(args)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "..", "netns"))
    import netns
    h = netns.Harness()
    try:
        ns = h.namespace()
        argv = [sys.executable, os.path.abspath(__file__), "--inner"] + sys.argv[1:]
        res = ns.run(argv, timeout=600)
        print("| family | reader | standing routes | storm | dumps "
              "| lacked a standing route | listed one twice | NLM_F_DUMP_INTR "
              "| route events heard | torn, no event heard |")
        print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|")
        sys.stdout.write(res.stdout)
    finally:
        h.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
