#!/usr/bin/env python3
"""bench/config_load.py: how long `wg-rtsync --check-config` takes on valid
configuration files of N peers, as a Markdown table.

usage: config_load.py WG_RTSYNC [N...]      (default: 1000 10000 100000)

Each file is what a large mesh would write: `routing_table`, two
`interfaces:` entries (one with peers of its own, a tenth of N) and N
peers at the top level, each with two gateways (an IPv6 link-local
address and one of the benchmark range 198.18.0.0/15). Each size runs
three times; the table shows the median wall time and the largest
resident size (GNU time's %M, of wg-rtsync alone)."""
import base64
import os
import statistics
import subprocess
import sys
import tempfile
import time


def peer_lines(first, n, indent):
    for i in range(first, first + n):
        key = base64.b64encode(i.to_bytes(4, "big") + bytes(28)).decode()
        yield (f'{indent}"{key}": {{gateways: [fe80::{i >> 16:x}:{i & 0xffff:x}, '
               f"198.{18 + (i >> 16 & 1)}.{i >> 8 & 0xff}.{i & 0xff}]}}\n")


def write_file(path, n):
    with open(path, "w") as f:
        f.write("routing_table: main\nlearn_protocols: [bird]\npeers:\n")
        f.writelines(peer_lines(0, n, "  "))
        f.write('interfaces:\n  "wg-*": {install_routes: false}\n  wg0:\n'
                "    routing_table: 100\n    peers:\n")
        f.writelines(peer_lines(n, n // 10, "      "))


def run_once(exe, path):
    """Wall seconds and largest resident size in KiB of one check."""
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", exe, "-c", path, "--check-config"],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"config_load: {path} refused: {done.stderr.strip()}")
    return seconds, int(done.stderr.split()[-1])


def main():
    exe = sys.argv[1]
    sizes = [int(a) for a in sys.argv[2:]] or [1000, 10000, 100000]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = os.path.join(tmp, f"peers-{n}.yaml")
            write_file(path, n)
            runs = [run_once(exe, path) for _ in range(3)]
            rows.append((n, os.path.getsize(path), statistics.median(r[0] for r in runs),
                         max(r[1] for r in runs)))
    print("| peers | file size | load time (median of 3) | largest resident size |")
    print("|---:|---:|---:|---:|")
    for n, size, seconds, rss in rows:
        print(f"| {n:,} | {size / 1e6:.2f} MB | {seconds:.3f} s | {rss / 1024:.0f} MiB |"
              .replace(",", " "))


if __name__ == "__main__":
    main()
