/* The mount table: a list of attached mounts under vfs_tree_mu, in mount order with
 * parents before their children (a moved tree goes to the end, as on Linux).
 * Sandboxes have a handful of mounts, so finding the mount on a dentry is a short
 * scan, done only when the dentry's mounted count says there is one.
 *
 * Everything here is a Sentry object: a mount is a (superblock, dentry) pair of the
 * Sentry's own filesystems, so nothing the guest mounts can reach the host beyond
 * what the Gofer already serves.
 *
 * Unmounting takes a mount (and, lazily, every mount below it) out of the table and
 * disconnects it from its parent; paths that still hold it (open files, a cwd) keep
 * it alive, and the last reference frees it. When the last mount of a superblock
 * goes, the superblock's cached dentries go too (they hold its inodes). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/vfs/dcache.h"
#include "sentry/vfs/fsnotify.h"
#include "sentry/vfs/vfs.h"

static struct mount *mounts;      /* vfs_tree_mu; in mount order */
static int nmounts;               /* vfs_tree_mu: attached mounts */
static struct mount *root_mount;  /* immutable after boot */
static int next_mount_id = 20;    /* vfs_tree_mu; Linux's ids start low too */

/* mnt_free: the last reference is gone. */
static void mnt_free(struct mount *m)
{
    struct superblock *sb = m->sb;
    if (__atomic_sub_fetch(&sb->mounts, 1, __ATOMIC_ACQ_REL) == 0) {
        fsnotify_unmount(sb);
        dcache_drop_sb(sb);
    }
    d_put(m->root);   /* may free sb */
    if (m->mountpoint)
        d_put(m->mountpoint);
    if (m->parent)
        mnt_put(m->parent);
    free(m->source);
    free(m);
}

void mnt_put(struct mount *m)
{
    if (!m)
        return;
    /* a use of the mount since umount2(MNT_EXPIRE) marked it cancels the mark */
    if (__atomic_load_n(&m->expiry_mark, __ATOMIC_RELAXED))
        __atomic_store_n(&m->expiry_mark, 0, __ATOMIC_RELAXED);
    if (__atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0)
        mnt_free(m);
}

/* mnt_put_keep_mark: mnt_put for umount2's own reference, which is no use. */
static void mnt_put_keep_mark(struct mount *m)
{
    if (__atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0)
        mnt_free(m);
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

/* mount_new: a detached mount of root (the reference moves in) with the table's
 * reference. */
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
    __atomic_add_fetch(&sb->mounts, 1, __ATOMIC_RELAXED);
    return m;
}

/* table_append: m goes at the end of the table. vfs_tree_mu held. */
static void table_append(struct mount *m)
{
    m->id = next_mount_id++;
    m->attached = 1;
    m->next = NULL;
    struct mount **pp = &mounts;
    while (*pp)
        pp = &(*pp)->next;
    *pp = m;
    nmounts++;
}

/* table_unlink: takes m out of the table. vfs_tree_mu held. */
static void table_unlink(struct mount *m)
{
    struct mount **pp = &mounts;
    while (*pp && *pp != m)
        pp = &(*pp)->next;
    if (*pp)
        *pp = m->next;
    m->next = NULL;
    m->attached = 0;
    nmounts--;
}

int vfs_mount_root(struct superblock *sb, struct inode *root, const char *source)
{
    struct dentry *d = d_alloc(NULL, "/", root);
    if (!d) {
        inode_put(root);
        return -ENOMEM;
    }
    struct mount *m = mount_new(sb, d, MNT_RELATIME, source);
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
    *out = m;   /* the caller's reference (the one mount_new counts as the table's):
                 * in no table, so no id */
    return 0;
}

/* is_subdir: d is a or below it in their filesystem. vfs_tree_mu held. */
static int is_subdir(struct dentry *d, struct dentry *a)
{
    for (; d; d = d->parent)
        if (d == a)
            return 1;
    return 0;
}

/* pin_mountpoint: a filesystem that does not cache its dentries (procfs) would
 * make a new dentry at the next walk and lose the mount: keep d and the dentries
 * above it in the cache. vfs_tree_mu held. */
static void pin_mountpoint(struct dentry *d)
{
    if (!(d->inode->sb->flags & SB_NOCACHE))
        return;
    for (; d && d->parent; d = d->parent)
        dcache_insert(d);
}

/* connect: puts m on (parent, mp): references on both, mp's mounted count. Then
 * m is appended to the table. vfs_tree_mu held. */
static void connect(struct mount *m, struct mount *parent, struct dentry *mp)
{
    m->parent = parent;
    m->mountpoint = mp;
    __atomic_add_fetch(&parent->refs, 1, __ATOMIC_RELAXED);
    d_get(mp);
    mp->mounted++;
    pin_mountpoint(mp);
    table_append(m);
}

/* A list of references to drop once vfs_tree_mu is released. */
struct put_list {
    struct mount **mnts;
    struct dentry **dents;
    size_t nm, nd, cap;
};

/* disconnect: takes m out of the table and off its mountpoint; the references it
 * held on them (and the table's on m) go to pl. vfs_tree_mu held. Returns 0, or
 * -ENOMEM if pl cannot grow (nothing changed). */
static int disconnect(struct mount *m, struct put_list *pl)
{
    if (pl->nm + 2 > pl->cap || pl->nd + 1 > pl->cap) {
        size_t cap = pl->cap ? pl->cap * 2 : 16;
        struct mount **nm = realloc(pl->mnts, cap * sizeof(*nm));
        if (!nm)
            return -ENOMEM;
        pl->mnts = nm;
        struct dentry **nd = realloc(pl->dents, cap * sizeof(*nd));
        if (!nd)
            return -ENOMEM;
        pl->dents = nd;
        pl->cap = cap;
    }
    table_unlink(m);
    if (m->parent) {
        m->mountpoint->mounted--;
        pl->mnts[pl->nm++] = m->parent;
        pl->dents[pl->nd++] = m->mountpoint;
        m->parent = NULL;
        m->mountpoint = NULL;
    }
    pl->mnts[pl->nm++] = m;   /* the table's reference */
    return 0;
}

static void put_list_release(struct put_list *pl)
{
    for (size_t i = 0; i < pl->nd; i++)
        d_put(pl->dents[i]);
    for (size_t i = 0; i < pl->nm; i++)
        mnt_put(pl->mnts[i]);
    free(pl->mnts);
    free(pl->dents);
}

/* check_target: a mount can go on p: p's mount is attached and p still exists, and
 * p's type matches root's (directory on directory, file on file). vfs_tree_mu held. */
static int check_target(const struct path *p, struct dentry *root)
{
    if (!p->mnt->attached)
        return -EINVAL;
    if (inode_is_dir(p->d->inode) != inode_is_dir(root->inode))
        return -ENOTDIR;
    if (p->d->dead)
        return -ENOENT;
    if (nmounts >= VFS_MOUNT_MAX)
        return -ENOSPC;
    return 0;
}

int vfs_mount_at(const struct path *p, struct superblock *sb, struct inode *root,
                 unsigned flags, const char *source, struct mount **out)
{
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
    pthread_mutex_lock(&vfs_tree_mu);
    int err = check_target(p, d);
    if (err == 0)
        connect(m, p->mnt, p->d);
    pthread_mutex_unlock(&vfs_tree_mu);
    if (err < 0) {
        mnt_put(m);
        return err;
    }
    if (out)
        *out = m;
    return 0;
}

/* ---- bind mounts ---- */

/* A copy of a mount tree being made: clones[i] copies srcs[i]. */
struct tree_copy {
    struct mount **srcs, **clones;
    size_t n, cap;
};

/* copy_add: clones src (with root as its root) into tc. vfs_tree_mu held. */
static int copy_add(struct tree_copy *tc, struct mount *src, struct dentry *root)
{
    if (tc->n == tc->cap) {
        size_t cap = tc->cap ? tc->cap * 2 : 8;
        struct mount **s = realloc(tc->srcs, cap * sizeof(*s));
        if (!s)
            return -ENOMEM;
        tc->srcs = s;
        struct mount **c = realloc(tc->clones, cap * sizeof(*c));
        if (!c)
            return -ENOMEM;
        tc->clones = c;
        tc->cap = cap;
    }
    d_get(root);
    struct mount *m = mount_new(src->sb, root, src->flags & ~MNT_UNBINDABLE, src->source);
    if (!m) {
        d_put(root);
        return -ENOMEM;
    }
    tc->srcs[tc->n] = src;
    tc->clones[tc->n++] = m;
    return 0;
}

/* clone_of: the copy of src in tc, or NULL. */
static struct mount *clone_of(const struct tree_copy *tc, const struct mount *src)
{
    for (size_t i = 0; i < tc->n; i++)
        if (tc->srcs[i] == src)
            return tc->clones[i];
    return NULL;
}

int vfs_bind_at(const struct path *p, const struct path *src, int recursive)
{
    struct tree_copy tc = { 0 };
    pthread_mutex_lock(&vfs_tree_mu);
    int err = 0;
    if (!src->mnt->attached || (src->mnt->flags & MNT_UNBINDABLE))
        err = -EINVAL;
    else if ((err = check_target(p, src->d)) == 0)
        err = copy_add(&tc, src->mnt, src->d);
    /* the mounts below src: children of a copied mount, the first level only where
     * they sit under src's dentry; an unbindable one is left out with its subtree */
    for (struct mount *x = mounts; recursive && err == 0 && x; x = x->next) {
        if (!x->parent || (x->flags & MNT_UNBINDABLE) || !clone_of(&tc, x->parent))
            continue;
        if (x->parent == src->mnt && !is_subdir(x->mountpoint, src->d))
            continue;
        err = copy_add(&tc, x, x->root);
    }
    if (err == 0 && nmounts + (int)tc.n > VFS_MOUNT_MAX)
        err = -ENOSPC;
    if (err == 0) {
        connect(tc.clones[0], p->mnt, p->d);
        for (size_t i = 1; i < tc.n; i++)
            connect(tc.clones[i], clone_of(&tc, tc.srcs[i]->parent),
                    tc.srcs[i]->mountpoint);
    }
    pthread_mutex_unlock(&vfs_tree_mu);
    if (err < 0)
        for (size_t i = 0; i < tc.n; i++)
            mnt_put(tc.clones[i]);
    free(tc.srcs);
    free(tc.clones);
    return err;
}

/* ---- unmounting ---- */

/* mark_tree: marks m and every mount below it; returns whether any is below. The
 * table lists parents first, so one pass finds them all. vfs_tree_mu held. */
static int mark_tree(struct mount *m)
{
    int children = 0;
    for (struct mount *x = mounts; x; x = x->next)
        x->marked = x == m || (x->parent && x->parent->marked);
    for (struct mount *x = mounts; x; x = x->next)
        if (x->marked && x != m)
            children = 1;
    return children;
}

/* umount_check: whether m may be unmounted now with flags. vfs_tree_mu held. */
static int umount_check(struct mount *m, unsigned flags)
{
    /* references when unused: the table's and the caller's path */
    int busy = mark_tree(m) || __atomic_load_n(&m->refs, __ATOMIC_ACQUIRE) > 2;
    if (flags & VFS_UMOUNT_EXPIRE) {
        if (busy)
            return -EBUSY;
        if (!__atomic_exchange_n(&m->expiry_mark, 1, __ATOMIC_RELAXED))
            return -EAGAIN;
        return 0;
    }
    if (busy && !(flags & VFS_UMOUNT_DETACH))
        return -EBUSY;
    return 0;
}

int vfs_umount(struct path *p, unsigned flags)
{
    struct put_list pl = { 0 };
    struct mount *m = p->mnt;
    pthread_mutex_lock(&vfs_tree_mu);
    int err = 0;
    if (p->d != m->root || !m->attached)
        err = -EINVAL;
    else if (m == root_mount)
        err = -EBUSY;
    else
        err = umount_check(m, flags);
    if (err == 0) {
        /* umount_check marked m and the mounts below it: all of them go */
        struct mount *next;
        for (struct mount *x = mounts; x && err == 0; x = next) {
            next = x->next;
            if (x->marked)
                err = disconnect(x, &pl);
        }
    }
    pthread_mutex_unlock(&vfs_tree_mu);
    put_list_release(&pl);
    d_put(p->d);
    mnt_put_keep_mark(p->mnt);
    p->d = NULL;
    p->mnt = NULL;
    return err;
}

/* ---- changing a mount ---- */

/* root_of_attached: p is the root of an attached mount. vfs_tree_mu held. */
static int root_of_attached(const struct path *p)
{
    return p->d == p->mnt->root && p->mnt->attached;
}

/* set_mount_flags: replaces m's settable flags; -EBUSY if that makes it read-only
 * while files are open for writing through it. vfs_tree_mu held. */
static int set_mount_flags(struct mount *m, unsigned mnt_flags)
{
    if ((mnt_flags & MNT_RDONLY) && !(m->flags & MNT_RDONLY) && m->writers > 0)
        return -EBUSY;
    unsigned nf = (mnt_flags & MNT_USER_SETTABLE) | (m->flags & ~MNT_USER_SETTABLE);
    __atomic_store_n(&m->flags, nf, __ATOMIC_RELAXED);
    return 0;
}

int vfs_remount(const struct path *p, int sb_rdonly, unsigned mnt_flags,
                const char *data)
{
    struct superblock *sb = p->mnt->sb;
    pthread_mutex_lock(&vfs_tree_mu);
    int err = root_of_attached(p) ? 0 : -EINVAL;
    if (err == 0 && sb_rdonly && !(sb->flags & SB_RDONLY))
        for (struct mount *x = mounts; x; x = x->next)
            if (x->sb == sb && x->writers > 0)
                err = -EBUSY;
    pthread_mutex_unlock(&vfs_tree_mu);
    if (err < 0)
        return err;
    if (sb->ops && sb->ops->reconfigure && (err = sb->ops->reconfigure(sb, data)) < 0)
        return err;
    pthread_mutex_lock(&vfs_tree_mu);
    if ((err = set_mount_flags(p->mnt, mnt_flags)) == 0) {
        unsigned f = sb_rdonly ? sb->flags | SB_RDONLY : sb->flags & ~(unsigned)SB_RDONLY;
        __atomic_store_n(&sb->flags, f, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&vfs_tree_mu);
    return err;
}

int vfs_reconfigure_mount(const struct path *p, unsigned mnt_flags)
{
    pthread_mutex_lock(&vfs_tree_mu);
    int err = root_of_attached(p) ? set_mount_flags(p->mnt, mnt_flags) : -EINVAL;
    pthread_mutex_unlock(&vfs_tree_mu);
    return err;
}

int vfs_set_unbindable(const struct path *p, int unbindable, int recursive)
{
    pthread_mutex_lock(&vfs_tree_mu);
    int err = root_of_attached(p) ? 0 : -EINVAL;
    if (err == 0) {
        if (recursive)
            mark_tree(p->mnt);
        for (struct mount *x = mounts; x; x = x->next) {
            if (x != p->mnt && !(recursive && x->marked))
                continue;
            unsigned f = unbindable ? x->flags | MNT_UNBINDABLE
                                    : x->flags & ~(unsigned)MNT_UNBINDABLE;
            __atomic_store_n(&x->flags, f, __ATOMIC_RELAXED);
        }
    }
    pthread_mutex_unlock(&vfs_tree_mu);
    return err;
}

int vfs_move_mount(const struct path *from, const struct path *to)
{
    struct mount *m = from->mnt;
    struct mount *old_parent = NULL;
    struct dentry *old_mp = NULL;
    pthread_mutex_lock(&vfs_tree_mu);
    int err = 0;
    if (!root_of_attached(from) || !to->mnt->attached ||
        inode_is_dir(from->d->inode) != inode_is_dir(to->d->inode))
        err = -EINVAL;
    else if (to->d->dead)
        err = -ENOENT;
    /* into itself (everything is inside the root, so moving "/" is ELOOP too) */
    for (struct mount *x = to->mnt; err == 0 && x; x = x->parent)
        if (x == m)
            err = -ELOOP;
    if (err == 0 && m == root_mount)
        err = -EINVAL;
    if (err == 0) {
        old_parent = m->parent;
        old_mp = m->mountpoint;
        old_mp->mounted--;
        m->parent = NULL;
        m->mountpoint = NULL;
        /* the moved tree goes to the end of the table, parents still first */
        mark_tree(m);
        struct mount *moved = NULL, **tail = &moved, **pp = &mounts;
        while (*pp) {
            struct mount *x = *pp;
            if (x->marked) {
                *pp = x->next;
                x->next = NULL;
                *tail = x;
                tail = &x->next;
            } else {
                pp = &x->next;
            }
        }
        *pp = moved;
        m->parent = to->mnt;
        m->mountpoint = to->d;
        __atomic_add_fetch(&to->mnt->refs, 1, __ATOMIC_RELAXED);
        d_get(to->d);
        to->d->mounted++;
        pin_mountpoint(to->d);
    }
    pthread_mutex_unlock(&vfs_tree_mu);
    if (old_mp)
        d_put(old_mp);
    if (old_parent)
        mnt_put(old_parent);
    return err;
}

/* ---- writers ---- */

int mnt_want_write(struct mount *m)
{
    pthread_mutex_lock(&vfs_tree_mu);
    int err = 0;
    if ((m->flags & MNT_RDONLY) || (m->sb->flags & SB_RDONLY))
        err = -EROFS;
    else
        m->writers++;
    pthread_mutex_unlock(&vfs_tree_mu);
    return err;
}

void mnt_drop_write(struct mount *m)
{
    pthread_mutex_lock(&vfs_tree_mu);
    m->writers--;
    pthread_mutex_unlock(&vfs_tree_mu);
}

void vfs_for_each_mount(void (*fn)(struct mount *m, void *arg), void *arg)
{
    pthread_mutex_lock(&vfs_tree_mu);
    for (struct mount *m = mounts; m; m = m->next)
        fn(m, arg);
    pthread_mutex_unlock(&vfs_tree_mu);
}
