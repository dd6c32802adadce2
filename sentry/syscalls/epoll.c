/* epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait, epoll_pwait2: the
 * argument checks of Linux's fs/eventpoll.c in its order; the instances themselves
 * are sentry/fs/epoll.c. A wait interrupted by a signal fails with EINTR (never
 * restarted, as in Linux). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/epoll.h>

#include "sentry/fs/epoll.h"
#include "sentry/kernel/signal.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/poll.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"

/* Linux's EP_MAX_EVENTS. */
#define EP_MAX_EVENTS (INT_MAX / (int)sizeof(struct guest_epoll_event))
/* The end of the guest's user address range (x86-64 TASK_SIZE_MAX): access_ok. */
#define GUEST_USER_END 0x7ffffffff000ULL

/* ep_fget: fd's file as epoll calls see it: NULL (-EBADF) for a bad fd or an O_PATH
 * file. */
static struct file *ep_fget(struct task *t, int fd)
{
    struct file *f = fdtable_get(t->fds, fd);
    if (f && (f->flags & O_PATH)) {
        file_put(f);
        f = NULL;
    }
    return f;
}

static long do_epoll_create(struct task *t, int flags)
{
    if (flags & ~EPOLL_CLOEXEC)
        return -EINVAL;
    struct file *f;
    int err = epoll_create_file(&f);
    if (err < 0)
        return err;
    int fd = fdtable_install(t->fds, 0, f, (flags & EPOLL_CLOEXEC) != 0);
    if (fd < 0)
        file_put(f);
    return fd;
}

long sys_epoll_create(struct task *t, const struct syscall_args *a)
{
    int size = arg_int(a, 0);
    if (size <= 0)
        return -EINVAL;
    return do_epoll_create(t, 0);
}

long sys_epoll_create1(struct task *t, const struct syscall_args *a)
{
    return do_epoll_create(t, arg_int(a, 0));
}

long sys_epoll_ctl(struct task *t, const struct syscall_args *a)
{
    int epfd = arg_int(a, 0);
    int op = arg_int(a, 1);
    int fd = arg_int(a, 2);
    uint64_t uevent = arg_u64(a, 3);
    struct guest_epoll_event ev = { 0, 0 };
    if (op != EPOLL_CTL_DEL && mm_copy_in(t->mm, &ev, uevent, sizeof(ev)) < 0)
        return -EFAULT;
    struct file *epf = ep_fget(t, epfd);
    if (!epf)
        return -EBADF;
    long ret = -EBADF;
    struct file *tf = ep_fget(t, fd);
    if (tf) {
        ret = epoll_ctl_file(epf, op, tf, fd, &ev);
        file_put(tf);
    }
    file_put(epf);
    return ret;
}

/* do_epoll_wait: Linux's do_epoll_wait: EINVAL, EFAULT (the array must lie in user
 * space), EBADF, EINVAL (not an epoll), then the wait. */
static long do_epoll_wait(struct task *t, int epfd, uint64_t events, int maxevents,
                          const struct wait_end *e)
{
    if (maxevents <= 0 || maxevents > EP_MAX_EVENTS)
        return -EINVAL;
    uint64_t size = (uint64_t)maxevents * sizeof(struct guest_epoll_event);
    if (events > GUEST_USER_END || size > GUEST_USER_END - events)
        return -EFAULT;
    struct file *f = ep_fget(t, epfd);
    if (!f)
        return -EBADF;
    long ret = -EINVAL;
    if (is_epoll_file(f))
        ret = epoll_wait_file(t, f, events, maxevents, wait_end_deadline(e),
                              e->kind == WAIT_NOW);
    file_put(f);
    return ret;
}

long sys_epoll_wait(struct task *t, const struct syscall_args *a)
{
    struct wait_end e;
    wait_end_ms(&e, arg_int(a, 3));
    return do_epoll_wait(t, arg_int(a, 0), arg_u64(a, 1), arg_int(a, 2), &e);
}

/* do_epoll_pwait: the wait with the guest's mask swapped in; the old mask comes back
 * at once unless the call was interrupted (then after the handler). */
static long do_epoll_pwait(struct task *t, const struct syscall_args *a,
                           const struct wait_end *e)
{
    int err = wait_sigmask_in(t, arg_u64(a, 4), arg_size(a, 5));
    if (err < 0)
        return err;
    long ret = do_epoll_wait(t, arg_int(a, 0), arg_u64(a, 1), arg_int(a, 2), e);
    signal_end_wait_mask(t, ret == -EINTR);
    return ret;
}

long sys_epoll_pwait(struct task *t, const struct syscall_args *a)
{
    struct wait_end e;
    wait_end_ms(&e, arg_int(a, 3));
    return do_epoll_pwait(t, a, &e);
}

long sys_epoll_pwait2(struct task *t, const struct syscall_args *a)
{
    uint64_t tsp = arg_u64(a, 3);
    struct wait_end e = { .kind = WAIT_FOREVER };
    if (tsp) {
        int64_t ts[2];
        if (mm_copy_in(t->mm, ts, tsp, sizeof(ts)) < 0)
            return -EFAULT;
        if (wait_end_ts(&e, ts[0], ts[1]) < 0)
            return -EINVAL;
    }
    return do_epoll_pwait(t, a, &e);
}
