/* System calls on open files: read, write and their vectored and positioned forms,
 * stat of an open file, ioctl, lseek, fcntl, dup and close. */
#include <errno.h>
#include <fcntl.h>
#include <linux/stat.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>

#include "lib/util.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"

/* UIO_MAXIOV (1024) comes from <sys/uio.h>, as in Linux */

/* struct iovec as the guest lays it out. */
struct guest_iovec_raw { uint64_t base, len; };

/* rw: one read or write of a copied-in vector, positioned when off != NULL. */
static long rw(struct task *t, int fd, struct guest_iovec *iov, int cnt, size_t size,
               const int64_t *off, int write)
{
    struct file *f = fdtable_get(t->fds, fd);
    if (!f)
        return -EBADF;
    struct uio u = { .mm = t->mm, .iov = iov, .iovcnt = cnt, .size = size };
    long ret = write ? vfs_write(f, &u, off) : vfs_read(f, &u, off);
    file_put(f);
    return ret;
}

/* rw_single: read/write/pread64/pwrite64 on one buffer. */
static long rw_single(struct task *t, const struct syscall_args *a, int positioned,
                      int write)
{
    int fd = arg_int(a, 0);
    gva_t buf = arg_gva(a, 1);
    size_t count = MIN(arg_size(a, 2), MAX_RW_COUNT);
    int64_t off = positioned ? (int64_t)arg_u64(a, 3) : 0;
    struct guest_iovec iov = { buf, count };
    return rw(t, fd, &iov, 1, count, positioned ? &off : NULL, write);
}

/* rw_vector: readv/writev/preadv/pwritev: copies in and bounds the vector. */
static long rw_vector(struct task *t, int fd, gva_t uiov, int cnt, const int64_t *off,
                      int write)
{
    static _Thread_local struct guest_iovec_raw raw[UIO_MAXIOV];
    static _Thread_local struct guest_iovec iov[UIO_MAXIOV];
    if (cnt < 0 || cnt > UIO_MAXIOV)
        return -EINVAL;
    if (cnt == 0) {
        /* Linux still checks the fd and its mode */
        struct file *f = fdtable_get(t->fds, fd);
        if (!f)
            return -EBADF;
        file_put(f);
        return 0;
    }
    if (mm_copy_in(t->mm, raw, uiov.v, (size_t)cnt * sizeof(raw[0])) < 0)
        return -EFAULT;
    size_t total = 0;
    for (int i = 0; i < cnt; i++) {
        if ((int64_t)raw[i].len < 0)
            return -EINVAL;
        /* like Linux, lengths beyond MAX_RW_COUNT in total are cut, not refused */
        size_t len = MIN(raw[i].len, MAX_RW_COUNT - total);
        iov[i] = (struct guest_iovec){ gva(raw[i].base), len };
        total += len;
    }
    return rw(t, fd, iov, cnt, total, off, write);
}

long sys_read(struct task *t, const struct syscall_args *a) { return rw_single(t, a, 0, 0); }
long sys_write(struct task *t, const struct syscall_args *a) { return rw_single(t, a, 0, 1); }
long sys_pread64(struct task *t, const struct syscall_args *a) { return rw_single(t, a, 1, 0); }
long sys_pwrite64(struct task *t, const struct syscall_args *a) { return rw_single(t, a, 1, 1); }

long sys_readv(struct task *t, const struct syscall_args *a)
{
    return rw_vector(t, arg_int(a, 0), arg_gva(a, 1), arg_int(a, 2), NULL, 0);
}

long sys_writev(struct task *t, const struct syscall_args *a)
{
    return rw_vector(t, arg_int(a, 0), arg_gva(a, 1), arg_int(a, 2), NULL, 1);
}

long sys_close(struct task *t, const struct syscall_args *a)
{
    return fdtable_close(t->fds, arg_int(a, 0));
}

/* file_stat: stat of the file at fd. */
static int file_stat(struct task *t, int fd, struct stat *st)
{
    struct file *f = fdtable_get(t->fds, fd);
    if (!f)
        return -EBADF;
    int ret = vfs_fstat(f, st);
    file_put(f);
    return ret;
}

long sys_fstat(struct task *t, const struct syscall_args *a)
{
    struct stat st;
    int ret = file_stat(t, arg_int(a, 0), &st);
    if (ret < 0)
        return ret;
    return mm_copy_out(t->mm, arg_u64(a, 1), &st, sizeof(st), 0);
}

long sys_ioctl(struct task *t, const struct syscall_args *a)
{
    int fd = arg_int(a, 0);
    unsigned cmd = arg_uint(a, 1);
    uint64_t arg = arg_u64(a, 2);
    struct file *f = fdtable_get(t->fds, fd);
    if (!f)
        return -EBADF;
    long ret;
    switch (cmd) {
    case FIOCLEX:
    case FIONCLEX:
        ret = fdtable_cloexec(t->fds, fd, cmd == FIOCLEX);
        ret = ret < 0 ? ret : 0;
        break;
    case FIONBIO: {
        int on;
        if (mm_copy_in(t->mm, &on, arg, sizeof(on)) < 0) {
            ret = -EFAULT;
            break;
        }
        pthread_mutex_lock(&f->pos_mu);
        if (on)
            f->flags |= O_NONBLOCK;
        else
            f->flags &= ~(unsigned)O_NONBLOCK;
        pthread_mutex_unlock(&f->pos_mu);
        ret = 0;
        break;
    }
    case FIONREAD:
        /* regular files: the bytes after the position (Linux's do_vfs_ioctl); others
         * answer themselves (pipes, host files) */
        if (f->inode && S_ISREG(f->inode->mode)) {
            struct stat st;
            ret = vfs_fstat(f, &st);
            if (ret < 0)
                break;
            pthread_mutex_lock(&f->pos_mu);
            int n = (int)(st.st_size - f->pos);
            pthread_mutex_unlock(&f->pos_mu);
            ret = mm_copy_out(t->mm, arg, &n, sizeof(n), 0);
            break;
        }
        ret = f->ops->ioctl ? f->ops->ioctl(f, t, cmd, arg) : -ENOTTY;
        break;
    default:
        ret = f->ops->ioctl ? f->ops->ioctl(f, t, cmd, arg) : -ENOTTY;
    }
    file_put(f);
    return ret;
}

long sys_lseek(struct task *t, const struct syscall_args *a)
{
    int fd = arg_int(a, 0);
    int64_t off = (int64_t)arg_u64(a, 1);
    int whence = arg_int(a, 2);
    struct file *f = fdtable_get(t->fds, fd);
    if (!f)
        return -EBADF;
    long ret;
    if (whence < SEEK_SET || whence > SEEK_HOLE)
        ret = -EINVAL;
    else if (!f->ops->llseek)
        ret = -ESPIPE;
    else {
        pthread_mutex_lock(&f->pos_mu);
        ret = f->ops->llseek(f, off, whence);
        if (ret >= 0)
            f->pos = ret;   /* the callback computes; the position is the file's */
        pthread_mutex_unlock(&f->pos_mu);
    }
    file_put(f);
    return ret;
}

/* The status flags F_SETFL may change (as in Linux's SETFL_MASK). */
#define SETFL_MASK (O_APPEND | O_NONBLOCK | O_NDELAY | O_DIRECT | O_NOATIME | O_ASYNC)

long sys_fcntl(struct task *t, const struct syscall_args *a)
{
    int fd = arg_int(a, 0);
    int cmd = arg_int(a, 1);
    uint64_t arg = arg_u64(a, 2);
    struct file *f = fdtable_get(t->fds, fd);
    if (!f)
        return -EBADF;
    long ret;
    switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
        if ((int)arg < 0 || (int64_t)arg >= FD_MAX) {
            ret = -EINVAL;
            break;
        }
        file_get(f);
        ret = fdtable_install(t->fds, (int)arg, f, cmd == F_DUPFD_CLOEXEC);
        if (ret < 0)
            file_put(f);
        break;
    case F_GETFD:
        ret = fdtable_cloexec(t->fds, fd, -1);
        ret = ret > 0 ? FD_CLOEXEC : ret;
        break;
    case F_SETFD:
        ret = fdtable_cloexec(t->fds, fd, (arg & FD_CLOEXEC) != 0);
        ret = ret < 0 ? ret : 0;
        break;
    case F_GETFL:
        pthread_mutex_lock(&f->pos_mu);
        ret = f->flags;
        pthread_mutex_unlock(&f->pos_mu);
        break;
    case F_SETFL:
        pthread_mutex_lock(&f->pos_mu);
        f->flags = (f->flags & ~SETFL_MASK) | ((unsigned)arg & SETFL_MASK);
        pthread_mutex_unlock(&f->pos_mu);
        ret = 0;
        break;
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
        ret = fcntl_lock(t, fd, f, cmd, arg);   /* syscalls/lock.c */
        break;
    case F_SETPIPE_SZ:
    case F_GETPIPE_SZ:
        /* Linux: EBADF when the file is not a pipe */
        ret = f->ops->fcntl ? f->ops->fcntl(f, cmd, arg) : -EBADF;
        break;
    default:
        /* commands the file type owns (file_ops.fcntl) */
        ret = f->ops->fcntl ? f->ops->fcntl(f, cmd, arg) : -EINVAL;
    }
    file_put(f);
    return ret;
}

long sys_dup(struct task *t, const struct syscall_args *a)
{
    struct file *f = fdtable_get(t->fds, arg_int(a, 0));
    if (!f)
        return -EBADF;
    int ret = fdtable_install(t->fds, 0, f, 0);
    if (ret < 0)
        file_put(f);
    return ret;
}

/* dup_to: dup2/dup3 logic. */
static long dup_to(struct task *t, int oldfd, int newfd, int cloexec)
{
    struct file *f = fdtable_get(t->fds, oldfd);
    if (!f)
        return -EBADF;
    int ret = fdtable_install_at(t->fds, newfd, f, cloexec);
    if (ret < 0)
        file_put(f);
    return ret;
}

long sys_dup2(struct task *t, const struct syscall_args *a)
{
    int oldfd = arg_int(a, 0), newfd = arg_int(a, 1);
    if (oldfd == newfd) {
        struct file *f = fdtable_get(t->fds, oldfd);
        if (!f)
            return -EBADF;
        file_put(f);
        return newfd;
    }
    return dup_to(t, oldfd, newfd, 0);
}

long sys_dup3(struct task *t, const struct syscall_args *a)
{
    int oldfd = arg_int(a, 0), newfd = arg_int(a, 1), flags = arg_int(a, 2);
    if (flags & ~O_CLOEXEC)
        return -EINVAL;
    if (oldfd == newfd)
        return -EINVAL;
    return dup_to(t, oldfd, newfd, flags & O_CLOEXEC);
}
