/* Open files: reference counting and the generic read/write layer. */
#include "sentry/vfs/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

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

void file_get(struct file *f) { __atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED); }

void file_put(struct file *f)
{
    if (!f || __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    if (f->ops->release)
        f->ops->release(f);
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
    return do_io(f, f->ops->read, u, off);
}

ssize_t vfs_write(struct file *f, const struct uio *u, const int64_t *off)
{
    if ((f->flags & O_ACCMODE) == O_RDONLY)
        return -EBADF;
    return do_io(f, f->ops->write, u, off);
}
