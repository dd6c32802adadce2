/* fallocate: the checks of Linux's vfs_fallocate, in its order, then the file's own
 * fallocate (tmpfs: allocate, keep size, punch holes; goferfs and the stdio host
 * files: the host's fallocate on their host fd). */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdint.h>
#include <sys/stat.h>

#include "sentry/kernel/task.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"

#ifndef FALLOC_FL_UNSHARE_RANGE
#define FALLOC_FL_UNSHARE_RANGE 0x40
#endif
#ifndef FALLOC_FL_WRITE_ZEROES
#define FALLOC_FL_WRITE_ZEROES 0x80
#endif
#define FALLOC_FL_ALLOCATE_RANGE 0x00
#define FALLOC_FL_MODE_MASK                                                          \
    (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_ZERO_RANGE |        \
     FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_WRITE_ZEROES)

/* mode_ok: the mode is one Linux knows, with KEEP_SIZE only where it may go. The
 * modes are exclusive although their encoding looks like bits. */
static int mode_ok(int mode)
{
    if (mode & ~(FALLOC_FL_MODE_MASK | FALLOC_FL_KEEP_SIZE))
        return 0;
    switch (mode & FALLOC_FL_MODE_MASK) {
    case FALLOC_FL_ALLOCATE_RANGE:
    case FALLOC_FL_UNSHARE_RANGE:
    case FALLOC_FL_ZERO_RANGE:
        return 1;
    case FALLOC_FL_PUNCH_HOLE:
        return (mode & FALLOC_FL_KEEP_SIZE) != 0;
    case FALLOC_FL_COLLAPSE_RANGE:
    case FALLOC_FL_INSERT_RANGE:
    case FALLOC_FL_WRITE_ZEROES:
        return !(mode & FALLOC_FL_KEEP_SIZE);
    default:
        return 0;
    }
}

long sys_fallocate(struct task *t, const struct syscall_args *a)
{
    int fd = arg_int(a, 0);
    int mode = arg_int(a, 1);
    int64_t off = (int64_t)arg_u64(a, 2), len = (int64_t)arg_u64(a, 3);
    struct file *f = fdtable_get(t->fds, fd);
    if (!f)
        return -EBADF;
    long ret;
    unsigned acc = f->flags & O_ACCMODE;
    struct stat st;
    if (f->flags & O_PATH)
        ret = -EBADF;
    else if (off < 0 || len <= 0)
        ret = -EINVAL;
    else if (!mode_ok(mode))
        ret = -EOPNOTSUPP;
    else if (acc != O_WRONLY && acc != O_RDWR)
        ret = -EBADF;
    else if ((ret = vfs_fstat(f, &st)) < 0)
        ;
    else if (S_ISFIFO(st.st_mode))
        ret = -ESPIPE;
    else if (S_ISDIR(st.st_mode))
        ret = -EISDIR;
    else if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        ret = -ENODEV;
    else if (off > INT64_MAX - len)
        ret = -EFBIG;
    else if (!f->ops->fallocate)
        ret = -EOPNOTSUPP;
    else
        ret = f->ops->fallocate(f, mode, off, len);
    file_put(f);
    return ret;
}
