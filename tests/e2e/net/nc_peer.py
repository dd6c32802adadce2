"""The other end for busybox nc in tests/e2e/network_loopback.sh, so neither side
races the other. Usage:
  nc_peer.py serve  -- runs `busybox nc 127.0.0.1 PORT` against a listener that is
                       already listening, sends it a line, prints what nc printed
  nc_peer.py client PORT -- connects to a `busybox nc -l` (retrying while refused,
                       which costs the listener nothing), reads its line and prints
                       it, then sends one back
"""
import socket
import subprocess
import sys
import time

if sys.argv[1] == "serve":
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    nc = subprocess.Popen(["busybox", "nc", "127.0.0.1", str(port)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    conn, _ = srv.accept()
    conn.sendall(b"hello from the python listener\n")
    nc.stdin.write(b"hello from nc, the client\n")
    nc.stdin.close()
    got = b""
    while not got.endswith(b"\n"):
        chunk = conn.recv(100)
        if not chunk:
            break
        got += chunk
    conn.close()
    out = nc.stdout.read()
    nc.wait()
    print("listener got:", got.decode().strip())
    print("nc printed:", out.decode().strip())
else:
    port = int(sys.argv[2])
    for _ in range(200):
        try:
            c = socket.create_connection(("127.0.0.1", port))
            break
        except ConnectionRefusedError:
            time.sleep(0.05)
    got = b""
    while not got.endswith(b"\n"):
        chunk = c.recv(100)
        if not chunk:
            break
        got += chunk
    c.sendall(b"hello from the python client\n")
    c.close()
    print("client got:", got.decode().strip())
