#!/usr/bin/env bash
# `make test`: every suite, then the totals. Usage: tests/run-all.sh BUILD_DIR
#
#   1. unit:  each Criterion binary BUILD_DIR/unit/*; its "Synthesis:" line gives the
#             counts (skips come from its TAP report); a nonzero exit with no failing
#             test counts as one failure.
#   2. guest: tests/guest/run.sh BUILD_DIR/sandbox BUILD_DIR, on ptrace and kvm
#             (SANDBOX_PLATFORMS overrides)
#   3. e2e:   every tests/e2e/*.sh but demo.sh, given BUILD_DIR/sandbox
# A suite script ends with a line `NAME: N passed, N failed, N skipped`; one that does
# not (it crashed) counts as one failure. Without BUILD_DIR/sandbox the suites report
# their sandboxed cases as skipped. The last line is exactly
# `N passed, N failed, N skipped`; the exit status is 1 if anything failed.
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
build=$1
sandbox=$build/sandbox
tests=$(cd "$(dirname "$0")" && pwd)

total_passed=0 total_failed=0 total_skipped=0
work=$(mktemp -d "${TMPDIR:-/tmp}/run-all.XXXXXX")
trap 'rm -rf "$work"' EXIT

# add P F S: adds to the totals.
add() {
    total_passed=$((total_passed + $1))
    total_failed=$((total_failed + $2))
    total_skipped=$((total_skipped + $3))
}

run_unit() {
    local bin name out=$work/unit.out tap=$work/unit.tap found=0
    local rc tested passing failing skips
    for bin in "$build"/unit/*; do
        if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
            continue
        fi
        found=1
        name=unit/$(basename "$bin")
        rm -f "$tap"
        timeout -k 5 600 "$bin" --color=never --tap="$tap" >"$out" 2>&1
        rc=$?
        read -r tested passing < <(sed -n \
            's/.*Synthesis: Tested: \([0-9]*\) | Passing: \([0-9]*\) | .*/\1 \2/p' \
            "$out" | tail -n 1)
        if [ -z "${tested:-}" ]; then
            echo "FAIL $name: exit status $rc, no Criterion summary"
            tail -n 20 "$out" | sed 's/^/    /'
            add 0 1 0
            continue
        fi
        skips=0
        [ -f "$tap" ] && skips=$(grep -c '# SKIP' "$tap")
        # Criterion counts a crash as a failure too; what did not pass, failed.
        failing=$((tested - passing))
        if [ "$rc" -ne 0 ] && [ "$failing" -eq 0 ]; then
            failing=1
        fi
        if [ "$failing" -eq 0 ]; then
            echo "PASS $name ($passing passed, $skips skipped)"
        else
            echo "FAIL $name ($passing passed, $failing failed, $skips skipped; exit status $rc)"
            grep -v '^\[RUN \]' "$out" | tail -n 40 | sed 's/^/    /'
        fi
        add "$passing" "$failing" "$skips"
    done
    [ "$found" -eq 1 ] || echo "note: no unit test binaries in $build/unit (make unit)"
}

# run_suite SCRIPT ARGS...: runs a suite script, showing its output, and adds the
# counts of its summary line.
run_suite() {
    local script=$1 out=$work/suite.out rc counts
    shift
    "$script" "$@" | tee "$out"
    rc=${PIPESTATUS[0]}
    counts=$(sed -n 's/^[A-Za-z0-9_-]*: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' \
        "$out" | tail -n 1)
    if [ -z "$counts" ]; then
        echo "FAIL ${script#"$tests"/}: exit status $rc, no summary line"
        add 0 1 0
        return
    fi
    # shellcheck disable=SC2086 # three numbers, split on purpose
    add $counts
    if [ "$rc" -ne 0 ] && [ "$(echo "$counts" | cut -d' ' -f2)" -eq 0 ]; then
        echo "FAIL ${script#"$tests"/}: exit status $rc with no failed case"
        add 0 1 0
    fi
}

if [ ! -x "$sandbox" ]; then
    echo "note: no sandbox binary at $sandbox (make): sandboxed cases are skipped"
fi

echo "== unit"
run_unit
echo "== guest"
# every guest test on every platform (a platform this host lacks: skipped)
SANDBOX_PLATFORMS=${SANDBOX_PLATFORMS:-ptrace kvm} run_suite "$tests/guest/run.sh" "$sandbox" "$build"
for script in "$tests"/e2e/*.sh; do
    [ "$(basename "$script")" = demo.sh ] && continue
    echo "== e2e/$(basename "$script")"
    run_suite "$script" "$sandbox"
done

echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
[ "$total_failed" -eq 0 ]
