"""INET sockets over loopback, both ends in one process: run natively and as
`sandbox run --network=host` by tests/e2e/network.sh, which compares the output.
Prints only what is the same everywhere (no ports, no timings)."""
import errno
import fcntl
import os
import select
import socket
import struct
import sys


def tcp():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    print("reuseaddr read back:", srv.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) != 0)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    print("acceptconn:", srv.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
    port = srv.getsockname()[1]

    # a non-blocking connect, finished by select and SO_ERROR
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.setblocking(False)
    r = c.connect_ex(("127.0.0.1", port))
    print("non-blocking connect:", errno.errorcode.get(r, r) if r else 0)
    _, w, _ = select.select([], [c], [], 10)
    print("writable after connect:", bool(w), "SO_ERROR", c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
    c.setblocking(True)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print("nodelay:", c.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0)

    a, peer = srv.accept()
    print("accepted from 127.0.0.1:", peer[0] == "127.0.0.1", "peer port matches:",
          peer[1] == c.getsockname()[1])
    c.sendall(b"hello over tcp")
    print("peek:", a.recv(5, socket.MSG_PEEK))
    print("recv:", a.recv(100))
    # a big transfer, blocking on both sides
    data = os.urandom(3 << 20)
    pid = os.fork()
    if pid == 0:
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        os._exit(0)
    got = bytearray()
    while True:
        chunk = a.recv(1 << 16)
        if not chunk:
            break
        got += chunk
    os.waitpid(pid, 0)
    print("3 MiB through a host socket intact:", bytes(got) == data)
    print("recv after EOF is empty:", a.recv(10) == b"")
    # a closed peer: EPIPE for the writer (SIGPIPE is ignored by Python)
    a.close()
    c.close()
    # connection refused on a port nobody listens on
    srv.close()
    d = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    r = d.connect_ex(("127.0.0.1", port))
    print("connect to a closed port:", errno.errorcode.get(r, r))
    d.close()


def udp():
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(("127.0.0.1", 0))
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b.sendto(b"datagram one", a.getsockname())
    b.sendto(b"two", a.getsockname())
    data, src = a.recvfrom(100)
    print("udp:", data, "from the sender's port:", src[1] == b.getsockname()[1])
    data = a.recv(2)
    print("udp short read:", data)
    a.settimeout(0.2)
    try:
        a.recv(10)
        print("udp: another datagram")
    except socket.timeout:
        print("udp: the rest of a datagram is gone")
    ep = select.epoll()
    ep.register(a.fileno(), select.EPOLLIN)
    print("epoll before:", ep.poll(0))
    b.sendto(b"x", a.getsockname())
    print("epoll after:", [(fd == a.fileno(), ev) for fd, ev in ep.poll(5)])
    ep.close()
    a.close()
    b.close()


def ipv6():
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::1", 0))
    s.listen(1)
    c = socket.create_connection(("::1", s.getsockname()[1]))
    a, _ = s.accept()
    c.sendall(b"six")
    print("ipv6:", a.recv(10))
    for x in (a, c, s):
        x.close()


def options():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    print("SO_TYPE:", s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    print("SO_KEEPALIVE:", s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 2, 500000))
    print("SO_RCVTIMEO:", struct.unpack("ll", s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16)))
    s.close()
    # a blocking receive that times out (the wait is the Sentry's)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 300000))
    try:
        u.recv(10)
        print("recv with SO_RCVTIMEO: data")
    except OSError as e:
        print("recv with SO_RCVTIMEO:", errno.errorcode[e.errno])
    u.close()


def ifaces():
    print("if_nametoindex(lo):", socket.if_nametoindex("lo"))
    print("if_indextoname(1):", socket.if_indextoname(1))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    req = struct.pack("16s16x", b"lo")
    SIOCGIFADDR, SIOCGIFNETMASK = 0x8915, 0x891B
    addr = fcntl.ioctl(s.fileno(), SIOCGIFADDR, req)
    mask = fcntl.ioctl(s.fileno(), SIOCGIFNETMASK, req)
    print("lo address", socket.inet_ntoa(addr[20:24]), "netmask", socket.inet_ntoa(mask[20:24]))
    s.close()


for step in (tcp, udp, ipv6, options, ifaces):
    step()
    sys.stdout.flush()
