/* Every system call handler, by family file. table.c refers to these by name. */
#ifndef SENTRY_SYSCALLS_HANDLERS_H
#define SENTRY_SYSCALLS_HANDLERS_H

#include "sentry/syscalls/syscall.h"

#define SYSCALL_DECL(name) long sys_##name(struct task *t, const struct syscall_args *a)

/* file.c: I/O on open files (for now the stdio files the CLI hands in) */
SYSCALL_DECL(read);
SYSCALL_DECL(write);
SYSCALL_DECL(readv);
SYSCALL_DECL(writev);
SYSCALL_DECL(pread64);
SYSCALL_DECL(pwrite64);
SYSCALL_DECL(close);
SYSCALL_DECL(fstat);
SYSCALL_DECL(newfstatat);
SYSCALL_DECL(statx);
SYSCALL_DECL(ioctl);
SYSCALL_DECL(lseek);
SYSCALL_DECL(fcntl);
SYSCALL_DECL(dup);
SYSCALL_DECL(dup2);
SYSCALL_DECL(dup3);

/* pipe.c: anonymous pipes */
SYSCALL_DECL(pipe);
SYSCALL_DECL(pipe2);

/* eventfd.c: eventfds */
SYSCALL_DECL(eventfd);
SYSCALL_DECL(eventfd2);

/* mm.c: address space */
SYSCALL_DECL(mmap);
SYSCALL_DECL(munmap);
SYSCALL_DECL(mprotect);
SYSCALL_DECL(mremap);
SYSCALL_DECL(brk);
SYSCALL_DECL(madvise);
SYSCALL_DECL(mincore);

/* process.c: processes, threads, waiting, futexes */
SYSCALL_DECL(clone);
SYSCALL_DECL(clone3);
SYSCALL_DECL(fork);
SYSCALL_DECL(vfork);
SYSCALL_DECL(exit);
SYSCALL_DECL(exit_group);
SYSCALL_DECL(wait4);
SYSCALL_DECL(waitid);
SYSCALL_DECL(setpgid);
SYSCALL_DECL(setsid);
SYSCALL_DECL(futex);

/* thread.c: task identity */
SYSCALL_DECL(set_tid_address);
SYSCALL_DECL(set_robust_list);
SYSCALL_DECL(get_robust_list);
SYSCALL_DECL(arch_prctl);
SYSCALL_DECL(prctl);
SYSCALL_DECL(getpid);
SYSCALL_DECL(gettid);
SYSCALL_DECL(getppid);
SYSCALL_DECL(getpgrp);
SYSCALL_DECL(getpgid);
SYSCALL_DECL(getsid);
SYSCALL_DECL(getuid);
SYSCALL_DECL(geteuid);
SYSCALL_DECL(getgid);
SYSCALL_DECL(getegid);
SYSCALL_DECL(getresuid);
SYSCALL_DECL(getresgid);
SYSCALL_DECL(getgroups);
SYSCALL_DECL(sched_getaffinity);
SYSCALL_DECL(sched_yield);
SYSCALL_DECL(getcpu);

/* signal.c: dispositions and masks (delivery comes with processes) */
SYSCALL_DECL(rt_sigaction);
SYSCALL_DECL(rt_sigprocmask);
SYSCALL_DECL(sigaltstack);
SYSCALL_DECL(rt_sigreturn);
SYSCALL_DECL(rt_sigpending);
SYSCALL_DECL(rt_sigsuspend);
SYSCALL_DECL(rt_sigtimedwait);
SYSCALL_DECL(rt_sigqueueinfo);
SYSCALL_DECL(rt_tgsigqueueinfo);
SYSCALL_DECL(pause);
SYSCALL_DECL(kill);
SYSCALL_DECL(tkill);
SYSCALL_DECL(tgkill);

/* time.c */
SYSCALL_DECL(clock_gettime);
SYSCALL_DECL(clock_getres);
SYSCALL_DECL(gettimeofday);
SYSCALL_DECL(time);
SYSCALL_DECL(nanosleep);
SYSCALL_DECL(clock_nanosleep);
SYSCALL_DECL(alarm);
SYSCALL_DECL(setitimer);
SYSCALL_DECL(getitimer);

/* sys.c: system information and limits */
SYSCALL_DECL(uname);
SYSCALL_DECL(getrandom);
SYSCALL_DECL(prlimit64);
SYSCALL_DECL(getrlimit);
SYSCALL_DECL(setrlimit);
SYSCALL_DECL(sysinfo);
SYSCALL_DECL(getcwd);
SYSCALL_DECL(umask);

#endif
