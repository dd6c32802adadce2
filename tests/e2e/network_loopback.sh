#!/usr/bin/env bash
# End-to-end networking on the sandbox's loopback (--network=none): python3's
# http.server fetched by urllib over 127.0.0.1 and ::1, an asyncio echo server with
# 100 clients, and busybox nc both ways (listener in the sandbox's background, client
# in front, and the reverse), each compared with the native run (tests/e2e/lib/compare.sh).
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
# busybox nc: a listener in the background, a client in front; then the other way
compare_case "busybox nc, client sends" busybox /bin/sh \
    "busybox nc -l -p 40123 127.0.0.1 > $work/got & sleep 0.3; echo hello from client | busybox nc 127.0.0.1 40123; wait; cat $work/got"
compare_case "busybox nc, listener sends" busybox /bin/sh \
    "echo hello from listener | busybox nc -l -p 40124 127.0.0.1 & sleep 0.3; busybox nc 127.0.0.1 40124 </dev/null; wait"

echo "e2e-loopback: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
