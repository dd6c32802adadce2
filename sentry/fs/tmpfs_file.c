/* tmpfs regular files: the data is the inode's page cache. A page missing from the
 * cache is a hole and reads as zeroes; writing allocates it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "sentry/fs/tmpfs.h"
#include "sentry/fs/tmpfs_priv.h"
#include "sentry/mm/memfile.h"
#include "sentry/mm/pagecache.h"

/* Linux's MAX_LFS_FILESIZE on 64-bit. */
#define TMPFS_MAX_SIZE ((int64_t)LLONG_MAX)

/* How data moves between a page and the caller: n bytes at byte skip of the
 * caller's buffer. Returns the bytes moved (short only at a fault) or -EFAULT. */
struct copier {
    ssize_t (*copy)(struct copier *c, size_t skip, void *page, size_t n, int to_caller);
};

struct uio_copier { struct copier c; const struct uio *u; };
static ssize_t uio_copy(struct copier *c, size_t skip, void *page, size_t n, int out)
{
    const struct uio *u = ((struct uio_copier *)c)->u;
    return out ? uio_copy_out(u, skip, page, n) : uio_copy_in(u, skip, page, n);
}

struct host_copier { struct copier c; char *buf; };
static ssize_t host_copy(struct copier *c, size_t skip, void *page, size_t n, int out)
{
    char *buf = ((struct host_copier *)c)->buf;
    if (out)
        memcpy(buf + skip, page, n);
    else
        memcpy(page, buf + skip, n);
    return (ssize_t)n;
}

/* update_blocks: blocks from the pages the cache holds, charged to the superblock's
 * size= limit. inode->mu held. */
static void update_blocks(struct inode *ino)
{
    uint64_t pages = ino->cache ? pc_pages(ino->cache) : 0;
    tmpfs_charge(ino->sb, (int64_t)pages - (int64_t)(ino->blocks / (PAGE_SIZE / 512)));
    ino->blocks = pages * (PAGE_SIZE / 512);
}

/* zero_tail: zeroes the last page beyond old_size before the file grows, so bytes a
 * shared mapping wrote past the old end do not reappear. data_rw held for writing. */
static void zero_tail(struct inode *ino, int64_t old_size)
{
    size_t in_page = (size_t)old_size & (PAGE_SIZE - 1);
    if (!in_page || !ino->cache)
        return;
    int64_t off = pc_find(ino->cache, (uint64_t)old_size / PAGE_SIZE);
    if (off >= 0)
        memset((char *)memfile_ptr((uint64_t)off) + in_page, 0, PAGE_SIZE - in_page);
}

static unsigned seals_of(struct tnode *tn)
{
    return __atomic_load_n(&tn->seals, __ATOMIC_RELAXED);
}

static ssize_t do_read(struct inode *ino, struct copier *c, size_t n, int64_t off)
{
    if (off < 0)
        return -EINVAL;
    struct tnode *tn = TN(ino);
    pthread_rwlock_rdlock(&tn->data_rw);
    int64_t size = __atomic_load_n(&ino->size, __ATOMIC_RELAXED);
    if (off >= size) {
        pthread_rwlock_unlock(&tn->data_rw);
        return 0;
    }
    n = MIN(n, (size_t)(size - off));
    static const char zeroes[PAGE_SIZE];
    size_t done = 0;
    while (done < n) {
        uint64_t pos = (uint64_t)off + done;
        size_t in_page = pos & (PAGE_SIZE - 1);
        size_t take = MIN(n - done, PAGE_SIZE - in_page);
        int64_t poff = ino->cache ? pc_find(ino->cache, pos / PAGE_SIZE) : -1;
        /* data_rw keeps the page in the cache while we copy from it */
        const void *src = poff < 0 ? zeroes
                                   : (char *)memfile_ptr((uint64_t)poff) + in_page;
        ssize_t got = c->copy(c, done, (void *)src, take, 1);
        if (got < 0) {
            pthread_rwlock_unlock(&tn->data_rw);
            return done ? (ssize_t)done : got;
        }
        done += (size_t)got;
        if ((size_t)got < take)
            break;
    }
    pthread_rwlock_unlock(&tn->data_rw);

    /* relatime: only when atime is older than the last change */
    pthread_mutex_lock(&ino->mu);
    if (ino->atime.tv_sec <= ino->mtime.tv_sec || ino->atime.tv_sec <= ino->ctime.tv_sec)
        clock_gettime(CLOCK_REALTIME, &ino->atime);
    pthread_mutex_unlock(&ino->mu);
    return (ssize_t)done;
}

/* do_write: writes at *pos (or at the end with append), advancing *pos. */
static ssize_t do_write(struct inode *ino, struct copier *c, size_t n, int64_t *pos,
                        int append)
{
    struct tnode *tn = TN(ino);
    struct pagecache *pc = inode_cache(ino);
    if (!pc)
        return -ENOMEM;
    pthread_rwlock_wrlock(&tn->data_rw);
    int64_t size = ino->size;
    int64_t off = append ? size : *pos;
    if (off < 0) {
        pthread_rwlock_unlock(&tn->data_rw);
        return -EINVAL;
    }
    if (n == 0) {
        pthread_rwlock_unlock(&tn->data_rw);
        return 0;
    }
    if (off >= TMPFS_MAX_SIZE) {
        pthread_rwlock_unlock(&tn->data_rw);
        return -EFBIG;
    }
    n = MIN(n, (uint64_t)(TMPFS_MAX_SIZE - off));
    /* seals, checked page by page as Linux's shmem_write_begin does: a write that
     * grows a F_SEAL_GROW file stops (short) at the page that would */
    unsigned seals = seals_of(tn);
    if (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) {
        pthread_rwlock_unlock(&tn->data_rw);
        return -EPERM;
    }
    if (off > size)
        zero_tail(ino, size);
    size_t done = 0;
    ssize_t err = 0;
    uint64_t added = 0;   /* pages this write allocated */
    while (done < n) {
        uint64_t at = (uint64_t)off + done;
        size_t in_page = at & (PAGE_SIZE - 1);
        size_t take = MIN(n - done, PAGE_SIZE - in_page);
        if ((seals & F_SEAL_GROW) && (int64_t)(at + take) > size) {
            err = -EPERM;
            break;
        }
        if (pc_find(pc, at / PAGE_SIZE) < 0 && tmpfs_full(ino->sb, ++added)) {
            err = -ENOSPC;   /* the size= limit */
            break;
        }
        int64_t poff = pc_get(pc, at / PAGE_SIZE, NULL, NULL);
        if (poff < 0) {
            /* the memory file is full: tmpfs reports that as a full disk */
            err = poff == -ENOMEM ? -ENOSPC : poff;
            break;
        }
        ssize_t got = c->copy(c, done, (char *)memfile_ptr((uint64_t)poff) + in_page,
                              take, 0);
        memfile_decref((uint64_t)poff, PAGE_SIZE);
        if (got < 0) {
            err = got;
            break;
        }
        done += (size_t)got;
        if ((size_t)got < take) {
            err = -EFAULT;
            break;
        }
    }
    if (err) {
        /* a failed copy may have allocated a page past the new end: drop it */
        uint64_t end = (uint64_t)MAX(size, off + (int64_t)done);
        pc_truncate(pc, page_up(end) / PAGE_SIZE, 0);
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    pthread_mutex_lock(&ino->mu);
    if (done) {
        if (off + (int64_t)done > ino->size)
            ino->size = off + (int64_t)done;
        ino->mtime = ino->ctime = now;
    }
    update_blocks(ino);
    pthread_mutex_unlock(&ino->mu);
    pthread_rwlock_unlock(&tn->data_rw);
    if (!done)
        return err;
    *pos = off + (int64_t)done;
    return (ssize_t)done;
}

int tmpfs_set_size(struct inode *ino, int64_t size)
{
    struct tnode *tn = TN(ino);
    if (size < 0)
        return -EINVAL;
    pthread_rwlock_wrlock(&tn->data_rw);
    int64_t old = ino->size;
    unsigned seals = seals_of(tn);
    if ((size < old && (seals & F_SEAL_SHRINK)) || (size > old && (seals & F_SEAL_GROW))) {
        pthread_rwlock_unlock(&tn->data_rw);
        return -EPERM;
    }
    if (size < old && ino->cache)
        pc_truncate(ino->cache, page_up((uint64_t)size) / PAGE_SIZE, (uint64_t)size);
    else if (size > old)
        zero_tail(ino, old);
    pthread_mutex_lock(&ino->mu);
    ino->size = size;
    update_blocks(ino);
    pthread_mutex_unlock(&ino->mu);
    pthread_rwlock_unlock(&tn->data_rw);
    return 0;
}

int64_t tmpfs_seek_data(struct inode *ino, int64_t off, int hole)
{
    struct tnode *tn = TN(ino);
    pthread_rwlock_rdlock(&tn->data_rw);
    int64_t size = ino->size, ret;
    if (off < 0 || off >= size) {
        ret = -ENXIO;
        goto out;
    }
    uint64_t idx = (uint64_t)off / PAGE_SIZE;
    if (!hole) {
        int64_t next = ino->cache ? pc_next_present(ino->cache, idx) : -1;
        if (next < 0 || (uint64_t)next * PAGE_SIZE >= (uint64_t)size)
            ret = -ENXIO;
        else
            ret = MAX(off, next * (int64_t)PAGE_SIZE);
    } else {
        while (ino->cache && pc_next_present(ino->cache, idx) == (int64_t)idx)
            idx++;
        ret = MIN(MAX(off, (int64_t)(idx * PAGE_SIZE)), size);   /* EOF is a hole */
    }
out:
    pthread_rwlock_unlock(&tn->data_rw);
    return ret;
}

int tmpfs_fill_page(struct inode *ino, uint64_t idx, void *dst)
{
    /* Called while an overlay copies up or maps a lower file, which is never written
     * meanwhile; no data_rw here because the caller may hold mm locks. */
    int64_t size = __atomic_load_n(&ino->size, __ATOMIC_RELAXED);
    int64_t off = ino->cache ? pc_find(ino->cache, idx) : -1;
    if (off < 0 || (int64_t)(idx * PAGE_SIZE) >= size) {
        memset(dst, 0, PAGE_SIZE);
        return 0;
    }
    size_t valid = MIN(PAGE_SIZE, (uint64_t)(size - (int64_t)(idx * PAGE_SIZE)));
    memcpy(dst, memfile_ptr((uint64_t)off), valid);
    memset((char *)dst + valid, 0, PAGE_SIZE - valid);
    return 0;
}

/* ---- host-side access (tmpfs.h) ---- */

ssize_t tmpfs_read_host(struct inode *ino, void *buf, size_t n, int64_t off)
{
    if (!S_ISREG(ino->mode))
        return S_ISDIR(ino->mode) ? -EISDIR : -EINVAL;
    struct host_copier hc = { { host_copy }, buf };
    return do_read(ino, &hc.c, n, off);
}

ssize_t tmpfs_write_host(struct inode *ino, const void *buf, size_t n, int64_t off)
{
    if (!S_ISREG(ino->mode))
        return S_ISDIR(ino->mode) ? -EISDIR : -EINVAL;
    if (off < 0 && off != TMPFS_APPEND)
        return -EINVAL;
    struct host_copier hc = { { host_copy }, (char *)buf };
    return do_write(ino, &hc.c, n, &off, off == TMPFS_APPEND);
}

/* ---- file_ops of regular files ---- */

static ssize_t reg_read(struct file *f, const struct uio *u, int64_t *pos)
{
    struct uio_copier uc = { { uio_copy }, u };
    ssize_t n = do_read(f->inode, &uc.c, u->size, *pos);
    if (n > 0)
        *pos += n;
    return n;
}

static ssize_t reg_write(struct file *f, const struct uio *u, int64_t *pos)
{
    struct uio_copier uc = { { uio_copy }, u };
    /* O_APPEND writes at the end even for pwrite, as Linux does */
    return do_write(f->inode, &uc.c, u->size, pos, (f->flags & O_APPEND) != 0);
}

static int64_t reg_llseek(struct file *f, int64_t off, int whence)
{
    int64_t base;
    switch (whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = f->pos; break;
    case SEEK_END: base = __atomic_load_n(&f->inode->size, __ATOMIC_RELAXED); break;
    case SEEK_DATA: return tmpfs_seek_data(f->inode, off, 0);
    case SEEK_HOLE: return tmpfs_seek_data(f->inode, off, 1);
    default: return -EINVAL;
    }
    if ((off > 0 && base > TMPFS_MAX_SIZE - off) || base + off < 0)
        return -EINVAL;
    return base + off;
}

/* ---- seals (Linux's mm/memfd.c) ---- */

void tmpfs_init_seals(struct inode *ino, unsigned seals)
{
    __atomic_store_n(&TN(ino)->seals, seals, __ATOMIC_RELAXED);
}

static long add_seals(struct file *f, unsigned seals)
{
    if ((f->flags & O_ACCMODE) != O_WRONLY && (f->flags & O_ACCMODE) != O_RDWR)
        return -EPERM;
    if (seals & ~(unsigned)TMPFS_ALL_SEALS)
        return -EINVAL;
    struct inode *ino = f->inode;
    struct tnode *tn = TN(ino);
    long ret = 0;
    pthread_rwlock_wrlock(&tn->data_rw);
    unsigned cur = tn->seals;
    if (cur & F_SEAL_SEAL) {
        ret = -EPERM;
    } else if ((seals & F_SEAL_WRITE) && !(cur & F_SEAL_WRITE)) {
        /* no shared writable mapping may exist, nor be made from now on */
        ret = vfs_deny_writable_maps(ino);
    }
    if (ret == 0) {
        /* F_SEAL_EXEC on an executable file makes it W^X: no writes either */
        pthread_mutex_lock(&ino->mu);
        int exec = (ino->mode & 0111) != 0;
        pthread_mutex_unlock(&ino->mu);
        if ((seals & F_SEAL_EXEC) && exec)
            seals |= F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
        __atomic_store_n(&tn->seals, cur | seals, __ATOMIC_RELAXED);
    }
    pthread_rwlock_unlock(&tn->data_rw);
    return ret;
}

int tmpfs_mode_sealed(struct inode *ino, uint32_t mode)
{
    if (!S_ISREG(ino->mode) || !(seals_of(TN(ino)) & F_SEAL_EXEC))
        return 0;
    return ((ino->mode ^ mode) & 0111) != 0;
}

static long reg_fcntl(struct file *f, int cmd, uint64_t arg)
{
    switch (cmd) {
    case F_ADD_SEALS:
        return add_seals(f, (unsigned)arg);
    case F_GET_SEALS:
        return seals_of(TN(f->inode));
    default:
        return -EINVAL;
    }
}

/* ---- fallocate (Linux's shmem_fallocate) ---- */

/* punch: zeroes [off, end) of the file: pages wholly inside leave the cache (they
 * become holes for SEEK_HOLE), except that a page something else still holds (a
 * mapping, an I/O in flight) is zeroed in place and kept, so the mapping and the file
 * stay one; partial pages at the edges are zeroed in place. data_rw held. */
static void punch(struct inode *ino, int64_t off, int64_t end)
{
    struct pagecache *pc = ino->cache;
    if (!pc)
        return;
    int64_t size = ino->size;
    end = MIN(end, (int64_t)page_up((uint64_t)size));
    for (int64_t at = off; at < end;) {
        uint64_t idx = (uint64_t)at / PAGE_SIZE;
        size_t in_page = (size_t)at & (PAGE_SIZE - 1);
        size_t take = (size_t)MIN((int64_t)(PAGE_SIZE - in_page), end - at);
        int64_t poff = pc_find(pc, idx);
        if (poff >= 0) {
            memset((char *)memfile_ptr((uint64_t)poff) + in_page, 0, take);
            if (take == PAGE_SIZE && memfile_refs((uint64_t)poff) == 1)
                pc_drop(pc, idx);
        }
        at += (int64_t)take;
    }
}

/* pages_missing: how many pages of [off, end) are not in the cache. */
static uint64_t pages_missing(struct inode *ino, int64_t off, int64_t end)
{
    uint64_t first = (uint64_t)off / PAGE_SIZE, last = page_up((uint64_t)end) / PAGE_SIZE;
    uint64_t missing = last - first;
    for (int64_t i = ino->cache ? pc_next_present(ino->cache, first) : -1;
         i >= 0 && (uint64_t)i < last; i = pc_next_present(ino->cache, (uint64_t)i + 1))
        missing--;
    return missing;
}

static int reg_fallocate(struct file *f, int mode, int64_t off, int64_t len)
{
    if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
        return -EOPNOTSUPP;
    struct inode *ino = f->inode;
    struct tnode *tn = TN(ino);
    int64_t end = off + len;   /* the system call checked for overflow */
    int ret = 0;
    pthread_rwlock_wrlock(&tn->data_rw);
    unsigned seals = seals_of(tn);
    if (mode & FALLOC_FL_PUNCH_HOLE) {
        if (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))
            ret = -EPERM;
        else
            punch(ino, off, end);
        pthread_mutex_lock(&ino->mu);
        update_blocks(ino);
        pthread_mutex_unlock(&ino->mu);
    } else if ((seals & F_SEAL_GROW) && end > ino->size) {
        ret = -EPERM;
    } else if (end > TMPFS_MAX_SIZE) {
        ret = -EFBIG;
    } else {
        /* Pages are not allocated ahead (the memory file grows when they are
         * written, and unwritten space must stay a hole for SEEK_DATA as on Linux,
         * whose fallocated tmpfs pages are not uptodate); only that the memory is
         * free now is checked. */
        uint64_t avail = memfile_max() - MIN(memfile_max(), memfile_used());
        if (pages_missing(ino, off, end) > avail / PAGE_SIZE)
            ret = -ENOSPC;
        else if (!(mode & FALLOC_FL_KEEP_SIZE) && end > ino->size) {
            zero_tail(ino, ino->size);
            pthread_mutex_lock(&ino->mu);
            ino->size = end;
            pthread_mutex_unlock(&ino->mu);
        }
    }
    pthread_rwlock_unlock(&tn->data_rw);
    if (ret == 0)
        inode_touch(ino, ATTR_MTIME | ATTR_CTIME);
    return ret;
}

const struct file_ops tmpfs_reg_ops = {
    .read = reg_read,
    .write = reg_write,
    .stat = tmpfs_stat_file,
    .llseek = reg_llseek,
    .fcntl = reg_fcntl,
    .fallocate = reg_fallocate,
};
