/* Files as memory: the mappable object behind a file mapping, and reads of file data
 * into Sentry memory (the loader), both through the inode's page cache. Pages are
 * filled by the filesystem's fill_page (zeroes when it has none: tmpfs, whose cache is
 * its storage). Shared writable mappings mark pages dirty; sync writes them back with
 * write_page.
 *
 * Files that can be sealed (memfds: their fcntl answers F_GET_SEALS) also count their
 * shared mappings that may write, as Linux's i_mmap_writable, so F_SEAL_WRITE can
 * refuse while one exists: such a mapping maps a small counting wrapper (struct wmap)
 * around the file's mappable, alive as long as some VMA holds it. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
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

/* ---- counting shared writable mappings ---- */

int vfs_deny_writable_maps(struct inode *ino)
{
    int v = __atomic_load_n(&ino->mmap_writable, __ATOMIC_RELAXED);
    do {
        if (v > 0)
            return -EBUSY;
    } while (!__atomic_compare_exchange_n(&ino->mmap_writable, &v, v - 1, 0,
                                          __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
    return 0;
}

/* map_writable: one more shared writable mapping of ino; -EPERM if denied. */
static int map_writable(struct inode *ino)
{
    int v = __atomic_load_n(&ino->mmap_writable, __ATOMIC_RELAXED);
    do {
        if (v < 0)
            return -EPERM;
    } while (!__atomic_compare_exchange_n(&ino->mmap_writable, &v, v + 1, 0,
                                          __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
    return 0;
}

/* A shared writable mapping of a sealable file: forwards to the file's mappable and
 * keeps ino->mmap_writable counted while any VMA holds it. */
struct wmap {
    struct mappable m;
    struct mappable *inner;   /* a reference */
    struct inode *ino;        /* a reference */
    int refs;                 /* atomic */
};

static struct wmap *WM(struct mappable *m) { return (struct wmap *)m; }

static int64_t wmap_get_page(struct mappable *m, uint64_t idx, int write)
{
    return WM(m)->inner->ops->get_page(WM(m)->inner, idx, write);
}

static void wmap_hold(struct mappable *m)
{
    __atomic_add_fetch(&WM(m)->refs, 1, __ATOMIC_RELAXED);
}

static void wmap_drop(struct mappable *m)
{
    struct wmap *w = WM(m);
    if (__atomic_sub_fetch(&w->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    __atomic_sub_fetch(&w->ino->mmap_writable, 1, __ATOMIC_ACQ_REL);
    inode_put(w->ino);
    w->inner->ops->drop(w->inner);
    free(w);
}

static int wmap_sync(struct mappable *m, uint64_t idx, uint64_t n)
{
    struct mappable *in = WM(m)->inner;
    return in->ops->sync ? in->ops->sync(in, idx, n) : 0;
}

static void wmap_describe(struct mappable *m, uint64_t *dev, uint64_t *ino, char *path,
                          size_t size)
{
    struct mappable *in = WM(m)->inner;
    if (in->ops->describe)
        in->ops->describe(in, dev, ino, path, size);
}

static const struct mappable_ops wmap_ops = {
    .get_page = wmap_get_page,
    .hold = wmap_hold,
    .drop = wmap_drop,
    .sync = wmap_sync,
    .describe = wmap_describe,
};

/* count_writable: replaces *obj (the reference moves in) by a counting wrapper. */
static int count_writable(struct inode *ino, struct mappable **obj)
{
    struct wmap *w = malloc(sizeof(*w));
    if (!w)
        return -ENOMEM;
    int err = map_writable(ino);
    if (err < 0) {
        free(w);
        return err;
    }
    w->m.ops = &wmap_ops;
    w->inner = *obj;
    w->ino = ino;
    inode_get(ino);
    w->refs = 1;
    *obj = &w->m;
    return 0;
}

/* ---- mmap ---- */

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
    if (type == MAP_PRIVATE || !f->inode)
        return 0;
    /* memfd seals (Linux's memfd_check_seals_mmap): a write-sealed file maps shared
     * only read-only, for good */
    long seals = f->ops && f->ops->fcntl ? f->ops->fcntl(f, F_GET_SEALS, 0) : -EINVAL;
    if (seals < 0)
        return 0;   /* not a sealable file */
    if (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) {
        if (prot & PROT_WRITE)
            err = -EPERM;
        *maxprot &= ~PROT_WRITE;
    }
    if (!err && (*maxprot & PROT_WRITE))
        err = count_writable(f->inode, obj);
    if (err < 0) {
        (*obj)->ops->drop(*obj);
        *obj = NULL;
        return err;
    }
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
