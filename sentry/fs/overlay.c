/* The overlay filesystem: superblock, the table of live overlay inodes, lookup and
 * the namespace operations (create, link, unlink, rmdir, rename), attributes and
 * xattrs. Merged directories are in overlay_dir.c, copy-up in overlay_copyup.c, open
 * files in overlay_file.c. Design notes: overlay_priv.h. */
#include "sentry/fs/overlay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "sentry/fs/overlay_priv.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#endif

/* ---- the inode table (see overlay_priv.h: one overlay inode per file) ---- */

struct tent { struct tent *next; struct inode *ino; };

struct ovl_table {
    struct tent **b;
    size_t nb, n;
};

static struct ovl_table *TBL(struct ovl_sb *os) { return (struct ovl_table *)os->table; }

/* get_unless_zero: a reference on i unless it is already being evicted. */
static int get_unless_zero(struct inode *i)
{
    int r = __atomic_load_n(&i->refs, __ATOMIC_RELAXED);
    while (r > 0)
        if (__atomic_compare_exchange_n(&i->refs, &r, r + 1, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            return 1;
    return 0;
}

/* table_find: a live inode numbered ino with a new reference, or NULL. mu held. */
static struct inode *table_find(struct ovl_table *t, uint64_t ino)
{
    for (struct tent *e = t->b[ino & (t->nb - 1)]; e; e = e->next)
        if (e->ino->ino == ino && get_unless_zero(e->ino))
            return e->ino;
    return NULL;
}

/* table_reserve: room for one more entry (growing is optional: chains just get
 * longer when it fails). */
static int table_reserve(struct ovl_table *t)
{
    if (t->n < t->nb)
        return 0;
    size_t nb = t->nb * 2;
    struct tent **b = calloc(nb, sizeof(*b));
    if (!b)
        return 0;
    for (size_t i = 0; i < t->nb; i++) {
        for (struct tent *e = t->b[i], *next; e; e = next) {
            next = e->next;
            e->next = b[e->ino->ino & (nb - 1)];
            b[e->ino->ino & (nb - 1)] = e;
        }
    }
    free(t->b);
    t->b = b;
    t->nb = nb;
    return 0;
}

static void table_insert(struct ovl_table *t, struct tent *e, struct inode *ino)
{
    e->ino = ino;
    e->next = t->b[ino->ino & (t->nb - 1)];
    t->b[ino->ino & (t->nb - 1)] = e;
    t->n++;
}

static void table_remove(struct ovl_table *t, struct inode *ino)
{
    for (struct tent **pp = &t->b[ino->ino & (t->nb - 1)]; *pp; pp = &(*pp)->next) {
        if ((*pp)->ino == ino) {
            struct tent *e = *pp;
            *pp = e->next;
            free(e);
            t->n--;
            return;
        }
    }
}

/* ---- inodes ---- */

int ovl_is_opaque(struct inode *upper_dir)
{
    char v;
    if (!upper_dir->ops->getxattr)
        return 0;
    return upper_dir->ops->getxattr(upper_dir, OVL_XATTR_OPAQUE, &v, 1) == 1 && v == 'y';
}

/* origin_of: the lower inode number recorded at copy-up, or 0. */
static uint64_t origin_of(struct inode *upper)
{
    uint64_t o;
    if (!upper->ops->getxattr ||
        upper->ops->getxattr(upper, OVL_XATTR_ORIGIN, &o, sizeof(o)) != sizeof(o))
        return 0;
    return o;
}

void ovl_refresh(struct inode *ino)
{
    struct inode *real = ovl_realino(ino);
    struct stat st;
    if (inode_stat(real, &st) < 0)
        return;
    /* a merged directory shows the served tree's size and link count: the upper's
     * are the in-memory directory's own, which the guest never made */
    struct inode *lower = ON(ino)->lower;
    struct stat lst;
    if (S_ISDIR(st.st_mode) && lower && lower != real && inode_stat(lower, &lst) == 0) {
        st.st_size = lst.st_size;
        st.st_nlink = lst.st_nlink;
        st.st_blocks = lst.st_blocks;
    }
    pthread_mutex_lock(&ino->mu);
    ino->mode = (ino->mode & S_IFMT) | (st.st_mode & 07777);
    ino->uid = st.st_uid;
    ino->gid = st.st_gid;
    ino->nlink = (uint32_t)st.st_nlink;
    ino->size = st.st_size;
    ino->blocks = (uint64_t)st.st_blocks;
    ino->rdev = st.st_rdev;
    ino->atime = st.st_atim;
    ino->mtime = st.st_mtim;
    ino->ctime = st.st_ctim;
    pthread_mutex_unlock(&ino->mu);
}

int ovl_get_inode(struct superblock *sb, struct inode *parent, const char *name,
                  struct inode *upper, struct inode *lower, struct inode **out)
{
    /* the lower only merges with an upper of the same type, and never under an
     * opaque directory */
    if (upper && lower &&
        ((upper->mode & S_IFMT) != (lower->mode & S_IFMT) ||
         (S_ISDIR(upper->mode) && ovl_is_opaque(upper)))) {
        inode_put(lower);
        lower = NULL;
    }
    uint64_t nr = lower ? lower->ino : 0;
    if (!nr)
        nr = origin_of(upper);
    if (!nr)
        nr = upper->ino | OVL_UPPER_INO;

    struct ovl_sb *os = sb->priv;
    pthread_mutex_lock(&os->mu);
    struct inode *ino = table_find(TBL(os), nr);
    if (ino) {
        pthread_mutex_unlock(&os->mu);
        struct ovl_node *n = ON(ino);
        pthread_mutex_lock(&n->cu_mu);
        if (upper && !n->upper) {
            /* copied up through another name (a lower hard link): adopt it */
            __atomic_store_n(&n->upper, upper, __ATOMIC_RELEASE);
            upper = NULL;
        }
        pthread_mutex_unlock(&n->cu_mu);
        inode_put(upper);
        inode_put(lower);
        *out = ino;
        return 0;
    }
    /* allocate everything first, so nothing half-made is ever published */
    struct inode *real = upper ? upper : lower;
    struct ovl_node *n = calloc(1, sizeof(*n));
    char *nm = strdup(name);
    struct tent *te = malloc(sizeof(*te));
    ino = inode_new(sb, &ovl_inode_ops, nr, real->mode & S_IFMT);
    if (!n || !nm || !te || !ino || table_reserve(TBL(os)) < 0) {
        pthread_mutex_unlock(&os->mu);
        free(n);
        free(nm);
        free(te);
        if (ino)
            inode_put(ino);   /* no priv yet: evict does nothing */
        inode_put(upper);
        inode_put(lower);
        return -ENOMEM;
    }
    pthread_mutex_init(&n->cu_mu, NULL);
    n->upper = upper;
    n->lower = lower;
    n->parent = parent;
    n->name = nm;
    if (parent)
        inode_get(parent);
    ino->priv = n;
    table_insert(TBL(os), te, ino);
    __atomic_add_fetch(&os->live, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&os->mu);
    ovl_refresh(ino);
    if (S_ISREG(ino->mode))
        ino->cache = inode_cache(real);   /* aliased: mmap sees the real data */
    *out = ino;
    return 0;
}

static void ovl_evict(struct inode *ino)
{
    struct ovl_node *n = ON(ino);
    struct superblock *sb = ino->sb;
    struct ovl_sb *os = sb->priv;
    ino->cache = NULL;     /* the real inode's, not ours to free */
    if (!n)
        return;
    pthread_mutex_lock(&os->mu);
    table_remove(TBL(os), ino);
    pthread_mutex_unlock(&os->mu);
    inode_put(n->upper);
    inode_put(n->lower);
    inode_put(n->parent);
    free(n->name);
    pthread_mutex_destroy(&n->cu_mu);
    free(n);
    if (__atomic_sub_fetch(&os->live, 1, __ATOMIC_ACQ_REL) == 0) {
        inode_put(os->upper_root);
        inode_put(os->lower_root);
        free(TBL(os)->b);
        free(TBL(os));
        pthread_mutex_destroy(&os->mu);
        free(os);
        free(sb);
    }
}

struct superblock *overlay_new(struct inode *upper_root, struct inode *lower_root,
                               struct inode **root, int *err)
{
    struct superblock *sb = calloc(1, sizeof(*sb));
    struct ovl_sb *os = calloc(1, sizeof(*os));
    struct ovl_table *t = calloc(1, sizeof(*t));
    if (t) {
        t->nb = 64;
        t->b = calloc(t->nb, sizeof(t->b[0]));
    }
    if (!sb || !os || !t || !t->b) {
        free(sb);
        free(os);
        if (t)
            free(t->b);
        free(t);
        *err = -ENOMEM;
        return NULL;
    }
    pthread_mutex_init(&os->mu, NULL);
    os->table = (struct inode **)t;
    os->upper_root = upper_root;
    os->lower_root = lower_root;
    sb->fstype = "overlay";
    sb->dev = vfs_new_dev();
    sb->priv = os;
    inode_get(upper_root);
    inode_get(lower_root);
    /* the root's pair of references for the node */
    /* the root starts out looking like the served tree's root */
    struct stat lst;
    if (inode_stat(lower_root, &lst) == 0) {
        pthread_mutex_lock(&upper_root->mu);
        upper_root->mode = S_IFDIR | (lst.st_mode & 07777);
        upper_root->uid = lst.st_uid;
        upper_root->gid = lst.st_gid;
        upper_root->atime = lst.st_atim;
        upper_root->mtime = lst.st_mtim;
        upper_root->ctime = lst.st_ctim;
        pthread_mutex_unlock(&upper_root->mu);
    }
    inode_get(upper_root);
    inode_get(lower_root);
    int e = ovl_get_inode(sb, NULL, "/", upper_root, lower_root, root);
    if (e < 0) {
        /* nothing else references sb: drop what it holds */
        inode_put(upper_root);
        inode_put(lower_root);
        free(t->b);
        free(t);
        free(os);
        free(sb);
        *err = e;
        return NULL;
    }
    return sb;
}

struct inode *overlay_real(struct inode *ino) { return ovl_realino(ino); }
int overlay_copy_up(struct inode *ino) { return ovl_copy_up(ino); }

/* ---- lookup ---- */

static int ovl_lookup(struct inode *dir, const char *name, struct inode **out)
{
    struct inode *ud = ovl_upper(dir), *ld = ON(dir)->lower;
    struct inode *u = NULL, *l = NULL;
    if (ud) {
        int err = ud->ops->lookup(ud, name, &u);
        if (err && err != -ENOENT)
            return err;
        if (u && ovl_is_whiteout(u)) {
            inode_put(u);
            return -ENOENT;
        }
    }
    /* the lower matters only where it could merge: no upper, or an upper dir */
    if (ld && (!u || S_ISDIR(u->mode))) {
        int err = ld->ops->lookup(ld, name, &l);
        if (err && err != -ENOENT) {
            inode_put(u);
            return err;
        }
    }
    if (!u && !l)
        return -ENOENT;
    return ovl_get_inode(dir->sb, dir, name, u, l, out);
}

/* ---- changes to upper directories ---- */

static int make_whiteout(struct inode *ud, const char *name)
{
    struct new_node nn = { .mode = S_IFCHR, .rdev = 0 };
    struct inode *w;
    int err = ud->ops->create(ud, name, &nn, &w);
    if (!err)
        inode_put(w);
    return err;
}

/* drop_whiteout: removes a whiteout at name in ud if there is one: 1 if it did, 0 if
 * the name is free, -EEXIST if something real is there. ud->dir_mu held. */
static int drop_whiteout(struct inode *ud, const char *name)
{
    struct inode *w;
    if (ud->ops->lookup(ud, name, &w) < 0)
        return 0;
    int ret = ovl_is_whiteout(w) ? 1 : -EEXIST;
    if (ret == 1) {
        int err = ud->ops->unlink(ud, name, w);
        if (err)
            ret = err;
    }
    inode_put(w);
    return ret;
}

static int ovl_create(struct inode *dir, const char *name, const struct new_node *nn,
                      struct inode **out)
{
    int err = ovl_copy_up(dir);
    if (err)
        return err;
    struct inode *ud = ovl_upper(dir), *u = NULL;
    pthread_mutex_lock(&ud->dir_mu);
    int had_wh = drop_whiteout(ud, name);
    if (had_wh < 0) {
        pthread_mutex_unlock(&ud->dir_mu);
        return had_wh;
    }
    err = ud->ops->create(ud, name, nn, &u);
    if (err) {
        if (had_wh)
            make_whiteout(ud, name);
    } else if (S_ISDIR(u->mode) && had_wh) {
        /* a new directory where a lower one was removed must not show its entries */
        err = u->ops->setxattr(u, OVL_XATTR_OPAQUE, "y", 1, 0);
        if (err) {
            ud->ops->rmdir(ud, name, u);
            make_whiteout(ud, name);
            inode_put(u);
        }
    }
    pthread_mutex_unlock(&ud->dir_mu);
    if (err)
        return err;
    ovl_refresh(dir);
    return ovl_get_inode(dir->sb, dir, name, u, NULL, out);
}

/* ovl_tmpfile: O_TMPFILE: an unnamed file in the upper of dir (copied up first). Its
 * node has no name until ovl_link gives it one in the upper. */
static int ovl_tmpfile(struct inode *dir, const struct new_node *nn, int linkable,
                       struct inode **out)
{
    int err = ovl_copy_up(dir);
    if (err)
        return err;
    struct inode *ud = ovl_upper(dir), *u;
    if (!ud->ops->tmpfile)
        return -EOPNOTSUPP;
    if ((err = ud->ops->tmpfile(ud, nn, linkable, &u)) < 0)
        return err;
    return ovl_get_inode(dir->sb, dir, "", u, NULL, out);
}

static int ovl_link(struct inode *dir, const char *name, struct inode *target)
{
    int err = ovl_copy_up(target);
    if (!err)
        err = ovl_copy_up(dir);
    if (err)
        return err;
    struct inode *ud = ovl_upper(dir);
    pthread_mutex_lock(&ud->dir_mu);
    int had_wh = drop_whiteout(ud, name);
    if (had_wh < 0) {
        pthread_mutex_unlock(&ud->dir_mu);
        return had_wh;
    }
    err = ud->ops->link(ud, name, ovl_upper(target));
    if (err && had_wh)
        make_whiteout(ud, name);
    pthread_mutex_unlock(&ud->dir_mu);
    ovl_refresh(target);
    ovl_refresh(dir);
    return err;
}

/* remove_name: unlink or rmdir of name (victim) in dir: the upper entry goes, and a
 * whiteout stays if the lower still has the name. */
static int remove_name(struct inode *dir, const char *name, struct inode *victim, int rmdir)
{
    if (rmdir) {
        struct ovl_list l = { 0 };
        int err = ovl_merge(victim, &l);
        size_t n = l.n;
        ovl_list_free(&l);
        if (err)
            return err;
        if (n)
            return -ENOTEMPTY;
    }
    int need_wh = ovl_lower_has(dir, name);
    if (need_wh) {
        int err = ovl_copy_up(dir);
        if (err)
            return err;
    }
    struct inode *ud = ovl_upper(dir);
    if (!ud)
        return -EROFS;   /* cannot happen: a lower-only name needs a whiteout */
    pthread_mutex_lock(&ud->dir_mu);
    struct inode *uv = NULL;
    int err = 0;
    if (ud->ops->lookup(ud, name, &uv) == 0) {
        if (ovl_is_whiteout(uv))
            err = -ENOENT;
        else if (rmdir)
            err = ovl_purge_whiteouts(uv);
        if (!err)
            err = rmdir ? ud->ops->rmdir(ud, name, uv) : ud->ops->unlink(ud, name, uv);
        inode_put(uv);
    }
    if (!err && need_wh)
        err = make_whiteout(ud, name);
    pthread_mutex_unlock(&ud->dir_mu);
    if (!err) {
        ovl_refresh(victim);
        if (!ovl_upper(victim) || rmdir) {
            pthread_mutex_lock(&victim->mu);
            victim->nlink = rmdir ? 0 : victim->nlink - 1;
            pthread_mutex_unlock(&victim->mu);
        }
        ovl_refresh(dir);
    }
    return err;
}

static int ovl_unlink(struct inode *dir, const char *name, struct inode *victim)
{
    return remove_name(dir, name, victim, 0);
}

static int ovl_rmdir(struct inode *dir, const char *name, struct inode *victim)
{
    return remove_name(dir, name, victim, 1);
}

/* merged_empty: -ENOTEMPTY unless the overlay directory shows no entries. */
static int merged_empty(struct inode *dir)
{
    struct ovl_list l = { 0 };
    int err = ovl_merge(dir, &l);
    if (!err && l.n)
        err = -ENOTEMPTY;
    ovl_list_free(&l);
    return err;
}

/* set_place: ino now lives at name in parent. */
static void set_place(struct inode *ino, struct inode *parent, const char *name)
{
    struct ovl_node *n = ON(ino);
    char *nm = strdup(name);
    if (!nm)
        return;   /* only ".." and copy-up use it, and ino is already up */
    inode_get(parent);
    pthread_mutex_lock(&ino->mu);
    struct inode *old = n->parent;
    char *oldname = n->name;
    n->parent = parent;
    n->name = nm;
    pthread_mutex_unlock(&ino->mu);
    inode_put(old);
    free(oldname);
}

static void lock_upper2(struct inode *a, struct inode *b)
{
    if (a == b) {
        pthread_mutex_lock(&a->dir_mu);
        return;
    }
    if (a > b) {
        struct inode *t = a; a = b; b = t;
    }
    pthread_mutex_lock(&a->dir_mu);
    pthread_mutex_lock(&b->dir_mu);
}

static void unlock_upper2(struct inode *a, struct inode *b)
{
    pthread_mutex_unlock(&a->dir_mu);
    if (a != b)
        pthread_mutex_unlock(&b->dir_mu);
}

static int ovl_rename(struct inode *odir, const char *oname, struct inode *ndir,
                      const char *nname, unsigned flags)
{
    if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
        return -EINVAL;
    int exchange = (flags & RENAME_EXCHANGE) != 0;
    struct inode *src = NULL, *dst = NULL;
    int err = ovl_lookup(odir, oname, &src);
    if (err)
        return err;
    err = ovl_lookup(ndir, nname, &dst);
    if (err == -ENOENT && !exchange)
        err = 0;
    if (err)
        goto out;
    if (dst && (flags & RENAME_NOREPLACE)) {
        err = -EEXIST;
        goto out;
    }
    if (src == dst)
        goto out;       /* the same file: nothing to do */
    /* without redirect_dir, a directory that has a lower part cannot move */
    if ((S_ISDIR(src->mode) && ON(src)->lower) ||
        (exchange && S_ISDIR(dst->mode) && ON(dst)->lower)) {
        err = -EXDEV;
        goto out;
    }
    if (dst && !exchange && S_ISDIR(dst->mode)) {
        if (!S_ISDIR(src->mode)) {
            err = -EISDIR;
            goto out;
        }
        if ((err = merged_empty(dst)))
            goto out;
    }
    if ((err = ovl_copy_up(src)) || (err = ovl_copy_up(odir)) ||
        (err = ovl_copy_up(ndir)) || (exchange && (err = ovl_copy_up(dst))))
        goto out;

    struct inode *uo = ovl_upper(odir), *un = ovl_upper(ndir);
    lock_upper2(uo, un);
    if (dst && !exchange && S_ISDIR(dst->mode) && ovl_upper(dst))
        err = ovl_purge_whiteouts(ovl_upper(dst));
    int had_wh = 0;
    if (!err && !exchange) {
        had_wh = drop_whiteout(un, nname);
        if (had_wh == -EEXIST)
            had_wh = 0;          /* a real upper entry: the rename replaces it */
        else if (had_wh < 0)
            err = had_wh;
    }
    if (!err) {
        err = uo->ops->rename(uo, oname, un, nname, exchange ? RENAME_EXCHANGE : 0);
        if (err && had_wh)
            make_whiteout(un, nname);
    }
    if (!err && !exchange) {
        if (ovl_lower_has(odir, oname))
            err = make_whiteout(uo, oname);
        /* a pure upper directory moved over a lower name must hide what is below */
        if (!err && S_ISDIR(src->mode) && ovl_lower_has(ndir, nname))
            err = ovl_upper(src)->ops->setxattr(ovl_upper(src), OVL_XATTR_OPAQUE, "y", 1,
                                                 0);
    }
    unlock_upper2(uo, un);
    if (err)
        goto out;
    set_place(src, ndir, nname);
    if (exchange)
        set_place(dst, odir, oname);
    else if (dst)
        ovl_refresh(dst);
    ovl_refresh(src);
    ovl_refresh(odir);
    ovl_refresh(ndir);
out:
    inode_put(src);
    inode_put(dst);
    return err;
}

/* ---- attributes, links, xattrs ---- */

static int ovl_getattr(struct inode *ino)
{
    ovl_refresh(ino);
    return 0;
}

static int ovl_setattr(struct inode *ino, const struct iattr *ia)
{
    int err = ovl_copy_up(ino);
    if (err)
        return err;
    struct inode *u = ovl_upper(ino);
    err = u->ops->setattr(u, ia);
    ovl_refresh(ino);
    return err;
}

static int ovl_readlink(struct inode *ino, char *buf, size_t size)
{
    struct inode *r = ovl_realino(ino);
    return r->ops->readlink ? r->ops->readlink(r, buf, size) : -EINVAL;
}

static int ovl_statfs(struct inode *ino, struct statfs *out)
{
    struct inode *u = ((struct ovl_sb *)ino->sb->priv)->upper_root;
    int err = u->ops->statfs ? u->ops->statfs(u, out) : 0;
    if (!u->ops->statfs)
        memset(out, 0, sizeof(*out));
    out->f_type = OVERLAYFS_SUPER_MAGIC;
    return err;
}

static int is_private(const char *name)
{
    return strncmp(name, OVL_XATTR_PREFIX, strlen(OVL_XATTR_PREFIX)) == 0;
}

static int ovl_getxattr(struct inode *ino, const char *name, void *buf, size_t size)
{
    if (is_private(name))
        return -ENODATA;
    struct inode *r = ovl_realino(ino);
    return r->ops->getxattr ? r->ops->getxattr(r, name, buf, size) : -EOPNOTSUPP;
}

static int ovl_setxattr(struct inode *ino, const char *name, const void *val,
                        size_t size, int flags)
{
    if (is_private(name))
        return -EPERM;
    int err = ovl_copy_up(ino);
    if (err)
        return err;
    struct inode *u = ovl_upper(ino);
    err = u->ops->setxattr ? u->ops->setxattr(u, name, val, size, flags) : -EOPNOTSUPP;
    ovl_refresh(ino);
    return err;
}

static int ovl_removexattr(struct inode *ino, const char *name)
{
    if (is_private(name))
        return -EPERM;
    int err = ovl_copy_up(ino);
    if (err)
        return err;
    struct inode *u = ovl_upper(ino);
    err = u->ops->removexattr ? u->ops->removexattr(u, name) : -EOPNOTSUPP;
    ovl_refresh(ino);
    return err;
}

/* ovl_listxattr: the real list without the overlay's own names. */
static int ovl_listxattr(struct inode *ino, char *buf, size_t size)
{
    struct inode *r = ovl_realino(ino);
    if (!r->ops->listxattr)
        return 0;
    int n = r->ops->listxattr(r, NULL, 0);
    if (n <= 0)
        return n;
    char *all = malloc((size_t)n);
    if (!all)
        return -ENOMEM;
    n = r->ops->listxattr(r, all, (size_t)n);   /* may race a change: re-checked */
    if (n < 0) {
        free(all);
        return n == -ERANGE ? -EAGAIN : n;
    }
    size_t need = 0;
    for (char *p = all; p < all + n; p += strlen(p) + 1) {
        if (is_private(p))
            continue;
        size_t l = strlen(p) + 1;
        if (size && need + l <= size)
            memcpy(buf + need, p, l);
        need += l;
    }
    free(all);
    if (size && need > size)
        return -ERANGE;
    return (int)need;
}

static int ovl_fill_page(struct inode *ino, uint64_t idx, void *dst)
{
    struct inode *r = ovl_realino(ino);
    if (!r->ops->fill_page) {
        memset(dst, 0, PAGE_SIZE);
        return 0;
    }
    return r->ops->fill_page(r, idx, dst);
}

const struct inode_ops ovl_inode_ops = {
    .lookup = ovl_lookup,
    .create = ovl_create,
    .link = ovl_link,
    .tmpfile = ovl_tmpfile,
    .unlink = ovl_unlink,
    .rmdir = ovl_rmdir,
    .rename = ovl_rename,
    .readlink = ovl_readlink,
    .getattr = ovl_getattr,
    .setattr = ovl_setattr,
    .open = ovl_open,
    .statfs = ovl_statfs,
    .getxattr = ovl_getxattr,
    .setxattr = ovl_setxattr,
    .listxattr = ovl_listxattr,
    .removexattr = ovl_removexattr,
    .fill_page = ovl_fill_page,
    .evict = ovl_evict,
};
