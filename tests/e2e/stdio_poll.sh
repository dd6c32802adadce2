#!/usr/bin/env bash
# End-to-end: readiness of the stdio host files. Runs the guest test poll_stdio (built
# by `make guest` next to SANDBOX_BIN) with a host pipe as stdin whose writer pauses,
# natively and as `SANDBOX_BIN run`; stdout and exit status must match. Exercises the
# Sentry's host fd notifier: poll, read and epoll waiting on a host pipe.
# Usage: tests/e2e/stdio_poll.sh SANDBOX_BIN
# Prints `PASS|FAIL|SKIP CASE` per case, then exactly
# `e2e-stdio: N passed, N failed, N skipped`. Exits 1 if any case failed.
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 SANDBOX_BIN" >&2
    exit 2
fi
sandbox=$1
build=$(dirname "$sandbox")
timeout_s=${E2E_TIMEOUT:-60}
passed=0 failed=0 skipped=0
work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-stdio.XXXXXX")
trap 'rm -rf "$work"' EXIT

# writer: the host side of stdin: a line after a second, the end a second later.
writer() {
    sleep 1
    echo hello
    sleep 1
}

for variant in gcc musl pie; do
    bin=$build/guest/poll_stdio.$variant
    label="poll_stdio [$variant] with a pausing host pipe as stdin"
    if [ ! -x "$bin" ] || [ ! -x "$sandbox" ]; then
        echo "SKIP $label: no $bin or $sandbox (make guest)"
        skipped=$((skipped + 1))
        continue
    fi
    writer | timeout -k 5 "$timeout_s" "$bin" >"$work/n.out" 2>"$work/n.err"
    n_rc=$?
    writer | timeout -k 5 "$timeout_s" "$sandbox" run "$bin" >"$work/s.out" 2>"$work/s.err"
    s_rc=$?
    if [ "$n_rc" -eq "$s_rc" ] && cmp -s "$work/n.out" "$work/s.out"; then
        echo "PASS $label"
        passed=$((passed + 1))
    else
        echo "FAIL $label (exit status native $n_rc, sandbox $s_rc)"
        diff "$work/n.out" "$work/s.out" | sed 's/^/    /'
        tail -n 5 "$work/s.err" | sed 's/^/    stderr: /'
        failed=$((failed + 1))
    fi
done

echo "e2e-stdio: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
