"""wg-rtsync as a service (issue 15): systemd's notify protocol read from a
NOTIFY_SOCKET the test makes, `wg-rtsync poll`, priorities for the journal,
and `status --prometheus` parsed with Debian's python3-prometheus-client.
Every wait polls with a deadline."""

import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import CONVERGE, GW1, GW2, Device, converge, prefix_of
from netns import wait_until
import topo

P98 = "98"


class NotifySocket:
    """A datagram socket that stands for systemd's: every message the daemon
    sends, with the monotonic time it arrived, in order."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.messages = []  # (time, {field: value})
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.on_ready = None  # called in the reader thread on each READY=1
        self.closing = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while not self.closing:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines()
                          if "=" in line)
            if fields.get("READY") == "1" and self.on_ready:
                self.on_ready()
            with self.cond:
                self.messages.append((time.monotonic(), fields))
                self.cond.notify_all()

    def env(self):
        return {"NOTIFY_SOCKET": self.path}

    def wait_for(self, field, value=None, after=0, timeout=CONVERGE):
        """The index of the first message from index `after` on that has
        field (equal to value, if given)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(after, len(self.messages)):
                    f = self.messages[i][1]
                    if field in f and (value is None or f[field] == value):
                        return i
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no %s=%s from the daemon in %.0fs; got %r" % (
                        field, value, timeout, [m[1] for m in self.messages]))
                self.cond.wait(left)

    def fields(self, field):
        with self.lock:
            return [(t, f[field]) for t, f in self.messages if field in f]

    def close(self):
        self.closing = True
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def notify(workdir):
    n = NotifySocket(workdir)
    try:
        yield n
    finally:
        n.close()


def start_raw(d, env):
    """Starts the daemon without waiting for its control socket."""
    d.proc = d.ns.start(d.argv(), env=dict(d.env, **env), name="wg-rtsync")
    return d


def routes_batch(workdir, name, lines):
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write("".join(l + "\n" for l in lines))
    return path


# ---- systemd's notify protocol ----

def test_ready_only_after_the_first_pass_has_converged(dev, make_daemon, ns, workdir,
                                                       notify):
    """READY=1 comes once the routes are learned and the static AllowedIPs
    installed: the daemon is stopped (SIGSTOP) the moment READY=1 arrives,
    and the state is checked while it cannot change any more."""
    n = 3000
    learned = [prefix_of("2001:db8:a:%x::/64" % i) for i in range(n)]
    static = [prefix_of("2001:db8:5:%x::/64" % i) for i in range(100)]
    ns.ip("-batch", routes_batch(workdir, "learn.batch", [
        "route add %s via %s dev %s proto static" % (p, GW1, dev.name) for p in learned]))
    dev.set_allowed(dev.p2, [GW2 + "/128"] + static)
    d = make_daemon()
    notify.on_ready = lambda: os.kill(d.proc.pid, signal.SIGSTOP)
    start_raw(d, notify.env())
    ready = notify.wait_for("READY", "1")
    try:
        wait_until(lambda: open("/proc/%d/stat" % d.proc.pid).read().split()[2] == "T",
                   CONVERGE, "the daemon stopped on READY=1")
        assert dev.allowed(dev.p1) == set(learned) | {GW1 + "/128"}
        assert set(static) | {GW1 + "/128", GW2 + "/128"} <= dev.our_routes()
    finally:
        os.kill(d.proc.pid, signal.SIGCONT)
    # STATUS= came with it, before it: the converged counts.
    status = notify.wait_for("STATUS")
    assert status < ready
    assert notify.messages[status][1]["STATUS"] == \
        "interfaces 1, peers 2, learned %d, installed %d, conflicts 0" % (
            n, len(static) + 2)
    assert d.stop() == 0


def test_status_reload_stopping_and_watchdog(dev, make_daemon, ns, notify):
    d = make_daemon()
    # WATCHDOG_USEC as systemd sets it for WatchdogSec=1 (no WATCHDOG_PID:
    # `ip netns exec` runs the daemon under another PID than ours).
    start_raw(d, dict(notify.env(), WATCHDOG_USEC="1000000"))
    ready = notify.wait_for("READY", "1")
    d.wait_managed(dev.name)

    # WATCHDOG=1 from the loop, every half WatchdogSec, while it idles.
    first = notify.wait_for("WATCHDOG", "1", after=ready)
    wait_until(lambda: len(notify.fields("WATCHDOG")) >= 6, CONVERGE, "6 WATCHDOG=1")
    pings = [t for t, _ in notify.fields("WATCHDOG")]
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert all(0.3 < g < 1.0 for g in gaps), gaps
    assert first > ready

    # STATUS= follows the counts, at most once a second.
    for i in range(20):
        ns.ip("-6", "route", "add", "2001:db8:%x::/48" % (0x100 + i), "via", GW1, "dev",
              dev.name, "proto", "static")
    converge("STATUS with 20 learned",
             lambda: any(v.startswith("interfaces 1, peers 2, learned 20,")
                         for _, v in notify.fields("STATUS")))
    sent = [t for t, _ in notify.fields("STATUS")]
    assert all(b - a > 0.9 for a, b in zip(sent, sent[1:])), sent

    # SIGHUP: RELOADING=1 with MONOTONIC_USEC (systemd >= 253), then READY=1
    # once the new settings are applied.
    before = time.clock_gettime(time.CLOCK_MONOTONIC)
    mark = len(notify.messages)
    d.write_config("route_metric: 77\n")
    d.signal(signal.SIGHUP)
    reloading = notify.wait_for("RELOADING", "1", after=mark)
    usec = int(notify.messages[reloading][1]["MONOTONIC_USEC"])
    assert before <= usec / 1e6 <= time.clock_gettime(time.CLOCK_MONOTONIC)
    notify.wait_for("READY", "1", after=reloading)
    assert {str(r.get("metric")) for r in dev.routes(protocol=P98)} == {"77"}

    # SIGTERM: STOPPING=1, then exit 0.
    mark = len(notify.messages)
    d.signal(signal.SIGTERM)
    notify.wait_for("STOPPING", "1", after=mark)
    d.proc.popen.wait(CONVERGE)
    assert d.proc.popen.returncode == 0


# ---- wg-rtsync poll ----

def test_poll_reads_the_device_now(harness, dev, make_daemon, ns):
    """With a poll interval of an hour, only `wg-rtsync poll` explains a
    static AllowedIP set with `wg set` being installed as a route."""
    d = make_daemon("wg_poll_interval: 1h\n").start()
    d.wait_managed(dev.name)
    converge("our gateway routes", lambda: GW2 + "/128" in dev.our_routes())

    dev.set_allowed(dev.p2, [GW2 + "/128", "2001:db8:5::/48"])
    res = d.run("poll")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "%s: 1 changes applied, 0 failed\n" % dev.name
    assert "2001:db8:5::/48" in dev.our_routes()

    dev.set_allowed(dev.p2, [GW2 + "/128"])
    res = d.run("poll", dev.name)
    assert res.returncode == 0, res.stderr
    assert "2001:db8:5::/48" not in dev.our_routes()

    res = d.run("poll", dev.name, "wgrs-nonesuch")
    assert res.returncode == 1
    assert res.stderr == ("wg-rtsync: poll: wgrs-nonesuch: not a WireGuard interface "
                          "this daemon manages\n")
    assert res.stdout == ""

    # wg-quick's PostUp: an interface made a moment ago (wireguard-go's
    # socket came after its link, so the daemon would look again only in an
    # hour) is picked up and synced by the poll that names it.
    late = Device(harness, ns).start()
    late.set_allowed(late.p2, [GW2 + "/128", "2001:db8:6::/48"])
    res = d.run("poll", late.name)
    assert res.returncode == 0, res.stderr
    assert "2001:db8:6::/48" in late.our_routes()


# ---- the journal ----

def test_log_lines_carry_their_priority_for_the_journal(dev, make_daemon, ns):
    """JOURNAL_STREAM names stderr (device:inode of the pipe): each line
    starts with <N>, without the level word. Naming another stream (a
    redirect of the journal's stderr) leaves the lines as they are."""
    d = make_daemon()
    os.makedirs(d.state_dir)
    with open(os.path.join(d.state_dir, dev.name + ".state"), "w") as f:
        f.write("not a state file\n")  # set aside with a warning

    def run(journal_stream):
        r, w = os.pipe()
        st = os.fstat(w)
        env = dict(os.environ, JOURNAL_STREAM=journal_stream or "%d:%d" % (
            st.st_dev, st.st_ino))
        p = subprocess.Popen(["ip", "netns", "exec", ns.name] + d.argv(
            "--oneshot", "-i", dev.name, "-i", "wgrs-nonesuch"), stdout=subprocess.DEVNULL,
            stderr=w, env=env)
        os.close(w)
        with os.fdopen(r) as f:
            lines = f.read().splitlines()
        assert p.wait(60) == 1  # the interface that does not exist
        return lines

    lines = run(None)
    assert "<3>wgrs-nonesuch: no such WireGuard interface" in lines, lines
    assert any(l.startswith("<4>%s: " % dev.name) and "set aside" in l
               for l in lines), lines
    assert any(l.startswith("<6>%s: managing it" % dev.name) for l in lines), lines
    assert all(l[:3] in ("<3>", "<4>", "<6>", "<7>") for l in lines), lines

    lines = run("1:1")
    assert "error: wgrs-nonesuch: no such WireGuard interface" in lines, lines
    assert not any(l.startswith("<") for l in lines), lines


# ---- Prometheus ----

def test_status_prometheus_parses_and_matches_the_state(dev, make_daemon, ns):
    from prometheus_client.parser import text_string_to_metric_families

    d = make_daemon("learn_filter:\n"
                    "  - {action: deny, prefix: 2001:db8:f::/48}\n"
                    "  - {action: permit, prefix: \"::/0\", le: 128}\n").start()
    d.wait_managed(dev.name)
    for net in ("2001:db8:1::/48", "2001:db8:2::/48", "2001:db8:f::/48"):
        ns.ip("-6", "route", "add", net, "via", GW1, "dev", dev.name, "proto", "static")
    dev.set_allowed(dev.p2, [GW2 + "/128", "2001:db8:5::/48"])
    # A route via p1 for p2's static AllowedIP: a conflict (static wins),
    # and a foreign route for the destination of ours, which goes.
    converge("p2's route installed", lambda: "2001:db8:5::/48" in dev.our_routes())
    ns.ip("-6", "route", "add", "2001:db8:5::/48", "via", GW1, "dev", dev.name, "proto",
          "static", "metric", "10")
    want = {"learned": 2, "our_routes": 2, "conflicts": 1, "filtered": 1}
    converge("the known state", lambda: all(
        d.iface(dev.name)[k] == v for k, v in want.items()))

    def scrape():
        text = d.run("status", "--prometheus", check=True).stdout
        return text, {f.name: f for f in text_string_to_metric_families(text)}

    text, families = scrape()
    for f in families.values():
        assert f.name.startswith("wg_rtsync_") and f.documentation, f
    # Every family has its HELP and TYPE lines, each once.
    for kind in ("HELP", "TYPE"):
        names = [l.split()[2] for l in text.splitlines()
                 if l.startswith("# %s " % kind)]
        assert len(names) == len(set(names)) == len(families), names

    def value(name, **labels):
        fam = families[name[:-len("_total")] if name.endswith("_total") else name]
        got = [s.value for s in fam.samples if s.name == name and all(
            s.labels.get(k) == v for k, v in dict(labels, interface=dev.name).items())]
        assert len(got) == 1, (name, labels, fam.samples)
        return got[0]

    def typ(name):
        return families[name].type

    assert families["wg_rtsync_interfaces"].samples[0].value == 1
    info = families["wg_rtsync_interface_info"].samples[0].labels
    backend = "kernel" if topo.flavour() == "kernel" else "uapi"
    assert info == {"interface": dev.name, "backend": backend, "removal": info["removal"],
                    "table": "254"}
    assert info["removal"] in ("unknown", "temporary peer", "native")
    assert value("wg_rtsync_interface_up") == 1
    assert value("wg_rtsync_peers") == 2
    p1, p2 = dev.p1.public_key, dev.p2.public_key
    assert value("wg_rtsync_static_allowed_ips", peer=p1) == 1
    assert value("wg_rtsync_static_allowed_ips", peer=p2) == 2
    assert value("wg_rtsync_learned_allowed_ips", peer=p1) == 2
    assert value("wg_rtsync_learned_allowed_ips", peer=p2) == 0
    assert value("wg_rtsync_installed_routes") == 2
    assert value("wg_rtsync_conflicts") == 1
    assert value("wg_rtsync_filtered") == 1
    assert value("wg_rtsync_over_limit") == 0
    assert value("wg_rtsync_ambiguous_gateways") == 0
    for g in ("wg_rtsync_peers", "wg_rtsync_installed_routes",
              "wg_rtsync_learned_allowed_ips", "wg_rtsync_last_pass_duration_seconds"):
        assert typ(g) == "gauge"
    for c in ("wg_rtsync_passes", "wg_rtsync_changes_applied",
              "wg_rtsync_changes_failed", "wg_rtsync_resyncs"):
        assert typ(c) == "counter"
    assert value("wg_rtsync_passes_total") == d.iface(dev.name)["rounds"]
    assert value("wg_rtsync_changes_applied_total", kind="allowed_ip_add") == 2
    assert value("wg_rtsync_changes_applied_total", kind="allowed_ip_del") == 0
    assert value("wg_rtsync_changes_applied_total", kind="route_add") == 3
    assert value("wg_rtsync_changes_applied_total", kind="route_del") == 1
    for kind in ("allowed_ip_add", "allowed_ip_del", "route_add", "route_del"):
        assert value("wg_rtsync_changes_failed_total", kind=kind) == 0
    for cause in ("periodic", "enobufs", "link"):
        assert value("wg_rtsync_resyncs_total", cause=cause) == 0
    assert 0 < value("wg_rtsync_last_pass_duration_seconds") < 10
    assert value("wg_rtsync_last_pass_timestamp_seconds") > 0

    # A withdrawal and a link going down and up move the counters.
    ns.ip("-6", "route", "del", "2001:db8:2::/48", "via", GW1, "dev", dev.name)
    ns.ip("link", "set", dev.name, "down")
    ns.ip("link", "set", dev.name, "up")
    converge("both learned prefixes withdrawn", lambda: d.iface(dev.name)["learned"] == 0)
    _, families = scrape()
    assert value("wg_rtsync_changes_applied_total", kind="allowed_ip_del") == 2
    converge("the link going down and up counted", lambda: (
        families.update(scrape()[1]) or
        value("wg_rtsync_resyncs_total", cause="link") == 2))
