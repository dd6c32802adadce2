/* The mount table: a list of mounts under vfs_tree_mu, in mount order. Sandboxes have
 * a handful of mounts, so finding the mount on a dentry is a short scan, done only
 * when the dentry's mounted count says there is one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/vfs/dcache.h"
#include "sentry/vfs/vfs.h"

static struct mount *mounts;      /* vfs_tree_mu; in mount order */
static struct mount *root_mount;  /* immutable after boot */
static int next_mount_id = 20;    /* vfs_tree_mu; Linux's ids start low too */

void mnt_put(struct mount *m)
{
    if (!m || __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    d_put(m->root);
    if (m->mountpoint)
        d_put(m->mountpoint);
    if (m->parent)
        mnt_put(m->parent);
    free(m->source);
    free(m);
}

struct mount *mount_on(struct mount *m, struct dentry *d)
{
    if (!d->mounted)
        return NULL;
    struct mount *found = NULL;
    /* the last one mounted there is on top */
    for (struct mount *x = mounts; x; x = x->next)
        if (x->parent == m && x->mountpoint == d)
            found = x;
    return found;
}

static struct mount *mount_new(struct superblock *sb, struct dentry *root, unsigned flags,
                               const char *source)
{
    struct mount *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->source = strdup(source ? source : "none");
    if (!m->source) {
        free(m);
        return NULL;
    }
    m->refs = 1;   /* the table's */
    m->sb = sb;
    m->root = root;
    m->flags = flags;
    return m;
}

static void table_append(struct mount *m)
{
    m->id = next_mount_id++;
    struct mount **pp = &mounts;
    while (*pp)
        pp = &(*pp)->next;
    *pp = m;
}

int vfs_mount_root(struct superblock *sb, struct inode *root, const char *source)
{
    struct dentry *d = d_alloc(NULL, "/", root);
    if (!d) {
        inode_put(root);
        return -ENOMEM;
    }
    struct mount *m = mount_new(sb, d, 0, source);
    if (!m) {
        d_put(d);
        return -ENOMEM;
    }
    pthread_mutex_lock(&vfs_tree_mu);
    table_append(m);
    root_mount = m;
    pthread_mutex_unlock(&vfs_tree_mu);
    return 0;
}

void vfs_root(struct path *out)
{
    out->mnt = root_mount;
    out->d = root_mount->root;
    path_get(out);
}

int vfs_mount_internal(struct superblock *sb, struct inode *root, const char *source,
                       struct mount **out)
{
    struct dentry *d = d_alloc(NULL, "/", root);
    if (!d) {
        inode_put(root);
        return -ENOMEM;
    }
    struct mount *m = mount_new(sb, d, 0, source);
    if (!m) {
        d_put(d);
        return -ENOMEM;
    }
    *out = m;   /* the caller's reference; in no table, so no id */
    return 0;
}

/* attach: puts m on the directory at p. */
static int attach(const struct path *p, struct mount *m)
{
    if (!inode_is_dir(p->d->inode))
        return -ENOTDIR;
    pthread_mutex_lock(&vfs_tree_mu);
    if (p->d->dead) {
        pthread_mutex_unlock(&vfs_tree_mu);
        return -ENOENT;
    }
    m->parent = p->mnt;
    m->mountpoint = p->d;
    path_get(p);
    p->d->mounted++;
    table_append(m);
    pthread_mutex_unlock(&vfs_tree_mu);
    return 0;
}

int vfs_mount_at(const struct path *p, struct superblock *sb, struct inode *root,
                 unsigned flags, const char *source, struct mount **out)
{
    if (!inode_is_dir(p->d->inode)) {
        inode_put(root);
        return -ENOTDIR;
    }
    struct dentry *d = d_alloc(NULL, "/", root);
    if (!d) {
        inode_put(root);
        return -ENOMEM;
    }
    struct mount *m = mount_new(sb, d, flags, source);
    if (!m) {
        d_put(d);
        return -ENOMEM;
    }
    int err = attach(p, m);
    if (err < 0) {
        mnt_put(m);
        return err;
    }
    if (out)
        *out = m;
    return 0;
}

int vfs_bind_at(const struct path *p, const struct path *src, unsigned flags)
{
    d_get(src->d);
    struct mount *m = mount_new(src->mnt->sb, src->d, flags, src->mnt->source);
    if (!m) {
        d_put(src->d);
        return -ENOMEM;
    }
    int err = attach(p, m);
    if (err < 0)
        mnt_put(m);
    return err;
}

int vfs_umount(const struct path *p)
{
    pthread_mutex_lock(&vfs_tree_mu);
    struct mount *m = p->mnt;
    if (p->d != m->root || m == root_mount) {
        pthread_mutex_unlock(&vfs_tree_mu);
        return -EINVAL;
    }
    for (struct mount *x = mounts; x; x = x->next)
        if (x->parent == m) {
            pthread_mutex_unlock(&vfs_tree_mu);
            return -EBUSY;
        }
    struct mount **pp = &mounts;
    while (*pp && *pp != m)
        pp = &(*pp)->next;
    if (!*pp) {
        pthread_mutex_unlock(&vfs_tree_mu);
        return -EINVAL;
    }
    *pp = m->next;
    m->next = NULL;
    m->mountpoint->mounted--;
    /* a lazy detach: paths still inside keep the mount alive (MNT_DETACH is what
     * most callers want, and open files keep working as on Linux) */
    pthread_mutex_unlock(&vfs_tree_mu);
    mnt_put(m);   /* the table's reference */
    return 0;
}

void vfs_for_each_mount(void (*fn)(struct mount *m, void *arg), void *arg)
{
    pthread_mutex_lock(&vfs_tree_mu);
    for (struct mount *m = mounts; m; m = m->next)
        fn(m, arg);
    pthread_mutex_unlock(&vfs_tree_mu);
}
