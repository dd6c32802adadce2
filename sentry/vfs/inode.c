/* Inodes: references, attributes and the page cache (see vfs.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "lib/util.h"
#include "sentry/mm/pagecache.h"
#include "sentry/vfs/fsnotify.h"
#include "sentry/vfs/lock.h"
#include "sentry/vfs/vfs.h"

static uint32_t next_anon_minor = 1;

uint64_t vfs_new_dev(void)
{
    return makedev(0, __atomic_add_fetch(&next_anon_minor, 1, __ATOMIC_RELAXED));
}

uint64_t sb_next_ino(struct superblock *sb)
{
    return __atomic_add_fetch(&sb->next_ino, 1, __ATOMIC_RELAXED);
}

struct inode *inode_new(struct superblock *sb, const struct inode_ops *ops, uint64_t ino,
                        uint32_t mode)
{
    struct inode *i = calloc(1, sizeof(*i));
    if (!i)
        return NULL;
    i->refs = 1;
    i->sb = sb;
    i->ops = ops;
    i->ino = ino;
    i->mode = mode;
    i->nlink = 1;
    if (sb && (sb->flags & SB_FREE_WITH_INODES))
        __atomic_add_fetch(&sb->inodes, 1, __ATOMIC_RELAXED);
    pthread_mutex_init(&i->mu, NULL);
    pthread_mutex_init(&i->dir_mu, NULL);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    i->atime = i->mtime = i->ctime = now;
    return i;
}

void inode_get(struct inode *ino) { __atomic_add_fetch(&ino->refs, 1, __ATOMIC_RELAXED); }

void inode_put(struct inode *ino)
{
    if (!ino || __atomic_sub_fetch(&ino->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    /* tmpfs's evict may free the superblock: look at it first */
    struct superblock *sb = ino->sb;
    int counted = sb && (sb->flags & SB_FREE_WITH_INODES);
    if (ino->ops && ino->ops->evict)
        ino->ops->evict(ino);
    pc_free(ino->cache);
    fsnotify_inode_free(ino);
    vfs_lock_ctx_free(ino);
    pthread_mutex_destroy(&ino->mu);
    pthread_mutex_destroy(&ino->dir_mu);
    free(ino);
    if (counted && __atomic_sub_fetch(&sb->inodes, 1, __ATOMIC_ACQ_REL) == 0)
        free(sb);
}

struct pagecache *inode_cache(struct inode *ino)
{
    struct pagecache *pc = __atomic_load_n(&ino->cache, __ATOMIC_ACQUIRE);
    if (pc)
        return pc;
    pc = pc_new();
    if (!pc)
        return NULL;
    struct pagecache *expected = NULL;
    if (!__atomic_compare_exchange_n(&ino->cache, &expected, pc, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        pc_free(pc);
        pc = expected;
    }
    return pc;
}

int inode_stat(struct inode *ino, struct stat *st)
{
    if (ino->ops && ino->ops->getattr) {
        int err = ino->ops->getattr(ino);
        if (err < 0)
            return err;
    }
    memset(st, 0, sizeof(*st));
    pthread_mutex_lock(&ino->mu);
    st->st_dev = ino->sb ? ino->sb->dev : 0;
    st->st_ino = ino->ino;
    st->st_mode = ino->mode;
    st->st_nlink = ino->nlink;
    st->st_uid = ino->uid;
    st->st_gid = ino->gid;
    st->st_rdev = ino->rdev;
    st->st_size = ino->size;
    st->st_blksize = PAGE_SIZE;
    st->st_blocks = (blkcnt_t)ino->blocks;
    st->st_atim = ino->atime;
    st->st_mtim = ino->mtime;
    st->st_ctim = ino->ctime;
    pthread_mutex_unlock(&ino->mu);
    return 0;
}

void inode_setattr_copy(struct inode *ino, const struct iattr *ia)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    pthread_mutex_lock(&ino->mu);
    if (ia->valid & ATTR_MODE)
        ino->mode = (ino->mode & S_IFMT) | (ia->mode & 07777);
    if (ia->valid & ATTR_UID)
        ino->uid = ia->uid;
    if (ia->valid & ATTR_GID)
        ino->gid = ia->gid;
    if (ia->valid & ATTR_ATIME)
        ino->atime = ia->atime;
    if (ia->valid & ATTR_MTIME)
        ino->mtime = ia->mtime;
    ino->ctime = (ia->valid & ATTR_CTIME) ? ia->ctime : now;
    pthread_mutex_unlock(&ino->mu);
}

void inode_touch(struct inode *ino, unsigned which)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    pthread_mutex_lock(&ino->mu);
    if (which & ATTR_ATIME)
        ino->atime = now;
    if (which & ATTR_MTIME)
        ino->mtime = now;
    if (which & ATTR_CTIME)
        ino->ctime = now;
    pthread_mutex_unlock(&ino->mu);
}
