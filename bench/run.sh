#!/bin/bash
# bench/run.sh BUILD_DIR — build the bench programs into BUILD_DIR/bench and
# print one table: syscall cost, start-up time, the cost of fork+wait, thread
# create+join and a futex ping-pong, and of file operations (stat,
# open+read+close, create+unlink, listing a 10,000-entry directory, 256 MiB
# sequential write and read), natively, for the bare PTRACE_SYSEMU floor
# (syscall cost only), under our sandbox and under runsc (gVisor).
#
# A row that cannot be measured (sandbox missing or failing, runsc not
# installed) shows n/a; the rest still runs. Diagnostics go to
# BUILD_DIR/bench/log.txt. See bench/README.md.
#
# Environment overrides:
#   SANDBOX   sandbox binary (default BUILD_DIR/sandbox), run as: $SANDBOX run PROG ARGS
#   RUNSC     runsc binary (default: from PATH; set RUNSC= to skip runsc)
#   N_NATIVE  getppid calls natively and for the bare round trip (200000)
#   N_GUEST   getppid calls in the sandbox and runsc (20000)
#   N_PROC_NATIVE  iterations of forkwait, threads and pingpong natively (2000)
#   N_PROC_GUEST   the same in the sandbox and runsc (200)
#   N_FS_NATIVE  iterations of statfile, openread and createunlink natively (20000)
#   N_FS_GUEST   the same in the sandbox and runsc (2000)
#   STAT_PATH    the file the stat row stats (/etc/os-release, a symlink on Debian;
#                the "no symlink" row stats BUILD_DIR/bench/data4k)
#   N_DIR     full listings of the directory, everywhere (20)
#   DIR_FILES entries in that directory (10000)
#   SEQ_MIB   MiB that seqio writes and reads back, everywhere (256)
#   UNIX_MIB  MiB that unixstream sends over an AF_UNIX socketpair (256)
#   VETH_MIB  MiB per TCP transfer across the veth pair of the sandbox-network rows
#             (256; bench/veth.sh, which needs root and ip netns)
#   NATIVE_TMP  where the native runs of createunlink, getdents and seqio make
#             their files (/tmp; in the sandbox and runsc it is always /tmp, the
#             in-memory upper layer of their root overlay; /dev/shm compares
#             memory with memory)
#   RUNS      start-up runs per median (20)
#   REPS      repetitions of each per-call measurement; the median is shown (3)
#   TMO       seconds before one measurement is given up as hung (30)
set -u

B=${1:?usage: bench/run.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$B/bench" || exit 1
OUT=$(cd "$B/bench" && pwd)          # absolute: the guests see the host's /
LOG=$OUT/log.txt
: >"$LOG"

SANDBOX=${SANDBOX:-$(cd "$B" && pwd)/sandbox}
RUNSC=${RUNSC-$(command -v runsc || true)}
N_NATIVE=${N_NATIVE:-200000}
N_GUEST=${N_GUEST:-20000}
N_PROC_NATIVE=${N_PROC_NATIVE:-2000}
N_PROC_GUEST=${N_PROC_GUEST:-200}
N_FS_NATIVE=${N_FS_NATIVE:-20000}
N_FS_GUEST=${N_FS_GUEST:-2000}
STAT_PATH=${STAT_PATH:-/etc/os-release}
N_DIR=${N_DIR:-20}
DIR_FILES=${DIR_FILES:-10000}
SEQ_MIB=${SEQ_MIB:-256}
NATIVE_TMP=${NATIVE_TMP:-/tmp}
RUNS=${RUNS:-20}
REPS=${REPS:-3}
TMO=${TMO:-30}
UNIX_MIB=${UNIX_MIB:-256}
N_KVM=${N_KVM:-2000}
PF_MIB=${PF_MIB:-1024}
TMO_PF=${TMO_PF:-300}

# --- build ------------------------------------------------------------------
for p in getppid true bare_sysemu timeit forkwait forkexec threads pingpong \
         statfile openread createunlink getdents seqio unixstream net pagefault bare_kvm \
         vethbulk; do
    gcc -O2 -static -pthread -Wall -o "$OUT/$p" "$HERE/$p.c" || { echo "bench: building $p failed" >&2; exit 1; }
done
# The file openread reads: 4 KiB on the served root (OUT is on the host's /).
DATA4K=$OUT/data4k
[ "$(stat -c %s "$DATA4K" 2>/dev/null)" = 4096 ] || head -c 4096 /dev/urandom >"$DATA4K" || exit 1

# --- how each system runs a program -----------------------------------------
# Arrays, not functions: timeout and timeit exec them.
SANDBOX_CMD=("$SANDBOX" run)
# runsc do: the host / read-only with a tmpfs overlay, so host paths work.
# --platform=ptrace is the comparable platform (ours is ptrace too).
RUNSC_CMD=("$RUNSC" --network=none --platform=ptrace do)
have_sandbox() { [ -x "$SANDBOX" ] || { echo "== no sandbox binary at $SANDBOX" >>"$LOG"; return 1; }; }
have_runsc() { [ -n "$RUNSC" ] || { echo "== runsc not installed (or RUNSC set empty)" >>"$LOG"; return 1; }; }

# --- helpers --------------------------------------------------------------------
is_num() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }

# run LABEL CMD...: run CMD once with a timeout, stdin from /dev/null; print its
# stdout. On failure log why and return 1. (timeout kills the whole process
# group, so a hung sandbox does not outlive the bench.)
run() {
    local label=$1 out rc
    shift
    echo "== $label: $*" >>"$LOG"
    out=$(timeout -k 5 "$TMO" "$@" </dev/null 2>>"$LOG")
    rc=$?
    if [ $rc -ne 0 ]; then
        echo "== $label: FAILED, exit $rc" >>"$LOG"
        return 1
    fi
    printf '%s\n' "$out"
}

# median VALUES...: median of numbers (the middle one; REPS is meant to be odd).
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }

# per_call LABEL CMD...: run CMD $REPS times; its last output line is a number;
# print the median, or n/a. (The last line, in case a sandbox logs to stdout.)
per_call() {
    local label=$1 v vals=() i
    shift
    for ((i = 0; i < REPS; i++)); do
        v=$(run "$label" "$@") || { echo n/a; return; }
        v=$(printf '%s\n' "$v" | tail -n 1)
        is_num "$v" || { echo "== $label: FAILED, not a number: '$v'" >>"$LOG"; echo n/a; return; }
        vals+=("$v")
    done
    median "${vals[@]}"
}

# startup LABEL CMD...: median wall ms of $RUNS runs of CMD, or n/a.
startup() {
    local label=$1 v
    shift
    v=$(run "$label" "$OUT/timeit" "$RUNS" "$@") || { echo n/a; return; }
    is_num "$v" || { echo "== $label: FAILED, not a number: '$v'" >>"$LOG"; echo n/a; return; }
    echo "$v"
}

# ratio A B: A/B as "1.23x", or n/a when either is missing.
ratio() {
    is_num "$1" && is_num "$2" || { echo n/a; return; }
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx\n", a / b; else print "n/a" }'
}

# The bare round trip needs both numbers from one program; run it REPS times
# and take each median separately.
bare_runs() {
    local i out regs=() only=() r o
    for ((i = 0; i < REPS; i++)); do
        out=$(run bare "$OUT/bare_sysemu" "$N_NATIVE") || { echo "n/a n/a"; return; }
        r=$(printf '%s\n' "$out" | awk '$1 == "sysemu+regs" { print $2 }')
        o=$(printf '%s\n' "$out" | awk '$1 == "sysemu" { print $2 }')
        is_num "$r" && is_num "$o" || { echo "== bare: FAILED, bad output: $out" >>"$LOG"; echo "n/a n/a"; return; }
        regs+=("$r"); only+=("$o")
    done
    echo "$(median "${regs[@]}") $(median "${only[@]}")"
}

# seq_runs LABEL CMD...: run seqio ($REPS times); print the median write and the
# median read MiB/s, or "n/a n/a".
seq_runs() {
    local label=$1 i out w r ws=() rs=()
    shift
    for ((i = 0; i < REPS; i++)); do
        out=$(run "$label" "$@") || { echo "n/a n/a"; return; }
        w=$(printf '%s\n' "$out" | awk '$1 == "write" { print $2 }' | tail -n 1)
        r=$(printf '%s\n' "$out" | awk '$1 == "read" { print $2 }' | tail -n 1)
        is_num "$w" && is_num "$r" || { echo "== $label: FAILED, bad output: $out" >>"$LOG"; echo "n/a n/a"; return; }
        ws+=("$w"); rs+=("$r")
    done
    echo "$(median "${ws[@]}") $(median "${rs[@]}")"
}

# us_runs LABEL CMD...: run unixstream ($REPS times); print the median MiB/s or n/a.
us_runs() {
    local label=$1 i out v vs=()
    shift
    for ((i = 0; i < REPS; i++)); do
        out=$(run "$label" "$@") || { echo "n/a"; return; }
        v=$(printf '%s\n' "$out" | awk '$1 == "stream" { print $2 }' | tail -n 1)
        is_num "$v" || { echo "== $label: FAILED, bad output: $out" >>"$LOG"; echo "n/a"; return; }
        vs+=("$v")
    done
    median "${vs[@]}"
}

# --- measure ------------------------------------------------------------------
echo "bench: $(nproc) CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the numbers)"
echo "bench: getppid N=$N_NATIVE native/bare, N=$N_GUEST sandbox/runsc, median of $REPS runs; startup median of $RUNS runs"
echo "bench: forkwait/forkexec/threads/pingpong N=$N_PROC_NATIVE native, N=$N_PROC_GUEST sandbox/runsc, median of $REPS runs"
echo "bench: statfile ($STAT_PATH, and $DATA4K)/openread/createunlink N=$N_FS_NATIVE native, N=$N_FS_GUEST sandbox/runsc; getdents $N_DIR listings of $DIR_FILES files; seqio $SEQ_MIB MiB; native files in $NATIVE_TMP; median of $REPS runs"
if [ -n "$RUNSC" ]; then runsc_desc="${RUNSC_CMD[*]} PROG"; else runsc_desc="not installed"; fi
echo "bench: sandbox: ${SANDBOX_CMD[*]} PROG; runsc: $runsc_desc"

sc_native=$(per_call native "$OUT/getppid" "$N_NATIVE")
read -r sc_bare sc_bare_noregs < <(bare_runs)
sc_sandbox=n/a st_sandbox=n/a sc_runsc=n/a st_runsc=n/a
if have_sandbox; then
    sc_sandbox=$(per_call sandbox "${SANDBOX_CMD[@]}" "$OUT/getppid" "$N_GUEST")
fi
if have_runsc; then
    sc_runsc=$(per_call runsc "${RUNSC_CMD[@]}" "$OUT/getppid" "$N_GUEST")
fi

st_native=$(startup native "$OUT/true")
have_sandbox && st_sandbox=$(startup sandbox "${SANDBOX_CMD[@]}" "$OUT/true")
have_runsc && st_runsc=$(startup runsc "${RUNSC_CMD[@]}" "$OUT/true")

# fork+wait, thread create+join, futex ping-pong: µs per iteration, each
# program timing its own loop like getppid. Results in PR_<prog>_<system>.
for p in forkwait forkexec threads pingpong; do
    declare "PR_${p}_native=$(per_call "$p native" "$OUT/$p" "$N_PROC_NATIVE")"
    declare "PR_${p}_sandbox=n/a" "PR_${p}_runsc=n/a"
    if have_sandbox; then
        declare "PR_${p}_sandbox=$(per_call "$p sandbox" "${SANDBOX_CMD[@]}" "$OUT/$p" "$N_PROC_GUEST")"
    fi
    if have_runsc; then
        declare "PR_${p}_runsc=$(per_call "$p runsc" "${RUNSC_CMD[@]}" "$OUT/$p" "$N_PROC_GUEST")"
    fi
done

# File operations: µs per operation, each program timing its own loop. Results
# in PR_<row>_<system> like the rows above. fs_cmd ROW N sets FS_CMD to the
# program and its arguments; TMP is where it makes its files.
fs_cmd() { # fs_cmd ROW N TMP
    case $1 in
    stat)      FS_CMD=("$OUT/statfile" "$2" "$STAT_PATH") ;;   # a symlink on Debian
    statplain) FS_CMD=("$OUT/statfile" "$2" "$DATA4K") ;;      # a regular file
    openread)  FS_CMD=("$OUT/openread" "$2" "$DATA4K") ;;
    create)    FS_CMD=("$OUT/createunlink" "$2" "$3") ;;
    getdents)  FS_CMD=("$OUT/getdents" "$2" "$DIR_FILES" "$3") ;;
    esac
}
for k in stat statplain openread create getdents; do
    if [ "$k" = getdents ]; then nn=$N_DIR ng=$N_DIR; else nn=$N_FS_NATIVE ng=$N_FS_GUEST; fi
    fs_cmd "$k" "$nn" "$NATIVE_TMP"
    declare "PR_${k}_native=$(per_call "$k native" "${FS_CMD[@]}")"
    declare "PR_${k}_sandbox=n/a" "PR_${k}_runsc=n/a"
    fs_cmd "$k" "$ng" /tmp
    if have_sandbox; then
        declare "PR_${k}_sandbox=$(per_call "$k sandbox" "${SANDBOX_CMD[@]}" "${FS_CMD[@]}")"
    fi
    if have_runsc; then
        declare "PR_${k}_runsc=$(per_call "$k runsc" "${RUNSC_CMD[@]}" "${FS_CMD[@]}")"
    fi
done
# Sequential write and read: MiB/s, "WRITE READ" per system.
read -r sq_w_native sq_r_native < <(seq_runs "seqio native" "$OUT/seqio" "$SEQ_MIB" "$NATIVE_TMP")
sq_w_sandbox=n/a sq_r_sandbox=n/a sq_w_runsc=n/a sq_r_runsc=n/a
if have_sandbox; then
    read -r sq_w_sandbox sq_r_sandbox < <(seq_runs "seqio sandbox" "${SANDBOX_CMD[@]}" "$OUT/seqio" "$SEQ_MIB" /tmp)
fi
if have_runsc; then
    read -r sq_w_runsc sq_r_runsc < <(seq_runs "seqio runsc" "${RUNSC_CMD[@]}" "$OUT/seqio" "$SEQ_MIB" /tmp)
fi

# AF_UNIX stream throughput between two processes: MiB/s per system.
us_native=$(us_runs "unixstream native" "$OUT/unixstream" "$UNIX_MIB")
us_sandbox=n/a us_runsc=n/a
if have_sandbox; then
    us_sandbox=$(us_runs "unixstream sandbox" "${SANDBOX_CMD[@]}" "$OUT/unixstream" "$UNIX_MIB")
fi
if have_runsc; then
    us_runsc=$(us_runs "unixstream runsc" "${RUNSC_CMD[@]}" "$OUT/unixstream" "$UNIX_MIB")
fi

# --- report ---------------------------------------------------------------------
# Loopback networking (net.c): TCP bulk MB/s, connect+accept+close and UDP
# request/response in us. Results in PR_<row>_<system> like the rows above.
N_NET_MIB=${N_NET_MIB:-1024}
N_NET_NATIVE=${N_NET_NATIVE:-20000}
N_NET_GUEST=${N_NET_GUEST:-2000}
for k in tcpbulk connrate udprr; do
    if [ $k = tcpbulk ]; then nn=$N_NET_MIB ng=$N_NET_MIB; else nn=$N_NET_NATIVE ng=$N_NET_GUEST; fi
    declare "PR_${k}_native=$(per_call "$k native" "$OUT/net" $k "$nn")"
    declare "PR_${k}_sandbox=n/a" "PR_${k}_runsc=n/a"
    if have_sandbox; then
        declare "PR_${k}_sandbox=$(per_call "$k sandbox" "${SANDBOX_CMD[@]}" "$OUT/net" $k "$ng")"
    fi
    if have_runsc; then
        declare "PR_${k}_runsc=$(per_call "$k runsc" "${RUNSC_CMD[@]}" "$OUT/net" $k "$ng")"
    fi
done

row() { printf '%-26s | %8s | %8s | %8s | %8s | %14s | %12s | %13s\n' "$@"; }
echo
row "what" native bare sandbox runsc sandbox/native sandbox/bare runsc/sandbox
row "--------------------------" -------- -------- -------- -------- -------------- ------------ -------------
row "getppid, ns/call" "$sc_native" "$sc_bare" "$sc_sandbox" "$sc_runsc" \
    "$(ratio "$sc_sandbox" "$sc_native")" "$(ratio "$sc_sandbox" "$sc_bare")" "$(ratio "$sc_runsc" "$sc_sandbox")"
row "startup static true, ms" "$st_native" - "$st_sandbox" "$st_runsc" \
    "$(ratio "$st_sandbox" "$st_native")" - "$(ratio "$st_runsc" "$st_sandbox")"
# proc_row LABEL KEY: a row with no bare cell, from PR_KEY_{native,sandbox,runsc}.
proc_row() {
    local n="PR_$2_native" s="PR_$2_sandbox" r="PR_$2_runsc"
    row "$1" "${!n}" - "${!s}" "${!r}" \
        "$(ratio "${!s}" "${!n}")" - "$(ratio "${!r}" "${!s}")"
}
proc_row "fork+wait, us/iter" forkwait
proc_row "fork+exec true+wait, us" forkexec
proc_row "thread create+join, us" threads
proc_row "futex ping-pong, us/rt" pingpong
proc_row "stat, us/call" stat
proc_row "stat no symlink, us/call" statplain
proc_row "open+read 4K+close, us" openread
proc_row "create+close+unlink, us" create
proc_row "getdents ${DIR_FILES} files, us" getdents
# tp_row LABEL NATIVE SANDBOX RUNSC: MiB/s cells; the ratios are of time per MiB
# (inverted), so that above 1 means slower as in every other row.
tp_row() {
    row "$1" "$2" - "$3" "$4" "$(ratio "$2" "$3")" - "$(ratio "$3" "$4")"
}
tp_row "seq write ${SEQ_MIB} MiB, MiB/s" "$sq_w_native" "$sq_w_sandbox" "$sq_w_runsc"
tp_row "seq read ${SEQ_MIB} MiB, MiB/s" "$sq_r_native" "$sq_r_sandbox" "$sq_r_runsc"
tp_row "unix stream ${UNIX_MIB} MiB, MiB/s" "$us_native" "$us_sandbox" "$us_runsc"
tp_row "TCP bulk ${N_NET_MIB} MiB, MB/s" "$PR_tcpbulk_native" "$PR_tcpbulk_sandbox" "$PR_tcpbulk_runsc"
proc_row "TCP connect+accept+close, us" connrate
proc_row "UDP request/response, us/rt" udprr
echo
echo "(MiB/s rows: the ratios compare time per MiB, so above 1 means slower, as in the other rows)"
echo "bare round trip without GETREGS/SETREGS (SYSEMU + waitpid only): $sc_bare_noregs ns"

# Targets (bench/README.md): per call within 1.3x of bare, startup under 30 ms.
verdict() { # verdict DESC VALUE AWK-TEST-ON-v
    if ! is_num "$2"; then echo "target $1: n/a"
    elif awk -v v="$2" "BEGIN { exit !($3) }"; then echo "target $1: ok"
    else echo "target $1: MISSED"; fi
}
r=$(ratio "$sc_sandbox" "$sc_bare"); r=${r%x}
verdict "sandbox/bare <= 1.3 (is ${r})" "$r" "v <= 1.3"
verdict "sandbox startup < 30 ms (is ${st_sandbox})" "$st_sandbox" "v < 30"

# --- --network=sandbox: TCP across a veth pair (bench/veth.sh) ----------------------
# native in the namespace against the sandbox there, io_uring and plain frame I/O;
# skipped with a note without root or ip netns.
echo
if have_sandbox; then
    LOG=$LOG REPS=$REPS TMO=$TMO "$HERE/veth.sh" "$OUT" "$SANDBOX"
fi

# --- platforms: kvm beside ptrace and native ---------------------------------------
# bare kvm: the floor measured in this run by a minimal guest (ring-0 hlt, KVM_RUN
# again); the platform's target is a trapped system call within 1.5x of it, and page
# faults ahead of ptrace. "from ring 3": the same guest's cheapest exit from user
# mode (port I/O the TSS allows), the floor of any trap of a guest program, which on
# PVM hosts is several times the ring-0 one. Without a usable /dev/kvm the kvm cells
# are n/a. SANDBOX_KVM_PATCH=0: kvm without syscall patching, for comparison.
echo
kvm_bare=n/a kvm_bare3=n/a sc_kvm=n/a sc_kvm_nopatch=n/a st_kvm=n/a pf_native=n/a pf_ptrace=n/a pf_kvm=n/a sc_ptrace=$sc_sandbox
kvm_bare=$(per_call "bare kvm" "$OUT/bare_kvm" "$N_KVM")
kvm_bare3=$(per_call "bare kvm ring 3" "$OUT/bare_kvm" "$N_KVM" ring3)
pf_native=$(TMO=$TMO_PF per_call "pagefault native" "$OUT/pagefault" "$PF_MIB")
if have_sandbox; then
    sc_ptrace=$(per_call "sandbox ptrace" "${SANDBOX_CMD[@]}" --platform=ptrace "$OUT/getppid" "$N_GUEST")
    pf_ptrace=$(TMO=$TMO_PF per_call "pagefault ptrace" "${SANDBOX_CMD[@]}" --platform=ptrace "$OUT/pagefault" "$PF_MIB")
    if is_num "$kvm_bare"; then
        sc_kvm=$(per_call "sandbox kvm" "${SANDBOX_CMD[@]}" --platform=kvm "$OUT/getppid" "$N_KVM")
        sc_kvm_nopatch=$(SANDBOX_KVM_PATCH=0 per_call "sandbox kvm, no patching" "${SANDBOX_CMD[@]}" --platform=kvm "$OUT/getppid" "$N_KVM")
        st_kvm=$(startup "sandbox kvm" "${SANDBOX_CMD[@]}" --platform=kvm "$OUT/true")
        pf_kvm=$(TMO=$TMO_PF per_call "pagefault kvm" "${SANDBOX_CMD[@]}" --platform=kvm "$OUT/pagefault" "$PF_MIB")
    fi
fi
row "platform" native ptrace kvm "bare kvm" kvm/ptrace "kvm/bare kvm" -
row "--------------------------" -------- -------- -------- -------- -------------- ------------ -------------
row "getppid, ns/call" "$sc_native" "$sc_ptrace" "$sc_kvm" "$kvm_bare" \
    "$(ratio "$sc_kvm" "$sc_ptrace")" "$(ratio "$sc_kvm" "$kvm_bare")" -
row "  kvm without patching" - - "$sc_kvm_nopatch" - "$(ratio "$sc_kvm_nopatch" "$sc_ptrace")" \
    "$(ratio "$sc_kvm_nopatch" "$kvm_bare")" -
row "  bare exit from ring 3" - - - "$kvm_bare3" - "$(ratio "$sc_kvm" "$kvm_bare3")" -
row "startup static true, ms" "$st_native" "$st_sandbox" "$st_kvm" - "$(ratio "$st_kvm" "$st_sandbox")" - -
row "page fault ${PF_MIB} MiB, ns/page" "$pf_native" "$pf_ptrace" "$pf_kvm" - \
    "$(ratio "$pf_kvm" "$pf_ptrace")" - -
r=$(ratio "$sc_kvm" "$kvm_bare"); r=${r%x}
verdict "kvm/bare kvm <= 1.5 (is ${r})" "$r" "v <= 1.5"
r=$(ratio "$pf_kvm" "$pf_ptrace"); r=${r%x}
verdict "kvm page faults faster than ptrace (kvm/ptrace is ${r})" "$r" "v < 1"

grep -h '^== \(no sandbox\|runsc not\)' "$LOG" | sort -u | sed 's/^== /note: /'
grep -q FAILED "$LOG" && echo "some rows failed; details in $LOG"
exit 0
