/* Dentries and the dentry cache: a hash of (parent, name) → dentry under vfs_tree_mu.
 * A cached dentry holds a reference of its own (the cache's) until it is dropped by
 * unlink, rename or unmount, so a directory walked once is found again without asking
 * the filesystem (for goferfs: without a Gofer round trip). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/vfs/dcache.h"
#include "sentry/vfs/fsnotify.h"
#include "sentry/vfs/vfs.h"

pthread_mutex_t vfs_tree_mu = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t vfs_rename_mu = PTHREAD_MUTEX_INITIALIZER;

static struct dentry **table;     /* vfs_tree_mu */
static size_t nbuckets, nentries; /* vfs_tree_mu */

struct dentry *d_alloc(struct dentry *parent, const char *name, struct inode *inode)
{
    struct dentry *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->name = strdup(name);
    if (!d->name) {
        free(d);
        return NULL;
    }
    d->refs = 1;
    d->inode = inode;
    d->parent = parent;
    if (parent)
        d_get(parent);
    return d;
}

void d_get(struct dentry *d) { __atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED); }

void d_put(struct dentry *d)
{
    while (d && __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        struct dentry *parent = d->parent;
        fsnotify_dentry_put(d);   /* an unlinked inode's last dentry: IN_DELETE_SELF */
        inode_put(d->inode);
        free(d->name);
        free(d);
        d = parent;   /* iterate instead of recursing up a deep tree */
    }
}

void path_get(const struct path *p)
{
    if (p->mnt)
        __atomic_add_fetch(&p->mnt->refs, 1, __ATOMIC_RELAXED);
    if (p->d)
        d_get(p->d);
}

void path_put(struct path *p)
{
    if (p->d)
        d_put(p->d);
    if (p->mnt)
        mnt_put(p->mnt);
    p->d = NULL;
    p->mnt = NULL;
}

static size_t hash(const struct dentry *parent, const char *name)
{
    uint64_t h = (uint64_t)(uintptr_t)parent * 0x9e3779b97f4a7c15ULL;
    for (const unsigned char *s = (const unsigned char *)name; *s; s++)
        h = (h ^ *s) * 0x100000001b3ULL;
    return (size_t)(h ^ (h >> 29));
}

static int grow(void)
{
    size_t n = nbuckets ? nbuckets * 2 : 4096;
    struct dentry **t = calloc(n, sizeof(*t));
    if (!t)
        return -ENOMEM;
    for (size_t i = 0; i < nbuckets; i++) {
        struct dentry *d = table[i];
        while (d) {
            struct dentry *next = d->hash_next;
            size_t b = hash(d->parent, d->name) & (n - 1);
            d->hash_next = t[b];
            t[b] = d;
            d = next;
        }
    }
    free(table);
    table = t;
    nbuckets = n;
    return 0;
}

struct dentry *dcache_lookup(struct dentry *parent, const char *name)
{
    if (!nbuckets)
        return NULL;
    for (struct dentry *d = table[hash(parent, name) & (nbuckets - 1)]; d;
         d = d->hash_next) {
        if (d->parent == parent && strcmp(d->name, name) == 0) {
            d_get(d);
            return d;
        }
    }
    return NULL;
}

void dcache_insert(struct dentry *d)
{
    if (d->cached || !d->parent)
        return;
    if (nentries >= nbuckets && grow() < 0 && !nbuckets)
        return;   /* no table: run uncached */
    size_t b = hash(d->parent, d->name) & (nbuckets - 1);
    d->hash_next = table[b];
    table[b] = d;
    d->cached = 1;
    nentries++;
    d_get(d);   /* the cache's reference */
}

/* dcache_unhash: takes d out of the cache; returns 1 if it was there (the caller then
 * owns the cache's reference and must d_put it outside vfs_tree_mu). */
int dcache_unhash(struct dentry *d)
{
    if (!d->cached)
        return 0;
    struct dentry **pp = &table[hash(d->parent, d->name) & (nbuckets - 1)];
    while (*pp && *pp != d)
        pp = &(*pp)->hash_next;
    if (*pp)
        *pp = d->hash_next;
    d->hash_next = NULL;
    d->cached = 0;
    nentries--;
    return 1;
}

void dcache_drop(struct dentry *d)
{
    pthread_mutex_lock(&vfs_tree_mu);
    int had = dcache_unhash(d);
    d->dead = 1;
    pthread_mutex_unlock(&vfs_tree_mu);
    if (had)
        d_put(d);
}

void dcache_drop_sb(struct superblock *sb)
{
    /* collect first: d_put may free dentries and must not run under the lock */
    for (;;) {
        struct dentry *victim = NULL;
        pthread_mutex_lock(&vfs_tree_mu);
        for (size_t i = 0; i < nbuckets && !victim; i++)
            for (struct dentry *d = table[i]; d; d = d->hash_next)
                if (d->inode->sb == sb) {
                    victim = d;
                    break;
                }
        if (victim)
            dcache_unhash(victim);
        pthread_mutex_unlock(&vfs_tree_mu);
        if (!victim)
            return;
        d_put(victim);
    }
}
