/* timerfd system calls: timerfd_create, timerfd_settime, timerfd_gettime, in Linux's
 * order of checks (the file itself is sentry/fs/timerfd.c). */
#include <errno.h>
#include <sys/timerfd.h>

#include "sentry/fs/timerfd.h"
#include "sentry/kernel/task.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/timespec.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"

long sys_timerfd_create(struct task *t, const struct syscall_args *a)
{
    int clockid = arg_int(a, 0), flags = arg_int(a, 1);
    struct file *f;
    int err = timerfd_new(clockid, flags, &f);
    if (err < 0)
        return err;
    int fd = fdtable_install(t->fds, 0, f, (flags & TFD_CLOEXEC) != 0);
    if (fd < 0)
        file_put(f);
    return fd;
}

/* get_timerfd: the timerfd at fd (+1 reference), or NULL with *err -EBADF or -EINVAL. */
static struct file *get_timerfd(struct task *t, int fd, long *err)
{
    struct file *f = fdtable_get(t->fds, fd);
    if (!f) {
        *err = -EBADF;
        return NULL;
    }
    if (!is_timerfd_file(f)) {
        file_put(f);
        *err = -EINVAL;
        return NULL;
    }
    return f;
}

long sys_timerfd_settime(struct task *t, const struct syscall_args *a)
{
    int fd = arg_int(a, 0), flags = arg_int(a, 1);
    uint64_t unew = arg_u64(a, 2), uold = arg_u64(a, 3);
    uint64_t value, interval, old_value, old_interval;
    struct guest_itimerspec its;
    if (mm_copy_in(t->mm, &its, unew, sizeof(its)) < 0)
        return -EFAULT;
    /* TFD_TIMER_CANCEL_ON_SET is accepted: the sandbox's clocks are never set */
    if ((flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) ||
        !ts_valid(&its.value) || !ts_valid(&its.interval))
        return -EINVAL;
    value = ts_to_ns(&its.value);
    interval = ts_to_ns(&its.interval);
    long err;
    struct file *f = get_timerfd(t, fd, &err);
    if (!f)
        return err;
    timerfd_set(f, (flags & TFD_TIMER_ABSTIME) != 0, value, interval, &old_value,
                &old_interval);
    file_put(f);
    if (uold)
        return copy_itimerspec_out(t, uold, old_value, old_interval);
    return 0;
}

long sys_timerfd_gettime(struct task *t, const struct syscall_args *a)
{
    long err;
    struct file *f = get_timerfd(t, arg_int(a, 0), &err);
    if (!f)
        return err;
    uint64_t value, interval;
    timerfd_get(f, &value, &interval);
    file_put(f);
    return copy_itimerspec_out(t, arg_u64(a, 1), value, interval);
}
