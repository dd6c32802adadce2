#!/usr/bin/env bash
# End-to-end: AF_UNIX sockets with real programs (python3's socket module: a
# socketpair, a pathname server and client in two threads, fds passed with
# SCM_RIGHTS, a dgram exchange). Each case runs natively as `bash -c CMD` and in the
# sandbox as `SANDBOX_BIN run /bin/bash -c CMD`; stdout and exit status must match.
# Usage: tests/e2e/sockets.sh SANDBOX_BIN
#
# Prints `PASS|FAIL|SKIP NAME` per case, then exactly `e2e-sockets: N passed,
# N failed, N skipped`. Exits 1 if any case failed.
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 SANDBOX_BIN" >&2
    exit 2
fi
sandbox=$1
timeout_s=${E2E_TIMEOUT:-120}

passed=0 failed=0 skipped=0
work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-sockets.XXXXXX")
trap 'rm -rf "$work"' EXIT

cat >"$work/unix.py" <<'PY'
import os, socket, threading
a, b = socket.socketpair()
a.sendall(b"hello")
print(b.recv(10))
path = "/tmp/e2e-sockets-%d.sock" % os.getpid()
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
def serve():
    c, _ = srv.accept()
    c.sendall(c.recv(100).upper())
    c.close()
t = threading.Thread(target=serve)
t.start()
cl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
cl.connect(path)
cl.sendall(b"ping")
print(cl.recv(100), cl.getpeername() == path)
t.join()
print(cl.recv(100))
r, w = os.pipe()
socket.send_fds(a, [b"fd"], [w])
msg, fds, flags, addr = socket.recv_fds(b, 10, 4)
os.write(fds[0], b"through the passed fd")
print(msg, os.read(r, 100))
d1 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
d1.bind("\0e2e-sockets-%d" % os.getpid())
d2 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
d2.sendto(b"datagram", d1.getsockname())
print(d1.recvfrom(100)[0])
os.unlink(path)
print("done")
PY

. "$(dirname "$0")/lib/compare.sh"
case_() { compare_case "$1" "$2" /bin/bash "$3"; }

case_ "python3: unix socketpair, server/client, SCM_RIGHTS, dgram" python3 \
    "python3 $work/unix.py"
case_ "python3: socketpair across fork" python3 \
    "python3 -c 'import os,socket
a,b=socket.socketpair()
if os.fork()==0:
    a.close(); b.sendall(b\"from child \"*1000); os._exit(0)
b.close(); n=0
while True:
    d=a.recv(4096)
    if not d: break
    n+=len(d)
os.wait(); print(n)'"

echo "e2e-sockets: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
