#!/usr/bin/env bash
# Differential guest tests. Usage: tests/guest/run.sh SANDBOX_BIN BUILD_DIR
#
# Every tests/guest/NAME.c is built as BUILD_DIR/guest/NAME.gcc, NAME.musl, NAME.pie
# (static-PIE glibc) and NAME.dyn (dynamically linked glibc) (make
# guest). Each binary runs natively, then as `SANDBOX_BIN run BIN ARGS...`, with stdin
# from /dev/null and SANDBOX_TEST=1 in the environment; stdout and exit status must be
# the same. stderr is not compared (the sandbox may log there) but is shown on failure.
#
# Comment lines in NAME.c steer the runner:
#   // runs: ARGS | ARGS ...   one case per `|`-separated argument set (split on blanks,
#                             no quoting; an empty set means no arguments). Several
#                             such lines add up. Without one: one case, no arguments.
#   // exit-status: any        a nonzero native exit status is the behaviour under test,
#                             not a failure of the test itself.
# SANDBOX_PLATFORMS="ptrace kvm" repeats every case once per platform, passing
# --platform=NAME to `run`; by default the sandbox's default platform runs alone
# (`make test` names ptrace and kvm). A named platform that cannot run a trivial
# program on this host (kvm without a usable /dev/kvm) has its cases reported as
# skipped, never as passed.
# GUEST_TIMEOUT (default 60) bounds each run, in seconds. GUEST_TESTS (a grep -E
# pattern on test names, default all) and GUEST_VARIANTS (default "gcc musl pie dyn")
# narrow the run.
#
# A native exit status of 77 skips the case. A native run that prints a "FAIL " line, or
# (without exit-status: any) exits nonzero, fails the case: the test itself is broken
# on this host. Without a sandbox binary, native runs are still checked and the
# sandboxed halves are reported as skipped.
#
# Prints `PASS|FAIL|SKIP NAME [ARGS] [gcc|musl|pie|dyn]` (or `[gcc PLATFORM]`) per case, then exactly
# `guest: N passed, N failed, N skipped`. Exits 1 if any case failed.
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 SANDBOX_BIN BUILD_DIR" >&2
    exit 2
fi
sandbox=$1
build=$2
src_dir=$(cd "$(dirname "$0")" && pwd)
timeout_s=${GUEST_TIMEOUT:-60}
read -r -a platforms <<<"${SANDBOX_PLATFORMS:-}"
read -r -a variants <<<"${GUEST_VARIANTS:-gcc musl pie dyn}"
tests_re=${GUEST_TESTS:-.}
[ ${#platforms[@]} -gt 0 ] || platforms=("")

passed=0 failed=0 skipped=0
work=$(mktemp -d "${TMPDIR:-/tmp}/guest-run.XXXXXX")
trap 'rm -rf "$work"' EXIT

have_sandbox=1
if [ ! -x "$sandbox" ]; then
    have_sandbox=0
    echo "note: no sandbox binary at $sandbox: sandboxed runs are skipped"
fi

# unusable: the named platforms that cannot run a trivial static program here.
unusable=""
if [ "$have_sandbox" -eq 1 ]; then
    for p in "${platforms[@]}"; do
        [ -n "$p" ] || continue
        probe=$(ls "$build"/guest/*.gcc 2>/dev/null | head -n 1)
        [ -n "$probe" ] || continue
        if ! timeout -k 5 "$timeout_s" "$sandbox" run --platform="$p" "$probe" </dev/null \
             >/dev/null 2>"$work/probe.err"; then
            unusable="$unusable $p"
            echo "note: platform $p cannot run $probe on this host ($(tail -n 1 "$work/probe.err")): its cases are skipped"
        fi
    done
fi

# show FILE LABEL: prints up to 40 lines of FILE, indented, under LABEL (if non-empty).
show() {
    if [ -s "$1" ]; then
        echo "    --- $2"
        head -n 40 "$1" | sed 's/^/    /'
    fi
}

# run_one OUT ERR CMD...: runs CMD with the test environment; prints its exit status.
run_one() {
    local out=$1 err=$2
    shift 2
    SANDBOX_TEST=1 LC_ALL=C timeout -k 5 "$timeout_s" "$@" </dev/null >"$out" 2>"$err"
    echo $?
}

# status_text RC: the exit status, noting the timeout's 124.
status_text() {
    if [ "$1" -eq 124 ]; then echo "124 (timed out after ${timeout_s}s)"; else echo "$1"; fi
}

# run_case LABEL ANY_EXIT PLATFORM BIN ARGS...: one native-vs-sandbox comparison;
# PLATFORM "" means the sandbox's default.
run_case() {
    local label=$1 any_exit=$2 platform=$3 bin=$4
    shift 4
    local n_out=$work/native.out n_err=$work/native.err
    local s_out=$work/sandbox.out s_err=$work/sandbox.err
    local n_rc s_rc

    n_rc=$(run_one "$n_out" "$n_err" "$bin" "$@")
    if [ "$n_rc" -eq 77 ]; then
        echo "SKIP $label: $(head -n 1 "$n_err" | sed 's/^SKIP: //')"
        skipped=$((skipped + 1))
        return
    fi
    if grep -q '^FAIL ' "$n_out" || { [ "$n_rc" -ne 0 ] && [ "$any_exit" -eq 0 ]; }; then
        echo "FAIL $label: native run failed, exit status $(status_text "$n_rc")"
        show "$n_out" "native stdout"
        show "$n_err" "native stderr"
        failed=$((failed + 1))
        return
    fi
    if [ "$have_sandbox" -eq 0 ]; then
        echo "SKIP $label: no sandbox binary"
        skipped=$((skipped + 1))
        return
    fi
    if [ -n "$platform" ] && [[ " $unusable " == *" $platform "* ]]; then
        echo "SKIP $label: platform $platform unusable on this host"
        skipped=$((skipped + 1))
        return
    fi

    local -a run=(run)
    [ -n "$platform" ] && run+=("--platform=$platform")
    s_rc=$(run_one "$s_out" "$s_err" "$sandbox" "${run[@]}" "$bin" "$@")
    if [ "$s_rc" -eq "$n_rc" ] && cmp -s "$n_out" "$s_out"; then
        echo "PASS $label"
        passed=$((passed + 1))
        return
    fi
    echo "FAIL $label: exit status native $n_rc, sandbox $(status_text "$s_rc")"
    if ! cmp -s "$n_out" "$s_out"; then
        echo "    --- stdout diff (native, sandbox)"
        diff -u --label native --label sandbox "$n_out" "$s_out" | head -n 40 | sed 's/^/    /'
    fi
    show "$s_err" "sandbox stderr"
    failed=$((failed + 1))
}

# arg_sets SRC: prints the argument sets of SRC's `// runs:` lines, one per line; a
# single empty line when there are none.
arg_sets() {
    local runs
    runs=$(sed -n 's|^// runs:||p' "$1" | paste -sd '|' -)
    if [ -z "$runs" ]; then
        echo
        return
    fi
    tr '|' '\n' <<<"$runs"
}

shopt -s nullglob
sources=("$src_dir"/*.c)
if [ ${#sources[@]} -eq 0 ]; then
    echo "FAIL no guest tests found in $src_dir"
    failed=$((failed + 1))
fi

for src in "${sources[@]}"; do
    name=$(basename "$src" .c)
    grep -qE "$tests_re" <<<"$name" || continue
    any_exit=0
    grep -q '^// exit-status: any' "$src" && any_exit=1
    mapfile -t sets < <(arg_sets "$src")
    for libc in "${variants[@]}"; do
        bin=$build/guest/$name.$libc
        if [ ! -x "$bin" ]; then
            echo "FAIL $name [$libc]: $bin not built (make guest)"
            failed=$((failed + 1))
            continue
        fi
        for set in "${sets[@]}"; do
            read -r -a args <<<"$set"
            for platform in "${platforms[@]}"; do
                label="$name${args[*]:+ ${args[*]}} [$libc${platform:+ $platform}]"
                run_case "$label" "$any_exit" "$platform" "$bin" ${args[@]+"${args[@]}"}
            done
        done
    done
done

echo "guest: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
