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
SYSCALL_DECL(ioctl);
SYSCALL_DECL(lseek);
SYSCALL_DECL(fcntl);
SYSCALL_DECL(dup);
SYSCALL_DECL(dup2);
SYSCALL_DECL(dup3);

/* fs.c: paths: open, stat, access, getdents, names, attributes, cwd, statfs, xattrs */
SYSCALL_DECL(open);
SYSCALL_DECL(openat);
SYSCALL_DECL(creat);
SYSCALL_DECL(openat2);
SYSCALL_DECL(stat);
SYSCALL_DECL(lstat);
SYSCALL_DECL(access);
SYSCALL_DECL(faccessat);
SYSCALL_DECL(faccessat2);
SYSCALL_DECL(getdents);
SYSCALL_DECL(getdents64);
SYSCALL_DECL(mkdir);
SYSCALL_DECL(mkdirat);
SYSCALL_DECL(mknod);
SYSCALL_DECL(mknodat);
SYSCALL_DECL(unlink);
SYSCALL_DECL(unlinkat);
SYSCALL_DECL(rmdir);
SYSCALL_DECL(rename);
SYSCALL_DECL(renameat);
SYSCALL_DECL(renameat2);
SYSCALL_DECL(link);
SYSCALL_DECL(linkat);
SYSCALL_DECL(symlink);
SYSCALL_DECL(symlinkat);
SYSCALL_DECL(readlink);
SYSCALL_DECL(readlinkat);
SYSCALL_DECL(chmod);
SYSCALL_DECL(fchmodat);
SYSCALL_DECL(fchmodat2);
SYSCALL_DECL(fchmod);
SYSCALL_DECL(chown);
SYSCALL_DECL(lchown);
SYSCALL_DECL(fchownat);
SYSCALL_DECL(fchown);
SYSCALL_DECL(utimensat);
SYSCALL_DECL(utimes);
SYSCALL_DECL(futimesat);
SYSCALL_DECL(utime);
SYSCALL_DECL(truncate);
SYSCALL_DECL(ftruncate);
SYSCALL_DECL(chdir);
SYSCALL_DECL(chroot);
SYSCALL_DECL(fchdir);
SYSCALL_DECL(statfs);
SYSCALL_DECL(fstatfs);
SYSCALL_DECL(fsync);
SYSCALL_DECL(fdatasync);
SYSCALL_DECL(syncfs);
SYSCALL_DECL(sync);
SYSCALL_DECL(setxattr);
SYSCALL_DECL(lsetxattr);
SYSCALL_DECL(fsetxattr);
SYSCALL_DECL(getxattr);
SYSCALL_DECL(lgetxattr);
SYSCALL_DECL(fgetxattr);
SYSCALL_DECL(listxattr);
SYSCALL_DECL(llistxattr);
SYSCALL_DECL(flistxattr);
SYSCALL_DECL(removexattr);
SYSCALL_DECL(lremovexattr);
SYSCALL_DECL(fremovexattr);
SYSCALL_DECL(close_range);
SYSCALL_DECL(getcwd);
SYSCALL_DECL(newfstatat);
SYSCALL_DECL(statx);
/* pipe.c: anonymous pipes */
SYSCALL_DECL(pipe);
SYSCALL_DECL(pipe2);

/* eventfd.c: eventfds */
SYSCALL_DECL(eventfd);
SYSCALL_DECL(eventfd2);

/* mm.c: address space */
SYSCALL_DECL(mmap);
SYSCALL_DECL(munmap);
SYSCALL_DECL(msync);
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
SYSCALL_DECL(sched_yield);

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

/* rusage.c: resource use */
SYSCALL_DECL(getrusage);
SYSCALL_DECL(times);

/* sys.c: system information and limits */
SYSCALL_DECL(uname);
SYSCALL_DECL(getrandom);
SYSCALL_DECL(prlimit64);
SYSCALL_DECL(getrlimit);
SYSCALL_DECL(setrlimit);
SYSCALL_DECL(sysinfo);
SYSCALL_DECL(umask);

/* sched.c: scheduling parameters and CPU affinity */
SYSCALL_DECL(sched_getaffinity);
SYSCALL_DECL(sched_setaffinity);
SYSCALL_DECL(getcpu);
SYSCALL_DECL(getpriority);
SYSCALL_DECL(setpriority);
SYSCALL_DECL(sched_getscheduler);
SYSCALL_DECL(sched_setscheduler);
SYSCALL_DECL(sched_getparam);
SYSCALL_DECL(sched_setparam);
SYSCALL_DECL(sched_get_priority_max);
SYSCALL_DECL(sched_get_priority_min);
SYSCALL_DECL(sched_rr_get_interval);

/* exec.c: program execution */
SYSCALL_DECL(execve);
SYSCALL_DECL(execveat);

/* cred.c: the setuid family, supplementary groups, capabilities */
SYSCALL_DECL(setuid);
SYSCALL_DECL(setgid);
SYSCALL_DECL(setreuid);
SYSCALL_DECL(setregid);
SYSCALL_DECL(setresuid);
SYSCALL_DECL(setresgid);
SYSCALL_DECL(getresuid);
SYSCALL_DECL(getresgid);
SYSCALL_DECL(setfsuid);
SYSCALL_DECL(setfsgid);
SYSCALL_DECL(getgroups);
SYSCALL_DECL(setgroups);
SYSCALL_DECL(capget);
SYSCALL_DECL(capset);

/* prctl.c: prctl */
SYSCALL_DECL(prctl);

/* pidfd.c: pidfds (CLONE_PIDFD and waitid's P_PIDFD are process.c's) */
SYSCALL_DECL(pidfd_open);
SYSCALL_DECL(pidfd_send_signal);

/* poll.c, epoll.c: readiness (poll, select, epoll) */
SYSCALL_DECL(poll);
SYSCALL_DECL(ppoll);
SYSCALL_DECL(select);
SYSCALL_DECL(pselect6);
SYSCALL_DECL(epoll_create);
SYSCALL_DECL(epoll_create1);
SYSCALL_DECL(epoll_ctl);
SYSCALL_DECL(epoll_wait);
SYSCALL_DECL(epoll_pwait);
SYSCALL_DECL(epoll_pwait2);

/* lock.c: record locks (fcntl F_SETLK...) and flock */
SYSCALL_DECL(flock);
struct file;
/* fcntl_lock: the record-lock commands of fcntl (F_GETLK, F_SETLK, F_SETLKW and the
 * F_OFD_ forms) on f, open at fd in t's table; sys_fcntl hands them over. */
long fcntl_lock(struct task *t, int fd, struct file *f, int cmd, uint64_t arg);

/* splice.c: sendfile, splice, tee, vmsplice, copy_file_range */
SYSCALL_DECL(sendfile);
SYSCALL_DECL(splice);
SYSCALL_DECL(tee);
SYSCALL_DECL(vmsplice);
SYSCALL_DECL(copy_file_range);
/* fallocate.c: fallocate */
SYSCALL_DECL(fallocate);

/* memfd.c: memfd_create */
SYSCALL_DECL(memfd_create);

/* tty.c: terminals (the pty ioctls live in sentry/fs/tty) */

/* inotify.c: inotify */
SYSCALL_DECL(inotify_init);
SYSCALL_DECL(inotify_init1);
SYSCALL_DECL(inotify_add_watch);
SYSCALL_DECL(inotify_rm_watch);

/* mount.c: mount, umount2, pivot_root */
SYSCALL_DECL(mount);
SYSCALL_DECL(umount2);

/* timerfd.c, posix_timer.c, signalfd.c: timers and signal fds */
SYSCALL_DECL(timer_create);
SYSCALL_DECL(timer_settime);
SYSCALL_DECL(timer_gettime);
SYSCALL_DECL(timer_getoverrun);
SYSCALL_DECL(timer_delete);
SYSCALL_DECL(timerfd_create);
SYSCALL_DECL(timerfd_settime);
SYSCALL_DECL(timerfd_gettime);
SYSCALL_DECL(signalfd);
SYSCALL_DECL(signalfd4);

/* socket.c: sockets (the generic layer is sentry/socket/socket.h) */
SYSCALL_DECL(socket);
SYSCALL_DECL(socketpair);
SYSCALL_DECL(bind);
SYSCALL_DECL(connect);
SYSCALL_DECL(listen);
SYSCALL_DECL(accept);
SYSCALL_DECL(accept4);
SYSCALL_DECL(sendto);
SYSCALL_DECL(recvfrom);
SYSCALL_DECL(sendmsg);
SYSCALL_DECL(recvmsg);
SYSCALL_DECL(sendmmsg);
SYSCALL_DECL(recvmmsg);
SYSCALL_DECL(shutdown);
SYSCALL_DECL(getsockname);
SYSCALL_DECL(getpeername);
SYSCALL_DECL(getsockopt);
SYSCALL_DECL(setsockopt);

#endif
