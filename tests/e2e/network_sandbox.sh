#!/usr/bin/env bash
# End-to-end: `sandbox run --network=sandbox` in a network namespace of the test's own
# (`ip netns add`, a veth pair with 10.213.0.0/24 and fd00:213::/64 on it, MTU 1400,
# default routes via the host's side). Each sandbox run gets the namespace fresh: a
# run takes the addresses off the kernel's side for good.
#   - refused in the initial network namespace, and --netns only with sandbox mode;
#   - inside: ip addr / hostname -I / ip route / SIOCGIF* show the copied link (MAC,
#     MTU, addresses, routes); the kernel's side has lost its addresses; the confined
#     Sentry still cannot open sockets; a namespace without links gives lo only;
#   - a server in the sandbox (python3 -m http.server), curl and ping on the host's
#     side, IPv4 and IPv6;
#   - a server on the host's side, curl in the sandbox, IPv4 and IPv6;
#   - 8 MiB each way over TCP with both frame I/O kinds (--net-io=uring|plain),
#     checked by SHA-1, and a UDP round trip each way.
# Only the addresses above, on the test's own veth pair, are used; the namespace and
# the pair are removed at exit. Needs root and iproute2 (skipped otherwise).
# Usage: tests/e2e/network_sandbox.sh SANDBOX_BIN
# Prints `PASS|FAIL|SKIP CASE` per case, then exactly
# `e2e-network-sandbox: N passed, N failed, N skipped`. Exits 1 if any case failed.
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 SANDBOX_BIN" >&2
    exit 2
fi
sandbox=$1
[ -e "$sandbox" ] && sandbox=$(cd "$(dirname "$sandbox")" && pwd)/$(basename "$sandbox")
here=$(cd "$(dirname "$0")" && pwd)
timeout_s=${E2E_TIMEOUT:-60}
passed=0 failed=0 skipped=0
work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-netsandbox.XXXXXX")
ns=sbtest$$
hif=sbh$$
h4=10.213.0.1 s4=10.213.0.2 h6=fd00:213::1 s6=fd00:213::2
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    ip link del "$hif" 2>/dev/null
    ip netns del "$ns" 2>/dev/null
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
finish() {
    echo "e2e-network-sandbox: $passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
    exit
}
have() { command -v "$1" >/dev/null 2>&1; }

if [ ! -x "$sandbox" ]; then
    skip "all cases: no sandbox binary at $sandbox"
    finish
fi

# ---- refusals (no namespace needed) ----
timeout -k 5 "$timeout_s" "$sandbox" run --network=sandbox true >/dev/null 2>"$work/err" </dev/null
rc=$?
if [ "$(id -u)" != 0 ]; then
    if [ $rc -eq 2 ] && grep -q "needs root" "$work/err"; then
        pass "refused without root"
    else
        fail "refused without root (exit $rc)" "$work/err"
    fi
elif [ $rc -eq 2 ] && grep -q "refusing the initial network namespace" "$work/err"; then
    pass "refused in the initial network namespace"
else
    fail "refused in the initial network namespace (exit $rc)" "$work/err"
fi
timeout -k 5 "$timeout_s" "$sandbox" run --network=host --netns=/nonexistent true \
    >/dev/null 2>"$work/err" </dev/null
rc=$?
if [ $rc -eq 2 ] && grep -q "with --network=sandbox only" "$work/err"; then
    pass "--netns only with --network=sandbox"
else
    fail "--netns only with --network=sandbox (exit $rc)" "$work/err"
fi

if [ "$(id -u)" != 0 ] || ! have ip || ! ip netns list >/dev/null 2>&1; then
    skip "namespace cases (need root and iproute2 with ip netns)"
    finish
fi

# fresh_ns: the namespace and pair as new.
fresh_ns() {
    ip link del "$hif" 2>/dev/null
    ip netns del "$ns" 2>/dev/null
    ip netns add "$ns" &&
        ip link add "$hif" mtu 1400 type veth peer name eth0 mtu 1400 netns "$ns" &&
        ip addr add "$h4/24" dev "$hif" && ip addr add "$h6/64" dev "$hif" nodad &&
        ip link set "$hif" up &&
        ip -n "$ns" addr add "$s4/24" dev eth0 && ip -n "$ns" addr add "$s6/64" dev eth0 nodad &&
        ip -n "$ns" link set eth0 up && ip -n "$ns" link set lo up &&
        ip -n "$ns" route add default via "$h4" &&
        ip -n "$ns" -6 route add default via "$h6"
}
# in_sandbox ARGS...: `sandbox run --network=sandbox ARGS` in a fresh namespace.
in_sandbox() {
    fresh_ns || { echo "namespace setup failed" >&2; return 125; }
    timeout -k 5 "$timeout_s" ip netns exec "$ns" "$sandbox" run --network=sandbox "$@" </dev/null
}
ping_cmd() { # ping_cmd -4|-6 ADDR
    if have ping; then ping "$1" -c 1 -W 5 "$2"
    elif [ "$1" = -4 ]; then busybox ping -c 1 -W 5 "$2"
    else busybox ping6 -c 1 -W 5 "$2"; fi
}
# wait_for CMD...: 0 once CMD succeeds (within 30 s).
wait_for() {
    for _ in $(seq 1 150); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    return 1
}

# ---- what the guest sees ----
fresh_ns || { fail "namespace setup"; finish; }
mac=$(ip -n "$ns" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
timeout -k 5 "$timeout_s" ip netns exec "$ns" "$sandbox" run --network=sandbox sh -c \
    'ip addr show eth0; echo ---; hostname -I; echo ---; ip route; echo ---; ip -6 route' \
    >"$work/out" 2>"$work/err" </dev/null
rc=$?
if [ $rc -eq 0 ] && grep -q "eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400" "$work/out" &&
    grep -q "link/ether $mac brd ff:ff:ff:ff:ff:ff" "$work/out" &&
    grep -q "inet $s4/24 .*scope global eth0" "$work/out" &&
    grep -q "inet6 $s6/64 scope global" "$work/out" &&
    grep -q "inet6 fe80::.*/64 scope link" "$work/out"; then
    pass "ip addr: the link's MAC, MTU 1400 and addresses"
else
    fail "ip addr: the link's MAC, MTU 1400 and addresses (exit $rc)" "$work/out" "$work/err"
fi
if [ "$(sed -n '/^---$/,/^---$/p' "$work/out" | sed -n 2p | tr -s ' ' | sed 's/ $//')" = "$s4 $s6" ]; then
    pass "hostname -I"
else
    fail "hostname -I" "$work/out"
fi
if grep -q "^default via $h4 dev eth0" "$work/out" &&
    grep -q "^10.213.0.0/24 dev eth0 proto kernel scope link src $s4" "$work/out" &&
    grep -q "^default via $h6 dev eth0" "$work/out" &&
    grep -q "^fd00:213::/64 dev eth0" "$work/out"; then
    pass "ip route, ip -6 route: subnets and default routes"
else
    fail "ip route, ip -6 route: subnets and default routes" "$work/out"
fi
if ip -n "$ns" addr show eth0 | grep -q "inet"; then
    ip -n "$ns" addr show eth0 >"$work/out"
    fail "the kernel's side of the link has no address left" "$work/out"
else
    pass "the kernel's side of the link has no address left"
fi
if have python3; then
    out=$(in_sandbox python3 -c '
import fcntl, socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
req = struct.pack("16s16x", b"eth0")
print(socket.inet_ntoa(fcntl.ioctl(s, 0x8915, req)[20:24]),         # SIOCGIFADDR
      socket.inet_ntoa(fcntl.ioctl(s, 0x891b, req)[20:24]),         # SIOCGIFNETMASK
      struct.unpack("i", fcntl.ioctl(s, 0x8921, req)[16:20])[0],    # SIOCGIFMTU
      [n for _, n in socket.if_nameindex()])' 2>"$work/err")
    if [ "$out" = "$s4 255.255.255.0 1400 ['lo', 'eth0']" ]; then
        pass "SIOCGIFADDR/NETMASK/MTU and if_nameindex"
    else
        echo "got: $out" >"$work/out"
        fail "SIOCGIFADDR/NETMASK/MTU and if_nameindex" "$work/out" "$work/err"
    fi
fi

in_sandbox --probe-confinement true >/dev/null 2>"$work/probe"
if grep -q '^confinement: socket AF_INET: refused' "$work/probe" &&
    grep -q '^confinement: socket AF_NETLINK: refused' "$work/probe" &&
    ! grep -q 'ALLOWED' "$work/probe"; then
    pass "the confined Sentry opens no socket (it holds the packet sockets from boot)"
else
    fail "the confined Sentry opens no socket (it holds the packet sockets from boot)" \
        "$work/probe"
fi
# a namespace with no link to take: loopback only, as in none mode
ip link del "$hif" 2>/dev/null
ip netns del "$ns" 2>/dev/null
ip netns add "$ns"
out=$(timeout -k 5 "$timeout_s" ip netns exec "$ns" "$sandbox" run --network=sandbox \
    ip -o link 2>"$work/err" </dev/null | awk '{ print $2 }')
if [ "$out" = "lo:" ]; then
    pass "a namespace without links: lo only"
else
    echo "got: $out" >"$work/out"
    fail "a namespace without links: lo only" "$work/out" "$work/err"
fi

if ! have python3 || ! have curl; then
    skip "traffic cases (need python3 and curl)"
    finish
fi

# ---- a server in the sandbox, clients on the host's side ----
mkdir -p "$work/www"
echo "served from inside the sandbox" >"$work/www/in.txt"
fresh_ns || { fail "namespace setup"; finish; }
(cd "$work/www" && exec timeout -k 5 "$timeout_s" ip netns exec "$ns" "$sandbox" run \
    --network=sandbox python3 -m http.server --bind :: 8000) >"$work/srv.out" 2>"$work/srv.err" &
pids+=($!)
if wait_for curl -s -m 2 -o /dev/null "http://$s4:8000/in.txt" &&
    [ "$(curl -s -m 10 "http://$s4:8000/in.txt")" = "served from inside the sandbox" ]; then
    pass "http.server in the sandbox, curl from the host's side over IPv4"
else
    fail "http.server in the sandbox, curl from the host's side over IPv4" "$work/srv.err"
fi
if [ "$(curl -s -m 10 "http://[$s6]:8000/in.txt")" = "served from inside the sandbox" ]; then
    pass "http.server in the sandbox, curl from the host's side over IPv6"
else
    fail "http.server in the sandbox, curl from the host's side over IPv6" "$work/srv.err"
fi
if have ping || have busybox; then
    if ping_cmd -4 "$s4" >"$work/ping" 2>&1; then
        pass "ping from the host's side to $s4 (lwIP answers)"
    else
        fail "ping from the host's side to $s4 (lwIP answers)" "$work/ping"
    fi
    if ping_cmd -6 "$s6" >"$work/ping" 2>&1; then
        pass "ping from the host's side to $s6 (lwIP answers)"
    else
        fail "ping from the host's side to $s6 (lwIP answers)" "$work/ping"
    fi
else
    skip "ping (neither ping nor busybox)"
fi
kill "${pids[-1]}" 2>/dev/null
wait "${pids[-1]}" 2>/dev/null

# ---- a server on the host's side, clients in the sandbox ----
echo "served from the host's side" >"$work/www/out.txt"
head -c $((8 << 20)) /dev/urandom >"$work/www/big.bin"
want=$(sha1sum <"$work/www/big.bin" | cut -d' ' -f1)
(cd "$work/www" && exec timeout -k 5 $((timeout_s * 4)) python3 -m http.server --bind :: 8001) \
    >/dev/null 2>&1 &
pids+=($!)
wait_for curl -s -m 2 -o /dev/null "http://$h4:8001/out.txt"
out=$(in_sandbox sh -c "curl -s -m 20 http://$h4:8001/out.txt; curl -s -m 20 'http://[$h6]:8001/out.txt'" \
    2>"$work/err")
if [ "$out" = "served from the host's side
served from the host's side" ]; then
    pass "curl in the sandbox, a server on the host's side, IPv4 and IPv6"
else
    echo "got: $out" >"$work/out"
    fail "curl in the sandbox, a server on the host's side, IPv4 and IPv6" "$work/out" "$work/err"
fi

# ---- bulk each way, both kinds of frame I/O ----
for io in uring plain; do
    out=$(in_sandbox --net-io=$io sh -c "curl -s -m 30 http://$h4:8001/big.bin | sha1sum" 2>"$work/err")
    if [ "${out%% *}" = "$want" ]; then
        pass "8 MiB host -> sandbox over TCP (--net-io=$io)"
    else
        echo "got: $out" >"$work/out"
        fail "8 MiB host -> sandbox over TCP (--net-io=$io)" "$work/out" "$work/err"
    fi
    port=$((20000 + RANDOM % 30000))
    timeout -k 5 "$timeout_s" python3 -c '
import hashlib, socket, sys
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], int(sys.argv[2]))); l.listen(1)
c, _ = l.accept(); h = hashlib.sha1()
while True:
    b = c.recv(1 << 16)
    if not b: break
    h.update(b)
print(h.hexdigest())' "$h4" "$port" >"$work/up" 2>&1 &
    rx=$!
    sleep 0.3
    in_sandbox --net-io=$io python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
s.sendall(open(sys.argv[3], "rb").read()); s.close()' "$h4" "$port" "$work/www/big.bin" \
        2>"$work/err"
    wait $rx
    if [ "$(cat "$work/up")" = "$want" ]; then
        pass "8 MiB sandbox -> host over TCP (--net-io=$io)"
    else
        fail "8 MiB sandbox -> host over TCP (--net-io=$io)" "$work/up" "$work/err"
    fi
done
kill "${pids[-1]}" 2>/dev/null
wait "${pids[-1]}" 2>/dev/null

# ---- UDP: a round trip each way ----
port=$((20000 + RANDOM % 30000))
timeout -k 5 "$timeout_s" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::", int(sys.argv[1])))
for _ in range(2):
    b, a = s.recvfrom(100); s.sendto(b"echo " + b, a)' "$port" >/dev/null 2>&1 &
rx=$!
sleep 0.3
out=$(in_sandbox python3 -c '
import socket, sys
for fam, host in ((socket.AF_INET, sys.argv[1]), (socket.AF_INET6, sys.argv[2])):
    s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(10)
    s.sendto(b"udp", (host, int(sys.argv[3]))); print(s.recv(100).decode())' \
    "$h4" "$h6" "$port" 2>"$work/err")
wait $rx
if [ "$out" = "echo udp
echo udp" ]; then
    pass "UDP round trip sandbox -> host's side, IPv4 and IPv6"
else
    echo "got: $out" >"$work/out"
    fail "UDP round trip sandbox -> host's side, IPv4 and IPv6" "$work/out" "$work/err"
fi

fresh_ns || { fail "namespace setup"; finish; }
timeout -k 5 "$timeout_s" ip netns exec "$ns" "$sandbox" run --network=sandbox python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 9999))
b, a = s.recvfrom(100); s.sendto(b"echo " + b, a)' >/dev/null 2>"$work/err" </dev/null &
rx=$!
out=$(python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5)
for _ in range(60):
    s.sendto(b"udp", (sys.argv[1], 9999))
    try:
        print(s.recv(100).decode()); break
    except socket.timeout:
        pass' "$s4" 2>&1)
wait $rx
if [ "$out" = "echo udp" ]; then
    pass "UDP round trip host's side -> sandbox"
else
    echo "got: $out" >"$work/out"
    fail "UDP round trip host's side -> sandbox" "$work/out" "$work/err"
fi

finish
