#!/usr/bin/env bash
# The KVM platform on hardware virtualization, tested without such hardware: boots
# Debian's kernel under qemu-system-x86_64 with TCG and an emulated AMD CPU with SVM
# (QEMU's TCG emulates SVM with nested paging, not VMX), loads kvm_amd there, and runs
# the guest tests inside that VM on the sandbox's platforms. `make test-kvm-hw` runs it.
# Usage: tests/kvm-hw/run.sh BUILD_DIR
#
# BUILD_DIR holds the sandbox binary and the guest tests (make all guest). The kernel
# comes from Debian's linux-image package (apt-get download, unpacked, nothing
# installed); the VM's root is an initramfs with busybox, bash, the sandbox and the
# tests. Inside, the init script copies it to a tmpfs and switches to it (pivot_root,
# which the Sentry confines itself with, refuses the initial ramfs).
# Every test runs on each of KVM_HW_PLATFORMS (default "ptrace kvm") inside the VM.
# The VM's kernel is Debian 12's, older than most hosts', and a few guest tests see
# its older behaviour natively (an errno, an event order) where the sandbox gives the
# newer one: so the verdict is relative. A case fails this target when it fails on
# kvm but passes on ptrace in the same VM (or fails on every platform given, when
# there is only one). KVM_HW_TESTS (a grep -E pattern, default all) picks tests;
# KVM_HW_VARIANTS (default "gcc") the builds. Prints each case, the runner's summary,
# then exactly `kvm-hw: N passed, N failed, N skipped` (cases of the last platform
# listed). Exits 1 if any failed.
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
build=$(readlink -f "$1")
src=$(cd "$(dirname "$0")/../.." && pwd)
out=$build/kvm-hw
platforms=${KVM_HW_PLATFORMS:-ptrace kvm}
tests_re=${KVM_HW_TESTS:-.}
variants=${KVM_HW_VARIANTS:-gcc}
vm_timeout=${KVM_HW_TIMEOUT:-3000}

die() { echo "kvm-hw: $*" >&2; echo "kvm-hw: 0 passed, 1 failed, 0 skipped"; exit 1; }

for tool in qemu-system-x86_64 cpio apt-get dpkg-deb busybox; do
    command -v "$tool" >/dev/null || die "needs $tool (make test-kvm-hw installs it)"
done
[ -x "$build/sandbox" ] || die "no $build/sandbox (make all guest first)"

# 1. Debian's kernel and its kvm modules, unpacked once.
mkdir -p "$out"
if [ ! -d "$out/kernel/boot" ]; then
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
          sed -n 's/.*Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1)
    [ -n "$pkg" ] || die "cannot tell which kernel linux-image-amd64 is"
    (cd "$out" && rm -f linux-image-*.deb && apt-get download "$pkg" >/dev/null) ||
        die "apt-get download $pkg failed"
    rm -rf "$out/kernel"
    dpkg-deb -x "$out"/linux-image-*.deb "$out/kernel" || die "cannot unpack $pkg"
fi
vmlinuz=$(ls "$out"/kernel/boot/vmlinuz-* | head -n 1)

# 2. The root file system.
root=$out/rootfs
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,mod,etc,newroot} "$root/lib64"
cp "$(command -v busybox)" "$root/bin/busybox"
# copy_bin FILE: FILE and the shared libraries it loads, at their own paths.
copy_bin() {
    local f
    mkdir -p "$root$(dirname "$1")"
    cp -L "$1" "$root$1"
    for f in $(ldd "$1" 2>/dev/null | grep -o '/[^ ]*'); do
        mkdir -p "$root$(dirname "$f")"
        cp -L "$f" "$root$f"
    done
}
copy_bin /bin/bash
copy_bin "$build/sandbox"
mkdir -p "$root$build/guest" "$root$src/tests/guest"
cp "$src"/tests/guest/run.sh "$src"/tests/guest/*.c "$src"/tests/guest/*.h "$root$src/tests/guest/"
n=0
for v in $variants; do
    for bin in "$build"/guest/*."$v"; do
        name=$(basename "$bin" ."$v")
        echo "$name" | grep -qE "$tests_re" || continue
        if [ "$v" = dyn ]; then copy_bin "$bin"; else cp "$bin" "$root$bin"; fi
        n=$((n + 1))
    done
done
[ "$n" -gt 0 ] || die "no guest tests match '$tests_re' in $build/guest"
for m in irqbypass kvm ccp kvm-amd; do
    f=$(find "$out/kernel/lib/modules" -name "$m.ko" | head -n 1)
    [ -n "$f" ] || die "no $m.ko in the kernel package"
    cp "$f" "$root/mod/"
done
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"
cat >"$root/init" <<INIT
#!/bin/busybox sh
/bin/busybox mkdir -p /newroot
/bin/busybox mount -t tmpfs -o size=80% tmpfs /newroot
/bin/busybox cp -a /bin /sbin /lib* /usr /etc /mod /init2 "$(echo "$src" | cut -d/ -f2 | sed 's|^|/|')" /newroot/ 2>/dev/null
[ -d /newroot$build ] || /bin/busybox cp -a "/$(echo "$build" | cut -d/ -f2)" /newroot/
exec /bin/busybox switch_root /newroot /init2
INIT
cat >"$root/init2" <<INIT2
#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
ln -s /proc/self/fd /dev/fd
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts && ln -sf pts/ptmx /dev/ptmx
mount -t tmpfs tmpfs /dev/shm; mount -t tmpfs tmpfs /tmp
# loopback up, as on any booted system: the socket tests' native runs need it
ip link set lo up || echo "kvm-hw: cannot bring lo up"
for m in irqbypass kvm ccp kvm-amd; do insmod /mod/\$m.ko || echo "kvm-hw: insmod \$m failed"; done
if [ -c /dev/kvm ]; then echo "kvm-hw: /dev/kvm is here (kvm_amd on emulated SVM)"; fi
cd $src
# one run first, with the platform's own account of itself on the console
$build/sandbox run --platform=kvm --debug-log=/tmp/kvm-probe.log /bin/busybox true
echo "kvm-hw: a first run on kvm exited \$?"
grep -i -E 'kvm|platform' /tmp/kvm-probe.log | head -n 20 | sed 's/^/kvm-hw: log: /'
SANDBOX_PLATFORMS="$platforms" GUEST_TESTS="$tests_re" GUEST_VARIANTS="$variants" GUEST_TIMEOUT=600 /bin/bash tests/guest/run.sh $build/sandbox $build 2>&1
echo "kvm-hw: runner exited"
poweroff -f
INIT2
chmod +x "$root/init" "$root/init2"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$out/initrd.gz") ||
    die "cannot pack the initramfs"

# 3. Boot it.
# The CPU: EPYC (SVM with nested paging, XSAVE) with 48 physical address bits, since
# the kvm platform puts its private area at 1 TiB of guest-physical space; QEMU's
# default qemu64 has 40 bits and no XSAVE (and its kernel hangs with +xsave under TCG).
log=$out/console.log
start=$(date +%s)
timeout -k 10 "$vm_timeout" qemu-system-x86_64 -accel tcg -cpu EPYC,phys-bits=48 \
    -m 2048 -smp 1 -kernel "$vmlinuz" -initrd "$out/initrd.gz" \
    -append "console=ttyS0 quiet panic=-1" -nographic -no-reboot </dev/null 2>&1 |
    tr -d '\r' | tee "$log" | grep -E '^(PASS|FAIL|SKIP|kvm-hw:|guest:)'
echo "kvm-hw: the VM ran $(( $(date +%s) - start )) s"
grep -qE '^guest: [0-9]+ passed' "$log" || die "the guest runner did not finish (see $log)"
grep -q 'kvm-hw: /dev/kvm is here' "$log" || die "kvm_amd did not load in the VM (see $log)"

# The verdict: cases of the last platform, failed only if no earlier platform passed
# the same case (a difference of the VM's kernel fails everywhere).
read -r -a plats <<<"$platforms"
last=${plats[${#plats[@]} - 1]}
p=0 f=0 k=0
while read -r verdict label; do
    case $verdict in
    PASS) p=$((p + 1)) ;;
    SKIP) k=$((k + 1)) ;;
    FAIL)
        others_pass=
        for other in "${plats[@]}"; do
            [ "$other" = "$last" ] && continue
            grep -qF "PASS ${label% $last]} $other]" "$log" && others_pass=1
        done
        if [ -n "$others_pass" ] || [ ${#plats[@]} = 1 ]; then
            echo "kvm-hw: FAIL $label${others_pass:+ (passes on another platform)}"
            f=$((f + 1))
        else
            echo "kvm-hw: same on every platform (the VM's kernel): $label"
            k=$((k + 1))
        fi ;;
    esac
done < <(grep -E "^(PASS|FAIL|SKIP) .* $last\]" "$log" | sed -E 's/^(PASS|FAIL|SKIP) (.*\])(:.*)?$/\1 \2/')
echo "kvm-hw: $p passed, $f failed, $k skipped"
[ "$f" = 0 ]
