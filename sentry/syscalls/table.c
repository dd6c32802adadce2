/* The x86-64 system call table: every number of the 64-bit ABI, with its name, handler,
 * how complete the handler is, and how --strace prints its arguments. It is the only
 * table indexed by number; dispatch, --strace, the once-per-call log of unimplemented
 * calls and `sandbox syscalls` all read it.
 *
 * Each entry is placed at [__NR_name] by the macros below, so a name can never sit at
 * the wrong number. Argument formats follow the kernel's register order. */
#include <asm/unistd_64.h>
#include <stddef.h>

#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/syscall.h"

/* Calls newer than the host's <asm/unistd_64.h> (Debian 12 stops at 450). */
#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif
#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif
#ifndef __NR_map_shadow_stack
#define __NR_map_shadow_stack 453
#endif
#ifndef __NR_futex_wake
#define __NR_futex_wake 454
#endif
#ifndef __NR_futex_wait
#define __NR_futex_wait 455
#endif
#ifndef __NR_futex_requeue
#define __NR_futex_requeue 456
#endif
#ifndef __NR_statmount
#define __NR_statmount 457
#endif
#ifndef __NR_listmount
#define __NR_listmount 458
#endif
#ifndef __NR_lsm_get_self_attr
#define __NR_lsm_get_self_attr 459
#endif
#ifndef __NR_lsm_set_self_attr
#define __NR_lsm_set_self_attr 460
#endif
#ifndef __NR_lsm_list_modules
#define __NR_lsm_list_modules 461
#endif
#ifndef __NR_mseal
#define __NR_mseal 462
#endif

/* Constructors, in the gVisor manner. The variadic part is the argument formats;
 * a call without arguments leaves it empty. */
#define ENTRY(nm, handler, sup, nt, hex, ...)                                    \
    [__NR_##nm] = { .name = #nm, .fn = (handler), .support = (sup), .note = (nt), \
                    .ret_hex = (hex), .args = { __VA_ARGS__ } }
#define FULL(nm, ...)          ENTRY(nm, sys_##nm, SUP_FULL, NULL, 0, __VA_ARGS__)
#define PARTIAL(nm, nt, ...)   ENTRY(nm, sys_##nm, SUP_PARTIAL, nt, 0, __VA_ARGS__)
#define NONE(nm, ...)          ENTRY(nm, NULL, SUP_NONE, NULL, 0, __VA_ARGS__)
#define NONE_WHY(nm, nt, ...)  ENTRY(nm, NULL, SUP_NONE, nt, 0, __VA_ARGS__)
/* The same for calls that return an address, which --strace prints in hex. */
#define FULL_ADDR(nm, ...)        ENTRY(nm, sys_##nm, SUP_FULL, NULL, 1, __VA_ARGS__)
#define PARTIAL_ADDR(nm, nt, ...) ENTRY(nm, sys_##nm, SUP_PARTIAL, nt, 1, __VA_ARGS__)
#define NONE_ADDR(nm, ...)        ENTRY(nm, NULL, SUP_NONE, NULL, 1, __VA_ARGS__)

/* Short names keep each entry on one line. */
#define I AF_INT
#define U AF_UINT
#define X AF_HEX
#define P AF_PTR
#define S AF_STR
#define B AF_BUF
#define OB AF_OBUF
#define OCT AF_OCT
#define SIG AF_SIG
#define PROT AF_PROT
#define MMAPF AF_MMAPF
#define OPENF AF_OPENF
#define SFAM AF_SOCKFAM
#define STYPE AF_SOCKTYPE
#define SA AF_SOCKADDR

/* Notes shared by several partial entries. */
#define N_STDIO "stdio host files; VFS files come with the files issue"
#define N_PROC  "the calling process only; others come with the processes issue"
#define N_SLEEP "interrupted by a handled signal: EINTR with the time left; not resumed after a stop"
#define N_CPUTIME "CPU time is measured around the platform switch, so time the host did not run the guest counts"

const struct syscall_entry g_syscalls[SYSCALL_MAX] = {
    PARTIAL(read, N_STDIO, I, OB, U),
    PARTIAL(write, N_STDIO, I, B, U),
    FULL(open, S, OPENF, OCT),
    FULL(close, I),
    FULL(stat, S, P),
    PARTIAL(fstat, N_STDIO, I, P),
    FULL(lstat, S, P),
    PARTIAL(poll, "interrupted with a finite timeout and no handler: EINTR, not a restart with the time left", P, U, I),
    FULL(lseek, I, I, I),
    FULL_ADDR(mmap, P, U, PROT, MMAPF, I, X),
    FULL(mprotect, P, U, PROT),
    FULL(munmap, P, U),
    FULL_ADDR(brk, P),
    PARTIAL(rt_sigaction, "unknown sa_flags bits are kept, not cleared (no SA_UNSUPPORTED probing)",
            SIG, P, P, U),
    FULL(rt_sigprocmask, I, P, P, U),
    FULL(rt_sigreturn),
    PARTIAL(ioctl, "terminal ioctls of ptys and stdio host files; no TIOCPKT, TIOCSTI", I, X, X),
    PARTIAL(pread64, N_STDIO, I, OB, U, I),
    PARTIAL(pwrite64, N_STDIO, I, B, U, I),
    PARTIAL(readv, N_STDIO, I, P, I),
    PARTIAL(writev, N_STDIO, I, P, I),
    FULL(access, S, OCT),
    FULL(pipe, P),
    FULL(select, I, P, P, P, P),
    FULL(sched_yield),
    FULL_ADDR(mremap, P, U, U, X, P),
    FULL(msync, P, U, X),
    FULL(mincore, P, U, P),
    PARTIAL(madvise, "MADV_DONTNEED and MADV_FREE drop pages; other advice is a hint",
            P, U, I),
    NONE(shmget, I, U, X),
    NONE_ADDR(shmat, I, P, X),
    NONE(shmctl, I, I, P),
    FULL(dup, I),
    FULL(dup2, I, I),
    FULL(pause),
    PARTIAL(nanosleep, N_SLEEP, P, P),
    PARTIAL(getitimer, N_CPUTIME, I, P),
    FULL(alarm,  U),
    PARTIAL(setitimer, N_CPUTIME, I, P, P),
    FULL(getpid),
    FULL(sendfile, I, I, P, U),
    FULL(socket, SFAM, STYPE, I),
    FULL(connect, I, SA, I),
    FULL(accept, I, P, P),
    FULL(sendto, I, B, U, X, SA, I),
    FULL(recvfrom, I, OB, U, X, P, P),
    FULL(sendmsg, I, P, X),
    FULL(recvmsg, I, P, X),
    FULL(shutdown, I, I),
    FULL(bind, I, SA, I),
    FULL(listen, I, I),
    FULL(getsockname, I, P, P),
    FULL(getpeername, I, P, P),
    FULL(socketpair, SFAM, STYPE, I, P),
    FULL(setsockopt, I, I, I, P, I),
    FULL(getsockopt, I, I, I, P, P),
    PARTIAL(clone, "no shared memory between processes (vfork copies); no namespaces",  X, P, P, P, X),
    FULL(fork),
    PARTIAL(vfork, "the child gets a copy of memory; the parent waits for its exit"),
    FULL(execve, S, P, P),
    FULL(exit, I),
    PARTIAL(wait4, "rusage as getrusage: CPU times, minor faults, voluntary switches, max RSS",  I, P, X, P),
    PARTIAL(kill, "no permission check for process groups",  I, SIG),
    FULL(uname, P),
    NONE(semget, I, I, X),
    NONE(semop, I, P, U),
    NONE(semctl, I, I, I, X),
    NONE(shmdt, P),
    NONE(msgget, I, X),
    NONE(msgsnd, I, P, U, X),
    NONE(msgrcv, I, P, U, I, X),
    NONE(msgctl, I, I, P),
    PARTIAL(fcntl, "descriptor flags, status flags, F_DUPFD*, record locks (POSIX and "
            "OFD, in the Sentry), F_SETOWN/F_GETOWN(_EX) of sockets (SIGURG); no leases, "
            "F_SETSIG, F_NOTIFY or owners of other files", I, I, X),
    FULL(flock, I, I),
    FULL(fsync, I),
    FULL(fdatasync, I),
    FULL(truncate, S, I),
    FULL(ftruncate, I, I),
    FULL(getdents, I, P, U),
    FULL(getcwd, P, U),
    FULL(chdir, S),
    FULL(fchdir, I),
    FULL(rename, S, S),
    FULL(mkdir, S, OCT),
    FULL(rmdir, S),
    FULL(creat, S, OCT),
    FULL(link, S, S),
    FULL(unlink, S),
    FULL(symlink, S, S),
    FULL(readlink, S, OB, U),
    FULL(chmod, S, OCT),
    FULL(fchmod, I, OCT),
    FULL(chown, S, I, I),
    FULL(fchown, I, I, I),
    FULL(lchown, S, I, I),
    FULL(umask, OCT),
    FULL(gettimeofday, P, P),
    FULL(getrlimit, I, P),
    PARTIAL(getrusage, "CPU times (" N_CPUTIME "), minor faults the Sentry resolved, voluntary switches and max RSS; other fields are 0", I, P),
    FULL(sysinfo, P),
    PARTIAL(times, N_CPUTIME, P),
    NONE(ptrace, I, I, P, P),
    FULL(getuid),
    NONE(syslog, I, P, I),
    FULL(getgid),
    FULL(setuid, I),
    FULL(setgid, I),
    FULL(geteuid),
    FULL(getegid),
    FULL(setpgid,  I, I),
    FULL(getppid),
    FULL(getpgrp),
    FULL(setsid),
    FULL(setreuid, I, I),
    FULL(setregid, I, I),
    FULL(getgroups, I, P),
    FULL(setgroups, I, P),
    FULL(setresuid, I, I, I),
    FULL(getresuid, P, P, P),
    FULL(setresgid, I, I, I),
    FULL(getresgid, P, P, P),
    FULL(getpgid, I),
    FULL(setfsuid, I),
    FULL(setfsgid, I),
    FULL(getsid, I),
    PARTIAL(capget, "no file capabilities; the ambient set is always empty", P, P),
    PARTIAL(capset, "no file capabilities; the ambient set is always empty", P, P),
    FULL(rt_sigpending, P, U),
    FULL(rt_sigtimedwait, P, P, P, U),
    FULL(rt_sigqueueinfo, I, SIG, P),
    FULL(rt_sigsuspend, P, U),
    PARTIAL(sigaltstack, "kept; used once signal delivery lands", P, P),
    FULL(utime, S, P),
    FULL(mknod, S, OCT, X),
    NONE(uselib, S),
    NONE(personality, X),
    NONE(ustat, X, P),
    FULL(statfs, S, P),
    FULL(fstatfs, I, P),
    NONE(sysfs, I, X, X),
    FULL(getpriority, I, I),
    FULL(setpriority, I, I, I),
    FULL(sched_setparam, I, P),
    FULL(sched_getparam, I, P),
    FULL(sched_setscheduler, I, I, P),
    FULL(sched_getscheduler, I),
    FULL(sched_get_priority_max, I),
    FULL(sched_get_priority_min, I),
    FULL(sched_rr_get_interval, I, P),
    NONE(mlock, P, U),
    NONE(munlock, P, U),
    NONE(mlockall, X),
    NONE(munlockall),
    NONE(vhangup),
    NONE(modify_ldt, I, P, U),
    NONE(pivot_root, S, S),
    NONE(_sysctl, P),
    PARTIAL(prctl, "names, PDEATHSIG, CHILD_SUBREAPER, NO_NEW_PRIVS, DUMPABLE, KEEPCAPS, SECUREBITS, CAPBSET_*, GET_TID_ADDRESS; no PR_CAP_AMBIENT; PR_SET_SECCOMP is EINVAL", I, X, X, X, X),
    PARTIAL(arch_prctl, "FS and GS base; no CPUID faulting", X, P),
    NONE(adjtimex, P),
    FULL(setrlimit, I, P),
    FULL(chroot, S),
    FULL(sync),
    NONE(acct, S),
    NONE(settimeofday, P, P),
    PARTIAL(mount, "tmpfs, proc, sysfs, bind (MS_REC), remount, MS_MOVE; one namespace: "
                   "propagation types other than unbindable are no-ops", S, S, S, X, P),
    FULL(umount2, S, X),
    NONE(swapon, S, X),
    NONE(swapoff, S),
    NONE(reboot, X, X, X, P),
    NONE(sethostname, B, U),
    NONE(setdomainname, B, U),
    NONE(iopl, I),
    NONE(ioperm, U, U, I),
    NONE(create_module, S, U),
    NONE(init_module, P, U, S),
    NONE(delete_module, S, X),
    NONE(get_kernel_syms, P),
    NONE(query_module, S, I, P, U, P),
    NONE(quotactl, X, S, I, P),
    NONE(nfsservctl, I, P, P),
    NONE(getpmsg, I, P, P, P, P),
    NONE(putpmsg, I, P, P, I, I),
    NONE(afs_syscall),
    NONE(tuxcall),
    NONE(security),
    FULL(gettid),
    NONE(readahead, I, I, U),
    FULL(setxattr, S, S, B, U, X),
    FULL(lsetxattr, S, S, B, U, X),
    FULL(fsetxattr, I, S, B, U, X),
    FULL(getxattr, S, S, OB, U),
    FULL(lgetxattr, S, S, OB, U),
    FULL(fgetxattr, I, S, OB, U),
    FULL(listxattr, S, P, U),
    FULL(llistxattr, S, P, U),
    FULL(flistxattr, I, P, U),
    FULL(removexattr, S, S),
    FULL(lremovexattr, S, S),
    FULL(fremovexattr, I, S),
    FULL(tkill, I, SIG),
    FULL(time, P),
    PARTIAL(futex, "no PI futexes",  P, I, I, P, P, I),
    FULL(sched_setaffinity, I, U, P),
    FULL(sched_getaffinity, I, U, P),
    NONE(set_thread_area, P),
    NONE(io_setup, U, P),
    NONE(io_destroy, X),
    NONE(io_getevents, X, I, I, P, P),
    NONE(io_submit, X, I, P),
    NONE(io_cancel, X, P, P),
    NONE(get_thread_area, P),
    NONE(lookup_dcookie, X, P, U),
    FULL(epoll_create, I),
    NONE(epoll_ctl_old, I, I, I, P),
    NONE(epoll_wait_old, I, P, I, I),
    NONE(remap_file_pages, P, U, PROT, U, X),
    FULL(getdents64, I, P, U),
    FULL(set_tid_address, P),
    NONE(restart_syscall),
    NONE(semtimedop, I, P, U, P),
    NONE(fadvise64, I, I, U, I),
    PARTIAL(timer_create, "timers are bounded by a fixed count, not charged to RLIMIT_SIGPENDING", I, P, P),
    FULL(timer_settime, I, X, P, P),
    FULL(timer_gettime, I, P),
    FULL(timer_getoverrun, I),
    FULL(timer_delete, I),
    NONE(clock_settime, I, P),
    PARTIAL(clock_gettime, "CPU clocks: " N_CPUTIME, I, P),
    FULL(clock_getres, I, P),
    PARTIAL(clock_nanosleep, "relative: " N_SLEEP "; absolute: restarted unless a handler runs", I, X, P, P),
    FULL(exit_group, I),
    FULL(epoll_wait, I, P, I, I),
    PARTIAL(epoll_ctl, "no limit on wake-up paths (EINVAL) or on watches (ENOSPC)", I, I, I, P),
    FULL(tgkill, I, I, SIG),
    FULL(utimes, S, P),
    NONE(vserver),
    NONE(mbind, P, U, I, P, U, X),
    NONE(set_mempolicy, I, P, U),
    NONE(get_mempolicy, P, P, U, P, X),
    NONE(mq_open, S, OPENF, OCT, P),
    NONE(mq_unlink, S),
    NONE(mq_timedsend, I, B, U, U, P),
    NONE(mq_timedreceive, I, OB, U, P, P),
    NONE(mq_notify, I, P),
    NONE(mq_getsetattr, I, P, P),
    NONE(kexec_load, U, U, P, X),
    PARTIAL(waitid, "as wait4",  I, I, P, X, P),
    NONE(add_key, S, S, B, U, I),
    NONE(request_key, S, S, S, I),
    NONE(keyctl, I, X, X, X, X),
    NONE(ioprio_set, I, I, I),
    NONE(ioprio_get, I, I),
    FULL(inotify_init),
    FULL(inotify_add_watch, I, S, X),
    FULL(inotify_rm_watch, I, I),
    NONE(migrate_pages, I, U, P, P),
    FULL(openat, I, S, OPENF, OCT),
    FULL(mkdirat, I, S, OCT),
    FULL(mknodat, I, S, OCT, X),
    FULL(fchownat, I, S, I, I, X),
    FULL(futimesat, I, S, P),
    FULL(newfstatat, I, S, P, X),
    FULL(unlinkat, I, S, X),
    FULL(renameat, I, S, I, S),
    FULL(linkat, I, S, I, S, X),
    FULL(symlinkat, S, I, S),
    FULL(readlinkat, I, S, OB, U),
    FULL(fchmodat, I, S, OCT),
    FULL(faccessat, I, S, OCT),
    FULL(pselect6, I, P, P, P, P, P),
    FULL(ppoll, P, U, P, P, U),
    NONE(unshare, X),
    FULL(set_robust_list, P, U),
    FULL(get_robust_list, I, P, P),
    FULL(splice, I, P, I, P, U, X),
    FULL(tee, I, I, U, X),
    NONE(sync_file_range, I, I, I, X),
    PARTIAL(vmsplice, "copies the user pages at the call (Linux references them until read); SPLICE_F_GIFT ignored", I, P, U, X),
    NONE(move_pages, I, U, P, P, P, X),
    FULL(utimensat, I, S, P, X),
    FULL(epoll_pwait, I, P, I, I, P, U),
    FULL(signalfd, I, P, U),
    PARTIAL(timerfd_create, "no alarm clocks (EINVAL)", I, X),
    FULL(eventfd, U),
    PARTIAL(fallocate, "tmpfs: allocate, KEEP_SIZE, PUNCH_HOLE (space checked, not reserved); Gofer and host files: the host's", I, X, I, I),
    PARTIAL(timerfd_settime, "TFD_TIMER_CANCEL_ON_SET accepted; the sandbox never sets clocks", I, X, P, P),
    FULL(timerfd_gettime, I, P),
    FULL(accept4, I, P, P, X),
    FULL(signalfd4, I, P, U, X),
    FULL(eventfd2, U, X),
    FULL(epoll_create1, X),
    FULL(dup3, I, I, X),
    FULL(pipe2, P, X),
    FULL(inotify_init1, X),
    NONE(preadv, I, P, I, I, I),
    NONE(pwritev, I, P, I, I, I),
    FULL(rt_tgsigqueueinfo, I, I, SIG, P),
    NONE(perf_event_open, P, I, I, I, X),
    FULL(recvmmsg, I, P, U, X, P),
    NONE(fanotify_init, X, X),
    NONE(fanotify_mark, I, X, X, I, S),
    PARTIAL(prlimit64, N_PROC, I, I, P, P),
    NONE(name_to_handle_at, I, S, P, P, X),
    NONE(open_by_handle_at, I, P, OPENF),
    NONE(clock_adjtime, I, P),
    FULL(syncfs, I),
    FULL(sendmmsg, I, P, U, X),
    NONE(setns, I, X),
    FULL(getcpu, P, P, P),
    NONE(process_vm_readv, I, P, U, P, U, X),
    NONE(process_vm_writev, I, P, U, P, U, X),
    NONE(kcmp, I, I, I, X, X),
    NONE(finit_module, I, S, X),
    NONE(sched_setattr, I, P, X),
    NONE(sched_getattr, I, P, U, X),
    FULL(renameat2, I, S, I, S, X),
    NONE(seccomp, U, X, P),
    FULL(getrandom, OB, U, X),
    PARTIAL(memfd_create, "no MFD_HUGETLB (EINVAL)", S, X),
    NONE(kexec_file_load, I, I, U, S, X),
    NONE(bpf, I, P, U),
    FULL(execveat, I, S, P, P, X),
    NONE(userfaultfd, X),
    NONE(membarrier, I, X, I),
    NONE(mlock2, P, U, X),
    FULL(copy_file_range, I, P, I, P, U, X),
    NONE(preadv2, I, P, I, I, I, X),
    NONE(pwritev2, I, P, I, I, I, X),
    NONE(pkey_mprotect, P, U, PROT, I),
    NONE(pkey_alloc, X, X),
    NONE(pkey_free, I),
    FULL(statx, I, S, X, X, P),
    NONE(io_pgetevents, X, I, I, P, P, P),
    /* -ENOSYS on purpose: glibc then runs without restartable sequences. */
    NONE_WHY(rseq, "glibc copes with -ENOSYS", P, U, X, U),
    /* 335..423 are not used by the 64-bit ABI. */
    PARTIAL(pidfd_send_signal, "a /proc/PID directory fd is not accepted as a pidfd", I, SIG, P, X),
    NONE(io_uring_setup, U, P),
    NONE(io_uring_enter, I, U, U, X, P, U),
    NONE(io_uring_register, I, U, P, U),
    NONE(open_tree, I, S, X),
    NONE(move_mount, I, S, I, S, X),
    NONE(fsopen, S, X),
    NONE(fsconfig, I, U, S, P, I),
    NONE(fsmount, I, X, X),
    NONE(fspick, I, S, X),
    FULL(pidfd_open, I, X),
    PARTIAL(clone3, "as clone; no set_tid or cgroup",  P, U),
    FULL(close_range, U, U, X),
    FULL(openat2, I, S, P, U),
    NONE(pidfd_getfd, I, I, X),
    FULL(faccessat2, I, S, OCT, X),
    NONE(process_madvise, I, P, U, I, X),
    FULL(epoll_pwait2, I, P, I, P, P, U),
    NONE(mount_setattr, I, S, X, P, U),
    NONE(quotactl_fd, U, U, I, P),
    NONE(landlock_create_ruleset, P, U, X),
    NONE(landlock_add_rule, I, I, P, X),
    NONE(landlock_restrict_self, I, X),
    NONE(memfd_secret, X),
    NONE(process_mrelease, I, X),
    NONE(futex_waitv, P, U, X, P, I),
    NONE(set_mempolicy_home_node, P, U, U, X),
    NONE(cachestat, U, P, P, X),
    FULL(fchmodat2, I, S, OCT, X),
    NONE_ADDR(map_shadow_stack, P, U, X),
    NONE(futex_wake, P, X, I, X),
    NONE(futex_wait, P, X, X, X, P, I),
    NONE(futex_requeue, P, X, I, I),
    NONE(statmount, P, P, U, X),
    NONE(listmount, P, P, U, X),
    NONE(lsm_get_self_attr, U, P, P, X),
    NONE(lsm_set_self_attr, U, P, U, X),
    NONE(lsm_list_modules, P, P, X),
    NONE(mseal, P, U, X),
};
