/* The Sentry's seccomp allowlist: every host system call the Sentry (and the ptrace
 * stubs it forks, which inherit the filter) may make after confinement, each with the
 * reason it is needed. Anything else kills the whole Sentry: a Sentry tricked into an
 * unexpected call dies instead of making it (and the sandbox with it, which the CLI
 * reports). A few calls that code outside our control may try (libc opening a
 * locale file, say) fail with EPERM instead, so they are refused, not fatal.
 *
 * Guest system calls never reach this filter: the ptrace platform stops them at
 * syscall entry (PTRACE_SYSEMU), before seccomp runs. */
#include "sentry/confine.h"

#include <errno.h>
#include <linux/kvm.h>
#include <linux/sched.h>
#include <linux/sockios.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>

#include "lib/log.h"
#include "netstack/netstack.h"

struct syscall_rule {
    int nr;
    const char *why;
};

static const struct syscall_rule g_allowed[] = {
    /* guest memory: the memory file and its mappings (also the stubs' injected calls) */
    { SCMP_SYS(mmap), "map memory-file ranges; malloc; stubs map guest memory" },
    { SCMP_SYS(munmap), "unmap the same; the stub entry drops the Sentry's copy" },
    { SCMP_SYS(mprotect), "guest mprotect in the stubs; thread stack guards" },
    { SCMP_SYS(mremap), "glibc's realloc of large blocks" },
    { SCMP_SYS(madvise), "free; MADV_DONTNEED of freed guest pages" },
    { SCMP_SYS(brk), "malloc" },
    { SCMP_SYS(mincore), "guest mincore: residency of memory-file pages" },
    { SCMP_SYS(fallocate), "memory file: punch holes for freed pages; guest fallocate on "
                           "Gofer-donated and stdio files" },
    { SCMP_SYS(ftruncate), "memory file growth" },
    /* Sentry threads (one per guest thread, the timer and host-signal threads) */
    { SCMP_SYS(clone), "new Sentry threads and stub processes (only without namespace "
                       "flags: see clone_rule)" },
    { SCMP_SYS(set_robust_list), "glibc, for every new thread" },
    { SCMP_SYS(rseq), "glibc registers new threads; stubs unregister it" },
    { SCMP_SYS(futex), "pthread mutexes and condition variables" },
    { SCMP_SYS(exit), "a Sentry thread or a stub thread ends" },
    { SCMP_SYS(exit_group), "the sandbox ends" },
    { SCMP_SYS(gettid), "the tracer's identity (a stub is traced by one thread)" },
    { SCMP_SYS(getpid), "glibc's raise and abort" },
    { SCMP_SYS(sched_yield), "guest sched_yield; spin-waits" },
    { SCMP_SYS(sched_setaffinity), "pin a stub thread to its tracer's CPU" },
    { SCMP_SYS(sched_getaffinity), "glibc's pthread_create" },
    { SCMP_SYS(prctl), "stubs: PR_SET_PDEATHSIG" },
    { SCMP_SYS(setsid), "stubs leave the terminal's session: signals come via the Sentry" },
    { SCMP_SYS(close_range), "stubs keep only the memory file" },
    { SCMP_SYS(pause), "the stub's idle loop" },
    /* the platform: driving the stubs */
    { SCMP_SYS(ptrace), "PTRACE_SYSEMU and register access of stub threads" },
    { SCMP_SYS(wait4), "stub thread stops" },
    { SCMP_SYS(kill), "SIGKILL a stub process" },
    { SCMP_SYS(tgkill), "interrupt a stub thread (the platform's interrupt)" },
    /* the Sentry's own signals */
    { SCMP_SYS(rt_sigprocmask), "stubs unblock everything; glibc around thread start" },
    { SCMP_SYS(rt_sigaction), "glibc's abort" },
    { SCMP_SYS(rt_sigtimedwait), "the thread forwarding host signals (hostsig.c)" },
    { SCMP_SYS(sigaltstack), "sanitizer builds, before exiting" },
    /* time (the vDSO answers most reads without a system call) */
    { SCMP_SYS(clock_gettime), "clocks when the vDSO falls back to the kernel" },
    { SCMP_SYS(clock_getres), "guest clock_getres" },
    /* I/O on host fds the Sentry already holds: the stdio the CLI passed, files the
     * Gofer opened and donated, the Gofer's socket, the debug log */
    { SCMP_SYS(read), "sendfile/splice from a stdio host file through a Sentry buffer" },
    { SCMP_SYS(write), "the debug log; messages on stderr; splice to stdio" },
    { SCMP_SYS(readv), "guest reads of stdio" },
    { SCMP_SYS(writev), "guest writes of stdio" },
    { SCMP_SYS(preadv), "guest positioned reads of stdio redirected to a file" },
    { SCMP_SYS(pwritev), "the same, writes" },
    { SCMP_SYS(pread64), "page-cache fills from Gofer-donated files" },
    { SCMP_SYS(pwrite64), "page-cache write-back to Gofer-donated files" },
    { SCMP_SYS(lseek), "the position of stdio files; SEEK_DATA/SEEK_HOLE on donated files" },
    { SCMP_SYS(newfstatat), "fstat (glibc's, with AT_EMPTY_PATH) of stdio and donated "
                            "files; a path could only name the empty root" },
    { SCMP_SYS(fcntl), "status flags of stdio host fds; F_DUPFD_CLOEXEC at boot" },
    { SCMP_SYS(close), "host fds the Sentry no longer needs" },
    { SCMP_SYS(sendto), "Gofer requests (send)" },
    { SCMP_SYS(recvmsg), "Gofer replies, with donated fds" },
    /* readiness of stdio host fds (sentry/fs/host_notify.c) */
    { SCMP_SYS(epoll_create1), "the notifier's host epoll, made when stdio is set up" },
    { SCMP_SYS(epoll_ctl), "arm and disarm a stdio host fd" },
    { SCMP_SYS(epoll_wait), "the notifier thread waits for host fds" },
    { SCMP_SYS(poll), "a host fd's readiness right now (timeout 0)" },
    /* information */
    { SCMP_SYS(getrandom), "guest getrandom, /dev/urandom, the auxv's AT_RANDOM" },
    { SCMP_SYS(sysinfo), "memory totals for /proc/meminfo and sysinfo" },
    { SCMP_SYS(prlimit64), "rlimits of a new process" },
};

/* Calls that are refused with EPERM rather than fatal: the ones the confinement is
 * about (the probe shows them refused) and ones libc may try on its own. */
static const struct syscall_rule g_refused[] = {
    { SCMP_SYS(open), "no host files: they come from the Gofer" },
    { SCMP_SYS(openat), "the same" },
    { SCMP_SYS(openat2), "the same" },
    { SCMP_SYS(creat), "the same" },
    { SCMP_SYS(execve), "the Sentry never runs another program" },
    { SCMP_SYS(execveat), "the same" },
    { SCMP_SYS(socket), "no network: lwIP runs inside the Sentry" },
    { SCMP_SYS(connect), "the same" },
    { SCMP_SYS(bind), "the same" },
    { SCMP_SYS(mount), "the mount table is fixed at confinement" },
    { SCMP_SYS(umount2), "the same" },
    { SCMP_SYS(chroot), "the same" },
    { SCMP_SYS(pivot_root), "the same" },
    { SCMP_SYS(unshare), "no new namespaces" },
    { SCMP_SYS(setns), "no other namespaces" },
    { SCMP_SYS(clone3), "its flags are out of a filter's reach; glibc falls back to "
                        "clone, which is checked" },
};

/* The host terminal requests the Sentry makes on the guest's behalf on stdio; not,
 * for example, TIOCSTI, which would type into the user's terminal. */
static const unsigned long g_ioctls[] = {
    TCGETS,      /* isatty, tcgetattr on stdio */
    TIOCGWINSZ,  /* the window size */
    FIONREAD,    /* bytes waiting on a stdio host fd */
    /* the KVM platform (platform/kvm): its VM was made before confinement; these run
     * guest code on vCPUs, which it may still create for new threads */
    KVM_RUN,             /* enter the guest */
    KVM_GET_REGS,        /* the guest's registers after an exit */
    KVM_SET_REGS,        /* and before an entry */
    KVM_GET_SREGS,       /* FS/GS base and the ring after an interrupted run */
    KVM_SET_SREGS,       /* a new vCPU's long mode, descriptor tables */
    KVM_SET_MSRS,        /* a new vCPU's STAR/LSTAR/FMASK */
    KVM_GET_FPU,         /* the x87/SSE status for SIGFPE's si_code */
    KVM_GET_XSAVE,       /* FPU state for signal frames */
    KVM_SET_XSAVE,       /* the same, back */
    KVM_SET_XCRS,        /* a new vCPU's XCR0 */
    KVM_SET_CPUID2,      /* a new vCPU's CPUID */
    KVM_SET_SIGNAL_MASK, /* the kick signal reaches a vCPU thread only in KVM_RUN */
    KVM_CREATE_VCPU,     /* the pool grows with the guest's threads */
    KVM_SET_USER_MEMORY_REGION, /* the memory file reaches the VM 1 GiB at a time as
                                   the guest's pages do (one 1 TiB slot costs 2 GiB of
                                   kernel memory); only ever the file's own mapping */
};

/* Namespace flags a clone must not carry: a new user namespace would hand the Sentry
 * back the capabilities it dropped. */
#define CLONE_NEW_ANY                                                                 \
    (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |    \
     CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWTIME)

static int clone_rule(scmp_filter_ctx ctx)
{
    return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                            SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEW_ANY, 0));
}

/* --network=host (sentry/socket/hostinet.c): guest INET sockets are host sockets. Only
 * in that mode, and socket(2) only for AF_INET and AF_INET6: the Sentry still cannot
 * open AF_UNIX, AF_NETLINK or AF_PACKET sockets (those fail with EPERM). */
static const struct syscall_rule g_host_network[] = {
    { SCMP_SYS(bind), "bind a guest's host socket" },
    { SCMP_SYS(listen), "listen on it" },
    { SCMP_SYS(connect), "connect it" },
    { SCMP_SYS(accept4), "accept connections (non-blocking, close-on-exec)" },
    { SCMP_SYS(sendmsg), "send on it (sendto is allowed already)" },
    { SCMP_SYS(recvfrom), "receive on it (recvmsg is allowed already)" },
    { SCMP_SYS(shutdown), "shut it down" },
    { SCMP_SYS(getsockname), "its local address" },
    { SCMP_SYS(getpeername), "its peer's address" },
    { SCMP_SYS(getsockopt), "allowlisted options, SO_ERROR after connecting" },
    { SCMP_SYS(setsockopt), "allowlisted options" },
};

/* Host-socket ioctls of host mode: bytes queued each way, the urgent mark. */
static const unsigned long g_host_network_ioctls[] = { SIOCOUTQ, SIOCATMARK };

/* host_network_rules: the calls above; socket(2) allowed for AF_INET and AF_INET6
 * and refused with EPERM for every other family (a filter compares an argument once
 * per rule, so the refusal is ranges: below AF_INET, between, above AF_INET6). */
static int host_network_rules(scmp_filter_ctx ctx)
{
    int err = 0;
    for (size_t i = 0; i < sizeof(g_host_network) / sizeof(g_host_network[0]) && !err; i++)
        err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, g_host_network[i].nr, 0);
    for (size_t i = 0; i < sizeof(g_host_network_ioctls) / sizeof(g_host_network_ioctls[0]) &&
                       !err; i++)
        err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                               SCMP_A1(SCMP_CMP_EQ, g_host_network_ioctls[i]));
    if (!err)
        err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                               SCMP_A0(SCMP_CMP_EQ, AF_INET));
    if (!err)
        err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                               SCMP_A0(SCMP_CMP_EQ, AF_INET6));
    if (!err)
        err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
                               SCMP_A0(SCMP_CMP_LT, AF_INET));
    for (int fam = AF_INET + 1; fam < AF_INET6 && !err; fam++)
        err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
                               SCMP_A0(SCMP_CMP_EQ, fam));
    if (!err)
        err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
                               SCMP_A0(SCMP_CMP_GT, AF_INET6));
    return err;
}

/* in_host_network: nr is one of the calls host mode allows (not refused then). */
static int in_host_network(int nr)
{
    if (nr == SCMP_SYS(socket))
        return 1;
    for (size_t i = 0; i < sizeof(g_host_network) / sizeof(g_host_network[0]); i++)
        if (g_host_network[i].nr == nr)
            return 1;
    return 0;
}

/* --network=sandbox (netstack/netif_eth.c): the network devices' host fds, opened at
 * boot: packet sockets, read in batches with recvmmsg and written with sendmmsg, and
 * io_uring rings, entered with io_uring_enter. Each call only on those fds; no
 * socket(2) (still EPERM), no new rings (io_uring_setup is not allowed). No devices
 * in the other modes: no rules then. */
static int netdev_rules(scmp_filter_ctx ctx)
{
    int socks[2 * NS_ETH_MAX], rings[2 * NS_ETH_MAX], ns, nr, err = 0;
    ns_eth_host_fds(socks, &ns, rings, &nr, 2 * NS_ETH_MAX);
    for (int i = 0; i < ns && !err; i++) {
        err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(recvmmsg), 1,
                               SCMP_A0(SCMP_CMP_EQ, (unsigned)socks[i]));
        if (!err)
            err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendmmsg), 1,
                                   SCMP_A0(SCMP_CMP_EQ, (unsigned)socks[i]));
    }
    for (int i = 0; i < nr && !err; i++)
        err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(io_uring_enter), 1,
                               SCMP_A0(SCMP_CMP_EQ, (unsigned)rings[i]));
    return err;
}

static int ioctl_rules(scmp_filter_ctx ctx)
{
    int err = 0;
    for (size_t i = 0; i < sizeof(g_ioctls) / sizeof(g_ioctls[0]) && !err; i++)
        err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                               SCMP_A1(SCMP_CMP_EQ, g_ioctls[i]));
    return err;
}

int sentry_seccomp_install(int host_network)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!ctx)
        return -ENOMEM;
    /* every thread, including any started before this point */
    int err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    for (size_t i = 0; i < sizeof(g_allowed) / sizeof(g_allowed[0]) && !err; i++)
        if (g_allowed[i].nr != SCMP_SYS(clone))
            err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, g_allowed[i].nr, 0);
    for (size_t i = 0; i < sizeof(g_refused) / sizeof(g_refused[0]) && !err; i++) {
        if (host_network && in_host_network(g_refused[i].nr))
            continue;
        err = seccomp_rule_add(ctx, g_refused[i].nr == SCMP_SYS(clone3)
                                        ? SCMP_ACT_ERRNO(ENOSYS)
                                        : SCMP_ACT_ERRNO(EPERM),
                               g_refused[i].nr, 0);
    }
    if (!err)
        err = clone_rule(ctx);
    if (!err && host_network)
        err = host_network_rules(ctx);
    if (!err)
        err = netdev_rules(ctx);
    if (!err)
        err = ioctl_rules(ctx);
    if (!err)
        err = seccomp_load(ctx);
    if (err)
        log_err("seccomp: cannot install the Sentry's allowlist: %d", err);
    seccomp_release(ctx);
    return err;
}
