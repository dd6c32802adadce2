#!/usr/bin/env bash
# End-to-end: processes, threads, signals and job control with real programs. Each
# case is a bash command line, run natively as `bash -c CMD` and in the sandbox as
# `SANDBOX_BIN run /bin/bash -c CMD`; stdout and exit status must match.
# Usage: tests/e2e/processes.sh SANDBOX_BIN
#
# Prints `PASS|FAIL|SKIP NAME` per case, then exactly `e2e-processes: N passed,
# N failed, N skipped`. Exits 1 if any case failed.
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 SANDBOX_BIN" >&2
    exit 2
fi
sandbox=$1
timeout_s=${E2E_TIMEOUT:-120}

passed=0 failed=0 skipped=0
work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-processes.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A small C project for make and gcc (the sandbox reads it through the Gofer and
# builds in a copy under its own /tmp).
mkdir -p "$work/proj"
cat >"$work/proj/main.c" <<'EOF'
#include <stdio.h>
int add(int a, int b);
int scale(int a);
int main(void) { printf("add=%d scale=%d\n", add(2, 3), scale(7)); return 0; }
EOF
echo 'int add(int a, int b) { return a + b; }' >"$work/proj/add.c"
echo 'int scale(int a) { return a * 6; }' >"$work/proj/scale.c"
printf 'prog: main.o add.o scale.o\n\tgcc -o $@ $^\n%%.o: %%.c\n\tgcc -O2 -c $<\nclean:\n\trm -f prog *.o\n' \
    >"$work/proj/Makefile"

. "$(dirname "$0")/lib/compare.sh"
case_() { compare_case "$1" "$2" /bin/bash "$3"; }

case_ "busybox sh: seq 1 100000 | sort -rn | head -3" busybox \
    "busybox sh -c 'seq 1 100000 | sort -rn | head -3'"
case_ "make builds a C project with gcc" make \
    "d=\$(mktemp -d) && cp -r '$work/proj/.' \$d && cd \$d && make -s && ./prog && make -s clean && ls && cd / && rm -r \$d"
case_ "python3 multiprocessing pool" python3 \
    "python3 -c 'from multiprocessing import Pool
with Pool(4) as p: print(p.map(abs, range(-6, 6)))'"
case_ "python3 concurrent.futures thread pool" python3 \
    "python3 -c 'from concurrent.futures import ThreadPoolExecutor as E
with E(8) as e: print(sum(e.map(lambda x: x * x, range(1000))))'"
case_ "a Go program (Debian's runsc --version)" runsc "runsc --version"
case_ "bash: subshells, traps, wait" bash \
    "trap 'echo trapped USR1' USR1; (echo sub \$((6 * 7))); x=\$(echo cmdsub); echo \$x
     sleep 0.2 & p=\$!; kill -USR1 \$\$; wait \$p; echo waited \$?
     ( trap 'echo child TERM; exit 3' TERM; kill -TERM \$BASHPID; sleep 1 ); echo sub exit \$?
     trap 'echo on exit' EXIT; false | true; echo pipe \$?"
case_ "bash: job control" bash \
    "set -m; sleep 30 & jobs | sed 's/[0-9]\\+ //'; kill -STOP %1; sleep 0.2; jobs | sed 's/[0-9]\\+ //'
     kill -CONT %1; kill %1; wait %1; echo status \$?"

echo "e2e-processes: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
