#!/usr/bin/env bash
# End-to-end networking on the sandbox's loopback (--network=none): python3's
# http.server fetched by urllib over 127.0.0.1 and ::1, an asyncio echo server with
# 100 clients, and busybox nc both ways (as a client of a python listener, and as a
# listener for a python client), each compared with the native run
# (tests/e2e/lib/compare.sh).
# Usage: tests/e2e/network_loopback.sh SANDBOX_BIN
# Prints `PASS|FAIL|SKIP NAME` per case, then `e2e-loopback: N passed, N failed, N skipped`.
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 SANDBOX_BIN" >&2
    exit 2
fi
sandbox=$1
here=$(cd "$(dirname "$0")" && pwd)
timeout_s=${E2E_TIMEOUT:-60}
passed=0 failed=0 skipped=0
work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-network.XXXXXX")
trap 'rm -rf "$work"' EXIT
. "$here/lib/compare.sh"

compare_case "python http.server + urllib, 127.0.0.1" python3 /bin/sh \
    "python3 $here/net/http_fetch.py 4"
compare_case "python http.server + urllib, ::1" python3 /bin/sh \
    "python3 $here/net/http_fetch.py 6"
compare_case "python asyncio echo, 100 clients" python3 /bin/sh \
    "python3 $here/net/asyncio_echo.py"
# busybox nc as the client of a python listener, then as a listener that a python
# client connects to (net/nc_peer.py: no side races the other).
compare_case "busybox nc as client" busybox /bin/sh \
    "python3 $here/net/nc_peer.py serve"
port=$((20000 + RANDOM % 30000))
compare_case "busybox nc as listener" busybox /bin/sh \
    "echo hello from nc, the listener | busybox nc -l -p $port > $work/got & python3 $here/net/nc_peer.py client $port; wait; cat $work/got"

echo "e2e-loopback: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
