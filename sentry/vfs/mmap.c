/* Files as memory: the mappable object behind a file mapping, and reads of file data
 * into Sentry memory (the loader), both through the inode's page cache. Pages are
 * filled by the filesystem's fill_page (zeroes when it has none: tmpfs, whose cache is
 * its storage). Shared writable mappings mark pages dirty; sync writes them back with
 * write_page. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/util.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memfile.h"
#include "sentry/mm/pagecache.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"

static struct file *map_file(struct mappable *m)
{
    return (struct file *)((char *)m - offsetof(struct file, map));
}

static int fill(void *arg, uint64_t idx, void *dst)
{
    struct inode *ino = arg;
    return ino->ops->fill_page ? ino->ops->fill_page(ino, idx, dst) : 0;
}

/* inode_size: the file size the filesystem keeps in the inode (no getattr: this runs
 * on every page fault of a mapping). */
static int64_t inode_size(struct inode *ino)
{
    pthread_mutex_lock(&ino->mu);
    int64_t size = ino->size;
    pthread_mutex_unlock(&ino->mu);
    return size;
}

static int64_t file_get_page(struct mappable *m, uint64_t idx, int write)
{
    struct inode *ino = map_file(m)->inode;
    if (idx > (uint64_t)INT64_MAX >> PAGE_SHIFT ||
        (idx << PAGE_SHIFT) >= page_up((uint64_t)inode_size(ino)))
        return -ENXIO;
    struct pagecache *pc = inode_cache(ino);
    if (!pc)
        return -ENOMEM;
    int64_t off = pc_get(pc, idx, fill, ino);
    if (off >= 0 && write && ino->ops->write_page)
        pc_mark_dirty(pc, idx);
    return off;
}

static void file_hold(struct mappable *m) { file_get(map_file(m)); }
static void file_drop(struct mappable *m) { file_put(map_file(m)); }

static int file_sync(struct mappable *m, uint64_t idx, uint64_t n)
{
    struct inode *ino = map_file(m)->inode;
    if (!ino->ops->write_page || !ino->cache)
        return 0;
    int64_t size = inode_size(ino);
    int ret = 0;
    for (int64_t i = pc_next_dirty(ino->cache, idx); i >= 0 && (uint64_t)i < idx + n;
         i = pc_next_dirty(ino->cache, (uint64_t)i + 1)) {
        int64_t off = pc_find(ino->cache, (uint64_t)i);
        int64_t start = i << PAGE_SHIFT;
        if (off < 0 || start >= size)
            continue;
        size_t len = (size_t)MIN((int64_t)PAGE_SIZE, size - start);
        int e = ino->ops->write_page(ino, (uint64_t)i, memfile_ptr((uint64_t)off), len);
        if (e < 0 && ret == 0)
            ret = e;
    }
    return ret;
}

static void file_describe(struct mappable *m, uint64_t *dev, uint64_t *ino, char *path,
                          size_t size)
{
    struct file *f = map_file(m);
    *dev = f->inode->sb ? f->inode->sb->dev : 0;
    *ino = f->inode->ino;
    path[0] = 0;
    if (f->path.d && vfs_path_string(&f->path, NULL, path, size) < 0)
        path[0] = 0;
}

static const struct mappable_ops file_map_ops = {
    .get_page = file_get_page,
    .hold = file_hold,
    .drop = file_drop,
    .sync = file_sync,
    .describe = file_describe,
};

int vfs_mmap_prepare(struct file *f, int prot, int flags, struct mappable **obj,
                     int *maxprot)
{
    int type = flags & MAP_TYPE;
    int acc = f->flags & O_ACCMODE;
    if (f->flags & O_PATH)
        return -EBADF;
    if (f->ops && f->ops->mmap) {
        int err = f->ops->mmap(f, obj);
        if (err < 0)
            return err;
        *maxprot = PROT_READ | PROT_WRITE | PROT_EXEC;
        if (*obj == NULL)
            return 0;   /* anonymous memory */
    } else {
        if (!f->inode || !S_ISREG(f->inode->mode))
            return -ENODEV;
        f->map.ops = &file_map_ops;
        file_get(f);
        *obj = &f->map;
    }
    /* a mapping needs read access; a shared writable one needs write access */
    int err = 0;
    if (acc == O_WRONLY)
        err = -EACCES;
    else if (type != MAP_PRIVATE && (prot & PROT_WRITE) && acc != O_RDWR)
        err = -EACCES;
    else if ((prot & PROT_EXEC) && f->path.mnt && (f->path.mnt->flags & MNT_NOEXEC))
        err = -EPERM;
    if (err < 0) {
        (*obj)->ops->drop(*obj);
        *obj = NULL;
        return err;
    }
    *maxprot = PROT_READ | PROT_EXEC;
    if (type == MAP_PRIVATE || acc == O_RDWR)
        *maxprot |= PROT_WRITE;
    if (f->path.mnt && (f->path.mnt->flags & MNT_NOEXEC))
        *maxprot &= ~PROT_EXEC;
    return 0;
}

ssize_t vfs_kernel_read(struct file *f, void *buf, size_t n, int64_t off)
{
    struct inode *ino = f->inode;
    if (!ino || !S_ISREG(ino->mode))
        return -EINVAL;
    struct pagecache *pc = inode_cache(ino);
    if (!pc)
        return -ENOMEM;
    int64_t size = inode_size(ino);
    if (off < 0)
        return -EINVAL;
    if (off >= size)
        return 0;
    n = (size_t)MIN((int64_t)n, size - off);
    size_t done = 0;
    while (done < n) {
        uint64_t at = (uint64_t)off + done;
        int64_t page = pc_get(pc, at >> PAGE_SHIFT, fill, ino);
        if (page < 0)
            return done ? (ssize_t)done : page;
        size_t in = at & (PAGE_SIZE - 1);
        size_t take = MIN(n - done, PAGE_SIZE - in);
        memcpy((char *)buf + done, (char *)memfile_ptr((uint64_t)page) + in, take);
        memfile_decref((uint64_t)page, PAGE_SIZE);
        done += take;
    }
    return (ssize_t)done;
}
