/* signalfd system calls: signalfd and signalfd4 (the file is sentry/fs/signalfd.c). */
#include <errno.h>
#include <sys/signalfd.h>

#include "sentry/fs/signalfd.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"

/* Linux's order: flags, mask size, the mask, then the fd. */
static long do_signalfd4(struct task *t, int fd, uint64_t umask, size_t size, int flags)
{
    if (flags & ~(SFD_CLOEXEC | SFD_NONBLOCK))
        return -EINVAL;
    if (size != sizeof(uint64_t))
        return -EINVAL;
    uint64_t mask;
    if (mm_copy_in(t->mm, &mask, umask, sizeof(mask)) < 0)
        return -EFAULT;
    if (fd == -1) {
        struct file *f;
        int err = signalfd_new(mask, flags, &f);
        if (err < 0)
            return err;
        int nfd = fdtable_install(t->fds, 0, f, (flags & SFD_CLOEXEC) != 0);
        if (nfd < 0)
            file_put(f);
        return nfd;
    }
    struct file *f = fdtable_get(t->fds, fd);
    if (!f)
        return -EBADF;
    long ret = fd;
    if (is_signalfd_file(f))
        signalfd_set_mask(f, mask);
    else
        ret = -EINVAL;
    file_put(f);
    return ret;
}

long sys_signalfd(struct task *t, const struct syscall_args *a)
{
    return do_signalfd4(t, arg_int(a, 0), arg_u64(a, 1), arg_size(a, 2), 0);
}

long sys_signalfd4(struct task *t, const struct syscall_args *a)
{
    return do_signalfd4(t, arg_int(a, 0), arg_u64(a, 1), arg_size(a, 2), arg_int(a, 3));
}
