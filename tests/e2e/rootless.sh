#!/usr/bin/env bash
# Rootless sandboxes: `sandbox run` started by a user who is not root. The Gofer and
# the Sentry then live in user namespaces of their own whose root is that user, so they
# can chroot, pivot_root and mount without any privilege on the host. Usage:
# tests/e2e/rootless.sh SANDBOX_BIN
#
# Each case runs the same shell command natively and in the sandbox as ROOTLESS_UID
# (default 4242, a uid no account needs to have) through setpriv, and compares stdout
# and exit status; a few cases check what only the sandbox does (files owned by host
# root show the overflow id, 65534, as in rootless podman and runsc).
# Prints `PASS|FAIL|SKIP NAME` per case, then exactly `e2e-rootless: N passed,
# N failed, N skipped`. Exits 1 if any case failed. Needs root to switch users.
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 SANDBOX_BIN" >&2
    exit 2
fi
sandbox=$(readlink -f "$1")
build=$(dirname "$sandbox")
uid=${ROOTLESS_UID:-4242}
timeout_s=${E2E_TIMEOUT:-60}
passed=0 failed=0 skipped=0

finish() {
    echo "e2e-rootless: $passed passed, $failed failed, $skipped skipped"
    [ "$failed" = 0 ]
    exit
}

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null 2>&1 || [ ! -x "$sandbox" ]; then
    echo "SKIP all (needs root and setpriv to become uid $uid, and $sandbox)"
    skipped=1
    finish
fi
if [ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 0)" = 0 ]; then
    echo "SKIP all (user namespaces are disabled on this host)"
    skipped=1
    finish
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-rootless.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
mkdir "$work/home"
echo "the user's own data" >"$work/home/own"
chmod 640 "$work/home/own"
chown -R "$uid:$uid" "$work/home"
echo "root's secret" >"$work/secret"
chmod 600 "$work/secret"

as_user() { setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"; }

. "$(dirname "$0")/lib/compare.sh"
run_as=(setpriv --reuid="$uid" --regid="$uid" --clear-groups)

# same NAME CMD: CMD under sh as the user in its home, natively and sandboxed: same
# stdout and exit status, and some output.
same() {
    cd "$work/home" || return
    compare_case "$1" sh sh "$2"
    cd - >/dev/null || return
}

# check NAME EXPECTED CMD: CMD in the sandbox as the user must print EXPECTED.
check() {
    local name=$1 want=$2 cmd=$3 got
    got=$(cd "$work/home" && timeout -k 5 "$timeout_s" setpriv --reuid="$uid" \
        --regid="$uid" --clear-groups "$sandbox" run sh -c "$cmd" </dev/null 2>"$work/err")
    if [ "$got" = "$want" ]; then
        echo "PASS $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name: got '$got', want '$want'"
        tail -5 "$work/err"
        failed=$((failed + 1))
    fi
}

same ids 'id -u; id -g; id -G'
same own-file 'stat -c "%u %g %a %s" own; cat own'
same root-file-denied 'cat '"$work"'/secret 2>/dev/null || echo denied'
same cwd-kept 'pwd'
same write-own-dir 'rm -f new; echo written >new; cat new; stat -c "%u %g" new'
same pipeline 'seq 1 2000 | sort -rn | head -3'
check root-owned-shows-overflow-id "65534 65534" 'stat -c "%u %g" /etc/hostname'
check write-in-overlay "changed" 'echo changed >own; cat own'
if [ "$(cat "$work/home/own")" = "the user's own data" ]; then
    echo "PASS host-file-still-unchanged"
    passed=$((passed + 1))
else
    echo "FAIL host-file-still-unchanged: the read-only root was written through"
    failed=$((failed + 1))
fi

# The confined Sentry refuses the same things as when root started it.
out=$(as_user "$sandbox" run --probe-confinement /bin/echo ran 2>"$work/probe")
refused=$(grep -c '^confinement: .*: refused (Operation not permitted)$' "$work/probe")
if [ "$out" = ran ] && [ "$refused" = 7 ]; then
    echo "PASS confinement"
    passed=$((passed + 1))
else
    echo "FAIL confinement (output '$out', $refused refusals)"
    cat "$work/probe"
    failed=$((failed + 1))
fi

# A few guest tests, native vs sandbox, as the user.
for t in io_hello proc_fork_wait thread_pthreads signal_handlers mm_fault_around; do
    bin=$build/guest/$t.gcc
    if [ ! -x "$bin" ]; then
        echo "SKIP guest-$t (not built)"
        skipped=$((skipped + 1))
        continue
    fi
    same "guest-$t" "$bin"
done

finish
