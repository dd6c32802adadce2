/* The Gofer's seccomp allowlist. Everything not listed kills the process: a Gofer
 * that was tricked into doing something unexpected dies instead of doing it. The
 * filter goes in after the chroot and the io_uring set-up, so neither chroot, mount,
 * io_uring_setup nor io_uring_register are needed (or allowed) afterwards. */
#include "gofer/server.h"

#include <errno.h>
#include <seccomp.h>
#include <stddef.h>

static const struct {
    int nr;
    const char *why;
} g_allowed[] = {
    /* the message loop */
    { SCMP_SYS(io_uring_enter), "submit and reap recvmsg/sendmsg on the ring" },
    { SCMP_SYS(recvmsg), "the loop without io_uring (kernel without it)" },
    { SCMP_SYS(sendmsg), "the loop without io_uring; replies carrying an fd" },
    /* walking and opening, always relative to an fd we hold */
    { SCMP_SYS(openat), "WALK, OPEN, CREATE; reopening O_PATH fds via /proc/self/fd" },
    { SCMP_SYS(close), "CLOSE, and fds handed to the Sentry" },
    { SCMP_SYS(fstat), "stat of a fid" },
    { SCMP_SYS(newfstatat), "glibc's fstat" },
    { SCMP_SYS(statx), "glibc's fstat on some versions" },
    { SCMP_SYS(fstatfs), "STATFS" },
    { SCMP_SYS(getdents64), "GETDENTS" },
    { SCMP_SYS(lseek), "GETDENTS: seek to the cookie" },
    { SCMP_SYS(readlinkat), "READLINK" },
    /* changing the tree */
    { SCMP_SYS(mkdirat), "MKDIR" },
    { SCMP_SYS(mknodat), "MKNOD (FIFOs, sockets, regular files only)" },
    { SCMP_SYS(symlinkat), "SYMLINK" },
    { SCMP_SYS(linkat), "LINK" },
    { SCMP_SYS(unlinkat), "UNLINK" },
    { SCMP_SYS(renameat2), "RENAME" },
    { SCMP_SYS(renameat), "glibc's renameat2 wrapper falls back to it (flags 0)" },
    { SCMP_SYS(fchownat), "CREATE/MKDIR/...: the guest's owner; SETATTR" },
    { SCMP_SYS(fchown), "glibc's fchownat on an fd" },
    { SCMP_SYS(fchmodat), "SETATTR mode" },
    { SCMP_SYS(utimensat), "SETATTR times" },
    { SCMP_SYS(ftruncate), "SETATTR size" },
    { SCMP_SYS(fsync), "FSYNC" },
    { SCMP_SYS(fdatasync), "FSYNC datasync" },
    /* the process itself */
    { SCMP_SYS(brk), "malloc" },
    { SCMP_SYS(mmap), "malloc" },
    { SCMP_SYS(munmap), "malloc, tearing down the ring" },
    { SCMP_SYS(mremap), "realloc of the fid table" },
    { SCMP_SYS(madvise), "free" },
    { SCMP_SYS(write), "error messages on stderr" },
    { SCMP_SYS(rt_sigreturn), "signal return" },
    { SCMP_SYS(sigaltstack), "ASan builds query it before any noreturn call (exit)" },
    { SCMP_SYS(exit), "exit" },
    { SCMP_SYS(exit_group), "exit when the Sentry is gone" },
};

int gofer_seccomp_install(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!ctx)
        return -ENOMEM;
    int err = 0;
    for (size_t i = 0; i < sizeof(g_allowed) / sizeof(g_allowed[0]) && !err; i++)
        err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, g_allowed[i].nr, 0);
    if (!err)
        err = seccomp_load(ctx);
    seccomp_release(ctx);
    return err;
}
