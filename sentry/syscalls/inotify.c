/* inotify_init, inotify_init1, inotify_add_watch, inotify_rm_watch, with Linux's
 * argument checks in its order (mask, then the fd, then the path). The files and
 * their queue are sentry/fs/inotify.c; the watches and the VFS hooks are
 * sentry/vfs/fsnotify.c. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/inotify.h>

#include "sentry/fs/inotify.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/fsnotify.h"
#include "sentry/vfs/vfs.h"

/* Every bit inotify_add_watch knows (Linux's ALL_INOTIFY_BITS). */
#define ALL_INOTIFY_BITS                                                                \
    (IN_ALL_EVENTS | IN_UNMOUNT | IN_Q_OVERFLOW | IN_IGNORED | IN_ONLYDIR |           \
     IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_MASK_CREATE | IN_MASK_ADD | IN_ISDIR |        \
     IN_ONESHOT)

static long do_init(struct task *t, int flags)
{
    struct file *f;
    int err = inotify_create(flags, &f);
    if (err < 0)
        return err;
    int fd = fdtable_install(t->fds, 0, f, (flags & IN_CLOEXEC) != 0);
    if (fd < 0)
        file_put(f);
    return fd;
}

long sys_inotify_init(struct task *t, const struct syscall_args *a)
{
    (void)a;
    return do_init(t, 0);
}

long sys_inotify_init1(struct task *t, const struct syscall_args *a)
{
    return do_init(t, arg_int(a, 0));
}

/* inotify_fd: the inotify file at fd (a reference): -EBADF, or -EINVAL for another
 * kind of file. */
static int inotify_fd(struct task *t, int fd, struct file **out)
{
    struct file *f = fdtable_get(t->fds, fd);
    if (!f)
        return -EBADF;
    if (!is_inotify_file(f)) {
        file_put(f);
        return -EINVAL;
    }
    *out = f;
    return 0;
}

long sys_inotify_add_watch(struct task *t, const struct syscall_args *a)
{
    int fd = arg_int(a, 0);
    uint64_t upath = arg_u64(a, 1);
    uint32_t mask = arg_uint(a, 2);
    if (!(mask & ALL_INOTIFY_BITS) || (mask & ~(uint32_t)ALL_INOTIFY_BITS))
        return -EINVAL;
    if ((mask & IN_MASK_ADD) && (mask & IN_MASK_CREATE))
        return -EINVAL;
    struct file *f;
    int err = inotify_fd(t, fd, &f);
    if (err < 0)
        return err;
    char *path = malloc(PATH_MAX);
    long n = path ? mm_copy_string_in(t->mm, upath, path, PATH_MAX) : -ENOMEM;
    struct walk_result w;
    if (n >= 0) {
        unsigned wf = ((mask & IN_DONT_FOLLOW) ? 0 : WALK_FOLLOW) |
                      ((mask & IN_ONLYDIR) ? WALK_DIRECTORY : 0);
        err = vfs_walk(t, AT_FDCWD_GUEST, path, wf, &w);
    } else {
        err = (int)n;
    }
    free(path);
    if (err == 0) {
        /* watching needs read permission on what is watched */
        err = vfs_permission(&t->cred, w.path.d->inode, MAY_READ);
        if (err == 0)
            err = inotify_watch(f, w.path.d->inode, mask);
        path_put(&w.path);
    }
    file_put(f);
    return err;
}

long sys_inotify_rm_watch(struct task *t, const struct syscall_args *a)
{
    struct file *f;
    int err = inotify_fd(t, arg_int(a, 0), &f);
    if (err < 0)
        return err;
    err = inotify_unwatch(f, arg_int(a, 1));
    file_put(f);
    return err;
}
