#!/usr/bin/env bash
# `make run`: a short show of real programs from this machine in the sandbox. Prints
# each command before running it. Usage: tests/e2e/demo.sh SANDBOX_BIN
# Exits 1 if any command fails (or the sandbox or busybox is missing).
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 SANDBOX_BIN" >&2
    exit 2
fi
sandbox=$1
busybox=/bin/busybox

if [ ! -x "$sandbox" ]; then
    echo "demo: no sandbox binary at $sandbox (run make)" >&2
    exit 1
fi
if [ ! -x "$busybox" ]; then
    echo "demo: no $busybox (apt-get install busybox-static)" >&2
    exit 1
fi

failures=0

# demo ARGS...: shows `$ SANDBOX_BIN ARGS...`, runs it, reports a nonzero status.
demo() {
    echo "\$ $sandbox $*"
    "$sandbox" "$@"
    local rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "demo: exit status $rc" >&2
        failures=$((failures + 1))
    fi
    echo
}

demo run "$busybox" echo hello from the sandbox
demo run "$busybox" uname -a
demo run "$busybox" seq 1 5
demo run --strace "$busybox" echo hi

if [ "$failures" -ne 0 ]; then
    echo "demo: $failures command(s) failed" >&2
    exit 1
fi
