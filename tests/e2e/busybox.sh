#!/usr/bin/env bash
# End-to-end: Debian's static busybox (busybox-static), run natively and as
# `SANDBOX_BIN run /bin/busybox ARGS...`; stdout and exit status must match.
# Usage: tests/e2e/busybox.sh SANDBOX_BIN
#
# Only applets that need nothing beyond stdio, memory, time and identity calls (no
# files, no fork). Pipes and input files are the host's: the sandbox only sees its
# stdin and stdout descriptors. Prints `PASS|FAIL|SKIP COMMAND` per case, then exactly
# `e2e: N passed, N failed, N skipped`. Exits 1 if any case failed.
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 SANDBOX_BIN" >&2
    exit 2
fi
sandbox=$1
busybox=${BUSYBOX:-/bin/busybox}
timeout_s=${E2E_TIMEOUT:-60}

passed=0 failed=0 skipped=0
work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-busybox.XXXXXX")
trap 'rm -rf "$work"' EXIT

skip_all=""
if [ ! -x "$busybox" ]; then
    skip_all="no $busybox (apt-get install busybox-static)"
elif [ ! -x "$sandbox" ]; then
    skip_all="no sandbox binary at $sandbox"
fi

# label_of ARGS...: the command as a reader would type it.
label_of() {
    local out=busybox a
    for a in "$@"; do
        case $a in
        '' | *[!A-Za-z0-9_./=+-]*) out+=" '$a'" ;;
        *) out+=" $a" ;;
        esac
    done
    echo "$out"
}

# run_side MODE OUT ERR IN FILTER ARGS...: runs busybox ARGS natively (MODE native) or
# in the sandbox, stdin from file IN, stdout through the host command FILTER (if not
# empty) into OUT. Prints busybox's exit status.
run_side() {
    local mode=$1 out=$2 err=$3 in=$4 filter=$5
    shift 5
    local -a cmd=(timeout -k 5 "$timeout_s")
    [ "$mode" = sandbox ] && cmd+=("$sandbox" run)
    cmd+=("$busybox" "$@")
    if [ -n "$filter" ]; then
        "${cmd[@]}" <"$in" 2>"$err" | sh -c "$filter" >"$out"
        echo "${PIPESTATUS[0]}"
    else
        "${cmd[@]}" <"$in" >"$out" 2>"$err"
        echo $?
    fi
}

# compare LABEL INPUT FILTER ARGS...: one native-vs-sandbox case. INPUT is the text
# fed on stdin ("" for /dev/null).
compare() {
    local label=$1 input=$2 filter=$3
    shift 3
    if [ -n "$skip_all" ]; then
        echo "SKIP $label: $skip_all"
        skipped=$((skipped + 1))
        return
    fi
    local in=/dev/null
    if [ -n "$input" ]; then
        in=$work/stdin
        printf '%s' "$input" >"$in"
    fi
    local n_rc s_rc
    n_rc=$(run_side native "$work/n.out" "$work/n.err" "$in" "$filter" "$@")
    s_rc=$(run_side sandbox "$work/s.out" "$work/s.err" "$in" "$filter" "$@")
    if [ "$n_rc" -eq "$s_rc" ] && cmp -s "$work/n.out" "$work/s.out"; then
        echo "PASS $label"
        passed=$((passed + 1))
        return
    fi
    echo "FAIL $label: exit status native $n_rc, sandbox $s_rc"
    diff -u --label native --label sandbox "$work/n.out" "$work/s.out" | head -n 30 |
        sed 's/^/    /'
    if [ -s "$work/s.err" ]; then
        echo "    --- sandbox stderr"
        head -n 20 "$work/s.err" | sed 's/^/    /'
    fi
    failed=$((failed + 1))
}

# check ARGS...: busybox ARGS, stdin from /dev/null.
check() { compare "$(label_of "$@")" "" "" "$@"; }
# check_in TEXT ARGS...: busybox ARGS with TEXT on stdin.
check_in() {
    local text=$1
    shift
    compare "$(label_of "$@") (stdin $(printf '%q' "$text"))" "$text" "" "$@"
}
# check_pipe FILTER ARGS...: busybox ARGS | FILTER, the pipe on the host side.
check_pipe() {
    local filter=$1
    shift
    compare "$(label_of "$@") | $filter" "" "$filter" "$@"
}

check echo hi
check echo -n no newline
check uname -s
check uname -m
check seq 1 5
check true
check false
check printf '%s\n' a b
check expr 6 '*' 7
check expr length hello
check test 2 -lt 1
check basename /a/b/c
check dirname /a/b/c
check sleep 0.05
check wc -l
check_pipe 'tail -n 1' seq 1 100000
check_in $'b\na\nc\n' sort
check_in $'hello, sandbox\n' tr a-z A-Z
check_in $'abc\n' sha256sum

echo "e2e: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
