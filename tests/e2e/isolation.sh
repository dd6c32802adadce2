#!/usr/bin/env bash
# End-to-end isolation checks. Usage: tests/e2e/isolation.sh SANDBOX_BIN
#
# 1. The Sentry's own confinement: `run --probe-confinement` makes the confined
#    Sentry try to open host files, execute a program, create a socket and mount;
#    each must be refused by its seccomp filter (EPERM), and the program still runs.
# 2. The served tree is the guest's whole world: with `--root DIR`, symlinks (relative
#    and absolute), `..` at the root and /proc/self/root lead nowhere outside DIR.
#    A file next to DIR holds a marker that must never be printed.
# Prints `PASS|FAIL|SKIP NAME` per case, then exactly `e2e-isolation: N passed,
# N failed, N skipped`. Exits 1 if any case failed.
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 SANDBOX_BIN" >&2
    exit 2
fi
sandbox=$1
busybox=${BUSYBOX:-/bin/busybox}
timeout_s=${E2E_TIMEOUT:-60}

passed=0 failed=0 skipped=0
work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-isolation.XXXXXX")
trap 'rm -rf "$work"' EXIT

pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }

if [ ! -x "$sandbox" ]; then
    echo "SKIP all (no sandbox binary at $sandbox)"
    echo "e2e-isolation: 0 passed, 0 failed, 1 skipped"
    exit 0
fi

# 1. the confined Sentry
out=$(timeout -k 5 "$timeout_s" "$sandbox" run --probe-confinement /bin/echo ran 2>"$work/probe")
rc=$?
refused=$(grep -c '^confinement: .*: refused (Operation not permitted)$' "$work/probe")
allowed=$(grep -c 'ALLOWED' "$work/probe")
if [ "$rc" = 0 ] && [ "$out" = ran ] && [ "$refused" = 7 ] && [ "$allowed" = 0 ]; then
    pass "the Sentry's openat, open, execve, socket and mount are refused"
else
    fail "the Sentry's openat, open, execve, socket and mount are refused (rc $rc, out '$out')"
    cat "$work/probe"
fi

# 2. escapes from a served tree
if [ ! -x "$busybox" ]; then
    echo "SKIP escapes (no $busybox: apt-get install busybox-static)"
    skipped=$((skipped + 1))
else
    marker="OUTSIDE-$$-MARKER"
    mkdir -p "$work/outside" "$work/root/bin" "$work/root/dir"
    echo "$marker" >"$work/outside/secret"
    cp "$busybox" "$work/root/bin/busybox"
    echo inside >"$work/root/dir/own"
    ln -s ../../outside/secret "$work/root/dir/rel"
    ln -s ../../../../../../../../outside/secret "$work/root/deep"
    ln -s "$work/outside/secret" "$work/root/abs"
    ln -s / "$work/root/rootlink"
    ln -s .. "$work/root/dotdot"
    depth=$(echo "$work" | tr -cd / | wc -c)
    ups=$(printf '../%.0s' $(seq 1 $((depth + 3))))
    script="
        cat /dir/own
        cat /dir/rel /deep /abs 2>/dev/null
        cat /../outside/secret /../../outside/secret 2>/dev/null
        cat /${ups}outside/secret /dotdot/outside/secret 2>/dev/null
        cat /rootlink/../outside/secret /proc/self/root/../outside/secret 2>/dev/null
        cat /proc/self/cwd/../outside/secret /proc/1/root/../../outside/secret 2>/dev/null
        cat $work/outside/secret 2>/dev/null
        cd / && cd .. && cd .. && ls
        ls /proc/self/root/..
        readlink /proc/self/exe
    "
    out=$(timeout -k 5 "$timeout_s" "$sandbox" run --root "$work/root" /bin/busybox sh -c "$script" 2>&1)
    if echo "$out" | grep -q "$marker"; then
        fail "symlinks, .. and /proc/self/root stay inside --root"
        echo "$out"
    elif ! echo "$out" | grep -q '^inside$' || ! echo "$out" | grep -q '^/bin/busybox$'; then
        fail "symlinks, .. and /proc/self/root stay inside --root (the guest did not run as expected)"
        echo "$out"
    else
        pass "symlinks, .. and /proc/self/root stay inside --root"
    fi
    # the root's own listing, seen from its parent: only what the tree holds
    listing=$(echo "$out" | sed -n '/^abs$/,/^rootlink$/p' | sort -u | tr '\n' ' ')
    if echo "$listing" | grep -q outside; then
        fail "/.. lists the served tree, not its host parent ($listing)"
    else
        pass "/.. lists the served tree, not its host parent"
    fi
fi

echo "e2e-isolation: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
