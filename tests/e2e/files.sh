#!/usr/bin/env bash
# End-to-end: Debian's own dynamically linked programs on the sandbox's file system.
# Each case is a shell command line, run natively as `sh -c CMD` and in the sandbox as
# `SANDBOX_BIN run /bin/sh -c CMD` (so the whole pipeline, shell included, runs in the
# sandbox, on the host's / served read-only under an in-memory overlay); stdout and
# exit status must match. Usage: tests/e2e/files.sh SANDBOX_BIN
#
# Prints `PASS|FAIL|SKIP NAME` per case, then exactly `e2e-files: N passed, N failed,
# N skipped`. Exits 1 if any case failed.
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 SANDBOX_BIN" >&2
    exit 2
fi
sandbox=$1
timeout_s=${E2E_TIMEOUT:-120}

passed=0 failed=0 skipped=0
work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-files.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A large host file the sandbox reads through the Gofer (64 MiB, not all zeros).
big=$work/big
head -c 67108864 /dev/zero | tr '\0' 'x' >"$big"
printf 'tail' >>"$big"

. "$(dirname "$0")/lib/compare.sh"
case_() { compare_case "$1" "$2" /bin/sh "$3"; }

# ls -la /: the mount points (dev, proc, sys) are the sandbox's own, and directories
# other processes may write to while the test runs (tmp, root, work) are left out;
# spaces are squeezed because ls pads columns to the widest entry.
case_ "ls -la /" ls \
    "ls -la / | tr -s ' ' | grep -v '^total' | grep -v -E ' (dev|proc|sys|tmp|root|work)\$'"
case_ "cat /etc/os-release" cat "cat /etc/os-release"
case_ "find /usr/share/doc -name copyright | head" find \
    "find /usr/share/doc -name copyright | head"
case_ "sha256sum of a 64 MiB host file" sha256sum "sha256sum '$big'"
case_ "sha256sum of a 32 MiB file written in /tmp" sha256sum \
    "d=\$(mktemp -d) && head -c 33554432 /dev/zero | tr '\\0' 'y' >\$d/f && sha256sum <\$d/f && rm -r \$d"
case_ "python3 json listdir /" python3 \
    "python3 -c 'import os, json; print(json.dumps(sorted(os.listdir(\"/\"))))'"
case_ "sqlite3 database in /tmp" sqlite3 \
    "d=\$(mktemp -d) && cd \$d && sqlite3 t.db 'create table t(a integer, b text); insert into t values (1, \"x\"), (2, \"y\"), (3, \"z\");' && sqlite3 t.db 'select sum(a), group_concat(b) from t; pragma integrity_check;' && ls && cd / && rm -r \$d"
case_ "seq | sort -rn | head -3" sort "seq 1 100000 | sort -rn | head -3"
case_ "write, read back, remove in /tmp" cat \
    "d=\$(mktemp -d) && echo hello >\$d/f && cat \$d/f && mv \$d/f \$d/g && ls \$d && rm \$d/g && rmdir \$d && ls \$d"
case_ "python3 files and subprocess" python3 \
    "python3 -c 'import os, subprocess, tempfile
d = tempfile.mkdtemp()
p = os.path.join(d, \"a.txt\")
open(p, \"w\").write(\"one\\ntwo\\n\")
print(subprocess.run([\"wc\", \"-l\", p], capture_output=True, text=True).stdout.split()[0])
os.rename(p, p + \".old\"); print(sorted(os.listdir(d)))
os.unlink(p + \".old\"); os.rmdir(d); print(os.path.exists(d))'"

echo "e2e-files: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
