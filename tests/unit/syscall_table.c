/* The system call table (sentry/syscalls/table.c), dispatch of calls it lacks, and the
 * --strace formatting helpers, none of which need a task or guest memory. */
#include <asm/unistd_64.h>
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include "sentry/syscalls/strace.h"
#include "sentry/syscalls/syscall.h"

/* The numbers the 64-bit ABI uses: 335..423 are a hole (32-bit-only calls). */
static int exists(unsigned nr) { return nr <= 334 || (nr >= 424 && nr <= 462); }

Test(table, every_number_of_the_abi_has_a_name_and_no_other)
{
    for (unsigned nr = 0; nr < SYSCALL_MAX; nr++) {
        if (exists(nr))
            cr_expect(g_syscalls[nr].name != NULL, "%u has no name", nr);
        else
            cr_expect(g_syscalls[nr].name == NULL, "%u is named %s", nr,
                      g_syscalls[nr].name);
    }
}

Test(table, names_are_unique)
{
    for (unsigned i = 0; i < SYSCALL_MAX; i++) {
        const char *a = g_syscalls[i].name;
        for (unsigned j = i + 1; j < SYSCALL_MAX && a; j++)
            cr_expect(!g_syscalls[j].name || strcmp(a, g_syscalls[j].name),
                      "%u and %u are both %s", i, j, a);
    }
}

/* Every name the host's <asm/unistd_64.h> knows, then the later ones by number. */
#define N(x) { __NR_##x, #x }
static const struct { unsigned nr; const char *name; } k_abi[] = {
    N(read), N(write), N(open), N(close), N(stat), N(fstat), N(lstat), N(poll),
    N(lseek), N(mmap), N(mprotect), N(munmap), N(brk), N(rt_sigaction),
    N(rt_sigprocmask), N(rt_sigreturn), N(ioctl), N(pread64), N(pwrite64), N(readv),
    N(writev), N(access), N(pipe), N(select), N(sched_yield), N(mremap), N(msync),
    N(mincore), N(madvise), N(shmget), N(shmat), N(shmctl), N(dup), N(dup2), N(pause),
    N(nanosleep), N(getitimer), N(alarm), N(setitimer), N(getpid), N(sendfile),
    N(socket), N(connect), N(accept), N(sendto), N(recvfrom), N(sendmsg), N(recvmsg),
    N(shutdown), N(bind), N(listen), N(getsockname), N(getpeername), N(socketpair),
    N(setsockopt), N(getsockopt), N(clone), N(fork), N(vfork), N(execve), N(exit),
    N(wait4), N(kill), N(uname), N(semget), N(semop), N(semctl), N(shmdt), N(msgget),
    N(msgsnd), N(msgrcv), N(msgctl), N(fcntl), N(flock), N(fsync), N(fdatasync),
    N(truncate), N(ftruncate), N(getdents), N(getcwd), N(chdir), N(fchdir), N(rename),
    N(mkdir), N(rmdir), N(creat), N(link), N(unlink), N(symlink), N(readlink),
    N(chmod), N(fchmod), N(chown), N(fchown), N(lchown), N(umask), N(gettimeofday),
    N(getrlimit), N(getrusage), N(sysinfo), N(times), N(ptrace), N(getuid), N(syslog),
    N(getgid), N(setuid), N(setgid), N(geteuid), N(getegid), N(setpgid), N(getppid),
    N(getpgrp), N(setsid), N(setreuid), N(setregid), N(getgroups), N(setgroups),
    N(setresuid), N(getresuid), N(setresgid), N(getresgid), N(getpgid), N(setfsuid),
    N(setfsgid), N(getsid), N(capget), N(capset), N(rt_sigpending), N(rt_sigtimedwait),
    N(rt_sigqueueinfo), N(rt_sigsuspend), N(sigaltstack), N(utime), N(mknod),
    N(uselib), N(personality), N(ustat), N(statfs), N(fstatfs), N(sysfs),
    N(getpriority), N(setpriority), N(sched_setparam), N(sched_getparam),
    N(sched_setscheduler), N(sched_getscheduler), N(sched_get_priority_max),
    N(sched_get_priority_min), N(sched_rr_get_interval), N(mlock), N(munlock),
    N(mlockall), N(munlockall), N(vhangup), N(modify_ldt), N(pivot_root), N(_sysctl),
    N(prctl), N(arch_prctl), N(adjtimex), N(setrlimit), N(chroot), N(sync), N(acct),
    N(settimeofday), N(mount), N(umount2), N(swapon), N(swapoff), N(reboot),
    N(sethostname), N(setdomainname), N(iopl), N(ioperm), N(create_module),
    N(init_module), N(delete_module), N(get_kernel_syms), N(query_module), N(quotactl),
    N(nfsservctl), N(getpmsg), N(putpmsg), N(afs_syscall), N(tuxcall), N(security),
    N(gettid), N(readahead), N(setxattr), N(lsetxattr), N(fsetxattr), N(getxattr),
    N(lgetxattr), N(fgetxattr), N(listxattr), N(llistxattr), N(flistxattr),
    N(removexattr), N(lremovexattr), N(fremovexattr), N(tkill), N(time), N(futex),
    N(sched_setaffinity), N(sched_getaffinity), N(set_thread_area), N(io_setup),
    N(io_destroy), N(io_getevents), N(io_submit), N(io_cancel), N(get_thread_area),
    N(lookup_dcookie), N(epoll_create), N(epoll_ctl_old), N(epoll_wait_old),
    N(remap_file_pages), N(getdents64), N(set_tid_address), N(restart_syscall),
    N(semtimedop), N(fadvise64), N(timer_create), N(timer_settime), N(timer_gettime),
    N(timer_getoverrun), N(timer_delete), N(clock_settime), N(clock_gettime),
    N(clock_getres), N(clock_nanosleep), N(exit_group), N(epoll_wait), N(epoll_ctl),
    N(tgkill), N(utimes), N(vserver), N(mbind), N(set_mempolicy), N(get_mempolicy),
    N(mq_open), N(mq_unlink), N(mq_timedsend), N(mq_timedreceive), N(mq_notify),
    N(mq_getsetattr), N(kexec_load), N(waitid), N(add_key), N(request_key), N(keyctl),
    N(ioprio_set), N(ioprio_get), N(inotify_init), N(inotify_add_watch),
    N(inotify_rm_watch), N(migrate_pages), N(openat), N(mkdirat), N(mknodat),
    N(fchownat), N(futimesat), N(newfstatat), N(unlinkat), N(renameat), N(linkat),
    N(symlinkat), N(readlinkat), N(fchmodat), N(faccessat), N(pselect6), N(ppoll),
    N(unshare), N(set_robust_list), N(get_robust_list), N(splice), N(tee),
    N(sync_file_range), N(vmsplice), N(move_pages), N(utimensat), N(epoll_pwait),
    N(signalfd), N(timerfd_create), N(eventfd), N(fallocate), N(timerfd_settime),
    N(timerfd_gettime), N(accept4), N(signalfd4), N(eventfd2), N(epoll_create1),
    N(dup3), N(pipe2), N(inotify_init1), N(preadv), N(pwritev), N(rt_tgsigqueueinfo),
    N(perf_event_open), N(recvmmsg), N(fanotify_init), N(fanotify_mark), N(prlimit64),
    N(name_to_handle_at), N(open_by_handle_at), N(clock_adjtime), N(syncfs),
    N(sendmmsg), N(setns), N(getcpu), N(process_vm_readv), N(process_vm_writev),
    N(kcmp), N(finit_module), N(sched_setattr), N(sched_getattr), N(renameat2),
    N(seccomp), N(getrandom), N(memfd_create), N(kexec_file_load), N(bpf), N(execveat),
    N(userfaultfd), N(membarrier), N(mlock2), N(copy_file_range), N(preadv2),
    N(pwritev2), N(pkey_mprotect), N(pkey_alloc), N(pkey_free), N(statx),
    N(io_pgetevents), N(rseq), N(pidfd_send_signal), N(io_uring_setup),
    N(io_uring_enter), N(io_uring_register), N(open_tree), N(move_mount), N(fsopen),
    N(fsconfig), N(fsmount), N(fspick), N(pidfd_open), N(clone3), N(close_range),
    N(openat2), N(pidfd_getfd), N(faccessat2), N(process_madvise), N(epoll_pwait2),
    N(mount_setattr), N(quotactl_fd), N(landlock_create_ruleset), N(landlock_add_rule),
    N(landlock_restrict_self), N(memfd_secret), N(process_mrelease), N(futex_waitv),
    N(set_mempolicy_home_node),
    { 451, "cachestat" }, { 452, "fchmodat2" }, { 453, "map_shadow_stack" },
    { 454, "futex_wake" }, { 455, "futex_wait" }, { 456, "futex_requeue" },
    { 457, "statmount" }, { 458, "listmount" }, { 459, "lsm_get_self_attr" },
    { 460, "lsm_set_self_attr" }, { 461, "lsm_list_modules" }, { 462, "mseal" },
};

Test(table, names_match_the_abi_header)
{
    for (size_t i = 0; i < sizeof(k_abi) / sizeof(k_abi[0]); i++) {
        const char *name = g_syscalls[k_abi[i].nr].name;
        cr_expect(name && !strcmp(name, k_abi[i].name), "%u is %s, not %s", k_abi[i].nr,
                  name ? name : "(none)", k_abi[i].name);
    }
}

/* A spot check by literal number, independent of any header. */
Test(table, literal_numbers)
{
    static const struct { unsigned nr; const char *name; } k[] = {
        { 0, "read" }, { 1, "write" }, { 9, "mmap" }, { 12, "brk" }, { 15, "rt_sigreturn" },
        { 39, "getpid" }, { 56, "clone" }, { 59, "execve" }, { 60, "exit" },
        { 156, "_sysctl" }, { 158, "arch_prctl" }, { 202, "futex" }, { 231, "exit_group" },
        { 257, "openat" }, { 262, "newfstatat" }, { 302, "prlimit64" },
        { 318, "getrandom" },
        { 332, "statx" }, { 334, "rseq" }, { 424, "pidfd_send_signal" }, { 435, "clone3" },
        { 450, "set_mempolicy_home_node" },
    };
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
        cr_expect_str_eq(syscall_name(k[i].nr), k[i].name);
}

Test(table, handler_if_and_only_if_supported)
{
    for (unsigned nr = 0; nr < SYSCALL_MAX; nr++) {
        const struct syscall_entry *e = &g_syscalls[nr];
        cr_expect((e->fn != NULL) == (e->support != SUP_NONE), "%u (%s): fn %p support %d",
                  nr, e->name, (void *)(uintptr_t)e->fn, e->support);
        cr_expect(!e->fn || e->name, "%u has a handler but no name", nr);
        if (e->support == SUP_PARTIAL)
            cr_expect(e->note && *e->note, "%s is partial without a note", e->name);
    }
}

Test(table, arguments_end_at_the_first_none)
{
    for (unsigned nr = 0; nr < SYSCALL_MAX; nr++) {
        int ended = 0;
        for (int i = 0; i < 6; i++) {
            enum arg_fmt f = g_syscalls[nr].args[i];
            cr_expect(!ended || f == AF_NONE, "%u (%s): argument %d after the end", nr,
                      g_syscalls[nr].name, i);
            ended |= f == AF_NONE;
            /* A buffer's length is the next argument, so it cannot be last. */
            if (f == AF_BUF)
                cr_expect(i < 5 && g_syscalls[nr].args[i + 1] != AF_NONE,
                          "%s: AF_BUF without a length", g_syscalls[nr].name);
        }
    }
}

Test(table, decoding_of_some_calls)
{
    const struct syscall_entry *mmap = &g_syscalls[__NR_mmap];
    cr_expect(mmap->ret_hex && g_syscalls[__NR_brk].ret_hex);
    cr_expect(!g_syscalls[__NR_read].ret_hex);
    cr_expect(mmap->args[2] == AF_PROT && mmap->args[3] == AF_MMAPF);
    cr_expect(g_syscalls[__NR_openat].args[1] == AF_STR);
    cr_expect(g_syscalls[__NR_openat].args[2] == AF_OPENF);
    cr_expect(g_syscalls[__NR_read].args[1] == AF_OBUF);
    cr_expect(g_syscalls[__NR_write].args[1] == AF_BUF);
    cr_expect(g_syscalls[__NR_kill].args[1] == AF_SIG);
    cr_expect(g_syscalls[__NR_getpid].args[0] == AF_NONE);
}

/* rseq stays unimplemented: glibc falls back when it gets -ENOSYS. */
Test(table, rseq_is_enosys)
{
    cr_expect(g_syscalls[__NR_rseq].fn == NULL);
    cr_expect(g_syscalls[__NR_rseq].support == SUP_NONE);
}

Test(dispatch, missing_calls_are_enosys)
{
    /* None of these reach a handler, so no task is needed. */
    static const uint64_t nrs[] = { __NR_rseq, 400, 1000, 1000, SYSCALL_MAX, 0x40000000,
                                    UINT64_MAX };
    for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
        struct syscall_args a = { .nr = nrs[i] };
        cr_expect_eq(syscall_dispatch(NULL, &a), -ENOSYS, "nr %#lx", nrs[i]);
    }
    cr_expect_null(syscall_name(400));
    cr_expect_null(syscall_name(1000));
    cr_expect_null(syscall_name(UINT64_MAX));
}

/* Formats into a fresh buffer and returns it (static: one use per expression). */
static const char *value(enum arg_fmt f, uint64_t v)
{
    static char s[256];
    struct strace_buf b = STRACE_BUF(s);
    strace_fmt_value(&b, f, v);
    return s;
}

static const char *ret(long r, int hex)
{
    static char s[256];
    struct strace_buf b = STRACE_BUF(s);
    strace_fmt_ret(&b, r, hex);
    return s;
}

static const char *bytes(const char *p, size_t n, int more)
{
    static char s[256];
    struct strace_buf b = STRACE_BUF(s);
    strace_fmt_bytes(&b, p, n, more);
    return s;
}

Test(strace, results)
{
    cr_expect_str_eq(ret(0, 0), "0");
    cr_expect_str_eq(ret(42, 0), "42");
    cr_expect_str_eq(ret(-ENOENT, 0), "-1 ENOENT (No such file or directory)");
    cr_expect_str_eq(ret(-ENOSYS, 1), "-1 ENOSYS (Function not implemented)");
    cr_expect_str_eq(ret(-EFAULT, 0), "-1 EFAULT (Bad address)");
    cr_expect_str_eq(ret(-512, 0), "? ERESTARTSYS (To be restarted if SA_RESTART is set)");
    cr_expect_str_eq(ret(-4095, 0), "-1 (errno 4095)");
    cr_expect_str_eq(ret(-4096, 0), "-4096");
    cr_expect_str_eq(ret(0x7f1234560000, 1), "0x7f1234560000");
    cr_expect_str_eq(ret(-ENOMEM, 1), "-1 ENOMEM (Cannot allocate memory)");
}

Test(strace, flags)
{
    cr_expect_str_eq(value(AF_PROT, PROT_NONE), "PROT_NONE");
    cr_expect_str_eq(value(AF_PROT, PROT_READ | PROT_WRITE), "PROT_READ|PROT_WRITE");
    cr_expect_str_eq(value(AF_PROT, PROT_READ | PROT_EXEC | 0x100),
                     "PROT_READ|PROT_EXEC|0x100");
    cr_expect_str_eq(value(AF_MMAPF, MAP_PRIVATE | MAP_ANONYMOUS),
                     "MAP_PRIVATE|MAP_ANONYMOUS");
    cr_expect_str_eq(value(AF_MMAPF, MAP_SHARED | MAP_FIXED_NOREPLACE | MAP_STACK),
                     "MAP_SHARED|MAP_STACK|MAP_FIXED_NOREPLACE");
    cr_expect_str_eq(value(AF_MMAPF, MAP_SHARED_VALIDATE | MAP_SYNC),
                     "MAP_SHARED_VALIDATE|MAP_SYNC");
    cr_expect_str_eq(value(AF_MMAPF, 0), "0");
    cr_expect_str_eq(value(AF_MMAPF, MAP_ANONYMOUS), "MAP_ANONYMOUS");
    cr_expect_str_eq(value(AF_OPENF, O_RDONLY | O_CLOEXEC), "O_RDONLY|O_CLOEXEC");
    cr_expect_str_eq(value(AF_OPENF, O_WRONLY | O_CREAT | O_TRUNC),
                     "O_WRONLY|O_CREAT|O_TRUNC");
    cr_expect_str_eq(value(AF_OPENF, O_RDWR | O_SYNC), "O_RDWR|O_SYNC");
    cr_expect_str_eq(value(AF_OPENF, O_DSYNC), "O_RDONLY|O_DSYNC");
    cr_expect_str_eq(value(AF_OPENF, O_RDWR | O_TMPFILE), "O_RDWR|O_TMPFILE");
    cr_expect_str_eq(value(AF_OPENF, O_DIRECTORY | O_NOFOLLOW | O_PATH),
                     "O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_PATH");
    cr_expect_str_eq(value(AF_OPENF, O_NONBLOCK | 040000000),
                     "O_RDONLY|O_NONBLOCK|0x800000");
}

Test(strace, scalars)
{
    cr_expect_str_eq(value(AF_SIG, SIGSEGV), "SIGSEGV");
    cr_expect_str_eq(value(AF_SIG, SIGSYS), "SIGSYS");
    cr_expect_str_eq(value(AF_SIG, 32), "SIGRTMIN");
    cr_expect_str_eq(value(AF_SIG, 34), "SIGRT_2");
    cr_expect_str_eq(value(AF_SIG, 0), "0");
    cr_expect_str_eq(value(AF_SIG, 65), "65");
    cr_expect_str_eq(value(AF_OCT, 0644), "0644");
    cr_expect_str_eq(value(AF_OCT, 0), "0000");
    cr_expect_str_eq(value(AF_PTR, 0), "NULL");
    cr_expect_str_eq(value(AF_PTR, 0x7ffe0000), "0x7ffe0000");
    cr_expect_str_eq(value(AF_HEX, 0), "0");
    cr_expect_str_eq(value(AF_HEX, 255), "0xff");
    cr_expect_str_eq(value(AF_INT, 0xffffff9c), "-100");       /* AT_FDCWD as an int */
    cr_expect_str_eq(value(AF_INT, (uint64_t)-1), "-1");
    cr_expect_str_eq(value(AF_INT, 1ull << 40), "1099511627776");
    cr_expect_str_eq(value(AF_UINT, 4096), "4096");
}

Test(strace, bytes)
{
    cr_expect_str_eq(bytes("hi\n", 3, 0), "\"hi\\n\"");
    cr_expect_str_eq(bytes("a\t\"b\\", 5, 0), "\"a\\t\\\"b\\\\\"");
    cr_expect_str_eq(bytes("\177ELF\2\1", 6, 1), "\"\\177ELF\\2\\1\"...");
    /* A digit after a short escape would join it, so that escape is three digits. */
    cr_expect_str_eq(bytes("\0001\0x", 4, 0), "\"\\0001\\0x\"");
    cr_expect_str_eq(bytes("", 0, 0), "\"\"");
}

Test(strace, buffer_never_overflows)
{
    char s[8];
    struct strace_buf b = STRACE_BUF(s);
    strace_fmt_bytes(&b, "0123456789abcdef", 16, 1);
    cr_expect_eq(b.len, 7);
    cr_expect_str_eq(s, "\"012345");
    strace_fmt_value(&b, AF_OPENF, O_CLOEXEC);
    cr_expect_eq(b.len, 7);
}

/* Whole lines, for calls whose arguments need no guest memory (no task: pid 0). */
Test(strace, lines, .init = cr_redirect_stderr)
{
    struct syscall_args mmap = { .nr = __NR_mmap, .arg = { 0, 8192, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS, 0xffffffff, 0 } };
    struct syscall_args kill = { .nr = __NR_kill, .arg = { 12, SIGTERM } };
    struct syscall_args read = { .nr = __NR_read, .arg = { 3, 0x1000, 10 } };
    struct syscall_args unknown = { .nr = 1000, .arg = { 1, 2 } };
    struct syscall_args exit = { .nr = __NR_exit_group, .arg = { 3 } };

    strace_print(NULL, &mmap, 0x7f0000000000);
    strace_print(NULL, &kill, -ESRCH);
    strace_print(NULL, &read, -EAGAIN);
    strace_print(NULL, &unknown, -ENOSYS);
    strace_print_noreturn(NULL, &exit);
    cr_assert_stderr_eq_str(
        "[pid 0] mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)"
        " = 0x7f0000000000\n"
        "[pid 0] kill(12, SIGTERM) = -1 ESRCH (No such process)\n"
        "[pid 0] read(3, 0x1000, 10) = -1 EAGAIN (Resource temporarily unavailable)\n"
        "[pid 0] syscall_1000(0x1, 0x2, 0, 0, 0, 0)"
        " = -1 ENOSYS (Function not implemented)\n"
        "[pid 0] exit_group(3) = ?\n");
}
