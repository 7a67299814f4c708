"""Network-namespace test harness for wg-rtsync.

Everything a test makes lives in network namespaces this module creates, with
names unique to this process (``wgrs-<pid>-<n>``); it never changes the root
namespace. Every process it starts is tracked by PID and ended in cleanup,
every namespace deleted, every UAPI socket of its devices removed: by the
pytest fixtures (conftest.py), and as a safety net at exit and on SIGTERM or
SIGHUP. Only documentation and link-local addresses are accepted.

See docs/testing.md.
"""

import atexit
import ipaddress
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

UAPI_DIR = "/var/run/wireguard"
REQUIRED_TOOLS = ("ip", "wg", "wireguard-go", "ping")

# The only addresses a test may put on an interface or use as an endpoint.
ALLOWED_NETS = [ipaddress.ip_network(n) for n in (
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",  # RFC 5737
    "2001:db8::/32",                                     # RFC 3849
    "169.254.0.0/16", "fe80::/10",                       # link-local
)]

_PID = os.getpid()
_counter = itertools.count(1)
_lock = threading.Lock()


class HarnessError(Exception):
    """The harness could not do what a test asked (a clear message)."""


def _next():
    with _lock:
        return next(_counter)


def unique_name(prefix):
    """A name unique to this process: PREFIX<pid>x<n>, at most 15 bytes so it
    fits IFNAMSIZ. Interface names must be unique across parallel runs since
    the UAPI directory is shared by every namespace."""
    name = "%s%dx%d" % (prefix, _PID, _next())
    if len(name) > 15:
        raise HarnessError("interface name %s is longer than 15 bytes" % name)
    return name


def check_address(text):
    """Refuses anything but documentation and link-local addresses. Accepts
    "addr", "addr/len" and "addr%dev"; returns the text."""
    bare = text.split("%", 1)[0]
    try:
        net = ipaddress.ip_interface(bare).network
    except ValueError:
        raise HarnessError("not an address: %r" % text) from None
    if not any(net.version == a.version and net.subnet_of(a) for a in ALLOWED_NETS):
        raise HarnessError(
            "address %s is not a documentation or link-local address "
            "(allowed: %s)" % (text, ", ".join(str(a) for a in ALLOWED_NETS)))
    return text


def check_allowed_ip(text):
    """AllowedIPs: inside the allowed ranges, or a default route (0/0, ::/0),
    which WireGuard only uses to choose a peer."""
    net = ipaddress.ip_network(text, strict=False)
    if net.prefixlen == 0:
        return text
    return check_address(text)


def wait_until(predicate, timeout, what, interval=0.02):
    """Polls predicate until it returns a true value, which is returned.
    Fails with a message naming what it waited for. The poll interval grows
    to at most 0.2 s; the deadline is checked after a last try."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
        interval = min(interval * 1.5, 0.2)


def missing_tools():
    return [t for t in REQUIRED_TOOLS if shutil.which(t) is None]


def run(argv, check=True, input=None, timeout=30):
    """Runs a command to completion, text output captured. With check, a
    non-zero exit raises HarnessError with the command and its stderr."""
    res = subprocess.run(argv, input=input, capture_output=True, text=True,
                         timeout=timeout)
    if check and res.returncode != 0:
        raise HarnessError("command failed (exit %d): %s\n%s%s" % (
            res.returncode, " ".join(argv), res.stdout, res.stderr))
    return res


class Process:
    """A process the registry started; its output goes to log_path."""

    def __init__(self, popen, argv, log_path):
        self.popen = popen
        self.pid = popen.pid
        self.argv = argv
        self.log_path = log_path

    def alive(self):
        return self.popen.poll() is None

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, timeout=5.0):
        """SIGTERM, then SIGKILL after timeout; always reaps the process."""
        if self.popen.poll() is None:
            try:
                self.popen.send_signal(signal.SIGTERM)
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode


class Harness:
    """Owns everything one test (or one script) creates; cleanup() removes
    it all, in order: processes, then namespaces, then UAPI sockets."""

    def __init__(self, log_dir=None):
        self.processes = []
        self.namespaces = []
        self.sockets = []
        self._own_log_dir = log_dir is None
        self.log_dir = log_dir or tempfile.mkdtemp(prefix="wgrs-netns-%d-" % _PID)
        _live.add(self)

    # -- processes --
    def start(self, argv, ns=None, env=None, name=None):
        """Starts argv (in namespace ns if given) in its own session, so a
        Ctrl-C on the terminal reaches the harness, which then ends it."""
        full = list(argv) if ns is None else ["ip", "netns", "exec", ns.name] + list(argv)
        log_path = os.path.join(self.log_dir, "%s-%d.log" % (
            name or os.path.basename(argv[0]), _next()))
        penv = dict(os.environ)
        penv.update(env or {})
        with open(log_path, "wb") as log:
            popen = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, env=penv,
                                     start_new_session=True)
        proc = Process(popen, full, log_path)
        self.processes.append(proc)
        return proc

    # -- namespaces --
    def namespace(self):
        ns = Namespace(self)
        return ns

    def veth(self, ns_a, ns_b, addrgenmode_none=False):
        return Veth(self, ns_a, ns_b, addrgenmode_none)

    def wireguard_go(self, ns, **kw):
        return WireGuardGo(self, ns, **kw)

    # -- teardown --
    def cleanup(self):
        """Idempotent; collects errors and raises one at the end, after
        having tried everything."""
        errors = []
        for proc in reversed(self.processes):
            try:
                proc.stop()
            except Exception as e:  # keep going: the rest must go too
                errors.append("process %d: %s" % (proc.pid, e))
        self.processes.clear()
        for ns in reversed(self.namespaces):
            try:
                ns.delete()
            except Exception as e:
                errors.append("namespace %s: %s" % (ns.name, e))
        self.namespaces.clear()
        for sock in self.sockets:
            try:
                os.unlink(sock)
            except FileNotFoundError:
                pass
            except OSError as e:
                errors.append("socket %s: %s" % (sock, e))
        self.sockets.clear()
        if self._own_log_dir:
            shutil.rmtree(self.log_dir, ignore_errors=True)
        _live.discard(self)
        if errors:
            raise HarnessError("cleanup incomplete: " + "; ".join(errors))

    def resources(self):
        """What this harness holds now (for tests of the harness)."""
        return {
            "namespaces": [ns.name for ns in self.namespaces],
            "pids": [p.pid for p in self.processes],
            "sockets": list(self.sockets),
        }


class Namespace:
    """A network namespace with lo up."""

    def __init__(self, harness):
        self.harness = harness
        self.name = "wgrs-%d-%d" % (_PID, _next())
        run(["ip", "netns", "add", self.name])
        harness.namespaces.append(self)
        self.ip("link", "set", "lo", "up")

    def __repr__(self):
        return "Namespace(%s)" % self.name

    def run(self, argv, check=True, input=None, timeout=30):
        return run(["ip", "netns", "exec", self.name] + list(argv), check=check,
                   input=input, timeout=timeout)

    def ip(self, *args, check=True):
        return run(["ip", "-n", self.name] + list(args), check=check)

    def ip_json(self, *args):
        return json.loads(self.ip("-j", *args).stdout or "[]")

    def start(self, argv, env=None, name=None):
        return self.harness.start(argv, ns=self, env=env, name=name)

    def addr_add(self, dev, addr, nodad=True):
        """Adds a documentation or link-local address; IPv6 without duplicate
        address detection, so it is usable at once."""
        check_address(addr)
        extra = ["nodad"] if nodad and ":" in addr else []
        self.ip("addr", "add", addr, "dev", dev, *extra)

    def link_up(self, dev):
        self.ip("link", "set", dev, "up")

    def addresses(self, dev):
        return [a["local"] for link in self.ip_json("addr", "show", "dev", dev)
                for a in link.get("addr_info", [])]

    def ping(self, addr, count=1, wait=1):
        """One ping; True when it was answered."""
        check_address(addr)
        flag = ["-6"] if ":" in addr else ["-4"]
        return self.run(["ping", *flag, "-n", "-q", "-c", str(count), "-W", str(wait),
                         addr], check=False).returncode == 0

    def pids(self):
        res = run(["ip", "netns", "pids", self.name], check=False)
        return [int(p) for p in res.stdout.split()] if res.returncode == 0 else []

    def delete(self):
        """Ends the processes still inside (started here, by PID), then
        deletes the namespace."""
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        res = run(["ip", "netns", "delete", self.name], check=False)
        if res.returncode != 0 and self.name in list_namespaces():
            raise HarnessError("ip netns delete %s: %s" % (self.name, res.stderr.strip()))


class Veth:
    """A veth pair: end a in ns_a, end b in ns_b, both up. Created inside
    ns_a, so the root namespace never sees it."""

    def __init__(self, harness, ns_a, ns_b, addrgenmode_none=False):
        self.ns_a, self.ns_b = ns_a, ns_b
        n = _next()
        self.a = "ve%dx%da" % (_PID, n)
        self.b = "ve%dx%db" % (_PID, n)
        if len(self.a) > 15:
            raise HarnessError("veth name %s is longer than 15 bytes" % self.a)
        ns_a.ip("link", "add", self.a, "type", "veth", "peer", "name", self.b,
                "netns", ns_b.name)
        if addrgenmode_none:
            ns_a.ip("link", "set", self.a, "addrgenmode", "none")
            ns_b.ip("link", "set", self.b, "addrgenmode", "none")
        ns_a.link_up(self.a)
        ns_b.link_up(self.b)


def genkey():
    private = run(["wg", "genkey"]).stdout.strip()
    public = run(["wg", "pubkey"], input=private + "\n").stdout.strip()
    return private, public


class WireGuardGo:
    """A wireguard-go device in a namespace, configured with wg(8).

    start() runs `wireguard-go -f NAME` and waits for its UAPI socket;
    up() sets addrgenmode none, brings the link up and adds the addresses."""

    _ports = itertools.count(51820)

    def __init__(self, harness, ns, name=None, listen_port=None):
        self.harness = harness
        self.ns = ns
        self.name = name or unique_name("wg")
        self.listen_port = listen_port or next(self._ports)
        self.private_key, self.public_key = genkey()
        self.socket = os.path.join(UAPI_DIR, self.name + ".sock")
        self.process = None

    def __repr__(self):
        return "WireGuardGo(%s in %s)" % (self.name, self.ns.name)

    def start(self, timeout=10, env=None):
        if os.path.exists(self.socket):
            raise HarnessError("%s exists already: another run uses %s" % (
                self.socket, self.name))
        self.harness.sockets.append(self.socket)
        self.process = self.ns.start(["wireguard-go", "-f", self.name],
                                     env=dict(env or {}, WG_PROCESS_FOREGROUND="1"),
                                     name="wireguard-go-" + self.name)

        def ready():
            if not self.process.alive():
                raise HarnessError("wireguard-go %s exited with %s:\n%s" % (
                    self.name, self.process.popen.returncode, self.process.log()))
            return os.path.exists(self.socket)

        wait_until(ready, timeout, "the UAPI socket %s" % self.socket)
        self.ns.run(["wg", "set", self.name, "private-key", "/dev/stdin",
                     "listen-port", str(self.listen_port)], input=self.private_key + "\n")
        return self

    def up(self, *addresses):
        self.ns.ip("link", "set", self.name, "addrgenmode", "none")
        self.ns.link_up(self.name)
        for addr in addresses:
            self.ns.addr_add(self.name, addr)
        return self

    def add_peer(self, public_key, allowed_ips=(), endpoint=None, keepalive=None):
        """endpoint: "addr:port", "[v6]:port", or (addr, port)."""
        if isinstance(endpoint, tuple):
            host, port = endpoint
            endpoint = ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)
        argv = ["wg", "set", self.name, "peer", public_key]
        if allowed_ips:
            argv += ["allowed-ips", ",".join(check_allowed_ip(a) for a in allowed_ips)]
        if endpoint:
            check_address(endpoint.rsplit(":", 1)[0].strip("[]"))
            argv += ["endpoint", endpoint]
        if keepalive:
            argv += ["persistent-keepalive", str(keepalive)]
        self.ns.run(argv)

    def peer_with(self, other, endpoint_addr, allowed_ips):
        """Adds other as a peer, reached at endpoint_addr on its listen port."""
        self.add_peer(other.public_key, allowed_ips, (endpoint_addr, other.listen_port))

    def show(self, what="dump"):
        return self.ns.run(["wg", "show", self.name, what]).stdout

    def allowed_ips(self):
        """{peer public key: [prefix, ...]} as wg reports it."""
        out = {}
        for line in self.show("allowed-ips").splitlines():
            key, *ips = line.split()
            out[key] = [] if ips == ["(none)"] else ips
        return out

    def latest_handshake(self, public_key):
        for line in self.show("latest-handshakes").splitlines():
            key, ts = line.split()
            if key == public_key:
                return int(ts)
        return 0

    def stop(self, timeout=5):
        """Ends wireguard-go; it removes its socket on the way out."""
        if self.process:
            self.process.stop(timeout)
        wait_until(lambda: not os.path.exists(self.socket), timeout,
                   "wireguard-go %s to remove %s" % (self.name, self.socket))


def list_namespaces():
    res = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in res.stdout.splitlines() if line.strip()]


def stale_resources():
    """Namespaces and sockets left by harness runs whose process is gone (a
    run that was SIGKILLed): name pattern wgrs-<pid>-<n>, wg<pid>x<n>."""
    def dead(pid):
        return not os.path.exists("/proc/%d" % pid)

    stale = {"namespaces": [], "sockets": []}
    for name in list_namespaces():
        parts = name.split("-")
        if len(parts) == 3 and parts[0] == "wgrs" and parts[1].isdigit() \
                and dead(int(parts[1])):
            stale["namespaces"].append(name)
    try:
        entries = os.listdir(UAPI_DIR)
    except OSError:
        entries = []
    for entry in entries:
        stem = entry[:-5] if entry.endswith(".sock") else ""
        if stem.startswith("wg") and "x" in stem:
            pid = stem[2:].split("x", 1)[0]
            if pid.isdigit() and dead(int(pid)):
                stale["sockets"].append(os.path.join(UAPI_DIR, entry))
    return stale


# ---- safety net: what the fixtures did not get to ----

_live = set()


def cleanup_all():
    for h in list(_live):
        try:
            h.cleanup()
        except Exception as e:
            print("netns harness: %s" % e, file=sys.stderr)


def _on_signal(signum, frame):
    # Turned into KeyboardInterrupt so that pytest runs its finalizers, as on
    # Ctrl-C; atexit catches whatever is left.
    raise KeyboardInterrupt("signal %d" % signum)


def install_safety_net():
    atexit.register(cleanup_all)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _on_signal)


install_safety_net()


def _main(argv):
    """python3 netns.py --stale [--clean]: lists (and removes) namespaces and
    sockets of harness runs that died without cleaning up."""
    if not argv or argv[0] != "--stale":
        print("usage: netns.py --stale [--clean]", file=sys.stderr)
        return 2
    stale = stale_resources()
    print(json.dumps(stale, indent=1))
    if "--clean" in argv:
        for name in stale["namespaces"]:
            ns = Namespace.__new__(Namespace)
            ns.name = name
            ns.delete()
        for sock in stale["sockets"]:
            os.unlink(sock)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
