/* Open files: reference counting and the generic read/write layer. */
#include "sentry/vfs/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "sentry/vfs/fsnotify.h"
#include "sentry/fs/epoll.h"
#include "sentry/vfs/lock.h"

struct file *file_alloc(const struct file_ops *ops, unsigned flags, void *priv)
{
    struct file *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->refs = 1;
    f->ops = ops;
    f->flags = flags;
    f->priv = priv;
    pthread_mutex_init(&f->pos_mu, NULL);
    return f;
}

struct file *file_alloc_path(const struct path *p, unsigned flags)
{
    struct file *f = file_alloc(NULL, flags, NULL);
    if (!f)
        return NULL;
    f->path = *p;
    path_get(p);
    f->inode = p->d->inode;
    inode_get(f->inode);
    return f;
}

void file_get(struct file *f) { __atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED); }

void file_put(struct file *f)
{
    if (!f || __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    if (f->ops) {
        int acc = f->flags & O_ACCMODE;
        fsnotify_close(f, acc == O_WRONLY || acc == O_RDWR);
    }
    /* epoll registrations belong to the open file: they go with it (Linux's
     * eventpoll_release in __fput) */
    epoll_release_file(f);
    vfs_lock_release_file(f);   /* OFD and flock locks die with the open file */
    if (f->ops && f->ops->release)
        f->ops->release(f);
    if (f->write_held)
        mnt_drop_write(f->path.mnt);
    if (f->path.d)
        path_put(&f->path);
    inode_put(f->inode);
    pthread_mutex_destroy(&f->pos_mu);
    free(f);
}

typedef ssize_t (*io_fn)(struct file *f, const struct uio *u, int64_t *pos);

static ssize_t do_io(struct file *f, io_fn fn, const struct uio *u, const int64_t *off)
{
    if (!fn)
        return -EINVAL;
    if (off) {
        if (!f->seekable && !f->host_pos)
            return -ESPIPE;
        if (*off < 0)
            return -EINVAL;
        int64_t pos = *off;
        return fn(f, u, &pos);
    }
    if (!f->seekable)
        return fn(f, u, NULL);
    pthread_mutex_lock(&f->pos_mu);
    int64_t pos = f->pos;
    ssize_t n = fn(f, u, &pos);
    if (n > 0)
        f->pos = pos;
    pthread_mutex_unlock(&f->pos_mu);
    return n;
}

ssize_t vfs_read(struct file *f, const struct uio *u, const int64_t *off)
{
    if ((f->flags & O_ACCMODE) == O_WRONLY)
        return -EBADF;
    ssize_t n = do_io(f, f->ops->read, u, off);
    if (n > 0)
        fsnotify_access(f);
    return n;
}

ssize_t vfs_write(struct file *f, const struct uio *u, const int64_t *off)
{
    if ((f->flags & O_ACCMODE) == O_RDONLY)
        return -EBADF;
    ssize_t n = do_io(f, f->ops->write, u, off);
    if (n > 0)
        fsnotify_modify(f);
    return n;
}

int vfs_fstat(struct file *f, struct stat *st)
{
    if (f->ops && f->ops->stat) {
        memset(st, 0, sizeof(*st));
        return f->ops->stat(f, st);
    }
    if (f->inode)
        return inode_stat(f->inode, st);
    return -EINVAL;
}

/* uio_copy: walks the vector from byte skip, copying n bytes each way. */
static ssize_t uio_copy(const struct uio *u, size_t skip, void *buf, size_t n, int out)
{
    if (u->kbuf) {
        if (skip >= u->size)
            return 0;
        n = MIN(n, u->size - skip);
        if (out)
            memcpy(u->kbuf + skip, buf, n);
        else
            memcpy(buf, u->kbuf + skip, n);
        return (ssize_t)n;
    }
    size_t done = 0;
    for (int i = 0; i < u->iovcnt && done < n; i++) {
        size_t len = u->iov[i].len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        size_t take = MIN(len - skip, n - done);
        uint64_t at = u->iov[i].base.v + skip;
        int err = out ? mm_copy_out(u->mm, at, (char *)buf + done, take, 0)
                      : mm_copy_in(u->mm, (char *)buf + done, at, take);
        if (err < 0) {
            /* find how much of this piece is accessible, byte-exactly enough: page
             * by page */
            size_t ok = 0;
            while (ok < take) {
                size_t chunk = MIN(take - ok, PAGE_SIZE - ((at + ok) & (PAGE_SIZE - 1)));
                err = out ? mm_copy_out(u->mm, at + ok, (char *)buf + done + ok, chunk, 0)
                          : mm_copy_in(u->mm, (char *)buf + done + ok, at + ok, chunk);
                if (err < 0)
                    break;
                ok += chunk;
            }
            done += ok;
            return done ? (ssize_t)done : -EFAULT;
        }
        done += take;
        skip = 0;
    }
    return (ssize_t)done;
}

ssize_t uio_copy_out(const struct uio *u, size_t skip, const void *buf, size_t n)
{
    return uio_copy(u, skip, (void *)buf, n, 1);
}

ssize_t uio_copy_in(const struct uio *u, size_t skip, void *buf, size_t n)
{
    return uio_copy(u, skip, buf, n, 0);
}
