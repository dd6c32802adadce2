/* System calls that make anonymous pipes: pipe and pipe2. */
#include <errno.h>
#include <fcntl.h>

#include "sentry/fs/pipe.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"

/* O_NOTIFICATION_PIPE (watch queues) is O_EXCL; the sandbox has no watch queues, so
 * it is refused like any other unknown flag. */
#define PIPE2_FLAGS (O_CLOEXEC | O_NONBLOCK | O_DIRECT)

static long do_pipe2(struct task *t, uint64_t ufds, int flags)
{
    if (flags & ~PIPE2_FLAGS)
        return -EINVAL;
    struct file *f[2];
    int err = pipe_create((unsigned)flags, f);
    if (err < 0)
        return err;
    int cloexec = (flags & O_CLOEXEC) != 0;
    int fds[2];
    fds[0] = fdtable_install(t->fds, 0, f[0], cloexec);
    if (fds[0] < 0) {
        file_put(f[0]);
        file_put(f[1]);
        return fds[0];
    }
    fds[1] = fdtable_install(t->fds, 0, f[1], cloexec);
    if (fds[1] < 0) {
        fdtable_close(t->fds, fds[0]);
        file_put(f[1]);
        return fds[1];
    }
    /* Linux copies the numbers out before installing; here a bad pointer undoes the
     * installs instead, with the same result for the caller */
    err = mm_copy_out(t->mm, ufds, fds, sizeof(fds), 0);
    if (err < 0) {
        fdtable_close(t->fds, fds[0]);
        fdtable_close(t->fds, fds[1]);
        return err;
    }
    return 0;
}

long sys_pipe(struct task *t, const struct syscall_args *a)
{
    return do_pipe2(t, arg_u64(a, 0), 0);
}

long sys_pipe2(struct task *t, const struct syscall_args *a)
{
    return do_pipe2(t, arg_u64(a, 0), arg_int(a, 1));
}
