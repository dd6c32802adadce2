/* pidfd system calls: pidfd_open and pidfd_send_signal (kernel/pid.c and
 * kernel/signal.c in Linux). clone's CLONE_PIDFD and waitid's P_PIDFD are in
 * process.c; the file itself is sentry/fs/pidfd.c. A /proc/PID directory fd is not
 * accepted in place of a pidfd (EBADF). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>

#include "sentry/fs/pidfd.h"
#include "sentry/kernel/cred.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/pidref.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

long sys_pidfd_open(struct task *t, const struct syscall_args *a)
{
    int pid = arg_int(a, 0);
    unsigned flags = arg_uint(a, 1);
    if (flags & ~(unsigned)PIDFD_NONBLOCK)
        return -EINVAL;
    if (pid <= 0)
        return -EINVAL;
    pthread_mutex_lock(&g_kernel.mu);
    struct task *x = kernel_find_task(pid);
    struct pidref *r = NULL;
    long ret = 0;
    if (!x)
        ret = -ESRCH;
    else if (x->tg->tgid != pid)
        ret = -EINVAL;   /* a thread, not a process */
    else if (!(r = pidref_of(x->tg)))
        ret = -ENOMEM;
    pthread_mutex_unlock(&g_kernel.mu);
    if (ret < 0)
        return ret;
    struct file *f;
    if ((ret = pidfd_create(r, flags, &f)) < 0) {
        pidref_put(r);
        return ret;
    }
    /* pidfds are always close-on-exec */
    int fd = fdtable_install(t->fds, 0, f, 1);
    if (fd < 0)
        file_put(f);
    return fd;
}

long sys_pidfd_send_signal(struct task *t, const struct syscall_args *a)
{
    int fd = arg_int(a, 0), sig = arg_int(a, 1);
    uint64_t uinfo = arg_u64(a, 2);
    unsigned flags = arg_uint(a, 3);
    if (flags)
        return -EINVAL;
    struct file *f = fdtable_get(t->fds, fd);
    if (!f)
        return -EBADF;
    long ret;
    struct pidref *r = pidfd_pidref(f);
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (!r) {
        ret = -EBADF;
        goto out;
    }
    if (uinfo) {
        if (mm_copy_in(t->mm, &si, uinfo, sizeof(si)) < 0) {
            ret = -EFAULT;
            goto out;
        }
        if (si.si_signo != sig) {
            ret = -EINVAL;
            goto out;
        }
    } else {
        si.si_signo = sig;
        si.si_code = SI_USER;
        si.si_pid = t->tg->tgid;
        si.si_uid = t->cred.ruid;
    }
    pthread_mutex_lock(&g_kernel.mu);
    struct thread_group *tg = r->tg;
    /* only the process itself (its leader thread, whose pid the pidfd names) may
     * claim a kernel si_code */
    if (uinfo && (!tg || t->tid != tg->tgid) && (si.si_code >= 0 || si.si_code == SI_TKILL))
        ret = -EPERM;
    else if (!tg)
        ret = -ESRCH;
    else if (sig < 0 || sig > GUEST_NSIG)
        ret = -EINVAL;
    else
        ret = cred_may_signal(t, tg->leader, sig);
    if (ret == 0 && sig && !tg->zombie)
        signal_send_group(tg, sig, &si);
    pthread_mutex_unlock(&g_kernel.mu);
out:
    file_put(f);
    return ret;
}
