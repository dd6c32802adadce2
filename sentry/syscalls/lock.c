/* File locks: flock(2), and the record-lock commands of fcntl(2) (F_GETLK, F_SETLK,
 * F_SETLKW and the F_OFD_ forms), which sys_fcntl hands to fcntl_lock. This layer
 * decodes struct flock and checks the access mode; sentry/vfs/lock.c keeps the locks. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "lib/err.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/lock.h"

#ifndef LOCK_MAND
#define LOCK_MAND 32   /* removed from Linux: such requests succeed and do nothing */
#endif

/* struct flock as x86-64 Linux lays it out (the same as struct flock64). */
struct guest_flock {
    int16_t l_type;
    int16_t l_whence;
    int32_t pad0;
    int64_t l_start;
    int64_t l_len;
    int32_t l_pid;
    int32_t pad1;
};
_Static_assert(sizeof(struct guest_flock) == 32, "struct flock is 32 bytes");

static int may_read(const struct file *f)
{
    int acc = f->flags & O_ACCMODE;
    return !(f->flags & O_PATH) && (acc == O_RDONLY || acc == O_RDWR);
}

static int may_write(const struct file *f)
{
    int acc = f->flags & O_ACCMODE;
    return !(f->flags & O_PATH) && (acc == O_WRONLY || acc == O_RDWR);
}

/* to_range: the byte range and type of fl (Linux's flock64_to_posix_lock, with its
 * order of checks): whence SEEK_SET/CUR/END, l_len 0 to the end of the file, a
 * negative l_len the bytes before l_start. */
static int to_range(struct file *f, const struct guest_flock *fl, struct lock_rec *out)
{
    int64_t base;
    switch (fl->l_whence) {
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        pthread_mutex_lock(&f->pos_mu);
        base = f->pos;
        pthread_mutex_unlock(&f->pos_mu);
        break;
    case SEEK_END: {
        struct stat st;
        int err = vfs_fstat(f, &st);
        if (err < 0)
            return err;
        base = st.st_size;
        break;
    }
    default:
        return -EINVAL;
    }
    if (fl->l_start > LR_EOF - base)
        return -EOVERFLOW;
    int64_t start = base + fl->l_start, end;
    if (start < 0)
        return -EINVAL;
    if (fl->l_len > 0) {
        if (fl->l_len - 1 > LR_EOF - start)
            return -EOVERFLOW;
        end = start + (fl->l_len - 1);
    } else if (fl->l_len < 0) {
        if (start + fl->l_len < 0)
            return -EINVAL;
        end = start - 1;
        start += fl->l_len;
    } else {
        end = LR_EOF;
    }
    if (fl->l_type != F_RDLCK && fl->l_type != F_WRLCK && fl->l_type != F_UNLCK)
        return -EINVAL;
    *out = (struct lock_rec){ .type = fl->l_type, .start = start, .end = end };
    return 0;
}

/* getlk: F_GETLK / F_OFD_GETLK: the first lock that would block fl, or F_UNLCK in
 * l_type (the other fields as they were). */
static long getlk(struct task *t, struct file *f, int ofd, struct guest_flock *fl, gva_t arg)
{
    if (!ofd && fl->l_type != F_RDLCK && fl->l_type != F_WRLCK)
        return -EINVAL;
    struct lock_rec req, held;
    int err = to_range(f, fl, &req);
    if (err < 0)
        return err;
    if (ofd && fl->l_pid != 0)
        return -EINVAL;
    req.owner = ofd ? (const void *)f : (const void *)t->fds;
    req.flags = ofd ? LR_OFD : 0;
    err = vfs_lock_test(f, &req, &held);
    if (err < 0)
        return err;
    if (err == 0) {
        fl->l_type = F_UNLCK;
    } else {
        fl->l_type = (int16_t)held.type;
        fl->l_whence = SEEK_SET;
        fl->l_start = held.start;
        fl->l_len = held.end == LR_EOF ? 0 : held.end - held.start + 1;
        fl->l_pid = (held.flags & LR_OFD) ? -1 : held.pid;
    }
    return mm_copy_out(t->mm, arg.v, fl, sizeof(*fl), 0) < 0 ? -EFAULT : 0;
}

/* setlk: F_SETLK(W) / F_OFD_SETLK(W). */
static long setlk(struct task *t, int fd, struct file *f, int ofd, int wait,
                  const struct guest_flock *fl)
{
    struct lock_rec req;
    int err = to_range(f, fl, &req);
    if (err < 0)
        return err;
    if ((req.type == F_RDLCK && !may_read(f)) || (req.type == F_WRLCK && !may_write(f)))
        return -EBADF;
    if (ofd && fl->l_pid != 0)
        return -EINVAL;
    req.owner = ofd ? (const void *)f : (const void *)t->fds;
    req.flags = ofd ? LR_OFD : 0;
    req.pid = t->tg->tgid;
    err = vfs_lock_set(t, f, &req, wait);
    /* A thread may have closed fd while this one took the lock: the close released
     * this table's locks before the new one was there, so drop it now (Linux's
     * close/fcntl race check). */
    if (err == 0 && req.type != F_UNLCK && !ofd) {
        struct file *now = fdtable_get(t->fds, fd);
        if (now != f) {
            vfs_lock_close_posix(f, t->fds);
            err = -EBADF;
        }
        file_put(now);
    }
    return err;
}

long fcntl_lock(struct task *t, int fd, struct file *f, int cmd, uint64_t arg)
{
    if (f->flags & O_PATH)
        return -EBADF;   /* fcntl on an O_PATH fd allows only the fd commands */
    struct guest_flock fl;
    if (mm_copy_in(t->mm, &fl, arg, sizeof(fl)) < 0)
        return -EFAULT;
    switch (cmd) {
    case F_GETLK:
        return getlk(t, f, 0, &fl, gva(arg));
    case F_OFD_GETLK:
        return getlk(t, f, 1, &fl, gva(arg));
    case F_SETLK:
        return setlk(t, fd, f, 0, 0, &fl);
    case F_SETLKW:
        return setlk(t, fd, f, 0, 1, &fl);
    case F_OFD_SETLK:
        return setlk(t, fd, f, 1, 0, &fl);
    case F_OFD_SETLKW:
        return setlk(t, fd, f, 1, 1, &fl);
    }
    return -EINVAL;
}

long sys_flock(struct task *t, const struct syscall_args *a)
{
    int fd = arg_int(a, 0);
    unsigned cmd = arg_uint(a, 1);
    if (cmd & LOCK_MAND)
        return 0;
    int type;
    switch (cmd & ~(unsigned)LOCK_NB) {
    case LOCK_SH: type = F_RDLCK; break;
    case LOCK_EX: type = F_WRLCK; break;
    case LOCK_UN: type = F_UNLCK; break;
    default: return -EINVAL;
    }
    struct file *f = fdtable_get(t->fds, fd);
    if (!f)
        return -EBADF;
    long ret = -EBADF;
    if (f->flags & O_PATH)
        goto out;
    if (type != F_UNLCK && !may_read(f) && !may_write(f))
        goto out;
    ret = vfs_flock(t, f, type, !(cmd & LOCK_NB), t->tg->tgid);
out:
    file_put(f);
    return ret;
}
