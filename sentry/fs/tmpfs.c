/* tmpfs: superblock, inodes and the namespace operations (create, link, unlink,
 * rmdir, rename), attributes and open. Directory tables are in tmpfs_dir.c, file
 * data in tmpfs_file.c, xattrs in tmpfs_xattr.c. */
#include "sentry/fs/tmpfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "sentry/fs/tmpfs_priv.h"
#include "sentry/mm/memfile.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#endif

int tmpfs_is(const struct inode *ino) { return ino->ops == &tmpfs_inode_ops; }

static struct inode *tmpfs_new_inode(struct superblock *sb, uint32_t mode, uint32_t uid,
                                     uint32_t gid, uint64_t parent_ino)
{
    struct tnode *tn = calloc(1, sizeof(*tn));
    if (!tn)
        return NULL;
    pthread_rwlock_init(&tn->data_rw, NULL);
    pthread_mutex_init(&tn->xmu, NULL);
    tn->seals = F_SEAL_SEAL;
    uint64_t ino_nr = sb_next_ino(sb);
    if (S_ISDIR(mode)) {
        tn->dir = tdir_new(parent_ino ? parent_ino : ino_nr);
        if (!tn->dir)
            goto fail;
    }
    struct inode *ino = inode_new(sb, &tmpfs_inode_ops, ino_nr, mode);
    if (!ino)
        goto fail;
    ino->priv = tn;
    ino->uid = uid;
    ino->gid = gid;
    if (S_ISDIR(mode)) {
        ino->nlink = 2;
        ino->size = 2 * BOGO_DIRENT_SIZE;
    }
    __atomic_add_fetch(&((struct tmpfs_sb *)sb->priv)->live, 1, __ATOMIC_RELAXED);
    return ino;
fail:
    tdir_free(tn->dir);
    free(tn);
    return NULL;
}

struct superblock *tmpfs_new(const char *fstype, uint32_t root_mode, uint32_t uid,
                             uint32_t gid, struct inode **root, int *err)
{
    struct superblock *sb = calloc(1, sizeof(*sb));
    struct tmpfs_sb *ts = calloc(1, sizeof(*ts));
    if (!sb || !ts)
        goto nomem;
    sb->fstype = fstype;
    sb->dev = vfs_new_dev();
    sb->ops = &tmpfs_super_ops;
    sb->priv = ts;
    ts->mode = root_mode & 07777;
    ts->uid = uid;
    ts->gid = gid;
    *root = tmpfs_new_inode(sb, S_IFDIR | (root_mode & 07777), uid, gid, 0);
    if (!*root)
        goto nomem;
    return sb;
nomem:
    free(sb);
    free(ts);
    *err = -ENOMEM;
    return NULL;
}

static void tmpfs_evict(struct inode *ino)
{
    struct tnode *tn = TN(ino);
    tdir_free(tn->dir);     /* drops the children: a removed subtree goes with it */
    tmpfs_xattrs_free(tn);
    free(tn->target);
    pthread_rwlock_destroy(&tn->data_rw);
    pthread_mutex_destroy(&tn->xmu);
    free(tn);
    /* the page cache (the file's data) is freed by inode_put after us */
    struct superblock *sb = ino->sb;
    tmpfs_charge(sb, -(int64_t)(ino->blocks / (PAGE_SIZE / 512)));
    struct tmpfs_sb *ts = sb->priv;
    if (__atomic_sub_fetch(&ts->live, 1, __ATOMIC_ACQ_REL) == 0) {
        free(ts);
        free(sb);
    }
}

/* ---- helpers for directory changes (the VFS holds dir->dir_mu) ---- */

static void touch_now(struct inode *ino, unsigned which)
{
    inode_touch(ino, which);
}

/* adjust: adds delta to nlink and size of ino under its lock. */
static void adjust(struct inode *ino, int nlink_delta, int64_t size_delta)
{
    pthread_mutex_lock(&ino->mu);
    ino->nlink = (uint32_t)((int64_t)ino->nlink + nlink_delta);
    ino->size += size_delta;
    pthread_mutex_unlock(&ino->mu);
}

static int check_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0)
        return -ENOENT;
    if (len > TMPFS_NAME_MAX)
        return -ENAMETOOLONG;
    return 0;
}

static int tmpfs_lookup(struct inode *dir, const char *name, struct inode **out)
{
    struct tdir *d = TN(dir)->dir;
    if (!d)
        return -ENOTDIR;
    if (strlen(name) > TMPFS_NAME_MAX)
        return -ENAMETOOLONG;
    pthread_rwlock_rdlock(&d->rw);
    struct dent *e = tdir_find(d, name);
    if (e) {
        inode_get(e->ino);
        *out = e->ino;
    }
    pthread_rwlock_unlock(&d->rw);
    return e ? 0 : -ENOENT;
}

/* add_entry: puts ino into dir under name and does the accounting. */
static int add_entry(struct inode *dir, const char *name, struct inode *ino)
{
    struct tdir *d = TN(dir)->dir;
    pthread_rwlock_wrlock(&d->rw);
    int err = d->dead ? -ENOENT : tdir_find(d, name) ? -EEXIST : tdir_add(d, name, ino);
    pthread_rwlock_unlock(&d->rw);
    if (err)
        return err;
    adjust(dir, S_ISDIR(ino->mode) ? 1 : 0, BOGO_DIRENT_SIZE);
    touch_now(dir, ATTR_MTIME | ATTR_CTIME);
    return 0;
}

static int tmpfs_create(struct inode *dir, const char *name, const struct new_node *nn,
                        struct inode **out)
{
    if (!TN(dir)->dir)
        return -ENOTDIR;
    int err = check_name(name);
    if (err)
        return err;
    uint32_t type = nn->mode & S_IFMT;
    switch (type) {
    case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFIFO: case S_IFSOCK:
    case S_IFCHR: case S_IFBLK:
        break;
    case 0:
        type = S_IFREG;    /* mknod with no type makes a regular file */
        break;
    default:
        return -EINVAL;
    }
    struct inode *ino = tmpfs_new_inode(dir->sb, type | (nn->mode & 07777), nn->uid,
                                        nn->gid, dir->ino);
    if (!ino)
        return -ENOMEM;
    if (type == S_IFLNK) {
        size_t len = nn->target ? strlen(nn->target) : 0;
        if (len == 0 || len >= PAGE_SIZE) {
            inode_put(ino);
            return len ? -ENAMETOOLONG : -ENOENT;
        }
        TN(ino)->target = strdup(nn->target);
        if (!TN(ino)->target) {
            inode_put(ino);
            return -ENOMEM;
        }
        ino->size = (int64_t)len;
    }
    if (type == S_IFCHR || type == S_IFBLK)
        ino->rdev = nn->rdev;
    err = add_entry(dir, name, ino);
    if (err) {
        inode_put(ino);
        return err;
    }
    *out = ino;     /* the directory took its own reference */
    return 0;
}

struct inode *tmpfs_new_unnamed(struct superblock *sb, uint32_t mode, uint32_t uid,
                                uint32_t gid)
{
    struct inode *ino = tmpfs_new_inode(sb, S_IFREG | (mode & 07777), uid, gid, 0);
    if (ino)
        ino->nlink = 0;
    return ino;
}

/* tmpfs_tmpfile: O_TMPFILE: a regular file with no name in dir (Linux's
 * shmem_tmpfile); linkat may give it one if linkable. */
static int tmpfs_tmpfile(struct inode *dir, const struct new_node *nn, int linkable,
                         struct inode **out)
{
    if (!TN(dir)->dir)
        return -ENOTDIR;
    struct inode *ino = tmpfs_new_inode(dir->sb, S_IFREG | (nn->mode & 07777), nn->uid,
                                        nn->gid, dir->ino);
    if (!ino)
        return -ENOMEM;
    ino->nlink = 0;
    TN(ino)->linkable = linkable;
    *out = ino;
    return 0;
}

static int tmpfs_link(struct inode *dir, const char *name, struct inode *target)
{
    if (!TN(dir)->dir)
        return -ENOTDIR;
    if (S_ISDIR(target->mode))
        return -EPERM;
    int err = check_name(name);
    if (err)
        return err;
    /* linkat of an unlinked open file fails as on Linux, unless it is an O_TMPFILE
     * file made linkable; its first name uses that up */
    pthread_mutex_lock(&target->mu);
    int gone = target->nlink == 0;
    pthread_mutex_unlock(&target->mu);
    int first = gone && __atomic_exchange_n(&TN(target)->linkable, 0, __ATOMIC_ACQ_REL);
    if (gone && !first)
        return -ENOENT;
    err = add_entry(dir, name, target);
    if (err) {
        if (first)
            __atomic_store_n(&TN(target)->linkable, 1, __ATOMIC_RELEASE);
        return err;
    }
    adjust(target, 1, 0);
    touch_now(target, ATTR_CTIME);
    return 0;
}

/* dir_is_empty: whether the directory ino has no entries. */
static int dir_is_empty(struct inode *ino)
{
    struct tdir *d = TN(ino)->dir;
    pthread_rwlock_rdlock(&d->rw);
    int empty = d->count == 0;
    pthread_rwlock_unlock(&d->rw);
    return empty;
}

/* drop_name: the accounting after victim lost a name in dir (dir's entry already
 * removed, victim still referenced by the caller). */
static void drop_name(struct inode *dir, struct inode *victim)
{
    if (S_ISDIR(victim->mode)) {
        struct tdir *vd = TN(victim)->dir;
        pthread_rwlock_wrlock(&vd->rw);
        vd->dead = 1;
        pthread_rwlock_unlock(&vd->rw);
        pthread_mutex_lock(&victim->mu);
        victim->nlink = 0;
        pthread_mutex_unlock(&victim->mu);
        adjust(dir, -1, 0);
    } else {
        adjust(victim, -1, 0);
    }
    touch_now(victim, ATTR_CTIME);
}

/* remove_entry: removes name (which must name victim) from dir. */
static int remove_entry(struct inode *dir, const char *name, struct inode *victim,
                        int rmdir)
{
    struct tdir *d = TN(dir)->dir;
    if (!d)
        return -ENOTDIR;
    if (rmdir && !S_ISDIR(victim->mode))
        return -ENOTDIR;
    if (!rmdir && S_ISDIR(victim->mode))
        return -EISDIR;
    if (rmdir && !dir_is_empty(victim))
        return -ENOTEMPTY;
    pthread_rwlock_wrlock(&d->rw);
    struct dent *e = tdir_find(d, name);
    if (!e || e->ino != victim) {
        pthread_rwlock_unlock(&d->rw);
        return -ENOENT;
    }
    inode_get(victim);   /* keep it across the accounting below */
    tdir_remove(d, e);
    pthread_rwlock_unlock(&d->rw);
    adjust(dir, 0, -BOGO_DIRENT_SIZE);
    drop_name(dir, victim);
    touch_now(dir, ATTR_MTIME | ATTR_CTIME);
    inode_put(victim);
    return 0;
}

static int tmpfs_unlink(struct inode *dir, const char *name, struct inode *victim)
{
    return remove_entry(dir, name, victim, 0);
}

static int tmpfs_rmdir(struct inode *dir, const char *name, struct inode *victim)
{
    return remove_entry(dir, name, victim, 1);
}

/* lock2/unlock2: the entry tables of two directories, in address order. */
static void lock2(struct tdir *a, struct tdir *b)
{
    if (a == b) {
        pthread_rwlock_wrlock(&a->rw);
        return;
    }
    if (a > b) {
        struct tdir *t = a; a = b; b = t;
    }
    pthread_rwlock_wrlock(&a->rw);
    pthread_rwlock_wrlock(&b->rw);
}

static void unlock2(struct tdir *a, struct tdir *b)
{
    pthread_rwlock_unlock(&a->rw);
    if (a != b)
        pthread_rwlock_unlock(&b->rw);
}

/* set_parent: a directory moved to a new parent: its ".." changes. */
static void set_parent(struct inode *child, struct inode *parent)
{
    if (!S_ISDIR(child->mode))
        return;
    struct tdir *cd = TN(child)->dir;
    pthread_rwlock_wrlock(&cd->rw);
    cd->parent_ino = parent->ino;
    pthread_rwlock_unlock(&cd->rw);
}

static int exchange(struct inode *odir, struct dent *oe, struct inode *ndir,
                    struct dent *ne)
{
    struct inode *a = oe->ino, *b = ne->ino;
    oe->ino = b;
    ne->ino = a;
    if (odir != ndir && S_ISDIR(a->mode) != S_ISDIR(b->mode)) {
        /* a directory changed parent without a directory coming back */
        int d = S_ISDIR(a->mode) ? 1 : -1;
        adjust(ndir, d, 0);
        adjust(odir, -d, 0);
    }
    return 0;
}

static int tmpfs_rename(struct inode *odir, const char *oname, struct inode *ndir,
                        const char *nname, unsigned flags)
{
    struct tdir *od = TN(odir)->dir, *nd = TN(ndir)->dir;
    if (!od || !nd)
        return -ENOTDIR;
    if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
        return -EINVAL;
    if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
        return -EINVAL;
    int err = check_name(nname);
    if (err)
        return err;

    lock2(od, nd);
    struct dent *oe = tdir_find(od, oname), *ne = tdir_find(nd, nname);
    struct inode *moved = oe ? oe->ino : NULL, *replaced = ne ? ne->ino : NULL;
    if (!oe) {
        err = -ENOENT;
    } else if (nd->dead) {
        err = -ENOENT;
    } else if (flags & RENAME_EXCHANGE) {
        if (!ne)
            err = -ENOENT;
        else if (oe != ne)
            err = exchange(odir, oe, ndir, ne);
    } else if (oe == ne || moved == replaced) {
        err = 0;            /* the same file: rename(2) does nothing */
        moved = replaced = NULL;
    } else if (ne && (flags & RENAME_NOREPLACE)) {
        err = -EEXIST;
    } else if (ne && S_ISDIR(moved->mode) != S_ISDIR(replaced->mode)) {
        err = S_ISDIR(replaced->mode) ? -EISDIR : -ENOTDIR;
    } else if (ne && S_ISDIR(replaced->mode) && TN(replaced)->dir->count != 0) {
        /* reading count without its lock: the VFS's dir_mu on replaced keeps it
         * from changing; at worst we refuse a rename racing an unlink */
        err = -ENOTEMPTY;
    } else {
        /* add the new name first: if that fails nothing has changed. The duplicate
         * name in nd lives only until ne goes, under the same lock. */
        err = tdir_add(nd, nname, moved);
        if (!err) {
            inode_get(moved);
            if (ne) {
                inode_get(replaced);
                tdir_remove(nd, ne);
            }
            tdir_remove(od, oe);
        }
    }
    if (!err && (flags & RENAME_EXCHANGE) && moved) {
        inode_get(moved);
        inode_get(replaced);
    }
    unlock2(od, nd);
    if (err || !moved)
        return err;

    if (flags & RENAME_EXCHANGE) {
        if (odir != ndir) {
            set_parent(moved, ndir);
            set_parent(replaced, odir);
        }
        touch_now(replaced, ATTR_CTIME);
        inode_put(replaced);
    } else {
        if (replaced) {
            drop_name(ndir, replaced);
            adjust(ndir, 0, -BOGO_DIRENT_SIZE);
            inode_put(replaced);
        }
        if (odir != ndir) {
            adjust(odir, S_ISDIR(moved->mode) ? -1 : 0, -BOGO_DIRENT_SIZE);
            adjust(ndir, S_ISDIR(moved->mode) ? 1 : 0, BOGO_DIRENT_SIZE);
            set_parent(moved, ndir);
        }
    }
    touch_now(moved, ATTR_CTIME);
    touch_now(odir, ATTR_MTIME | ATTR_CTIME);
    if (ndir != odir)
        touch_now(ndir, ATTR_MTIME | ATTR_CTIME);
    inode_put(moved);
    return 0;
}

static int tmpfs_readlink(struct inode *ino, char *buf, size_t size)
{
    const char *t = TN(ino)->target;
    if (!t)
        return -EINVAL;
    size_t len = MIN(strlen(t), size);
    memcpy(buf, t, len);
    return (int)len;
}

static int tmpfs_setattr(struct inode *ino, const struct iattr *ia)
{
    if ((ia->valid & ATTR_MODE) && tmpfs_mode_sealed(ino, ia->mode))
        return -EPERM;
    if (ia->valid & ATTR_SIZE) {
        if (S_ISDIR(ino->mode))
            return -EISDIR;
        if (!S_ISREG(ino->mode))
            return -EINVAL;
        int64_t old = __atomic_load_n(&ino->size, __ATOMIC_RELAXED);
        int err = tmpfs_set_size(ino, ia->size);
        if (err)
            return err;
        if (ia->size != old)
            touch_now(ino, ATTR_MTIME | ATTR_CTIME);
    }
    inode_setattr_copy(ino, ia);
    return 0;
}

static int tmpfs_open(struct inode *ino, struct file *f, int flags)
{
    (void)flags;
    switch (ino->mode & S_IFMT) {
    case S_IFREG:
        f->ops = &tmpfs_reg_ops;
        f->seekable = 1;
        return 0;
    case S_IFDIR:
        f->ops = &tmpfs_dir_ops;
        f->seekable = 1;
        return 0;
    case S_IFLNK:
        return -ELOOP;
    default:
        /* FIFOs and devices are opened by the VFS (special.h); sockets cannot be */
        return -ENXIO;
    }
}

static int tmpfs_statfs(struct inode *ino, struct statfs *out)
{
    memset(out, 0, sizeof(*out));
    out->f_type = TMPFS_MAGIC;
    out->f_bsize = PAGE_SIZE;
    out->f_frsize = PAGE_SIZE;
    struct tmpfs_sb *ts = TSB(ino->sb);
    uint64_t max = memfile_max(), used = memfile_used();
    out->f_blocks = max / PAGE_SIZE;
    out->f_bfree = out->f_bavail = (max > used ? max - used : 0) / PAGE_SIZE;
    uint64_t limit = __atomic_load_n(&ts->max_blocks, __ATOMIC_RELAXED);
    if (limit) {
        /* size=: the limit and what this tmpfs holds, as Linux shows them */
        uint64_t mine = __atomic_load_n(&ts->used_blocks, __ATOMIC_RELAXED);
        out->f_blocks = limit;
        out->f_bfree = out->f_bavail = limit > mine ? limit - mine : 0;
    }
    uint64_t live = __atomic_load_n(&ts->live, __ATOMIC_RELAXED);
    uint64_t files = __atomic_load_n(&ts->max_inodes, __ATOMIC_RELAXED);
    out->f_files = files ? files : max / PAGE_SIZE;
    out->f_ffree = out->f_files > live ? out->f_files - live : 0;
    out->f_namelen = TMPFS_NAME_MAX;
    return 0;
}

static int tmpfs_fill(struct inode *ino, uint64_t idx, void *dst)
{
    return tmpfs_fill_page(ino, idx, dst);
}

const struct inode_ops tmpfs_inode_ops = {
    .lookup = tmpfs_lookup,
    .create = tmpfs_create,
    .link = tmpfs_link,
    .tmpfile = tmpfs_tmpfile,
    .unlink = tmpfs_unlink,
    .rmdir = tmpfs_rmdir,
    .rename = tmpfs_rename,
    .readlink = tmpfs_readlink,
    .setattr = tmpfs_setattr,
    .open = tmpfs_open,
    .statfs = tmpfs_statfs,
    .getxattr = tmpfs_getxattr,
    .setxattr = tmpfs_setxattr,
    .listxattr = tmpfs_listxattr,
    .removexattr = tmpfs_removexattr,
    .fill_page = tmpfs_fill,
    .evict = tmpfs_evict,
};

/* ---- directory files ---- */

int tmpfs_stat_file(struct file *f, struct stat *st)
{
    return inode_stat(f->inode, st);
}

static int dir_iterate(struct file *f, struct dir_emit *e)
{
    return tdir_iterate(f->inode, f, e);
}

static int64_t dir_llseek(struct file *f, int64_t off, int whence)
{
    /* positions are cookies: any non-negative value is a valid place to resume */
    if (whence == SEEK_CUR)
        off += f->pos;
    else if (whence != SEEK_SET)
        return -EINVAL;
    return off < 0 ? -EINVAL : off;
}

static ssize_t dir_read(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)f; (void)u; (void)pos;
    return -EISDIR;
}

const struct file_ops tmpfs_dir_ops = {
    .read = dir_read,
    .stat = tmpfs_stat_file,
    .llseek = dir_llseek,
    .iterate = dir_iterate,
};
