#!/usr/bin/env bash
# bench/veth.sh OUT SANDBOX — the --network=sandbox rows of bench/run.sh: TCP bulk
# MB/s across a veth pair between the host's namespace and a network namespace of
# the bench's own, each way, for a native process in that namespace and for the
# sandbox there with io_uring and with plain recvmmsg/sendmmsg frame I/O
# (--net-io). OUT holds the built vethbulk; prints a table in run.sh's format, or
# one "note:" line when it cannot run (not root, no `ip netns`). Only 10.211.0.0/24
# on the bench's own veth pair is used; the namespace goes at exit.
# Environment: VETH_MIB (256) MiB per transfer, REPS (3), TMO (30), LOG.
set -u
OUT=${1:?usage: bench/veth.sh OUT SANDBOX}
SANDBOX=${2:?usage: bench/veth.sh OUT SANDBOX}
VETH_MIB=${VETH_MIB:-256}
REPS=${REPS:-3}
TMO=${TMO:-30}
LOG=${LOG:-/dev/null}
NS=sbbench$$
HOST_IF=vb$$
HOST_IP=10.211.0.1
NS_IP=10.211.0.2
PORT=5201

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! ip netns list >/dev/null 2>&1; then
    echo "note: --network=sandbox rows skipped (they need root and ip netns)"
    exit 0
fi
cleanup() {
    ip link del "$HOST_IF" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT

# setup: a fresh namespace and pair (a sandbox run takes the addresses away).
setup() {
    cleanup
    ip netns add "$NS" &&
        ip link add "$HOST_IF" type veth peer name eth0 netns "$NS" &&
        ip addr add "$HOST_IP/24" dev "$HOST_IF" && ip link set "$HOST_IF" up &&
        ip -n "$NS" addr add "$NS_IP/24" dev eth0 && ip -n "$NS" link set eth0 up &&
        ip -n "$NS" link set lo up
}

is_num() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }

# once DIR SYSTEM: one transfer; prints the receiver's MB/s or nothing.
# DIR: in (host → namespace) or out (namespace → host). SYSTEM: native, uring, plain.
once() {
    local dir=$1 sys=$2 inside rx tx out
    setup || { echo "== veth: setup failed" >>"$LOG"; return 1; }
    if [ "$sys" = native ]; then
        inside=(ip netns exec "$NS" "$OUT/vethbulk")
    else
        inside=(ip netns exec "$NS" "$SANDBOX" run --network=sandbox --net-io="$sys" "$OUT/vethbulk")
    fi
    if [ "$dir" = in ]; then
        timeout -k 5 "$TMO" "${inside[@]}" recv "$NS_IP" $PORT >"$OUT/veth.rx" 2>>"$LOG" &
        rx=$!
        timeout -k 5 "$TMO" "$OUT/vethbulk" send "$NS_IP" $PORT "$VETH_MIB" 2>>"$LOG"
    else
        timeout -k 5 "$TMO" "$OUT/vethbulk" recv "$HOST_IP" $PORT >"$OUT/veth.rx" 2>>"$LOG" &
        rx=$!
        sleep 0.2
        timeout -k 5 "$TMO" "${inside[@]}" send "$HOST_IP" $PORT "$VETH_MIB" 2>>"$LOG"
    fi
    wait "$rx"
    out=$(tail -n 1 "$OUT/veth.rx")
    if is_num "$out"; then echo "$out"; else echo "== veth $dir $sys: FAILED ($out)" >>"$LOG"; fi
}

# mbs DIR SYSTEM: the median of REPS transfers, or n/a.
mbs() {
    local i v vs=()
    for ((i = 0; i < REPS; i++)); do
        v=$(once "$1" "$2")
        is_num "$v" || { echo n/a; return; }
        vs+=("$v")
    done
    median "${vs[@]}"
}

# ratio A B: A/B as "1.23x" (time per MB of B against A), or n/a.
ratio() {
    if is_num "$1" && is_num "$2" && [ "$2" != 0 ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'
    else echo n/a; fi
}
row() { printf '%-26s | %8s | %8s | %8s | %8s | %14s | %12s | %13s\n' "$@"; }

row "sandbox network (veth)" native uring plain - uring/native plain/native plain/uring
row "--------------------------" -------- -------- -------- -------- -------------- ------------ -------------
for dir in in out; do
    n=$(mbs $dir native); u=$(mbs $dir uring); p=$(mbs $dir plain)
    if [ $dir = in ]; then what="TCP host->sandbox, MB/s"; else what="TCP sandbox->host, MB/s"; fi
    row "$what" "$n" "$u" "$p" - "$(ratio "$n" "$u")" "$(ratio "$n" "$p")" "$(ratio "$u" "$p")"
done
echo "(veth rows: ${VETH_MIB} MiB per transfer, median of $REPS; ratios compare time per MB, above 1 is slower; no runsc column: runsc runs with --network=none here)"
