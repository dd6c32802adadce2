#!/usr/bin/env bash
# End-to-end: the guest's network modes (`sandbox run --network=none|host`).
#   none: iproute2 and hostname -I see loopback only, exactly as the host shows its lo;
#         localhost resolves through the host's /etc/hosts (served by the Gofer).
#   host: iproute2 and hostname -I show the host's interfaces; INET sockets are host
#         sockets: tests/e2e/lib/inet_loopback.py prints the same as natively, a
#         server in the sandbox is reachable from the host and the other way round.
# Only 127.0.0.1 and ports the kernel picks free are used.
# Usage: tests/e2e/network.sh SANDBOX_BIN
# Prints `PASS|FAIL|SKIP CASE` per case, then exactly
# `e2e-network: N passed, N failed, N skipped`. Exits 1 if any case failed.
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 SANDBOX_BIN" >&2
    exit 2
fi
sandbox=$1
# absolute: the http.server case runs it from another directory
[ -e "$sandbox" ] && sandbox=$(cd "$(dirname "$sandbox")" && pwd)/$(basename "$sandbox")
here=$(cd "$(dirname "$0")" && pwd)
timeout_s=${E2E_TIMEOUT:-60}
passed=0 failed=0 skipped=0
work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-network.XXXXXX")
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

pass() { echo "PASS $1"; passed=$((passed + 1)); }
skip() { echo "SKIP $1"; skipped=$((skipped + 1)); }
fail() {
    echo "FAIL $1"
    shift
    for f in "$@"; do
        [ -s "$f" ] && tail -n 15 "$f" | sed 's/^/    /'
    done
    failed=$((failed + 1))
}

# same NAME NATIVE_CMD SANDBOX_ARGS...: NATIVE_CMD (a shell line) and `sandbox run
# SANDBOX_ARGS` must print the same and exit alike.
same() {
    local name=$1 native=$2
    shift 2
    timeout -k 5 "$timeout_s" bash -c "$native" >"$work/n.out" 2>/dev/null </dev/null
    local n_rc=$?
    timeout -k 5 "$timeout_s" "$sandbox" run "$@" >"$work/s.out" 2>"$work/s.err" </dev/null
    local s_rc=$?
    if [ "$n_rc" = "$s_rc" ] && cmp -s "$work/n.out" "$work/s.out" && [ -s "$work/n.out" ]; then
        pass "$name"
    else
        diff "$work/n.out" "$work/s.out" >"$work/diff" 2>&1
        echo "exit status: native $n_rc, sandbox $s_rc" >>"$work/diff"
        fail "$name" "$work/diff" "$work/s.err"
    fi
}

# free_port: a TCP port on 127.0.0.1 nobody listens on now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL: 0 once URL answers (within 15 s).
wait_http() {
    for _ in $(seq 1 75); do
        curl -s -o /dev/null "$1" && return 0
        sleep 0.2
    done
    return 1
}

if [ ! -x "$sandbox" ]; then
    skip "all cases: no sandbox binary at $sandbox"
    echo "e2e-network: $passed passed, $failed failed, $skipped skipped"
    exit 0
fi
have() { command -v "$1" >/dev/null 2>&1; }

# ---- --network=none (the default) ----
if have ip; then
    same "none: ip addr shows lo as the host shows it" "ip addr show lo" ip addr
    same "none: ip link shows lo as the host shows it" "ip link show lo" ip link
    same "none: ip -6 addr" "ip -6 addr show lo" ip -6 addr
    same "none: ip link show lo (RTM_GETLINK by name)" "ip link show lo" ip link show lo
    out=$(timeout -k 5 "$timeout_s" "$sandbox" run ip route 2>&1 </dev/null)
    rc=$?
    if [ $rc -eq 0 ] && [ -z "$out" ]; then
        pass "none: ip route (the main table) is empty"
    else
        echo "$out" >"$work/out"
        fail "none: ip route (the main table) is empty (exit $rc)" "$work/out"
    fi
else
    skip "none: iproute2 cases (no ip)"
fi
if have hostname; then
    out=$(timeout -k 5 "$timeout_s" "$sandbox" run hostname -I 2>&1 </dev/null)
    rc=$?
    if [ $rc -eq 0 ] && [ -z "$(echo "$out" | tr -d ' \n')" ]; then
        pass "none: hostname -I lists no address"
    else
        echo "$out" >"$work/out"
        fail "none: hostname -I lists no address (exit $rc)" "$work/out"
    fi
else
    skip "none: hostname -I (no hostname)"
fi
same "none: getent hosts localhost" "getent hosts localhost" getent hosts localhost
if have python3; then
    resolve='import socket; print(sorted(set(a[4][0] for a in socket.getaddrinfo("localhost", 80))))'
    same "none: python getaddrinfo(localhost)" "python3 -c '$resolve'" python3 -c "$resolve"
fi
out=$(timeout -k 5 "$timeout_s" "$sandbox" run python3 -c \
    'import socket; socket.create_connection(("127.0.0.1", 9), timeout=5)' 2>&1 </dev/null)
if [ $? -ne 0 ]; then
    pass "none: no way out to the host's loopback"
else
    fail "none: no way out to the host's loopback"
fi

# ---- --network=sandbox: tests/e2e/network_sandbox.sh ----

# ---- --network=host ----
timeout -k 5 "$timeout_s" "$sandbox" run --network=host --probe-confinement true \
    >/dev/null 2>"$work/probe" </dev/null
if grep -q '^confinement: socket AF_INET: ALLOWED$' "$work/probe" &&
    [ "$(grep -c 'ALLOWED' "$work/probe")" = 1 ] &&
    grep -q '^confinement: socket AF_UNIX: refused' "$work/probe" &&
    grep -q '^confinement: socket AF_NETLINK: refused' "$work/probe"; then
    pass "host: the Sentry may open INET sockets, nothing more"
else
    fail "host: the Sentry may open INET sockets, nothing more" "$work/probe"
fi
if have ip; then
    same "host: ip addr as the host's" "ip addr" --network=host ip addr
    same "host: ip link as the host's" "ip link" --network=host ip link
    same "host: ip route as the host's" "ip route" --network=host ip route
    same "host: ip -6 route as the host's" "ip -6 route" --network=host ip -6 route
fi
if have hostname; then
    same "host: hostname -I as the host's" "hostname -I" --network=host hostname -I
fi
if ! have python3 || ! have curl; then
    skip "host: socket cases (need python3 and curl)"
else
    same "host: TCP, UDP, IPv6, options, interface ioctls (inet_loopback.py)" \
        "python3 '$here/lib/inet_loopback.py'" \
        --network=host python3 "$here/lib/inet_loopback.py"

    # options outside the allowlist do not reach the host
    out=$(timeout -k 5 "$timeout_s" "$sandbox" run --network=host python3 -c '
import errno, socket
s = socket.socket()
try:
    s.setsockopt(socket.SOL_IP, 19, 1)   # IP_TRANSPARENT
    print("allowed")
except OSError as e:
    print(errno.errorcode[e.errno])' 2>&1 </dev/null)
    if [ "$out" = "ENOPROTOOPT" ]; then
        pass "host: an option off the allowlist is ENOPROTOOPT"
    else
        echo "$out" >"$work/out"
        fail "host: an option off the allowlist is ENOPROTOOPT" "$work/out"
    fi

    # a server in the sandbox, a client on the host
    mkdir -p "$work/www"
    echo "served from inside the sandbox" >"$work/www/file.txt"
    port=$(free_port)
    (cd "$work/www" && exec timeout -k 5 "$timeout_s" "$sandbox" run --network=host \
        python3 -m http.server --bind 127.0.0.1 "$port") >"$work/srv.out" 2>"$work/srv.err" &
    server_pid=$!
    if wait_http "http://127.0.0.1:$port/file.txt" &&
        [ "$(curl -s "http://127.0.0.1:$port/file.txt")" = "served from inside the sandbox" ]; then
        pass "host: python3 -m http.server in the sandbox, curl on the host"
    else
        fail "host: python3 -m http.server in the sandbox, curl on the host" "$work/srv.err"
    fi
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_pid=

    # a server on the host, a client in the sandbox
    echo "served from the host" >"$work/www/host.txt"
    port=$(free_port)
    (cd "$work/www" && exec timeout -k 5 "$timeout_s" python3 -m http.server --bind 127.0.0.1 \
        "$port") >/dev/null 2>&1 &
    server_pid=$!
    wait_http "http://127.0.0.1:$port/host.txt"
    out=$(timeout -k 5 "$timeout_s" "$sandbox" run --network=host python3 -c "
import urllib.request
print(urllib.request.urlopen('http://localhost:$port/host.txt').read().decode(), end='')" \
        2>"$work/cli.err" </dev/null)
    if [ "$out" = "served from the host" ]; then
        pass "host: python3 urllib in the sandbox, a server on the host"
    else
        echo "got: $out" >"$work/out"
        fail "host: python3 urllib in the sandbox, a server on the host" "$work/out" "$work/cli.err"
    fi
    out=$(timeout -k 5 "$timeout_s" "$sandbox" run --network=host curl -s \
        "http://127.0.0.1:$port/host.txt" 2>"$work/cli.err" </dev/null)
    if [ "$out" = "served from the host" ]; then
        pass "host: curl in the sandbox, a server on the host"
    else
        echo "got: $out" >"$work/out"
        fail "host: curl in the sandbox, a server on the host" "$work/out" "$work/cli.err"
    fi
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_pid=
fi

echo "e2e-network: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
