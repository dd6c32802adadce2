/* Overlay open files: opening for write copies up first; then the real inode (upper
 * if any, else lower) is opened with its own filesystem's open on an inner struct
 * file that the overlay file wraps (f->priv). Data calls go to the inner file;
 * stat reports the overlay inode (its number and st_dev). A file opened read-only
 * before a copy-up keeps reading the lower, as on Linux before 4.19. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "sentry/fs/overlay_priv.h"

static struct file *inner(struct file *f) { return f->priv; }

/* sync_flags: F_SETFL changes the outer file's flags (O_APPEND, O_NONBLOCK); the
 * real filesystem looks at the inner file's. */
static struct file *synced(struct file *f)
{
    struct file *in = inner(f);
    __atomic_store_n(&in->flags, __atomic_load_n(&f->flags, __ATOMIC_RELAXED),
                     __ATOMIC_RELAXED);
    return in;
}

static ssize_t ovl_read(struct file *f, const struct uio *u, int64_t *pos)
{
    struct file *in = synced(f);
    return in->ops->read ? in->ops->read(in, u, pos) : -EINVAL;
}

/* sync_size: the overlay inode keeps the real file's size for mmap, whose faults
 * check it without a getattr; writes and truncates through the real file change it. */
static void sync_size(struct file *f, struct file *in)
{
    pthread_mutex_lock(&in->inode->mu);
    int64_t size = in->inode->size;
    pthread_mutex_unlock(&in->inode->mu);
    pthread_mutex_lock(&f->inode->mu);
    f->inode->size = size;
    pthread_mutex_unlock(&f->inode->mu);
}

static ssize_t ovl_write(struct file *f, const struct uio *u, int64_t *pos)
{
    struct file *in = synced(f);
    if (!in->ops->write)
        return -EINVAL;
    ssize_t n = in->ops->write(in, u, pos);
    if (n > 0)
        sync_size(f, in);
    return n;
}

static int ovl_stat(struct file *f, struct stat *st)
{
    return inode_stat(f->inode, st);
}

static long ovl_ioctl(struct file *f, struct task *t, unsigned cmd, uint64_t arg)
{
    struct file *in = synced(f);
    return in->ops->ioctl ? in->ops->ioctl(in, t, cmd, arg) : -ENOTTY;
}

static int64_t ovl_llseek(struct file *f, int64_t off, int whence)
{
    struct file *in = inner(f);
    if (!in->ops->llseek)
        return -ESPIPE;
    /* the position is the outer file's (its pos_mu is held); lend it to the inner */
    pthread_mutex_lock(&in->pos_mu);
    in->pos = f->pos;
    int64_t r = in->ops->llseek(in, off, whence);
    pthread_mutex_unlock(&in->pos_mu);
    return r;
}

static void ovl_release(struct file *f)
{
    file_put(inner(f));
}

static int ovl_mmap(struct file *f, struct mappable **out)
{
    struct file *in = inner(f);
    return in->ops->mmap(in, out);
}

static int ovl_fsync(struct file *f, int datasync)
{
    struct file *in = inner(f);
    return in->ops->fsync ? in->ops->fsync(in, datasync) : 0;
}

static long ovl_fcntl(struct file *f, int cmd, uint64_t arg)
{
    /* seals belong to tmpfs files themselves (memfds); an overlay file has none, as
     * on Linux, even when its upper is a tmpfs file */
    if (cmd == F_ADD_SEALS || cmd == F_GET_SEALS)
        return -EINVAL;
    struct file *in = synced(f);
    return in->ops->fcntl ? in->ops->fcntl(in, cmd, arg) : -EINVAL;
}

static int ovl_truncate(struct file *f, int64_t size)
{
    struct file *in = inner(f);
    if (in->ops->truncate) {
        int err = in->ops->truncate(in, size);
        if (err == 0)
            sync_size(f, in);
        return err;
    }
    /* what the VFS does without a truncate op: setattr on the (overlay) inode */
    struct iattr ia = { .valid = ATTR_SIZE, .size = size };
    return f->inode->ops->setattr(f->inode, &ia);
}

static int ovl_fallocate(struct file *f, int mode, int64_t off, int64_t len)
{
    struct file *in = inner(f);
    if (!in->ops->fallocate)
        return -EOPNOTSUPP;
    int err = in->ops->fallocate(in, mode, off, len);
    if (err == 0)
        ovl_refresh(f->inode);   /* size and times come from the real inode */
    return err;
}

/* Two tables: mmap stays NULL (map through the overlay inode's page cache, which is
 * the real inode's) unless the real file has its own mmap. */
static const struct file_ops ovl_file_ops = {
    .read = ovl_read, .write = ovl_write, .stat = ovl_stat, .ioctl = ovl_ioctl,
    .llseek = ovl_llseek, .release = ovl_release, .fsync = ovl_fsync,
    .fcntl = ovl_fcntl, .truncate = ovl_truncate, .fallocate = ovl_fallocate,
};
static const struct file_ops ovl_file_ops_mmap = {
    .read = ovl_read, .write = ovl_write, .stat = ovl_stat, .ioctl = ovl_ioctl,
    .llseek = ovl_llseek, .release = ovl_release, .fsync = ovl_fsync,
    .fcntl = ovl_fcntl, .truncate = ovl_truncate, .mmap = ovl_mmap,
    .fallocate = ovl_fallocate,
};

int ovl_open(struct inode *ino, struct file *f, int flags)
{
    if (S_ISDIR(ino->mode))
        return ovl_open_dir(f);
    if (S_ISREG(ino->mode) && ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))) {
        int err = ovl_copy_up(ino);
        if (err)
            return err;
    }
    struct inode *real = ovl_realino(ino);
    struct file *in = file_alloc(NULL, (unsigned)flags, NULL);
    if (!in)
        return -ENOMEM;
    in->inode = real;
    inode_get(real);
    if (f->path.d) {
        in->path = f->path;     /* the name the guest opened, for the real fs's use */
        path_get(&in->path);
    }
    int err = real->ops->open ? real->ops->open(real, in, flags) : -ENXIO;
    if (err) {
        in->ops = NULL;         /* nothing to release */
        file_put(in);
        return err;
    }
    f->ops = in->ops->mmap ? &ovl_file_ops_mmap : &ovl_file_ops;
    f->priv = in;
    f->seekable = in->seekable;
    f->host_pos = in->host_pos;
    return 0;
}
