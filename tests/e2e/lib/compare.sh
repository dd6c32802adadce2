# Sourced by the e2e scripts that compare a command line run natively with the same
# command line run in the sandbox. The caller sets: sandbox (the binary), work (a
# scratch directory), timeout_s, and the counters passed, failed, skipped; optionally
# run_as, an array of words both runs start with (e.g. setpriv ... to run as a user).

# compare_case NAME NEEDS SHELL CMD: runs `SHELL -c CMD` natively and as
# `$sandbox run SHELL -c CMD` (stdin /dev/null); stdout and exit status must match and
# the native output must not be empty. NEEDS is a program that must exist (else SKIP).
compare_case() {
    local name=$1 needs=$2 shell=$3 cmd=$4
    if ! command -v "$needs" >/dev/null 2>&1; then
        echo "SKIP $name (no $needs)"
        skipped=$((skipped + 1))
        return
    fi
    if [ ! -x "$sandbox" ]; then
        echo "SKIP $name (no sandbox binary at $sandbox)"
        skipped=$((skipped + 1))
        return
    fi
    local n_out=$work/native.out s_out=$work/sandbox.out s_err=$work/sandbox.err
    timeout -k 5 "$timeout_s" ${run_as[@]+"${run_as[@]}"} "$shell" -c "$cmd" </dev/null \
        >"$n_out" 2>/dev/null
    local n_rc=$?
    timeout -k 5 "$timeout_s" ${run_as[@]+"${run_as[@]}"} "$sandbox" run "$shell" -c "$cmd" \
        </dev/null >"$s_out" 2>"$s_err"
    local s_rc=$?
    if [ "$n_rc" = "$s_rc" ] && cmp -s "$n_out" "$s_out" && [ -s "$n_out" ]; then
        echo "PASS $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name (exit native $n_rc, sandbox $s_rc)"
        diff "$n_out" "$s_out" | head -20
        tail -20 "$s_err"
        failed=$((failed + 1))
    fi
}
