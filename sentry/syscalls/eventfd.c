/* System calls that make eventfds: eventfd and eventfd2. */
#include <errno.h>
#include <sys/eventfd.h>

#include "sentry/fs/eventfd.h"
#include "sentry/kernel/task.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"

static long do_eventfd2(struct task *t, unsigned initval, int flags)
{
    struct file *f;
    int err = eventfd_create(initval, flags, &f);
    if (err < 0)
        return err;
    int fd = fdtable_install(t->fds, 0, f, (flags & EFD_CLOEXEC) != 0);
    if (fd < 0)
        file_put(f);
    return fd;
}

long sys_eventfd(struct task *t, const struct syscall_args *a)
{
    return do_eventfd2(t, arg_uint(a, 0), 0);
}

long sys_eventfd2(struct task *t, const struct syscall_args *a)
{
    return do_eventfd2(t, arg_uint(a, 0), arg_int(a, 1));
}
