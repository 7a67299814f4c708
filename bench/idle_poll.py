#!/usr/bin/env python3
"""The cost of the daemon's idle WireGuard poll (issue 3: at most 1% of a core
with 100 000 AllowedIPs at the default wg_poll_interval, docs/configuration.md).

In a fresh namespace: wireguard-go with two peers, one of them with N static
AllowedIPs (set over the UAPI socket), and wg-rtsync with the default
configuration, which installs the N routes. Once it has converged, the CPU
time of both processes is read from /proc over a window; every
wg_poll_interval the daemon reads the whole device (get=1), diffs it against
its model and runs a pass that finds nothing to do.

usage: idle_poll.py WG_RTSYNC [N...]   (root; prints a Markdown table)
"""

import base64
import ipaddress
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "tests", "netns"))
import netns  # noqa: E402

WINDOW = 30.0
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def uapi_set(sock_path, text):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(sock_path)
        s.sendall(text.encode())
        reply = b""
        while not reply.endswith(b"\n\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    if b"errno=0" not in reply:
        raise RuntimeError("UAPI set failed: %r" % reply[-200:])


def status(binary, config):
    out = subprocess.run([binary, "-c", config, "status", "--json"], capture_output=True,
                         text=True, timeout=60)
    return json.loads(out.stdout) if out.returncode == 0 else None


def measure(binary, n):
    h = netns.Harness()
    work = tempfile.mkdtemp(prefix="wgrs-bench-")
    try:
        ns = h.namespace()
        wg = h.wireguard_go(ns).start()
        _, p1 = netns.genkey()
        _, p2 = netns.genkey()
        wg.add_peer(p1, ["fe80::2/128"])
        wg.add_peer(p2, ["fe80::3/128"])
        wg.up("fe80::1/64")
        net = ipaddress.ip_network("2001:db8::/32")
        lines = ["set=1", "public_key=" + base64.b64decode(p2).hex(),
                 "update_only=true"]
        for i, sub in enumerate(net.subnets(new_prefix=64)):
            if i == n:
                break
            lines.append("allowed_ip=%s" % sub)
        uapi_set(wg.socket, "\n".join(lines) + "\n\n")

        config = os.path.join(work, "c.yaml")
        with open(config, "w") as f:
            f.write("state_dir: %s\n" % os.path.join(work, "state"))
        start = time.monotonic()
        d = ns.start([binary, "-c", config, "-q"], name="wg-rtsync")

        def converged():
            st = status(binary, config)
            i = st and st["interfaces"] and st["interfaces"][0]
            return i if i and i["our_routes"] == n + 2 else None

        netns.wait_until(converged, 600, "%d routes installed" % n, interval=0.5)
        took = time.monotonic() - start
        time.sleep(2)  # the last events of the install drain
        before = (cpu_seconds(d.pid), cpu_seconds(wg.process.pid), time.monotonic())
        r0 = converged()["rounds"]
        time.sleep(WINDOW)
        after = (cpu_seconds(d.pid), cpu_seconds(wg.process.pid), time.monotonic())
        rounds = converged()["rounds"] - r0
        wall = after[2] - before[2]
        return {
            "n": n, "converge": took, "rounds": rounds, "wall": wall,
            "daemon": 100.0 * (after[0] - before[0]) / wall,
            "wggo": 100.0 * (after[1] - before[1]) / wall,
            "per_poll_ms": 1000.0 * (after[0] - before[0]) / max(rounds, 1),
            "rss": rss_mib(d.pid),
        }
    finally:
        h.cleanup()
        subprocess.run(["rm", "-rf", work])


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = os.path.abspath(argv[1])
    sizes = [int(a) for a in argv[2:]] or [10000, 100000]
    print("| AllowedIPs | first sync s | polls | wg-rtsync % of a core | per poll ms "
          "| wireguard-go % of a core | wg-rtsync RSS MiB |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        r = measure(binary, n)
        print("| %d | %.1f | %d | %.2f | %.2f | %.2f | %.0f |" % (
            r["n"], r["converge"], r["rounds"], r["daemon"], r["per_poll_ms"], r["wggo"],
            r["rss"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
