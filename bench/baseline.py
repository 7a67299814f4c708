#!/usr/bin/env python3
"""A per-event route-to-AllowedIPs sync, as existing per-event tools do it:
the comparison point of the end-to-end benchmarks (bench/e2e.py).

For every line of `ip -o monitor route` naming a route through IFACE via one
of the known gateways: read the device (`wg show IFACE allowed-ips`), then
set that peer's whole list with the prefix added or removed (`wg set IFACE
peer KEY allowed-ips LIST`). A list longer than the kernel's limit on one
command-line argument (128 KiB) goes through `wg addconf IFACE /dev/stdin`
instead, which replaces the listed peer's AllowedIPs the same way.

usage: baseline.py IFACE GATEWAYS_FILE
GATEWAYS_FILE: one "GATEWAY PEER_PUBLIC_KEY" a line. Prints "ready" once it
sees route events, then one line per event it handled; runs until killed.
"""

import ipaddress
import signal
import subprocess
import sys

ARG_MAX_STRLEN = 128 * 1024 - 1
# A route it adds and deletes itself to know that the monitor is listening.
READY_ROUTE = "2001:db8:ff02::/64"


def read_device(iface):
    out = subprocess.run(["wg", "show", iface, "allowed-ips"], capture_output=True,
                         text=True, check=True).stdout
    peers = {}
    for line in out.splitlines():
        key, *ips = line.split()
        peers[key] = [] if ips == ["(none)"] else ips
    return peers


def set_list(iface, key, prefixes):
    text = ",".join(prefixes)
    if len(text) < ARG_MAX_STRLEN:
        subprocess.run(["wg", "set", iface, "peer", key, "allowed-ips", text], check=True)
        return
    conf = "[Peer]\nPublicKey = %s\nAllowedIPs = %s\n" % (key, text)
    subprocess.run(["wg", "addconf", iface, "/dev/stdin"], input=conf, text=True,
                   check=True)


def parse(line):
    """(deleted, prefix, gateway, dev) of one `ip -o monitor route` line."""
    f = line.split()
    deleted = bool(f) and f[0] == "Deleted"
    if deleted:
        f = f[1:]
    if not f:
        return None
    if f[0] in ("unicast",):
        f = f[1:]
    try:
        dst = str(ipaddress.ip_network(f[0], strict=False))
    except ValueError:
        return None  # local, broadcast, multicast, ...
    gw = dev = None
    for i, word in enumerate(f[:-1]):
        if word == "via":
            gw = f[i + 2] if f[i + 1] in ("inet", "inet6") else f[i + 1]
        elif word == "dev":
            dev = f[i + 1]
    return deleted, dst, gw, dev


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    iface = argv[1]
    gateways = {}
    with open(argv[2]) as f:
        for line in f:
            gw, key = line.split()
            gateways[gw] = key
    mon = subprocess.Popen(["ip", "-o", "monitor", "route"], stdout=subprocess.PIPE,
                           text=True, bufsize=1)

    def stop(signum, frame):
        mon.kill()
        mon.wait()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    ready = False
    handled = 0
    while not ready:
        subprocess.run(["ip", "-6", "route", "del", "unreachable", READY_ROUTE],
                       stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "-6", "route", "add", "unreachable", READY_ROUTE], check=True)
        line = mon.stdout.readline()
        ready = READY_ROUTE.split("/")[0] in line
    subprocess.run(["ip", "-6", "route", "del", "unreachable", READY_ROUTE], check=True)
    print("ready", flush=True)
    for line in mon.stdout:
        ev = parse(line)
        if not ev:
            continue
        deleted, dst, gw, dev = ev
        key = gateways.get(gw)
        if dev != iface or not key:
            continue
        peers = read_device(iface)
        current = peers.get(key, [])
        if deleted:
            wanted = [p for p in current if p != dst]
        else:
            wanted = current + [dst] if dst not in current else current
        if wanted != current:
            set_list(iface, key, wanted)
        handled += 1
        print(handled, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
