"""A userspace WireGuard device that answers its UAPI socket as wireguard-go
does, and misbehaves on demand (tests/netns/test_faults.py): it refuses
sets, closes the connection half-way through a reply, or deletes its own
link when a set arrives, as wireguard-go exits when its tun link goes.

It is a tun link in the test's namespace, with a UAPI socket
/var/run/wireguard/NAME.sock whose listening socket is made inside that
namespace (setns), so that the daemon takes it for a device of its own
(docs/spec.md 2.1). The device is a model in this process: peers by public
key, each with its AllowedIPs; sets change it as wireguard-go would
(update_only, replace_allowed_ips, remove, allowed_ip=-PREFIX)."""

import base64
import ctypes
import ipaddress
import os
import socket
import threading
import time

import netns
from netns import UAPI_DIR, unique_name

CLONE_NEWNET = 0x40000000
EINVAL = 22


def b64_to_hex(key):
    return base64.b64decode(key).hex()


def hex_to_b64(key):
    return base64.b64encode(bytes.fromhex(key)).decode()


def _in_namespace(ns, fn):
    """fn() with this thread in namespace ns (its sockets are made there)."""
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open("/run/netns/%s" % ns.name, os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET):
            raise OSError(ctypes.get_errno(), "setns into %s" % ns.name)
        try:
            return fn()
        finally:
            if libc.setns(own, CLONE_NEWNET):
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(own)
        os.close(target)


class FakeUapi:
    """A device NAME in ns; peers {base64 key: [prefix, ...]}.

    Faults, set by the test at any time:
      refuse_sets: every set is answered errno=-22 and changes nothing;
      cut_gets: a get is answered with half its text, then the connection
        is closed;
      cut_sets: how many sets to come are applied, then the connection
        closed without the errno line;
      delete_on_set: the first set that arrives deletes the link (and the
        server stops, as wireguard-go does) before it is answered;
      slow_gets: seconds a get's reply takes to write, in pieces.
    Each counts what it did in .faults. Requests are served one at a time
    across connections, as wireguard-go holds its device's IPC lock while
    it writes a reply: a set waits for a get being written until the get's
    client has read it all or closed its end (counted in
    faults["get_abandoned"]). .gets lists (start, end, whole) per get
    (time.monotonic()), .set_times when each set was applied."""

    def __init__(self, harness, ns, peers, name=None):
        self.harness, self.ns = harness, ns
        self.name = name or unique_name("wg")
        self.private_key, self.public_key = netns.genkey()
        self.peers = {k: [str(ipaddress.ip_network(p)) for p in v] for k, v in peers.items()}
        self.lock = threading.Lock()
        self.refuse_sets = self.cut_gets = self.delete_on_set = False
        self.cut_sets = 0
        self.faults = {"refused": 0, "cut_get": 0, "cut_set": 0, "deleted": 0,
                       "get_abandoned": 0}
        self.sets = 0
        self.ipc = threading.Lock()
        self.slow_gets = 0.0
        self.gets, self.set_times = [], []
        self.get_started = None  # when the get being written began
        self.path = os.path.join(UAPI_DIR, self.name + ".sock")
        self.listener = None
        self.stopped = threading.Event()

    def start(self, owner=None):
        """owner: a uid to give the socket to (wireguard-go's own socket
        cannot be given away: it takes the change of its attributes for its
        removal, and stops)."""
        if os.path.exists(self.path):
            raise netns.HarnessError("%s exists already" % self.path)
        self.ns.ip("tuntap", "add", "dev", self.name, "mode", "tun")
        self.ns.ip("link", "set", self.name, "addrgenmode", "none")
        self.ns.link_up(self.name)
        self.ns.addr_add(self.name, "fe80::1/64")
        # wireguard-go makes the directory; with kernel WireGuard nobody has.
        os.makedirs(UAPI_DIR, mode=0o755, exist_ok=True)
        self.harness.sockets.append(self.path)

        def listen():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(self.path)
            s.listen(8)
            return s

        self.listener = _in_namespace(self.ns, listen)
        if owner is not None:
            os.chown(self.path, owner, owner)
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def stop(self):
        self.stopped.set()
        if self.listener:
            try:
                self.listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.listener.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def allowed(self, key):
        with self.lock:
            return set(self.peers.get(key, []))

    def set_allowed(self, key, prefixes):
        with self.lock:
            self.peers[key] = [str(ipaddress.ip_network(p)) for p in prefixes]

    # -- the protocol --

    def _serve(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn):
        buf = b""
        with conn:
            while not self.stopped.is_set():
                while b"\n\n" not in buf:
                    try:
                        data = conn.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    buf += data
                request, buf = buf.split(b"\n\n", 1)
                lines = request.decode().split("\n")
                with self.ipc:
                    if not self._request(conn, lines):
                        return

    def _slow_write(self, conn, reply):
        """reply written in pieces over slow_gets seconds: False when the
        client closed its end first."""
        start = self.get_started = time.monotonic()
        pieces = 40
        step = max(1, -(-len(reply) // pieces))
        whole = True
        try:
            for at in range(0, len(reply), step):
                conn.sendall(reply[at:at + step])
                time.sleep(self.slow_gets / pieces)
        except OSError:
            whole = False
            self.faults["get_abandoned"] += 1
        self.get_started = None
        self.gets.append((start, time.monotonic(), whole))
        return whole

    def _request(self, conn, lines):
        """Serves one request: False when the connection is to be closed."""
        if lines[0] == "get=1":
            reply = self._get()
            if self.cut_gets:
                self.faults["cut_get"] += 1
                conn.sendall(reply[:len(reply) // 2])
                return False
            if self.slow_gets:
                return self._slow_write(conn, reply)
            start = time.monotonic()
            try:
                conn.sendall(reply)
            except OSError:
                return False
            self.gets.append((start, time.monotonic(), True))
            return True
        elif lines[0] == "set=1":
            self.sets += 1
            if self.delete_on_set:
                self.faults["deleted"] += 1
                self.delete_on_set = False
                self.ns.ip("link", "del", self.name)
                self.stop()
                return False
            if self.refuse_sets:
                self.faults["refused"] += 1
                reply = b"errno=-%d\n\n" % EINVAL
            else:
                reply = self._set(lines[1:])
                self.set_times.append(time.monotonic())
            if self.cut_sets > 0:
                self.cut_sets -= 1
                self.faults["cut_set"] += 1
                return False
        else:
            reply = b"errno=-%d\n\n" % EINVAL
        try:
            conn.sendall(reply)
        except OSError:
            return False
        return True

    def _get(self):
        out = ["private_key=%s" % b64_to_hex(self.private_key), "listen_port=51820"]
        with self.lock:
            for key, prefixes in self.peers.items():
                out.append("public_key=%s" % b64_to_hex(key))
                out += ["last_handshake_time_sec=0", "last_handshake_time_nsec=0",
                        "tx_bytes=0", "rx_bytes=0", "persistent_keepalive_interval=0"]
                out += ["allowed_ip=%s" % p for p in prefixes]
                out.append("protocol_version=1")
        return ("\n".join(out) + "\nerrno=0\n\n").encode()

    def _set(self, lines):
        """Applies a set as wireguard-go does; the reply."""
        with self.lock:
            peer = None
            for line in lines:
                key, _, value = line.partition("=")
                if key == "public_key":
                    peer = hex_to_b64(value)
                    if peer not in self.peers:
                        self.peers[peer] = []
                        self._new = peer
                    else:
                        self._new = None
                elif key == "update_only" and value == "true" and self._new:
                    del self.peers[self._new]  # not made after all
                    peer = None
                elif peer is None:
                    continue
                elif key == "remove" and value == "true":
                    self.peers.pop(peer, None)
                    peer = None
                elif key == "replace_allowed_ips" and value == "true":
                    self.peers[peer] = []
                elif key == "allowed_ip" and value.startswith("-"):
                    net = str(ipaddress.ip_network(value[1:]))
                    if net in self.peers[peer]:
                        self.peers[peer].remove(net)
                elif key == "allowed_ip":
                    net = str(ipaddress.ip_network(value))
                    for other in self.peers.values():
                        if net in other:
                            other.remove(net)
                    self.peers[peer].append(net)
            return b"errno=0\n\n"

