/* System calls that move data between files without the guest's buffers: sendfile,
 * splice, tee, vmsplice and copy_file_range. Argument checks follow Linux's
 * fs/splice.c, fs/read_write.c in their order (which error wins matters to callers);
 * the pipe halves are sentry/fs/pipe_splice.c, and file-to-file copies go through a
 * bounded Sentry buffer with the files' own read and write (copy_direct, Linux's
 * do_splice_direct). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>

#include "lib/util.h"
#include "sentry/fs/pipe.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"

#ifndef SPLICE_F_MOVE
#define SPLICE_F_MOVE     1
#define SPLICE_F_NONBLOCK 2
#define SPLICE_F_MORE     4
#define SPLICE_F_GIFT     8
#endif
#define SPLICE_F_ALL (SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT)

/* The chunk of a file-to-file copy. */
#define COPY_CHUNK (64 * 1024)

/* ---- what a file allows ---- */

/* get_file: the file at fd with a reference; O_PATH files do not count (Linux's
 * fdget skips them). */
static struct file *get_file(struct task *t, int fd)
{
    struct file *f = fdtable_get(t->fds, fd);
    if (f && (f->flags & O_PATH)) {
        file_put(f);
        return NULL;
    }
    return f;
}

static int readable(const struct file *f)
{
    unsigned acc = f->flags & O_ACCMODE;
    return acc == O_RDONLY || acc == O_RDWR;
}

static int writable(const struct file *f)
{
    unsigned acc = f->flags & O_ACCMODE;
    return acc == O_WRONLY || acc == O_RDWR;
}

static unsigned nonblock_of(const struct file *f)
{
    return (__atomic_load_n(&f->flags, __ATOMIC_RELAXED) & O_NONBLOCK) ? 1 : 0;
}

/* file_type: the mode and device of f (the stdio host files have no inode: their
 * host stat then); 0 when unknown. */
static void file_type(struct file *f, uint32_t *mode, uint64_t *rdev)
{
    if (f->inode) {
        *mode = f->inode->mode;
        *rdev = f->inode->rdev;
        return;
    }
    struct stat st;
    int ok = vfs_fstat(f, &st) == 0;
    *mode = ok ? st.st_mode : 0;
    *rdev = ok ? st.st_rdev : 0;
}

static uint32_t file_mode(struct file *f)
{
    uint32_t mode;
    uint64_t rdev;
    file_type(f, &mode, &rdev);
    return mode;
}

/* preadable: positioned I/O works on f (Linux's FMODE_PREAD/PWRITE). */
static int preadable(const struct file *f) { return f->seekable || f->host_pos; }

enum { SPLICE_IN, SPLICE_OUT };

/* spliceable: f has Linux's splice_read (SPLICE_IN) or splice_write (SPLICE_OUT): not
 * directories, not the anonymous-inode files (eventfd and friends: no type bits),
 * not /dev/null for reading nor /dev/full for writing (the memory devices' fops lack
 * those). Pipes take the pipe paths before this is asked. */
static int spliceable(struct file *f, int dir)
{
    uint32_t mode;
    uint64_t rdev;
    file_type(f, &mode, &rdev);
    uint32_t type = mode & S_IFMT;
    if (type == 0 || type == S_IFDIR)
        return 0;
    if (type == S_IFCHR && major(rdev) == 1)
        return minor(rdev) != (dir == SPLICE_IN ? 3u : 7u);
    return 1;
}

/* host_seekable: a stdio host file that Linux would let do_splice_direct read: a
 * regular file or a memory device (not a pipe, socket or terminal). */
static int host_seekable(struct file *f)
{
    uint32_t mode;
    uint64_t rdev;
    file_type(f, &mode, &rdev);
    return f->host_pos && (S_ISREG(mode) || (S_ISCHR(mode) && major(rdev) == 1));
}

/* Where a transfer reads in: at a position the caller tracks (the offset argument,
 * or the file's own position copied out and back), or NULL for a stream (a file with
 * no position of ours: the stdio host files keep theirs in the host fd). */
struct xpos {
    int64_t val;
    int64_t *p;       /* &val, or NULL for a stream */
    int own;          /* val is f->pos: store it back after */
};

static void xpos_own(struct xpos *x, struct file *f)
{
    x->p = NULL;
    x->own = 0;
    if (f->seekable) {
        pthread_mutex_lock(&f->pos_mu);
        x->val = f->pos;
        pthread_mutex_unlock(&f->pos_mu);
        x->p = &x->val;
        x->own = 1;
    }
}

static void xpos_store(struct xpos *x, struct file *f)
{
    if (!x->own)
        return;
    pthread_mutex_lock(&f->pos_mu);
    f->pos = x->val;
    pthread_mutex_unlock(&f->pos_mu);
}

/* ---- file to file ---- */

/* copy_direct: up to len bytes from in at *ipos (NULL: in's stream) to out at *opos
 * (NULL: out's own position), both advanced by what out took. As Linux's
 * do_splice_direct: stops at in's end, at a short read, or when out takes less;
 * returns the bytes moved, or -errno if none. */
static ssize_t copy_direct(struct file *in, int64_t *ipos, struct file *out, int64_t *opos,
                           size_t len)
{
    char *buf = malloc(MIN(len, (size_t)COPY_CHUNK));
    if (!buf)
        return -ENOMEM;
    size_t done = 0;
    ssize_t ret = 0;
    while (done < len) {
        size_t want = MIN(len - done, (size_t)COPY_CHUNK);
        struct uio u = uio_kernel(buf, want);
        ssize_t n = vfs_read(in, &u, ipos);
        if (n <= 0) {
            ret = n;
            break;
        }
        size_t put = 0;
        while (put < (size_t)n) {
            struct uio w = uio_kernel(buf + put, (size_t)n - put);
            ssize_t m = vfs_write(out, &w, opos);
            if (m <= 0) {
                ret = m;
                break;
            }
            if (opos)
                *opos += m;
            put += (size_t)m;
        }
        if (ipos)
            *ipos += (int64_t)put;   /* what out did not take is not consumed */
        done += put;
        if (put < (size_t)n || (size_t)n < want || !ipos)
            break;
    }
    free(buf);
    return done ? (ssize_t)done : ret;
}

/* ---- sendfile ---- */

static long do_sendfile(struct task *t, int out_fd, int in_fd, int64_t *ppos, size_t count)
{
    struct file *in = get_file(t, in_fd), *out = NULL;
    long ret = -EBADF;
    if (!in || !readable(in))
        goto out;
    struct xpos x;
    if (ppos) {
        ret = -ESPIPE;
        if (!preadable(in))
            goto out;
        x = (struct xpos){ .val = *ppos, .p = &x.val };
    } else {
        xpos_own(&x, in);
    }
    ret = -EINVAL;
    if (x.p && x.val < 0)
        goto out;
    count = MIN(count, MAX_RW_COUNT);
    ret = -EBADF;
    if (!(out = get_file(t, out_fd)) || !writable(out))
        goto out;
    if (x.p && count > (uint64_t)INT64_MAX - (uint64_t)x.val)
        count = (size_t)(INT64_MAX - x.val);   /* cut at the largest file size */
    /* a file without splice_read fails only once there is something to read */
    if (is_pipe_file(out)) {
        ret = -EINVAL;
        if (is_pipe_file(in) || (count && !spliceable(in, SPLICE_IN)))
            goto out;
        ret = pipe_splice_from_file(out, in, x.p, count, nonblock_of(out));
    } else {
        /* do_splice_direct: the input must be seekable (a stdio host file may be,
         * though its position is the host fd's: one chunk per call then), the
         * output not append-only */
        ret = -EINVAL;
        if (!(x.p || host_seekable(in)) || (out->flags & O_APPEND))
            goto out;
        if (count && (!spliceable(in, SPLICE_IN) || !spliceable(out, SPLICE_OUT)))
            goto out;
        ret = count ? copy_direct(in, x.p, out, NULL, count) : 0;
    }
    if (ret > 0) {
        if (ppos)
            *ppos = x.val;
        else
            xpos_store(&x, in);
    }
out:
    file_put(in);
    file_put(out);
    return ret;
}

long sys_sendfile(struct task *t, const struct syscall_args *a)
{
    int out_fd = arg_int(a, 0), in_fd = arg_int(a, 1);
    uint64_t uoff = arg_u64(a, 2);
    size_t count = arg_size(a, 3);
    if (!uoff)
        return do_sendfile(t, out_fd, in_fd, NULL, count);
    int64_t pos;
    if (mm_copy_in(t->mm, &pos, uoff, sizeof(pos)) < 0)
        return -EFAULT;
    long ret = do_sendfile(t, out_fd, in_fd, &pos, count);
    if (mm_copy_out(t->mm, uoff, &pos, sizeof(pos), 0) < 0)
        return -EFAULT;
    return ret;
}

/* ---- splice ---- */

/* splice_files: Linux's do_splice once the offsets are copied in (off_in/off_out
 * NULL when not given). */
static long splice_files(struct file *in, int64_t *off_in, struct file *out,
                         int64_t *off_out, size_t len, unsigned flags)
{
    if (!readable(in) || !writable(out))
        return -EBADF;
    int ipipe = is_pipe_file(in), opipe = is_pipe_file(out);
    int nonblock = (flags & SPLICE_F_NONBLOCK) != 0;
    len = MIN(len, MAX_RW_COUNT);
    if (ipipe && opipe)
        return pipe_splice_pipe(in, out, len, nonblock || nonblock_of(in) || nonblock_of(out));
    if (ipipe) {
        if (off_out && !preadable(out))
            return -EINVAL;
        if (out->flags & O_APPEND)
            return -EINVAL;
        if (off_out && *off_out < 0)
            return -EINVAL;
        if (!spliceable(out, SPLICE_OUT))
            return -EINVAL;
        /* without off_out, out's own position (vfs_write keeps it) */
        return pipe_splice_to_file(in, out, off_out, len, nonblock || nonblock_of(in));
    }
    if (opipe) {
        if (off_in && !preadable(in))
            return -EINVAL;
        struct xpos x;
        if (off_in)
            x = (struct xpos){ .val = *off_in, .p = &x.val };
        else
            xpos_own(&x, in);
        if ((x.p && x.val < 0) || !spliceable(in, SPLICE_IN))
            return -EINVAL;
        long ret = pipe_splice_from_file(out, in, x.p, len, nonblock || nonblock_of(out));
        if (off_in)
            *off_in = x.val;
        else if (ret > 0)
            xpos_store(&x, in);
        return ret;
    }
    return -EINVAL;
}

long sys_splice(struct task *t, const struct syscall_args *a)
{
    int fd_in = arg_int(a, 0), fd_out = arg_int(a, 2);
    uint64_t uoff_in = arg_u64(a, 1), uoff_out = arg_u64(a, 3);
    size_t len = arg_size(a, 4);
    unsigned flags = arg_uint(a, 5);
    if (len == 0)
        return 0;
    if (flags & ~SPLICE_F_ALL)
        return -EINVAL;
    struct file *in = get_file(t, fd_in), *out = in ? get_file(t, fd_out) : NULL;
    long ret = -EBADF;
    if (!in || !out)
        goto out;
    int64_t off_in, off_out;
    ret = -ESPIPE;
    if ((is_pipe_file(in) && uoff_in) || (is_pipe_file(out) && uoff_out))
        goto out;
    ret = -EFAULT;
    if (uoff_in && mm_copy_in(t->mm, &off_in, uoff_in, sizeof(off_in)) < 0)
        goto out;
    if (uoff_out && mm_copy_in(t->mm, &off_out, uoff_out, sizeof(off_out)) < 0)
        goto out;
    ret = splice_files(in, uoff_in ? &off_in : NULL, out, uoff_out ? &off_out : NULL,
                       len, flags);
    if (ret < 0)
        goto out;
    if ((uoff_in && mm_copy_out(t->mm, uoff_in, &off_in, sizeof(off_in), 0) < 0) ||
        (uoff_out && mm_copy_out(t->mm, uoff_out, &off_out, sizeof(off_out), 0) < 0))
        ret = -EFAULT;
out:
    file_put(in);
    file_put(out);
    return ret;
}

/* ---- tee ---- */

long sys_tee(struct task *t, const struct syscall_args *a)
{
    int fd_in = arg_int(a, 0), fd_out = arg_int(a, 1);
    size_t len = arg_size(a, 2);
    unsigned flags = arg_uint(a, 3);
    if (flags & ~SPLICE_F_ALL)
        return -EINVAL;
    if (len == 0)
        return 0;
    struct file *in = get_file(t, fd_in), *out = in ? get_file(t, fd_out) : NULL;
    long ret = -EBADF;
    if (!in || !out)
        goto out;
    if (!readable(in) || !writable(out))
        goto out;
    ret = -EINVAL;
    if (!is_pipe_file(in) || !is_pipe_file(out))
        goto out;
    int nonblock = (flags & SPLICE_F_NONBLOCK) || nonblock_of(in) || nonblock_of(out);
    ret = pipe_tee(in, out, MIN(len, MAX_RW_COUNT), nonblock);
out:
    file_put(in);
    file_put(out);
    return ret;
}

/* ---- vmsplice ---- */

/* import_iovec: copies in and bounds a guest struct iovec array (Linux's
 * import_iovec: at most UIO_MAXIOV entries, negative lengths refused, the total cut
 * at MAX_RW_COUNT). iov must hold cnt entries. Returns the total or -errno. */
static long import_iovec(struct task *t, uint64_t uiov, unsigned long cnt,
                         struct guest_iovec *iov)
{
    struct { uint64_t base, len; } raw[64];
    size_t total = 0;
    for (unsigned long i = 0; i < cnt; i += 64) {
        size_t n = MIN(cnt - i, (unsigned long)64);
        if (mm_copy_in(t->mm, raw, uiov + i * sizeof(raw[0]), n * sizeof(raw[0])) < 0)
            return -EFAULT;
        for (size_t j = 0; j < n; j++) {
            if ((int64_t)raw[j].len < 0)
                return -EINVAL;
            size_t len = MIN(raw[j].len, MAX_RW_COUNT - total);
            iov[i + j] = (struct guest_iovec){ gva(raw[j].base), len };
            total += len;
        }
    }
    return (long)total;
}

long sys_vmsplice(struct task *t, const struct syscall_args *a)
{
    int fd = arg_int(a, 0);
    uint64_t uiov = arg_u64(a, 1);
    unsigned long nr_segs = arg_u64(a, 2);
    unsigned flags = arg_uint(a, 3);
    if (flags & ~SPLICE_F_ALL)
        return -EINVAL;
    struct file *f = get_file(t, fd);
    if (!f)
        return -EBADF;
    long ret;
    int to_pipe = writable(f);
    struct guest_iovec *iov = NULL;
    if (!to_pipe && !readable(f)) {
        ret = -EBADF;
        goto out;
    }
    if (nr_segs > UIO_MAXIOV) {
        ret = -EINVAL;
        goto out;
    }
    iov = malloc(MAX(nr_segs, 1UL) * sizeof(*iov));
    if (!iov) {
        ret = -ENOMEM;
        goto out;
    }
    ret = import_iovec(t, uiov, nr_segs, iov);
    if (ret <= 0)
        goto out;
    ret = -EBADF;
    if (!is_pipe_file(f))
        goto out;
    struct uio u = { .mm = t->mm, .iov = iov, .iovcnt = (int)nr_segs, .size = (size_t)ret };
    int nonblock = (flags & SPLICE_F_NONBLOCK) != 0;   /* O_NONBLOCK does not count */
    ret = to_pipe ? pipe_vmsplice_to(f, &u, nonblock) : pipe_vmsplice_from(f, &u, nonblock);
out:
    free(iov);
    file_put(f);
    return ret;
}

/* ---- copy_file_range ---- */

/* copy_checks: Linux's generic_copy_file_checks and rw_verify_area for copying
 * *count bytes (cut to in's end) from in at pin to out at pout. 0 or -errno. */
static int copy_checks(struct file *in, int64_t pin, struct file *out, int64_t pout,
                       size_t *count)
{
    uint32_t min = file_mode(in), mout = file_mode(out);
    if (S_ISDIR(min) || S_ISDIR(mout))
        return -EISDIR;
    if (!S_ISREG(min) || !S_ISREG(mout))
        return -EINVAL;
    if (!readable(in) || !writable(out) || (out->flags & O_APPEND))
        return -EBADF;
    /* one filesystem as the guest sees it (the root overlay is one, whichever layer
     * holds each file); Linux 5.19+ refuses the rest unless the filesystem has its
     * own cross-filesystem copy, which none here has */
    if (!in->inode || !out->inode || in->inode->sb != out->inode->sb)
        return -EXDEV;
    uint64_t n = *count;
    /* the kernel's sums are unsigned: a negative offset overflows here first */
    if ((uint64_t)pin + n < (uint64_t)pin || (uint64_t)pout + n < (uint64_t)pout)
        return -EOVERFLOW;
    if (pin < 0 || pout < 0)
        return -EINVAL;
    struct stat st;
    int err = vfs_fstat(in, &st);
    if (err < 0)
        return err;
    n = pin >= st.st_size ? 0 : MIN(n, (uint64_t)(st.st_size - pin));
    if ((uint64_t)pout + n > (uint64_t)INT64_MAX)
        return -EFBIG;
    /* no overlapping copy within one file */
    if (in->inode == out->inode && pout + (int64_t)n > pin && pout < pin + (int64_t)n)
        return -EINVAL;
    *count = (size_t)n;
    return 0;
}

long sys_copy_file_range(struct task *t, const struct syscall_args *a)
{
    int fd_in = arg_int(a, 0), fd_out = arg_int(a, 2);
    uint64_t uoff_in = arg_u64(a, 1), uoff_out = arg_u64(a, 3);
    size_t len = arg_size(a, 4);
    unsigned flags = arg_uint(a, 5);
    struct file *in = get_file(t, fd_in), *out = in ? get_file(t, fd_out) : NULL;
    long ret = -EBADF;
    if (!in || !out)
        goto out;
    struct xpos xi, xo;
    ret = -EFAULT;
    if (uoff_in) {
        if (mm_copy_in(t->mm, &xi.val, uoff_in, sizeof(xi.val)) < 0)
            goto out;
        xi.p = &xi.val;
        xi.own = 0;
    } else {
        xpos_own(&xi, in);
    }
    if (uoff_out) {
        if (mm_copy_in(t->mm, &xo.val, uoff_out, sizeof(xo.val)) < 0)
            goto out;
        xo.p = &xo.val;
        xo.own = 0;
    } else {
        xpos_own(&xo, out);
    }
    ret = -EINVAL;
    if (flags != 0)
        goto out;
    /* regular files of ours are seekable; the checks below refuse everything else */
    if (!xi.p || !xo.p) {
        ret = copy_checks(in, 0, out, 0, &len);
        ret = ret < 0 ? ret : -EINVAL;
        goto out;
    }
    if ((ret = copy_checks(in, xi.val, out, xo.val, &len)) < 0)
        goto out;
    if (len == 0)
        goto out;   /* 0 */
    ret = copy_direct(in, xi.p, out, xo.p, MIN(len, MAX_RW_COUNT));
    if (ret <= 0)
        goto out;
    if (uoff_in) {
        if (mm_copy_out(t->mm, uoff_in, &xi.val, sizeof(xi.val), 0) < 0)
            ret = -EFAULT;
    } else {
        xpos_store(&xi, in);
    }
    if (uoff_out) {
        if (mm_copy_out(t->mm, uoff_out, &xo.val, sizeof(xo.val), 0) < 0)
            ret = -EFAULT;
    } else {
        xpos_store(&xo, out);
    }
out:
    file_put(in);
    file_put(out);
    return ret;
}
