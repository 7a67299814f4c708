#!/usr/bin/env python3
"""End-to-end benchmarks of the wg-rtsync daemon (issue 5), in network
namespaces made here, with documentation and link-local addresses only.
`bench/run` runs this (on the host with wireguard-go, in the VM with kernel
WireGuard) and then bench/e2e_report.py, which writes docs/benchmarks.md.

Scenarios, for each N:
  B1 learn storm: N routes (IPv4 via IPv6 next hops and IPv6) over 16 peers,
     inserted with one `ip -batch`; time from the start of the insert until
     all N are in the AllowedIPs.
  B2 withdraw storm: the N routes deleted with one `ip -batch`; time until
     only the static AllowedIPs are left.
  B3 install storm: N static AllowedIPs set with one `wg addconf`; time until
     the N routes of protocol 98 exist; and back (B3 back).
  floor: the raw operations alone, timed one after the other: the same
     `ip -batch`, one route dump (e2e_probe dump), one `wg addconf` of the
     same prefixes (B1, B2); for B3 the `wg addconf`, one `ip -batch` of the
     N protocol-98 routes, one device dump (`wg showconf`).
  baseline (bench/baseline.py): a per-event tool, capped in time.
Then: B4 event latency at 100 000 and 1 000 000 routes learned (--latency-n;
single changes, each at a moment of its own: 5 to 35 ms after the one
before, at random (seeded), so that they meet the WireGuard polls as traffic
would; each run begins shortly before a poll is due, so that it meets one
however far wg_poll_budget stretches the poll period), B5 idle CPU at 100 000
and 1 000 000 learned (--idle-n; at least 60 s, whole poll periods: from the
end of a read to the end of another), B6 daemon RSS per learned prefix.

How convergence is seen, without a poll of the device dominating it: see
the docstring of bench/e2e_probe.c and docs/benchmarks.md. In short, the
batch ends with a marker change, and the marker becomes visible to traffic
only after everything before it has been applied; the probe sees the
marker through the data plane (a WireGuard handshake to a UDP socket of
ours) or through the route notification (B3), for microseconds of work.
Each run is then checked in full, untimed, against the device or the table.

usage: e2e.py --flavour uapi|kernel --build DIR --out FILE.json [options]
"""

import argparse
import base64
import re
import ipaddress
import json
import math
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "netns"))
import netns  # noqa: E402

PEERS = 16
# The marker peers' endpoint (on lo) and the probe's source address.
PROBE_ADDR = "2001:db8:ff00::1"
# Marker endpoints: MARKER_PORT_BASE + MARKER_PORTS * (the kind's place in
# MARKER_KINDS) + index, below wireguard-go's listen ports (51820 and up). No
# two markers share a port: a marker retries its handshake for 90 s, and
# one arriving on another's port would be taken for that one's.
MARKER_PORT_BASE = 20000
MARKER_PORTS = 6000
MARKER_KINDS = (0xf9, 0xfa, 0xfb, 0xfd, 0xfe)
TICK = os.sysconf("SC_CLK_TCK")


def log(*args):
    print("e2e:", *args, file=sys.stderr, flush=True)


def now():
    return time.monotonic()


# ---------------------------------------------------------------------------
# Addresses. Everything lies in 2001:db8::/32 and the IPv4 documentation
# ranges (learned and static prefixes), fe80::/10 (gateways).

def v6_prefix(i):
    """The i-th IPv6 test prefix, 2001:db8:H:L::/64 with H <= 15 for
    i < 1 000 000, in the form wg(8) prints (L is never 0)."""
    return "2001:db8:%x:%x::/64" % (i // 65535, i % 65535 + 1)


def v4_prefixes():
    """Every prefix of length 24 to 32 inside the three IPv4 documentation
    /24s: 1533 of them. The documentation ranges hold no more, so the IPv4
    share of a workload stops there."""
    out = []
    for base in ("192.0.2.0", "198.51.100.0", "203.0.113.0"):
        net = ipaddress.ip_network(base + "/24")
        for plen in range(24, 33):
            out.extend(str(n) for n in net.subnets(new_prefix=plen))
    return out


V4 = v4_prefixes()


def workload(n):
    """N destinations: as many IPv4 ones as half of N or the documentation
    ranges allow, the rest IPv6, interleaved evenly."""
    n4 = min(n // 2, len(V4))
    n6 = n - n4
    out = []
    i4 = 0
    for i in range(n6):
        out.append(v6_prefix(i))
        # Spread the IPv4 ones through the batch.
        while i4 < n4 and i4 * n6 <= i * n4:
            out.append(V4[i4])
            i4 += 1
    out.extend(V4[i4:n4])
    return out, n4


def gw_of(k):
    return "fe80::%x" % (0x100 + k)


def canon(prefix):
    """prefix as wg(8) prints it."""
    return str(ipaddress.ip_network(prefix))


def host(prefix):
    """An address inside prefix (the probe's target)."""
    net = ipaddress.ip_network(prefix)
    return str(net.network_address + 1)


def random_key(marker):
    """A public key; markers begin with 0xff, so that wg-rtsync, which writes
    peers in key order, writes a marker's change after the others of the
    same request. Any 32 bytes do as a peer's public key."""
    while True:
        b = os.urandom(32)
        if marker:
            b = b"\xff" + b[1:]
        if marker or b[0] != 0xff:
            return base64.b64encode(b).decode()


# ---------------------------------------------------------------------------
# Processes

def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def cpu_split(pid):
    """(user, system) CPU seconds of pid."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK


class Perf:
    """perf record on one process, reduced to where its time went: the
    functions (user and kernel) with their share of the samples, callees
    included (the frames every sample has are left out)."""

    GENERIC = {"_start", "main", "__libc_start_main", "__libc_start_call_main",
               "__libc_start_main_impl", "daemon_run", "loop", "run_daemon",
               "run_due", "read", "write", "send", "recv", "recvmsg", "sendto"}
    # System call plumbing: every system call passes through these.
    PLUMBING = ("entry_SYSCALL", "do_syscall", "__x64_sys_", "__sys_", "___sys_",
                "____sys_", "ksys_", "vfs_", "sock_", "__libc_", "0x", "syscall",
                "netlink_rcv_skb", "netlink_unicast", "genl_rcv", "00000000")

    def __init__(self, pid, path, ns=None):
        """pid None: every CPU (the VM, where perf 6.1 records no samples of
        one process in the chroot), kernel stacks by frame pointer."""
        self.path = path
        self.system = pid is None
        # In the daemon's namespaces: perf 6.1 finds no samples from
        # outside them in the VM's chroot.
        prefix = ["ip", "netns", "exec", ns.name] if ns else []
        what = (["-a", "-e", "cpu-clock", "-g"] if self.system else
                ["--call-graph", "dwarf,16384", "-p", str(pid)])
        self.p = subprocess.Popen(prefix + ["perf", "record", "-F", "499"] + what +
                                  ["-o", path],
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)  # perf attaches; a profile, not a timed run

    def stop(self, top=14):
        self.p.send_signal(signal.SIGINT)
        err = self.p.communicate()[1]
        if self.system:
            return self.stop_system(err)
        out = subprocess.run(["perf", "report", "-i", self.path, "--children", "--stdio",
                              "-g", "none", "--sort", "sym", "--percent-limit", "1"],
                             capture_output=True, text=True).stdout
        rows = []
        for line in out.splitlines():
            m = re.match(r"\s+([\d.]+)%\s+([\d.]+)%\s+\[(.)\]\s+(\S+)", line)
            if (m and m.group(4) not in self.GENERIC and float(m.group(1)) < 95 and
                    not m.group(4).startswith(self.PLUMBING)):
                rows.append({"sym": m.group(4), "kernel": m.group(3) == "k",
                             "children": float(m.group(1)), "self": float(m.group(2))})
        os.unlink(self.path)
        return rows[:top]

    def stop_system(self, err):
        """{comm: share} of all samples, and per process its symbols."""
        def report(*extra):
            return subprocess.run(["perf", "report", "-i", self.path, "--stdio", "-g", "none",
                                   "--percent-limit", "0.5"] + list(extra),
                                  capture_output=True, text=True).stdout
        out = {"by_comm": [], "raw": report("--sort", "comm,dso,sym"),
               "perf_err": err[-2000:]}
        for line in report("--sort", "comm").splitlines():
            # children %, self %, process (with call chains, perf prints both)
            m = re.match(r"\s+([\d.]+)%\s+[\d.]+%\s+(\S.*?)\s*$", line)
            if m:
                out["by_comm"].append({"comm": m.group(2), "share": float(m.group(1))})
        os.unlink(self.path)
        return out


def mem_kib(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def median(xs):
    return statistics.median(xs) if xs else None


class Probe:
    """An e2e_probe process in the namespace, started and ready."""

    def __init__(self, world, *args):
        self.argv = ["ip", "netns", "exec", world.ns.name, world.probe_bin] + list(args)
        self.p = subprocess.Popen(self.argv, stdout=subprocess.PIPE, text=True)
        first = self.p.stdout.readline().strip()
        if first != "ready":
            self.p.kill()
            raise RuntimeError("probe %s: %r" % (" ".join(args), first))

    def result(self):
        """The detection time (monotonic), or None (timeout, lost events)."""
        line = self.p.stdout.readline().strip()
        self.p.wait()
        if line.startswith("detected "):
            return float(line.split()[1])
        log("probe:", line or "no answer")
        return None

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


# ---------------------------------------------------------------------------
# The world: one namespace, one WireGuard device, 16 peers, marker peers

class Marker:
    def __init__(self, kind, index):
        self.key = random_key(True)
        self.kind = kind
        self.index = index
        self.gw = "fe80::%x:%x" % (kind, index)
        if index >= MARKER_PORTS:
            raise ValueError("more than %d markers of kind %#x" % (MARKER_PORTS, kind))
        self.port = MARKER_PORT_BASE + MARKER_PORTS * MARKER_KINDS.index(kind) + index
        self.static = [self.gw + "/128"]


class World:
    def __init__(self, args, flavour, n_markers, tag, gctrace=False):
        self.args = args
        self.gctrace = gctrace
        self.flavour = flavour
        self.binary = os.path.join(args.build, "wg-rtsync")
        self.probe_bin = os.path.join(args.build, "bench", "e2e_probe")
        self.h = netns.Harness()
        self.work = tempfile.mkdtemp(prefix="wgrs-e2e-")
        # state_dir defaults to /run/wg-rtsync, a tmpfs on a usual system;
        # this host's /run is on disk, so take a tmpfs of our own making.
        self.state = tempfile.mkdtemp(prefix="wgrs-e2e-state-", dir="/dev/shm")
        self.daemon = None
        try:
            self._setup(n_markers, tag)
        except BaseException:
            self.close()
            raise

    def _setup(self, n_markers, tag):
        self.ns = self.h.namespace()
        self.ns.ip("addr", "add", PROBE_ADDR + "/128", "dev", "lo")
        if self.flavour == "uapi":
            # gctrace: one line per garbage collection on its log.
            self.wg = self.h.wireguard_go(self.ns).start(
                env={"GODEBUG": "gctrace=1"} if self.gctrace else None)
            self.name = self.wg.name
            self.wggo_pid = self.wg.process.pid
        else:
            self.name = netns.unique_name("wk")
            self.ns.ip("link", "add", self.name, "type", "wireguard")
            private = netns.genkey()[0]
            self.ns.run(["wg", "set", self.name, "private-key", "/dev/stdin",
                         "listen-port", "51820"], input=private + "\n")
            self.wggo_pid = None
        self.keys = [random_key(False) for _ in range(PEERS)]
        # The ordinary peer written last in a request: removal markers live
        # there, so that a native removal (allowed_ip=-P) also comes last.
        self.last_peer = max(range(PEERS), key=lambda k: base64.b64decode(self.keys[k]))
        self.markers = {}
        self.addconf({self.keys[k]: [gw_of(k) + "/128"] for k in range(PEERS)})
        self.ns.ip("link", "set", self.name, "addrgenmode", "none")
        self.ns.link_up(self.name)
        self.ns.addr_add(self.name, "fe80::1/64")
        self.ifindex = int(self.ns.run(["cat", "/sys/class/net/%s/ifindex" %
                                        self.name]).stdout)
        # The probe's datagrams for a withdrawn prefix must still reach the
        # device, whoever installed (or not) the markers' static routes.
        for net in ("2001:db8:f9::/48", "2001:db8:fb::/48", "2001:db8:fd::/48"):
            self.ns.ip("-6", "route", "add", net, "dev", self.name, "proto", "static")
        self.add_markers(n_markers)
        log("%s: namespace %s, %s device %s" % (tag, self.ns.name, self.flavour, self.name))

    def gc_cycles(self):
        """wireguard-go's garbage collections so far (None: not traced)."""
        if self.flavour != "uapi" or not self.gctrace:
            return None
        return len(re.findall(r"^gc \d+ @", self.wg.process.log(), re.M))

    def add_markers(self, kinds):
        """kinds: {kind: count}. Markers are created with their statics and
        an endpoint on lo; each is used for one detection only (WireGuard
        sends one handshake per peer per 5 s, then retries for 90 s)."""
        conf = []
        for kind, count in kinds.items():
            for i in range(count):
                m = Marker(kind, i)
                if kind in (0xfb, 0xfd):  # withdrawal markers: a covering static
                    m.static.append(canon("2001:db8:%x:%x::/64" % (kind, i)))
                if kind == 0xf9:  # calibration: the probe target is static
                    m.static.append(canon("2001:db8:f9:%x::/64" % i))
                self.markers.setdefault(kind, []).append(m)
                conf.append("[Peer]\nPublicKey = %s\nEndpoint = [%s]:%d\nAllowedIPs = %s\n"
                            % (m.key, PROBE_ADDR, m.port, ", ".join(m.static)))
        if conf:
            self.addconf_text("".join(conf))

    def close(self):
        if self.daemon:
            self.stop_daemon()
        try:
            self.h.cleanup()
        finally:
            shutil.rmtree(self.work, ignore_errors=True)
            shutil.rmtree(self.state, ignore_errors=True)

    # -- device --
    def conf_text(self, lists):
        out = []
        for key, prefixes in lists.items():
            out.append("[Peer]\nPublicKey = %s\n" % key)
            for i in range(0, len(prefixes), 64):
                out.append("AllowedIPs = %s\n" % ", ".join(prefixes[i:i + 64]))
        return "".join(out)

    def write(self, name, text):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def addconf_text(self, text):
        path = self.write("setup.conf", text)
        self.ns.run(["wg", "addconf", self.name, path], timeout=1200)

    def addconf(self, lists):
        """Sets each listed peer's AllowedIPs to exactly the list (Debian's
        wg addconf replaces the list of each peer it names)."""
        self.addconf_text(self.conf_text(lists))

    def allowed_ips(self):
        out = self.ns.run(["wg", "show", self.name, "allowed-ips"], timeout=1200).stdout
        peers = {}
        for line in out.splitlines():
            key, *ips = line.split()
            peers[key] = set() if ips == ["(none)"] else set(ips)
        return peers

    def statics(self):
        lists = {self.keys[k]: [gw_of(k) + "/128"] for k in range(PEERS)}
        for ms in self.markers.values():
            for m in ms:
                lists[m.key] = list(m.static)
        return lists

    def latency_probe(self, lines):
        """e2e_probe latency over lines (its EVENTS), parsed."""
        return parse_latency(self.ns.run(
            [self.probe_bin, "latency", PROBE_ADDR, str(self.args.b4_probe_us)],
            input="".join(lines), timeout=3600).stdout)

    def count_routes(self, proto=None):
        argv = [self.probe_bin, "dump"] + ([str(proto)] if proto else [])
        return int(self.ns.run(argv, timeout=1200).stdout)

    def batch(self, path, timeout=3600):
        """ip -batch; returns its wall time."""
        t0 = now()
        self.ns.run(["ip", "-batch", path], timeout=timeout)
        return now() - t0

    def timed(self, argv, timeout=3600):
        t0 = now()
        self.ns.run(argv, timeout=timeout)
        return now() - t0

    # -- daemon --
    def start_daemon(self, settings=""):
        state = os.path.join(self.state, "state")
        shutil.rmtree(state, ignore_errors=True)
        cfg = self.write("wg-rtsync.yaml", "state_dir: %s\n%s" % (state, settings))
        self.control = os.path.join(state, "control.sock")
        self.daemon = self.ns.start([self.binary, "-c", cfg], name="wg-rtsync")
        want = sum(len(v) for v in self.statics().values())

        def ready():
            if not self.daemon.alive():
                raise RuntimeError("wg-rtsync exited:\n" + self.daemon.log()[-3000:])
            st = self.status()
            return st and st["our_routes"] >= want and st["last_failed"] == 0

        netns.wait_until(ready, 600, "wg-rtsync to install the static routes",
                         interval=0.1)
        return self.daemon

    def status(self):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(60)
                s.connect(self.control)
                s.sendall(b"status json\n")
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
        except OSError:
            return None
        ifs = json.loads(data).get("interfaces") or []
        return ifs[0] if ifs else None

    def stop_daemon(self):
        d, self.daemon = self.daemon, None
        rc = d.stop(timeout=60)
        if rc not in (0, None):
            log("wg-rtsync exited with %s:\n%s" % (rc, d.log()[-3000:]))
        return d.log()

    def read_ended(self, timeout=900):
        """Waits for a read of the device to end (the daemon's
        device_reads to grow); the status then."""
        before = self.status()["device_reads"]

        def ended():
            st = self.status()
            return st if st and st["device_reads"] > before else None

        return netns.wait_until(ended, timeout, "a read of the device to end", interval=0.2)

    def poll_within(self, lead):
        """Returns when the next poll is due in `lead` seconds or less (the
        daemon's next_poll_in): a run that begins then meets a poll even
        where wg_poll_budget stretches the period far beyond the run."""
        time.sleep(max(0.0, self.status()["next_poll_in"] - lead))

    def wait_idle(self, seconds=2.0):
        """Lets the daemon's last rounds and a WireGuard poll go by."""
        time.sleep(seconds)


# ---------------------------------------------------------------------------
# Storms

class Storm:
    """The files and expectations of B1, B2 and B3 at one N in one world."""

    def __init__(self, world, n):
        self.w = world
        self.n = n
        self.dst, self.n4 = workload(n)
        self.owner = [i % PEERS for i in range(n)]
        w = world
        lines_add, lines_del = [], []
        for i, d in enumerate(self.dst):
            via = ("via inet6 " if "." in d else "via ") + gw_of(self.owner[i])
            lines_add.append("route add %s %s dev %s proto static\n" % (d, via, w.name))
            lines_del.append("route del %s %s dev %s\n" % (d, via, w.name))
        self.base_add = "".join(lines_add)
        self.base_del = "".join(lines_del)
        # B3: the same destinations as static AllowedIPs; the route marker
        # R sorts after all of them, so wg-rtsync installs it last.
        self.r_marker = "2001:db8:fc::/64"
        lists = w.statics()
        for i, d in enumerate(self.dst):
            lists[w.keys[self.owner[i]]].append(d)
        lists[w.keys[PEERS - 1]].append(self.r_marker)
        self.b3_conf = w.write("b3.conf", w.conf_text(lists))
        self.static_conf = w.write("static.conf", w.conf_text(w.statics()))
        routes = ["route add %s dev %s proto 98\n" % (d, w.name)
                  for d in self.dst + [self.r_marker]]
        self.b3_add = w.write("b3-add.batch", "".join(routes))
        self.b3_del = w.write("b3-del.batch", "".join(
            r.replace("route add", "route del", 1) for r in routes))
        self.runs_made = 0

    def run_files(self, r):
        """The batches of run r: the N routes, plus the markers of this run:
        P (learned by a fresh marker peer, last of the insert) and Q (inside
        a fresh marker's static, learned by an ordinary peer, last of the
        delete)."""
        w = self.w
        mp = w.markers[0xfe][r]
        mq = w.markers[0xfd][r]
        p = canon("2001:db8:fe:%x::/64" % r)
        q = canon("2001:db8:fd:%x::/80" % r)
        qgw = gw_of(w.last_peer)
        add = w.write("b1-%d.batch" % r, self.base_add +
                      "route add %s via %s dev %s proto static\n" % (q, qgw, w.name) +
                      "route add %s via %s dev %s proto static\n" % (p, mp.gw, w.name))
        dele = w.write("b2-%d.batch" % r, self.base_del +
                       "route del %s via %s dev %s\n" % (p, mp.gw, w.name) +
                       "route del %s via %s dev %s\n" % (q, qgw, w.name))
        learned = {w.keys[k]: [] for k in range(PEERS)}
        for i, d in enumerate(self.dst):
            learned[w.keys[self.owner[i]]].append(d)
        learned[w.keys[w.last_peer]].append(q)
        learned[mp.key] = [p]
        return {"add": add, "del": dele, "p": p, "q": q, "mp": mp, "mq": mq,
                "learned": learned}

    def expected(self, learned=None):
        lists = self.w.statics()
        for key, extra in (learned or {}).items():
            lists[key] = lists[key] + extra
        return {k: set(v) for k, v in lists.items()}

    def floor_conf(self, f):
        lists = self.w.statics()
        for key, extra in f["learned"].items():
            lists[key] = lists[key] + extra
        return self.w.write("floor-b1.conf", self.w.conf_text(lists))


def check_device(world, want, t_detect, deadline_s=600):
    """Compares the device with want. When it already matches, the probe's
    time stands; else polls until it matches and returns that later time
    (the run is flagged). Returns (seconds after t_detect to add, ok)."""
    got = world.allowed_ips()
    if got == want:
        return 0.0, True
    missing = sum(len(v - got.get(k, set())) for k, v in want.items())
    extra = sum(len(v - want.get(k, set())) for k, v in got.items())
    log("device differs from the expectation at detection (missing %d, extra %d); "
        "waiting" % (missing, extra))
    deadline = now() + deadline_s
    while now() < deadline:
        time.sleep(0.25)
        if world.allowed_ips() == want:
            return now() - t_detect, False
    raise RuntimeError("the device never reached the expected state")


def timed_storm(w, d, batch, marker, port, want, profile):
    """One learn or withdraw storm: the time from the start of the batch to
    the marker, checked in full afterwards; the daemon's CPU time."""
    probe = Probe(w, "handshake", PROBE_ADDR, str(port), host(marker), str(w.args.probe_us),
                  str(w.args.timeout))
    perf = None
    if profile:
        perf = Perf(d.pid if w.flavour == "uapi" else None,
                    os.path.join(w.work, "perf.data"), None if w.flavour != "uapi" else w.ns)
    rounds0 = (w.status() or {}).get("rounds")
    u0, s0 = cpu_split(d.pid)
    g0 = cpu_seconds(w.wggo_pid) if w.wggo_pid else 0.0
    t0 = now()
    t_ip = w.batch(batch)
    t = probe.result()
    if t is None:
        raise RuntimeError("the marker %s was never seen" % marker)
    u1, s1 = cpu_split(d.pid)
    out = {"ip": t_ip, "cpu": u1 + s1 - u0 - s0, "cpu_user": u1 - u0, "cpu_sys": s1 - s0}
    rounds1 = (w.status() or {}).get("rounds")
    if rounds0 is not None and rounds1 is not None:
        out["rounds"] = rounds1 - rounds0  # sync rounds during the storm (and its check)
    if w.wggo_pid:
        out["wggo_cpu"] = cpu_seconds(w.wggo_pid) - g0
    if perf:
        out["profile"] = perf.stop()
    late, ok = check_device(w, want, t)
    out.update({"t": t - t0 + late, "exact": ok})
    return out


def storm_daemon_run(w, s, r, res, extra, profile=False, settings=""):
    """One run of B1, B2, B3 and B3 back with a fresh daemon. Not one of the
    timed runs, B1 and B2 only: profile (perf attached to the daemon), or
    other settings."""
    f = s.run_files(r)
    d = w.start_daemon(settings)
    only_storms = profile or settings
    w.wait_idle()
    mem0 = mem_kib(d.pid)
    out = {"rss0_kib": mem0["VmRSS"], "load": loadavg()}

    # B1
    out["b1"] = timed_storm(w, d, f["add"], f["p"], f["mp"].port,
                            s.expected(f["learned"]), profile)
    t_ip = out["b1"]["ip"]
    w.wait_idle()
    mem = mem_kib(d.pid)
    out["rss_kib"], out["hwm_kib"] = mem["VmRSS"], mem["VmHWM"]
    st = w.status()
    out["lost_events"] = st and st.get("lost_events")
    log("N=%d run %d B1 %.3fs (ip %.3fs, daemon cpu %.2fs), RSS %d KiB (empty %d)"
        % (s.n, r, out["b1"]["t"], t_ip, out["b1"]["cpu"], mem["VmRSS"], mem0["VmRSS"]))
    if extra:
        extra(w, d, out)

    # B2
    out["b2"] = timed_storm(w, d, f["del"], f["q"], f["mq"].port, s.expected(), profile)
    log("N=%d run %d B2 %.3fs (ip %.3fs, daemon cpu %.2fs)"
        % (s.n, r, out["b2"]["t"], out["b2"]["ip"], out["b2"]["cpu"]))
    w.wait_idle()
    if only_storms:
        w.stop_daemon()
        res.append(out)
        return

    # B3 and back
    base = w.count_routes(98)
    for name, conf, kind, want in (("b3", s.b3_conf, "new", base + s.n + 1),
                                   ("b3back", s.static_conf, "del", base)):
        probe = Probe(w, "route", kind, s.r_marker, "98", str(w.args.timeout))
        u0, s0 = cpu_split(d.pid)
        t0 = now()
        t_wg = w.timed(["wg", "addconf", w.name, conf])
        t = probe.result()
        if t is None:
            raise RuntimeError("%s: the route marker was never seen" % name)
        u1, s1 = cpu_split(d.pid)
        cpu = u1 + s1 - u0 - s0
        got = w.count_routes(98)
        late = 0.0
        if got != want:
            log("%s: %d protocol-98 routes at detection, want %d; waiting" % (name, got, want))
            netns.wait_until(lambda: w.count_routes(98) == want, 600, "the routes")
            late = now() - t
        out[name] = {"t": t - t0 + late, "wg": t_wg, "exact": late == 0.0, "cpu": cpu,
                     "cpu_user": u1 - u0, "cpu_sys": s1 - s0}
        log("N=%d run %d %s %.3fs" % (s.n, r, name, out[name]["t"]))
        w.wait_idle()
    w.stop_daemon()
    res.append(out)


def listened_batches(w, f):
    """The insert and the delete once more, with a process listening to the
    route notifications and doing nothing else (e2e_probe waiting for a
    route that never comes): what merely being told costs the inserter."""
    times = []
    for batch in (f["add"], f["del"]):
        p = Probe(w, "route", "new", "2001:db8:ee::/64", "98", str(w.args.timeout))
        times.append(w.batch(batch))
        p.stop()
    return times


def storm_floor_run(w, s, r, res):
    f = s.run_files(r)
    probe_dump = [w.probe_bin, "dump"]
    out = {"load": loadavg()}
    out["ip_listened"] = listened_batches(w, f)
    b1 = {"ip": w.batch(f["add"]), "dump": w.timed(probe_dump),
          "wg": w.timed(["wg", "addconf", w.name, s.floor_conf(f)])}
    b2 = {"ip": w.batch(f["del"]), "dump": w.timed(probe_dump),
          "wg": w.timed(["wg", "addconf", w.name, s.static_conf])}
    b3 = {"wg": w.timed(["wg", "addconf", w.name, s.b3_conf]),
          "ip": w.batch(s.b3_add),
          "dump": w.timed(["wg", "showconf", w.name])}
    b3back = {"wg": w.timed(["wg", "addconf", w.name, s.static_conf]),
              "ip": w.batch(s.b3_del),
              "dump": w.timed(["wg", "showconf", w.name])}
    for name, parts in (("b1", b1), ("b2", b2), ("b3", b3), ("b3back", b3back)):
        parts["t"] = sum(parts.values())
        out[name] = parts
    if w.allowed_ips() != s.expected():
        raise RuntimeError("floor: the device did not return to the static state")
    log("N=%d floor run %d: B1 %.3fs B2 %.3fs B3 %.3fs back %.3fs" % (
        s.n, r, b1["t"], b2["t"], b3["t"], b3back["t"]))
    res.append(out)


def baseline_handled(proc):
    """The last count bench/baseline.py printed (events it handled)."""
    lines = proc.log().split()
    for word in reversed(lines):
        if word.isdigit():
            return int(word)
    return 0


def storm_baseline(w, s, cap):
    """bench/baseline.py on B1 and B2, each capped at cap seconds. Its end is
    read from its own count of handled events (then checked against the
    device), not with a marker: while it rewrites a peer's whole list, that
    peer's other prefixes are missing for a moment, and a withdrawal marker
    would fire early (seen in testing)."""
    f = s.run_files(w.args.runs)
    gws = w.write("gateways", "".join(
        "%s %s\n" % (gw_of(k), w.keys[k]) for k in range(PEERS)) +
        "%s %s\n" % (f["mp"].gw, f["mp"].key))
    out = {"cap": cap}
    n_total = s.n + 2
    for name, batch, want in (("b1", f["add"], s.expected(f["learned"])),
                              ("b2", f["del"], s.expected())):
        if name == "b2" and not out["b1"]["done"]:
            # Start B2 from the learned state, set in bulk.
            w.addconf({k: sorted(v) for k, v in s.expected(f["learned"]).items()})
        proc = w.ns.start([sys.executable, os.path.join(HERE, "baseline.py"), w.name, gws],
                          name="baseline")
        netns.wait_until(lambda: "ready" in proc.log(), 60, "the baseline to listen")
        t0 = now()
        ip = subprocess.Popen(["ip", "-n", w.ns.name, "-batch", batch])
        done = False
        while now() - t0 < cap:
            if baseline_handled(proc) >= n_total:
                done = True
                break
            time.sleep(0.05)
        elapsed = now() - t0
        # The whole group: a `wg set` still running would land later.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.stop()
        ip.wait()
        got = w.allowed_ips()
        learned = {k: got.get(k, set()) - set(v) for k, v in w.statics().items()}
        n_learned = sum(len(v) for v in learned.values())
        handled = n_learned if name == "b1" else n_total - n_learned
        exact = got == want
        if done and not exact:
            log("baseline %s: handled every event, but the device differs" % name)
        out[name] = {"t": elapsed, "done": done and exact, "handled": handled,
                     "of": n_total}
        log("N=%d baseline %s: %s, %d of %d in %.1fs" % (
            s.n, name, "done" if done else "capped", handled, n_total, elapsed))
    w.addconf(w.statics())
    return out


def storms(args, flavour, results):
    for n in args.sizes:
        runs = args.runs
        # Markers per run, one more each for the baseline, the profile and
        # the run with a batch delay.
        extra = 3 + len(args.variant)
        w = World(args, flavour, {0xfe: runs + extra, 0xfd: runs + extra}, "N=%d" % n)
        try:
            s = Storm(w, n)
            entry = results["storms"].setdefault(str(n), {})
            entry["ipv4"] = s.n4
            daemon_runs, floor_runs = [], []
            for r in range(runs):
                extra = None
                if r == 0 and n in args.idle_n and "b5" not in args.skip:
                    extra = idle_step(args, results, n)
                storm_daemon_run(w, s, r, daemon_runs, extra)
                storm_floor_run(w, s, r, floor_runs)
            entry["daemon"] = daemon_runs
            entry["floor"] = floor_runs
            # perf 6.1 records no samples of the daemon inside the VM's chroot
            # and namespaces ("assertion failed at util/namespaces.c"): host only.
            if (n == max(args.sizes) and "profile" not in args.skip and
                    shutil.which("perf")):
                prof = []
                storm_daemon_run(w, s, runs + 1, prof, None, profile=True)
                entry["profile"] = {k: prof[0][k].get("profile") for k in ("b1", "b2")}
            if n == max(args.sizes) and args.delay_ms:
                delayed = []
                storm_daemon_run(w, s, runs + 2, delayed, None,
                                 settings="batch_delay: %dms\n" % args.delay_ms)
                entry["delayed"] = dict(delayed[0], batch_delay_ms=args.delay_ms)
            for name, settings in (args.variant if n == max(args.sizes) else []):
                variant = []
                storm_daemon_run(w, s, runs + 3 + len(entry.get("variants", {})), variant,
                                 None, settings=settings.replace("; ", "\n") + "\n")
                entry.setdefault("variants", {})[name] = dict(variant[0], settings=settings)
            if "baseline" not in args.skip:
                entry["baseline"] = storm_baseline(w, s, args.cap)
            save(args, results)
        finally:
            w.close()


# ---------------------------------------------------------------------------
# B5: idle CPU

def idle_step(args, results, n):
    """B5, as the step of a storm run between the learn and the withdraw
    storm."""
    def step(w, d, out):
        results.setdefault("b5", {})[str(n)] = dict(idle_cpu(w, d, args.idle_seconds), n=n)
    return step


def idle_alone(args, flavour, results):
    """B5 without the storms: one untimed run at each N of idle_n."""
    for n in args.idle_n:
        w = World(args, flavour, {0xfe: 1, 0xfd: 1}, "N=%d" % n)
        try:
            storm_daemon_run(w, Storm(w, n), 0, [], idle_step(args, results, n))
            save(args, results)
        finally:
            w.close()


def idle_cpu(w, d, seconds):
    """CPU over whole poll periods, from the end of a read to the end of
    another at least `seconds` later: wg_poll_budget stretches a period at a
    large N beyond any fixed window, which would then hold a read or not by
    chance."""
    w.wait_idle(3)
    st0 = w.read_ended()
    c0 = (cpu_split(d.pid), cpu_seconds(w.wggo_pid) if w.wggo_pid else 0.0, now())
    time.sleep(seconds)
    st1 = w.read_ended()
    c1 = (cpu_split(d.pid), cpu_seconds(w.wggo_pid) if w.wggo_pid else 0.0, now())
    wall = c1[2] - c0[2]
    user, system = c1[0][0] - c0[0][0], c1[0][1] - c0[0][1]
    reads = st1["device_reads"] - st0["device_reads"]
    out = {"seconds": wall, "learned": st1["learned"],
           "allowed_ips": st1["allowed_ips"],
           "rounds": st1["rounds"] - st0["rounds"],
           "device_reads": reads,
           "read_seconds": st1["device_read_seconds"] - st0["device_read_seconds"],
           "daemon_pct": 100.0 * (user + system) / wall,
           "daemon_sys_pct": 100.0 * system / wall,
           "wggo_pct": 100.0 * (c1[1] - c0[1]) / wall if w.wggo_pid else None,
           "daemon_cpu_per_read": (user + system) / reads,
           "wggo_cpu_per_read": (c1[1] - c0[1]) / reads if w.wggo_pid else None,
           "load": loadavg()}
    log("B5: daemon %.3f%% of a core, wireguard-go %s, over %.0fs: %d reads of %.0f ms "
        "(%d learned)" % (out["daemon_pct"], "%.3f%%" % out["wggo_pct"]
                          if w.wggo_pid else "-", wall, reads,
                          1000 * out["read_seconds"] / reads, out["learned"]))
    out["reads"] = idle_reads(w, max(5, int(seconds) // 3))
    return out


def idle_reads(w, seconds):
    """B5's floor: what one read of the whole device a second costs a reader
    that parses nothing (e2e_probe read), while the daemon idles on. And the
    same for a dump of the route table, which holds the same learned
    prefixes: a kernel cost that the host and the VM both measure, so the
    pair gives the VM's slowdown for netlink dumps."""
    device = ("uapi", w.wg.socket) if w.flavour == "uapi" else ("genl", w.name)
    out = {}
    for key, (kind, dev) in (("device", device), ("routes", ("route", "-"))):
        words = w.ns.run([w.probe_bin, "read", kind, dev, str(seconds)],
                         timeout=30 * seconds + 600).stdout.split()
        f = dict(zip(words[0::2], words[1::2]))
        reads = int(f["reads"])
        user, system = float(f["user"]), float(f["system"])
        # CPU per read, at the poll interval's one read a second.
        out[key] = {"reads": reads, "bytes": int(f["bytes"]) // reads,
                    "pct": 100.0 * (user + system) / reads,
                    "sys_pct": 100.0 * system / reads,
                    "read_max": float(f["read_max"])}
        if kind == "uapi":  # wireguard-go's time building a reply, under its lock
            out[key].update(first_mean=float(f["first_mean"]),
                            first_max=float(f["first_max"]))
        log("B5 floor, %s read alone: %.3f%% of a core (%d reads of %d bytes)" % (
            key, out[key]["pct"], reads, out[key]["bytes"]))
    return out


# ---------------------------------------------------------------------------
# B4: event latency

def latency(args, flavour, results):
    """B4 at each N of latency_n, args.b4_runs times, each in a world of its
    own: every change needs a marker peer that has not sent a handshake
    yet."""
    runs = []
    for i, n in enumerate(args.latency_n):
        for r in range(args.b4_runs[min(i, len(args.b4_runs) - 1)]):
            runs.append(latency_world(args, flavour, n, r))
            results["b4"] = {"runs": runs}
            save(args, results)
        for kind in ("add", "del"):
            log("B4 at N=%d %s: p99 per run %s us" % (n, kind, ", ".join(
                "%.0f" % pct(run["daemon"][kind], 99) for run in runs if run["n"] == n)))


def latency_world(args, flavour, n, r):
    events, floor_events = args.events, args.floor_events
    quiet = args.quiet_events
    w = World(args, flavour, {}, "B4 N=%d run %d" % (n, r + 1), gctrace=True)
    try:
        # 0xfa: add markers (a route via the marker's gateway is learned by
        # it); 0xfb: withdrawal markers (their static /64 covers a /80 an
        # ordinary peer learned, which falls back to the marker when it is
        # withdrawn); 0xf9: calibration (the target is static already).
        # Markers [0, events) serve the daemon's run, then floor_events the
        # floor's, then quiet the run without WireGuard polls.
        per_kind = events + floor_events + quiet
        w.add_markers({0xfa: per_kind, 0xfb: per_kind, 0xf9: floor_events})
        dst, _ = workload(n)
        lines = []
        for i, d in enumerate(dst):
            via = ("via inet6 " if "." in d else "via ") + gw_of(i % PEERS)
            lines.append("route add %s %s dev %s proto static\n" % (d, via, w.name))
        withdraw = []
        for j, m in enumerate(w.markers[0xfb]):
            d = canon("2001:db8:fb:%x::/80" % j)
            k = j % PEERS
            lines.append("route add %s via %s dev %s proto static\n" % (d, gw_of(k), w.name))
            withdraw.append((d, k, m))
        adds = []
        for i, m in enumerate(w.markers[0xfa]):
            a = canon("2001:db8:fa:%x::/64" % i)
            adds.append((a, m))
            if events <= i < events + floor_events:  # the floor's adds need a route
                lines.append("route add %s dev %s proto static\n" % (a, w.name))
        w.batch(w.write("b4.batch", "".join(lines)))
        learned = n + len(withdraw)
        d = w.start_daemon()
        netns.wait_until(lambda: (w.status() or {}).get("learned") == learned, 900,
                         "%d routes learned" % learned, interval=0.5)
        w.wait_idle(3)
        out = {"n": n, "learned": learned, "load": loadavg(), "gaps_ms": args.b4_gaps,
               "seed": args.b4_seed + r}
        gaps = random.Random(args.b4_seed + r)
        w.poll_within(B4_POLL_LEAD)
        out.update(latency_run(w, d, adds, withdraw, range(events), gaps))
        if quiet:
            # The same single changes with WireGuard polls held off: how much
            # of the tail is an event waiting for a poll of the whole device.
            w.write("wg-rtsync.yaml", "state_dir: %s\nwg_poll_interval: 3600s\n"
                    "resync_interval: 3600s\n" % os.path.join(w.state, "state"))
            os.kill(d.pid, signal.SIGHUP)
            netns.wait_until(lambda: "configuration reloaded" in d.log(), 60,
                             "wg-rtsync to reload its configuration", interval=0.1)
            w.wait_idle(3)
            out["quiet"] = latency_run(w, d, adds, withdraw,
                                       range(events + floor_events, per_kind), gaps)
        w.stop_daemon()
        # The floor: the same single changes made directly with wg-rtsync's
        # WireGuard backend, and the probe alone.
        fev = []
        for i in range(events, events + floor_events):
            a, m = adds[i]
            fev.append("wg add %s %s %s %s %d\n" % (w.name, m.key, a, host(a), m.port))
            dd, k, m = withdraw[i]
            fev.append("wg del %s %s %s %s %d\n" % (w.name, w.keys[k], dd, host(dd), m.port))
        for c in w.markers[0xf9]:
            target = host(c.static[1])
            fev.append("probe %s %d\n" % (target, c.port))
        out["floor"] = w.latency_probe(fev)
        for kind in ("add", "del"):
            log("B4 %s: %s (floor p50 %.0f us)" % (
                kind, tail_text(out["daemon"][kind]), pct(out["floor"][kind], 50)))
            if quiet:
                log("B4 %s without polls: %s" % (kind, tail_text(out["quiet"]["daemon"][kind])))
        return out
    finally:
        w.close()


# B4 begins this long before a poll is due (World.poll_within): its changes
# take about 40 s, so the poll falls inside however long the period is.
B4_POLL_LEAD = 10.0


def latency_run(w, d, adds, withdraw, indexes, gaps):
    """One add and one withdrawal per index, through the daemon, one at a time,
    each after a pause drawn from gaps (a random.Random) within
    args.b4_gaps: changes at moments unrelated to the daemon's polls."""
    lo, hi = w.args.b4_gaps

    def pause():
        if hi > 0:
            ev.append("wait %.0f\n" % (1000.0 * gaps.uniform(lo, hi)))

    ev = []
    for i in indexes:
        a, m = adds[i]
        pause()
        ev.append("route add %s %s %d %s %d\n" % (a, m.gw, w.ifindex, host(a), m.port))
        dd, k, m = withdraw[i]
        pause()
        ev.append("route del %s %s %d %s %d\n" % (dd, gw_of(k), w.ifindex, host(dd),
                                                   m.port))
    st0 = w.status()
    c0, gc0, t0 = cpu_seconds(d.pid), w.gc_cycles(), now()
    latencies = w.latency_probe(ev)
    cpu, gc1, t1 = cpu_seconds(d.pid) - c0, w.gc_cycles(), now()
    st1 = w.status()
    out = {"daemon": latencies, "daemon_cpu": cpu, "seconds": t1 - t0,
           "rounds": st1["rounds"] - st0["rounds"],
           # The polls the changes met: read to their end, or abandoned.
           "device_reads": st1["device_reads"] - st0["device_reads"],
           "reads_abandoned": st1["device_reads_abandoned"] - st0["device_reads_abandoned"]}
    if gc0 is not None:
        out["wggo_gc"] = gc1 - gc0
    return out


def parse_latency(text):
    out = {"add": [], "del": [], "probe": [], "errors": []}
    for line in text.splitlines():
        f = line.split()
        if f and f[0] in out and len(f) == 2:
            out[f[0]].append(float(f[1]))
        else:
            out["errors"].append(line)
    return out


def tail_text(xs):
    """B4's figures of one kind: the median, the tail and the slow ones."""
    return "p50 %.0f us p99 %.0f us max %.0f us, %d of %d over 10 ms, %d over 100 ms" % (
        pct(xs, 50), pct(xs, 99), max(xs) if xs else float("nan"),
        sum(x > 10000 for x in xs), len(xs), sum(x > 100000 for x in xs))


def pct(xs, p):
    """Nearest rank, as bench/e2e_report.py reports it."""
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(math.ceil(p / 100.0 * len(xs))) - 1))
    return xs[k]


# ---------------------------------------------------------------------------

def versions(args):
    def first_line(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True,
                                  timeout=30).stdout.splitlines()[0].strip()
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"

    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib_total = int(f.readline().split()[1])
    os_name = "?"
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    os_name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return {
        "cpu": cpu, "cores": os.cpu_count(), "mem_gib": round(mem_kib_total / 1048576, 1),
        "os": os_name, "kernel": platform.release(),
        "wg_rtsync": first_line([os.path.join(args.build, "wg-rtsync"), "--version"]),
        # bench/run names the commit it built; HEAD may move during a long run.
        "commit": os.environ.get("WGRS_BENCH_COMMIT") or
        first_line(["git", "-C", REPO, "describe", "--always", "--dirty"]),
        "wireguard_go": first_line(["wireguard-go", "--version"]),
        "wg": first_line(["wg", "--version"]),
        "iproute2": first_line(["ip", "-V"]),
        "compiler": first_line(["cc", "--version"]),
    }


def save(args, results):
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    os.replace(tmp, args.out)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flavour", choices=("uapi", "kernel"), required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")],
                    default=[10000, 100000, 1000000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cap", type=float, default=60.0, help="baseline time cap, seconds")
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--latency-n", type=sizes, default=[100000, 1000000],
                    help="B4's sizes (routes learned besides the markers)")
    ap.add_argument("--events", type=int, default=1000)
    ap.add_argument("--b4-runs", type=sizes, default=[3],
                    help="B4's runs at each N of --latency-n, in order (the last "
                    "for the rest)")
    ap.add_argument("--b4-gaps", type=ms_range, default=(5.0, 35.0), metavar="LO-HI",
                    help="B4: the pause before each change, in ms, drawn at random "
                    "between LO and HI (default 5-35: the changes fall at random points "
                    "of the WireGuard poll interval); 0: back to back")
    ap.add_argument("--b4-seed", type=int, default=16,
                    help="B4: the pauses' random seed (run r uses SEED + r)")
    ap.add_argument("--b4-probe-us", type=int, default=50,
                    help="B4: the probe's interval (its resolution); every datagram "
                    "costs WireGuard work, which under emulation is not negligible")
    ap.add_argument("--probe-us", type=int, default=1000,
                    help="B1 and B2: the probe's interval (its resolution); every datagram "
                    "costs WireGuard work, which under emulation is not negligible")
    ap.add_argument("--floor-events", type=int, default=1000,
                    help="B4: changes made directly for the floor (as many as --events, "
                    "so that the p99s compare)")
    ap.add_argument("--quiet-events", type=int, default=1000,
                    help="B4 once more with WireGuard polls held off (0: not)")
    ap.add_argument("--idle-n", type=sizes, default=[100000, 1000000],
                    help="B5's sizes: in the storms' run of that N, or alone")
    ap.add_argument("--idle-seconds", type=float, default=60.0)
    ap.add_argument("--delay-ms", type=int, default=10,
                    help="one more B1 and B2 at the largest N with this batch_delay "
                    "(0: none)")
    ap.add_argument("--skip", type=lambda s: set(s.split(",")) if s else set(), default=set(),
                    help="comma-separated: storms,baseline,b4,b5")
    ap.add_argument("--variant", action="append", default=[],
                    type=lambda v: tuple(v.split("=", 1)),
                    help="NAME=SETTINGS: one more B1 and B2 at the largest N with these "
                    "configuration lines ('; ' between lines); repeatable")
    ap.add_argument("--update", action="store_true",
                    help="keep the results in --out of what is skipped (b4 or storms; "
                    "--skip b4,storms measures B5 alone)")
    args = ap.parse_args(argv[1:])
    args.build = os.path.abspath(args.build)
    if os.geteuid() != 0:
        print("e2e.py: needs root (network namespaces)", file=sys.stderr)
        return 2
    results = {"flavour": flavour_name(args.flavour), "date": time.strftime("%Y-%m-%d"),
               "versions": versions(args), "load_start": loadavg(),
               "sizes": args.sizes, "runs": args.runs, "probe_us": args.probe_us,
               "command": " ".join(argv), "storms": {}}
    if args.update:
        # Only what runs now is replaced; the rest, and the header, stay.
        with open(args.out) as f:
            old = json.load(f)
        parts = sorted({"b4", "storms"} - args.skip)
        if "storms" in args.skip and "b5" not in args.skip:
            parts.append("b5")
        old.setdefault("updates", []).append({
            "date": results["date"], "parts": parts, "versions": results["versions"],
            "command": results["command"],
            "load_start": results["load_start"]})
        results = old
        if "storms" in parts:
            results.update(storms={}, sizes=args.sizes, runs=args.runs,
                           probe_us=args.probe_us)
        if "storms" in parts or "b5" in parts:
            results.pop("b5", None)
    t0 = now()
    if "b4" not in args.skip:
        latency(args, args.flavour, results)
    if "storms" not in args.skip:
        storms(args, args.flavour, results)
    elif "b5" not in args.skip:
        idle_alone(args, args.flavour, results)
    if args.update:
        results["updates"][-1].update(load_end=loadavg(), wall_s=now() - t0)
    else:
        results["load_end"] = loadavg()
        results["wall_s"] = now() - t0
    save(args, results)
    log("done in %.0fs, results in %s" % (now() - t0, args.out))
    return 0


def sizes(text):
    return [int(x) for x in text.split(",") if x]


def ms_range(text):
    lo, _, hi = text.partition("-")
    lo, hi = float(lo), float(hi or lo)
    if not 0 <= lo <= hi:
        raise argparse.ArgumentTypeError("LO-HI, 0 <= LO <= HI: %r" % text)
    return (lo, hi)


def flavour_name(f):
    return "wireguard-go" if f == "uapi" else "kernel WireGuard"


if __name__ == "__main__":
    sys.exit(main(sys.argv))
