"""A TCP transfer through the data plane, run inside the namespaces.

    tcpcheck.py server PORT NAME      accepts one connection on [::]:PORT (and
                                      IPv4), reads to EOF, answers
                                      "NAME BYTES SHA256", exits
    tcpcheck.py client ADDR PORT BYTES SRC
                                      sends BYTES random bytes from SRC, checks
                                      the answer, prints the server's NAME
"""

import hashlib
import os
import socket
import sys


def server(port, name):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.listen(1)
    conn, _ = s.accept()
    conn.settimeout(30)
    h, n = hashlib.sha256(), 0
    while True:
        data = conn.recv(65536)
        if not data:
            break
        h.update(data)
        n += len(data)
    conn.sendall(("%s %d %s\n" % (name, n, h.hexdigest())).encode())
    conn.close()
    return 0


def client(addr, port, nbytes, src):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    payload = os.urandom(nbytes)
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.bind((src, 0))
        s.connect((addr, port))
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        answer = b""
        while True:
            data = s.recv(4096)
            if not data:
                break
            answer += data
    name, n, digest = answer.decode().split()
    if int(n) != nbytes or digest != hashlib.sha256(payload).hexdigest():
        print("mismatch: sent %d bytes, server got %s (%s)" % (nbytes, n, digest))
        return 1
    print(name)
    return 0


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[:1] == ["server"] and len(a) == 3:
        sys.exit(server(int(a[1]), a[2]))
    if a[:1] == ["client"] and len(a) == 5:
        sys.exit(client(a[1], int(a[2]), int(a[3]), a[4]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
