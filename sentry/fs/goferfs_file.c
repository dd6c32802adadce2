/* goferfs: open files. A regular file is the host fd the Gofer hands over on OPEN;
 * data moves between it and pinned guest pages with preadv/pwritev, without a bounce
 * buffer and without the Gofer. A directory is read with GETDENTS, the file position
 * being the Gofer's cookie. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/util.h"
#include "platform/platform.h"
#include "sentry/fs/goferfs.h"
#include "sentry/fs/goferfs_impl.h"
#include "sentry/mm/mm.h"
#include "sentry/mm/pagecache.h"
#include "sentry/fs/hostfd.h"
#include "sentry/vfs/file.h"

struct gofer_file {
    int fd;      /* the host fd: the inode's shared one (goferfs_inode_fd), or one the
                  * Gofer opened for this open file alone */
    int owned;   /* fd is this file's own, closed with it */
};

static const struct file_ops g_reg_ops, g_dir_ops;

int goferfs_file_host_fd(struct file *f)
{
    if (f->ops != &g_reg_ops)
        return -1;
    return ((struct gofer_file *)f->priv)->fd;
}

static ssize_t reg_read(struct file *f, const struct uio *u, int64_t *pos)
{
    int64_t p = pos ? *pos : f->pos;
    ssize_t n = hostfd_transfer(((struct gofer_file *)f->priv)->fd, u, &p, 1);
    if (pos)
        *pos = p;
    return n;
}

/* drop_cached: pages of [from, to) in the page cache no longer match the file. */
static void drop_cached(struct inode *ino, int64_t from, int64_t to)
{
    struct pagecache *pc = __atomic_load_n(&ino->cache, __ATOMIC_ACQUIRE);
    if (!pc || to <= from)
        return;
    for (uint64_t i = (uint64_t)from / PAGE_SIZE; i <= (uint64_t)(to - 1) / PAGE_SIZE; i++)
        pc_drop(pc, i);
}

static ssize_t reg_write(struct file *f, const struct uio *u, int64_t *pos)
{
    struct inode *ino = f->inode;
    int fd = ((struct gofer_file *)f->priv)->fd;
    int64_t p = pos ? *pos : f->pos;
    if (f->flags & O_APPEND) {
        /* the host fd is never O_APPEND (pwritev would ignore our offset), so append
         * means: at the host file's current end */
        struct stat st;
        if (fstat(fd, &st) < 0)
            return -errno;
        p = st.st_size;
    }
    int64_t start = p;
    ssize_t n = hostfd_transfer(fd, u, &p, 0);
    if (n > 0) {
        pthread_mutex_lock(&ino->mu);
        if (p > ino->size)
            ino->size = p;
        pthread_mutex_unlock(&ino->mu);
        inode_touch(ino, ATTR_MTIME | ATTR_CTIME);
        goferfs_mark_stale(ino);   /* blocks, exact times: from the host next stat */
        drop_cached(ino, start, p);
    }
    if (pos)
        *pos = p;
    return n;
}

/* reg_fallocate: the host's fallocate on the host fd (data I/O is the Sentry's on
 * these fds by design); then the size we keep and the cached pages follow. */
static int reg_fallocate(struct file *f, int mode, int64_t off, int64_t len)
{
    struct inode *ino = f->inode;
    if (fallocate(((struct gofer_file *)f->priv)->fd, mode, off, len) < 0)
        return -errno;
    /* collapse and insert shift everything after off; the others touch the range */
    int shifts = (mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) != 0;
    pthread_mutex_lock(&ino->mu);
    int64_t size = ino->size;
    if (!shifts && !(mode & FALLOC_FL_KEEP_SIZE) && off + len > size)
        ino->size = off + len;
    pthread_mutex_unlock(&ino->mu);
    inode_touch(ino, ATTR_MTIME | ATTR_CTIME);
    goferfs_mark_stale(ino);   /* size, blocks and times: from the host next stat */
    drop_cached(ino, off, shifts ? MAX(size, off) + len : off + len);
    return 0;
}

static int file_stat(struct file *f, struct stat *st)
{
    return inode_stat(f->inode, st);
}

static int64_t reg_llseek(struct file *f, int64_t off, int whence)
{
    int64_t base;
    switch (whence) {
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = f->pos;
        break;
    case SEEK_END: {
        int err = f->inode->ops->getattr(f->inode);
        if (err < 0)
            return err;
        pthread_mutex_lock(&f->inode->mu);
        base = f->inode->size;
        pthread_mutex_unlock(&f->inode->mu);
        break;
    }
    case SEEK_DATA:
    case SEEK_HOLE: {
        /* only the host knows where its holes are */
        off_t r = lseek(((struct gofer_file *)f->priv)->fd, off, whence);
        if (r < 0)
            return -errno;
        return f->pos = r;
    }
    default:
        return -EINVAL;
    }
    if ((off > 0 && base > INT64_MAX - off) || base + off < 0)
        return -EINVAL;
    return f->pos = base + off;
}

static int file_fsync(struct file *f, int datasync)
{
    return goferfs_fsync(f->inode, datasync);
}

static void reg_release(struct file *f)
{
    struct gofer_file *gf = f->priv;
    if (gf->owned)
        close(gf->fd);
    free(gf);
}

static const struct file_ops g_reg_ops = {
    .read = reg_read,
    .write = reg_write,
    .stat = file_stat,
    .llseek = reg_llseek,
    .fsync = file_fsync,
    .release = reg_release,
    .fallocate = reg_fallocate,
};

/* ---- directories ---- */

static int dir_iterate(struct file *f, struct dir_emit *e)
{
    struct inode *dir = f->inode;
    struct goferfs_sb *s = gsb(dir);
    char *pkt = malloc(GP_MAX_MSG);
    if (!pkt)
        return -ENOMEM;
    int err = 0;
    for (;;) {
        struct gp_req rq = { .type = GP_GETDENTS, .fid = gino(dir)->fid,
                             .offset = (uint64_t)f->pos };
        struct gp_reply rp;
        err = gc_call(s->client, &rq, &rp, pkt, NULL);
        if (err < 0 || rp.ndents == 0)
            break;
        for (uint32_t i = 0; i < rp.ndents; i++) {
            const struct gp_dirent *d = &rp.dents[i];
            uint64_t ino = d->ino;
            /* the root's ".." is outside the tree: show the root itself, as Linux
             * does at a mount's root */
            if (gino(dir)->fid == s->root_fid && d->namelen == 2 && !memcmp(d->name, "..", 2))
                ino = dir->ino;
            if (e->emit(e, d->name, d->namelen, ino, d->type, (int64_t)d->next))
                goto out;
            f->pos = (int64_t)d->next;
        }
    }
out:
    free(pkt);
    return err;
}

static int64_t dir_llseek(struct file *f, int64_t off, int whence)
{
    /* positions are the host's cookies: only ones we handed out mean anything */
    if (whence == SEEK_SET && off >= 0)
        return f->pos = off;
    if (whence == SEEK_CUR && off == 0)
        return f->pos;
    return -EINVAL;
}

static const struct file_ops g_dir_ops = {
    .stat = file_stat,
    .llseek = dir_llseek,
    .iterate = dir_iterate,
    .fsync = file_fsync,
};

/* Open flags passed on to the host. Not O_TRUNC (the VFS truncates with setattr),
 * not O_APPEND (see reg_write), not O_NONBLOCK or O_DIRECT (status flags the guest
 * may change later with fcntl; the host fd keeps its own). */
#define HOST_OPEN_FLAGS (O_ACCMODE | O_DSYNC | O_SYNC)

int goferfs_open_file(struct inode *ino, struct file *f, int flags)
{
    switch (ino->mode & S_IFMT) {
    case S_IFDIR:
        if ((flags & O_ACCMODE) != O_RDONLY)
            return -EISDIR;
        f->ops = &g_dir_ops;
        f->priv = NULL;
        f->seekable = 1;
        return 0;
    case S_IFREG:
        break;
    case S_IFLNK:
        return -ELOOP;
    default:
        return -ENXIO;   /* FIFOs and sockets are the VFS's, devices are not served */
    }
    struct gofer_file *gf = malloc(sizeof(*gf));
    if (!gf)
        return -ENOMEM;
    /* Every transfer names its offset, so open files can share the inode's host fd
     * (the one the page cache uses) and an open costs no Gofer round trip after the
     * first. Synchronous writes need an fd opened with those flags: their own. */
    int write = (flags & O_ACCMODE) != O_RDONLY;
    gf->owned = (flags & (O_DSYNC | O_SYNC)) != 0;
    gf->fd = gf->owned ? -1 : goferfs_inode_fd(ino, write);
    if (gf->fd < 0) {
        gf->owned = 1;
        gf->fd = goferfs_open_host(ino, flags & HOST_OPEN_FLAGS);
    }
    if (gf->fd < 0) {
        int err = gf->fd;
        free(gf);
        return err;
    }
    f->ops = &g_reg_ops;
    f->priv = gf;
    f->seekable = 1;
    return 0;
}
