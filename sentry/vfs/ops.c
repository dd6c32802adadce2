/* The VFS operations behind the path system calls: open with create, mknod, mkdir,
 * symlink, link, unlink/rmdir, rename, readlink and setattr. Each walks to the parent,
 * takes the directory's dir_mu, checks what Linux checks (existence, types, permission,
 * read-only mounts, busy mountpoints), then calls the filesystem. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/fs/special.h"
#include "sentry/kernel/task.h"
#include "sentry/vfs/dcache.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/fsnotify.h"
#include "sentry/vfs/vfs.h"

/* path_rdonly: writes through p are refused with EROFS. */
static int path_rdonly(const struct path *p)
{
    return (p->mnt->flags & MNT_RDONLY) || (p->d->inode->sb->flags & SB_RDONLY);
}

/* may_create: the caller may add entries to the directory at dir. */
static int may_create(struct task *t, const struct path *dir)
{
    if (path_rdonly(dir))
        return -EROFS;
    return vfs_permission(&t->cred, dir->d->inode, MAY_WRITE | MAY_EXEC);
}

/* may_delete: the caller may remove victim from dir (write permission and the
 * sticky bit's owner rule). */
static int may_delete(struct task *t, const struct path *dir, struct inode *victim)
{
    int err = may_create(t, dir);
    if (err < 0)
        return err;
    struct inode *di = dir->d->inode;
    pthread_mutex_lock(&di->mu);
    int sticky = di->mode & S_ISVTX;
    uint32_t duid = di->uid;
    pthread_mutex_unlock(&di->mu);
    if (sticky && t->cred.fsuid != duid && t->cred.fsuid != victim->uid &&
        !cred_capable(&t->cred, CAP_FOWNER))
        return -EPERM;
    return 0;
}

/* new_owner: uid and gid for a new node in dir (BSD group semantics under setgid). */
static void new_owner(struct task *t, struct inode *dir, struct new_node *nn)
{
    nn->uid = t->cred.fsuid;
    nn->gid = t->cred.fsgid;
    pthread_mutex_lock(&dir->mu);
    if (dir->mode & S_ISGID) {
        nn->gid = dir->gid;
        if (S_ISDIR(nn->mode))
            nn->mode |= S_ISGID;
    }
    pthread_mutex_unlock(&dir->mu);
}

/* create_locked: makes name in dir (dir_mu held) and caches its dentry. */
static int create_locked(struct dentry *dir, const char *name, const struct new_node *nn,
                         struct dentry **out)
{
    struct inode *di = dir->inode;
    if (!di->ops->create)
        return -EPERM;
    struct inode *ino;
    int err = di->ops->create(di, name, nn, &ino);
    if (err < 0)
        return err;
    struct dentry *d = d_alloc(dir, name, ino);
    if (!d) {
        inode_put(ino);
        return -ENOMEM;
    }
    if (!(di->sb->flags & SB_NOCACHE)) {
        pthread_mutex_lock(&vfs_tree_mu);
        dcache_insert(d);
        pthread_mutex_unlock(&vfs_tree_mu);
    }
    inode_touch(di, ATTR_MTIME | ATTR_CTIME);
    fsnotify_create(di, name, S_ISDIR(nn->mode));
    if (out)
        *out = d;
    else
        d_put(d);
    return 0;
}

/* ---- open ---- */

static ssize_t badf_io(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)f; (void)u; (void)pos;
    return -EBADF;
}

/* An O_PATH file: a handle on a location, with no I/O. */
static const struct file_ops path_only_ops = { .read = badf_io, .write = badf_io };

/* open_inode: sets up f for the object at its path. */
static int open_inode(struct task *t, struct file *f, int flags)
{
    struct inode *ino = f->inode;
    if (flags & O_PATH) {
        f->ops = &path_only_ops;
        return 0;
    }
    switch (ino->mode & S_IFMT) {
    case S_IFIFO:
        return fifo_open(t, ino, f, flags);
    case S_IFCHR:
        if (f->path.mnt && (f->path.mnt->flags & MNT_NODEV))
            return -EACCES;
        return chrdev_open(t, ino->rdev, f, flags);
    case S_IFBLK:
        return -ENXIO;
    case S_IFSOCK:
        return -ENXIO;
    case S_IFLNK:
        return -ELOOP;
    }
    if (!ino->ops->open)
        return -ENXIO;
    return ino->ops->open(ino, f, flags);
}

/* opens_for_write: f (not yet opened) writes its object's data: a regular file or
 * directory opened for writing, which counts against a read-only remount. */
static int opens_for_write(const struct file *f, int flags)
{
    int acc = flags & O_ACCMODE;
    return !(flags & O_PATH) && (acc == O_WRONLY || acc == O_RDWR) && f->path.mnt &&
           (S_ISREG(f->inode->mode) || S_ISDIR(f->inode->mode));
}

int vfs_open_path(struct task *t, const struct path *p, int flags, struct file **out)
{
    struct file *f = file_alloc_path(p, (unsigned)flags & ~(O_CREAT | O_EXCL | O_NOCTTY |
                                                            O_TRUNC | O_CLOEXEC));
    if (!f)
        return -ENOMEM;
    int err = 0;
    if (opens_for_write(f, flags)) {
        err = mnt_want_write(f->path.mnt);
        f->write_held = err == 0;
    }
    if (err == 0)
        err = open_inode(t, f, flags);
    if (err < 0) {
        f->ops = NULL;   /* nothing to release */
        file_put(f);
        return err;
    }
    fsnotify_open(f);
    *out = f;
    return 0;
}

/* open_create: O_CREAT: the existing object at path, or a new regular file; a
 * dangling symlink's target is created, as Linux does. from: where a relative path
 * starts when following a link (NULL: dirfd). */
static int open_create(struct task *t, int dirfd, const struct path *from,
                       const char *path, int flags, uint32_t mode, unsigned wflags,
                       struct path *out, int *created, int links)
{
    struct walk_result w;
    int err = vfs_walk_from(t, dirfd, from, path, (wflags & ~WALK_FOLLOW) | WALK_PARENT,
                            &w);
    if (err < 0)
        return err;
    if (w.last_type != LAST_NORM) {
        path_put(&w.path);
        return -EISDIR;
    }
    struct inode *di = w.path.d->inode;
    pthread_mutex_lock(&di->dir_mu);
    struct dentry *d;
    err = vfs_lookup_locked(w.path.d, w.last, &d);
    if (err == 0) {
        pthread_mutex_unlock(&di->dir_mu);
        if (flags & O_EXCL) {
            d_put(d);
            path_put(&w.path);
            return -EEXIST;
        }
        struct inode *li = d->inode;
        int is_link = S_ISLNK(li->mode);
        if (is_link && (wflags & WALK_FOLLOW) && !w.trailing_slash && !li->ops->get_link &&
            li->ops->readlink) {
            /* follow the link's text from its directory: it may name a file that
             * does not exist yet, which O_CREAT then makes */
            char target[PATH_MAX];
            int n = li->ops->readlink(li, target, sizeof(target) - 1);
            d_put(d);
            if (n <= 0 || links >= SYMLOOP_MAX) {
                path_put(&w.path);
                return n < 0 ? n : links >= SYMLOOP_MAX ? -ELOOP : -ENOENT;
            }
            target[n] = 0;
            err = open_create(t, dirfd, &w.path, target, flags, mode, wflags, out, created,
                              links + 1);
            path_put(&w.path);
            return err;
        }
        d_put(d);
        if (is_link || w.trailing_slash) {
            /* a magic link (or "name/"): an ordinary walk decides */
            path_put(&w.path);
            struct walk_result w2;
            err = vfs_walk_from(t, dirfd, from, path, wflags, &w2);
            if (err < 0)
                return err;
            *out = w2.path;
            return 0;
        }
        struct path child;
        err = vfs_lookup_child(&w.path, w.last, &child);
        path_put(&w.path);
        if (err < 0)
            return err;
        *out = child;
        return 0;
    }
    if (err != -ENOENT)
        goto unlock;
    if (w.trailing_slash) {
        err = -EISDIR;
        goto unlock;
    }
    if ((err = may_create(t, &w.path)) < 0)
        goto unlock;
    struct new_node nn = { .mode = S_IFREG | (mode & 07777 & ~t->umask) };
    new_owner(t, di, &nn);
    err = create_locked(w.path.d, w.last, &nn, &d);
    if (err == 0) {
        out->mnt = w.path.mnt;
        __atomic_add_fetch(&out->mnt->refs, 1, __ATOMIC_RELAXED);
        out->d = d;
        *created = 1;
    }
unlock:
    pthread_mutex_unlock(&di->dir_mu);
    path_put(&w.path);
    return err;
}

/* The bit of O_TMPFILE beyond O_DIRECTORY (the kernel's __O_TMPFILE; glibc's name
 * includes O_DIRECTORY). */
#define O_TMPFILE_BIT 020000000

/* open_tmpfile: O_TMPFILE: an unnamed regular file in the directory at path, open for
 * I/O; linkat can name it later unless O_EXCL (Linux's do_tmpfile and vfs_tmpfile).
 * Its dentry "#INO" under the directory is dead from birth, so /proc/PID/fd shows
 * "DIR/#INO (deleted)" as on Linux. */
static int open_tmpfile(struct task *t, int dirfd, const char *path, int flags,
                        uint32_t mode, unsigned wflags, struct file **out)
{
    struct walk_result w;
    wflags |= WALK_DIRECTORY;
    if (!(flags & O_NOFOLLOW))
        wflags |= WALK_FOLLOW;
    int err = vfs_walk(t, dirfd, path, wflags, &w);
    if (err < 0)
        return err;
    struct inode *di = w.path.d->inode, *ino;
    if ((err = may_create(t, &w.path)) < 0)
        goto out;
    if (!di->ops->tmpfile) {
        err = -EOPNOTSUPP;
        goto out;
    }
    struct new_node nn = { .mode = S_IFREG | (mode & 07777 & ~t->umask) };
    new_owner(t, di, &nn);
    if ((err = di->ops->tmpfile(di, &nn, !(flags & O_EXCL), &ino)) < 0)
        goto out;
    char name[32];
    snprintf(name, sizeof(name), "#%llu", (unsigned long long)ino->ino);
    struct dentry *d = d_alloc(w.path.d, name, ino);   /* ino moves in */
    if (!d) {
        inode_put(ino);
        err = -ENOMEM;
        goto out;
    }
    pthread_mutex_lock(&vfs_tree_mu);
    d->dead = 1;
    pthread_mutex_unlock(&vfs_tree_mu);
    struct path p = { w.path.mnt, d };
    err = vfs_open_path(t, &p, flags & ~O_EXCL, out);
    d_put(d);
out:
    path_put(&w.path);
    return err;
}

int vfs_open(struct task *t, int dirfd, const char *path, int flags, uint32_t mode,
             unsigned walk_flags, struct file **out)
{
    if (flags & O_PATH)
        flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    if (flags & O_TMPFILE_BIT) {
        /* Linux's build_open_flags: O_DIRECTORY must come with it (so old kernels
         * fail), O_CREAT must not, and the file must be writable */
        int acc = flags & O_ACCMODE;
        if (!(flags & O_DIRECTORY) || (flags & O_CREAT) || (acc != O_WRONLY && acc != O_RDWR))
            return -EINVAL;
        return open_tmpfile(t, dirfd, path, flags, mode, walk_flags, out);
    }
    unsigned wflags = walk_flags;
    if (!(flags & O_NOFOLLOW))
        wflags |= WALK_FOLLOW;
    if (flags & O_DIRECTORY)
        wflags |= WALK_DIRECTORY;
    int acc = flags & O_ACCMODE;
    int created = 0;
    struct path p;
    int err;
    if ((flags & O_CREAT) && !(flags & O_PATH)) {
        if (flags & O_DIRECTORY)
            return -EINVAL;
        err = open_create(t, dirfd, NULL, path, flags, mode, wflags, &p, &created, 0);
    } else {
        struct walk_result w;
        err = vfs_walk(t, dirfd, path, wflags, &w);
        p = w.path;
    }
    if (err < 0)
        return err;
    struct inode *ino = p.d->inode;
    if (S_ISLNK(ino->mode) && !(flags & O_PATH)) {
        err = -ELOOP;
        goto out;
    }
    if ((flags & O_DIRECTORY) && !inode_is_dir(ino)) {
        err = -ENOTDIR;
        goto out;
    }
    if (inode_is_dir(ino) && !(flags & O_PATH) &&
        (acc != O_RDONLY || (flags & (O_CREAT | O_TRUNC)))) {
        err = -EISDIR;
        goto out;
    }
    if (!created && !(flags & O_PATH)) {
        int may = 0;
        if (acc == O_RDONLY || acc == O_RDWR || acc == O_ACCMODE)
            may |= MAY_READ;
        if (acc == O_WRONLY || acc == O_RDWR || acc == O_ACCMODE || (flags & O_TRUNC))
            may |= MAY_WRITE;
        if ((err = vfs_permission(&t->cred, ino, may)) < 0)
            goto out;
        if ((may & MAY_WRITE) && (S_ISREG(ino->mode) || S_ISDIR(ino->mode)) &&
            path_rdonly(&p)) {
            err = -EROFS;
            goto out;
        }
    }
    struct file *f;
    if ((err = vfs_open_path(t, &p, flags, &f)) < 0)
        goto out;
    if ((flags & O_TRUNC) && S_ISREG(ino->mode) && !created &&
        (acc == O_WRONLY || acc == O_RDWR)) {
        err = vfs_truncate_file(t, f, 0);
        if (err < 0) {
            file_put(f);
            goto out;
        }
    }
    *out = f;
out:
    path_put(&p);
    return err;
}

int vfs_truncate_file(struct task *t, struct file *f, int64_t size)
{
    (void)t;
    if (size < 0)
        return -EINVAL;
    int err;
    struct inode *ino = f->inode;
    if (f->ops && f->ops->truncate) {
        err = f->ops->truncate(f, size);
    } else if (!ino || !S_ISREG(ino->mode)) {
        return -EINVAL;
    } else if (!ino->ops->setattr) {
        return -EPERM;
    } else {
        struct iattr ia = { .valid = ATTR_SIZE | ATTR_MTIME | ATTR_CTIME, .size = size };
        clock_gettime(CLOCK_REALTIME, &ia.mtime);
        ia.ctime = ia.mtime;
        err = ino->ops->setattr(ino, &ia);
    }
    if (err == 0 && f->path.d)
        fsnotify_change(f->path.d, ATTR_SIZE | ATTR_MTIME | ATTR_CTIME);
    return err;
}

/* ---- creating names ---- */

/* make_node: the common part of mknod, mkdir and symlink; with out, also the new
 * node's path (references for the caller). */
static int make_node_path(struct task *t, int dirfd, const char *path, struct new_node *nn,
                          struct path *out)
{
    struct walk_result w;
    int err = vfs_walk(t, dirfd, path, WALK_PARENT, &w);
    if (err < 0)
        return err;
    if (w.last_type != LAST_NORM) {
        path_put(&w.path);
        return -EEXIST;
    }
    if (w.trailing_slash && !S_ISDIR(nn->mode)) {
        path_put(&w.path);
        return -ENOENT;
    }
    struct inode *di = w.path.d->inode;
    pthread_mutex_lock(&di->dir_mu);
    struct dentry *d;
    err = vfs_lookup_locked(w.path.d, w.last, &d);
    if (err == 0) {
        d_put(d);
        err = -EEXIST;
    } else if (err == -ENOENT) {
        err = may_create(t, &w.path);
        if (err == 0) {
            new_owner(t, di, nn);
            struct dentry *nd = NULL;
            err = create_locked(w.path.d, w.last, nn, out ? &nd : NULL);
            if (err == 0 && out) {
                out->mnt = w.path.mnt;
                out->d = nd;
                path_get(&(struct path){ w.path.mnt, NULL });
            }
        }
    }
    pthread_mutex_unlock(&di->dir_mu);
    path_put(&w.path);
    return err;
}

static int make_node(struct task *t, int dirfd, const char *path, struct new_node *nn)
{
    return make_node_path(t, dirfd, path, nn, NULL);
}

int vfs_mknod_path(struct task *t, int dirfd, const char *path, uint32_t mode,
                   struct path *out)
{
    struct new_node nn = { .mode = (mode & S_IFMT) | (mode & 07777 & ~t->umask) };
    return make_node_path(t, dirfd, path, &nn, out);
}

int vfs_mknod(struct task *t, int dirfd, const char *path, uint32_t mode, uint64_t dev)
{
    uint32_t type = mode & S_IFMT;
    if (type == 0)
        type = S_IFREG;
    switch (type) {
    case S_IFREG: case S_IFIFO: case S_IFSOCK:
        break;
    case S_IFCHR: case S_IFBLK:
        if (!cred_capable(&t->cred, CAP_MKNOD))
            return -EPERM;
        break;
    case S_IFDIR:
        return -EPERM;
    default:
        return -EINVAL;
    }
    struct new_node nn = { .mode = type | (mode & 07777 & ~t->umask), .rdev = dev };
    return make_node(t, dirfd, path, &nn);
}

int vfs_mkdir(struct task *t, int dirfd, const char *path, uint32_t mode)
{
    struct new_node nn = { .mode = S_IFDIR | (mode & 07777 & ~t->umask) };
    return make_node(t, dirfd, path, &nn);
}

int vfs_symlink(struct task *t, const char *target, int dirfd, const char *path)
{
    if (!target[0])
        return -ENOENT;
    struct new_node nn = { .mode = S_IFLNK | 0777, .target = target };
    return make_node(t, dirfd, path, &nn);
}

int vfs_link(struct task *t, int odirfd, const char *opath, int ndirfd, const char *npath,
             int at_flags)
{
    struct walk_result ow, nw;
    unsigned of = (at_flags & AT_SYMLINK_FOLLOW) ? WALK_FOLLOW : 0;
    if (at_flags & AT_EMPTY_PATH)
        of |= WALK_EMPTY_PATH;
    int err = vfs_walk(t, odirfd, opath, of, &ow);
    if (err < 0)
        return err;
    if (inode_is_dir(ow.path.d->inode)) {
        path_put(&ow.path);
        return -EPERM;
    }
    err = vfs_walk(t, ndirfd, npath, WALK_PARENT, &nw);
    if (err < 0) {
        path_put(&ow.path);
        return err;
    }
    if (nw.last_type != LAST_NORM || nw.trailing_slash) {
        err = nw.trailing_slash ? -ENOENT : -EEXIST;
        goto out;
    }
    if (ow.path.mnt != nw.path.mnt) {
        err = -EXDEV;
        goto out;
    }
    if ((err = may_create(t, &nw.path)) < 0)
        goto out;
    struct inode *di = nw.path.d->inode;
    pthread_mutex_lock(&di->dir_mu);
    struct dentry *d;
    err = vfs_lookup_locked(nw.path.d, nw.last, &d);
    if (err == 0) {
        d_put(d);
        err = -EEXIST;
    } else if (err == -ENOENT) {
        err = di->ops->link ? di->ops->link(di, nw.last, ow.path.d->inode) : -EPERM;
        if (err == 0) {
            inode_touch(di, ATTR_MTIME | ATTR_CTIME);
            inode_touch(ow.path.d->inode, ATTR_CTIME);
            fsnotify_link(di, nw.last, ow.path.d->inode);
        }
    }
    pthread_mutex_unlock(&di->dir_mu);
out:
    path_put(&ow.path);
    path_put(&nw.path);
    return err;
}

/* ---- removing names ---- */

/* is_mountpoint: something is mounted on d. */
static int is_mountpoint(struct dentry *d)
{
    pthread_mutex_lock(&vfs_tree_mu);
    int m = d->mounted > 0;
    pthread_mutex_unlock(&vfs_tree_mu);
    return m;
}

int vfs_unlink(struct task *t, int dirfd, const char *path, int at_flags)
{
    int rmdir = at_flags & AT_REMOVEDIR;
    struct walk_result w;
    int err = vfs_walk(t, dirfd, path, WALK_PARENT, &w);
    if (err < 0)
        return err;
    if (w.last_type != LAST_NORM) {
        path_put(&w.path);
        if (!rmdir)
            return -EISDIR;
        return w.last_type == LAST_DOT ? -EINVAL
               : w.last_type == LAST_DOTDOT ? -ENOTEMPTY : -EBUSY;
    }
    struct inode *di = w.path.d->inode;
    pthread_mutex_lock(&di->dir_mu);
    struct dentry *d;
    err = vfs_lookup_locked(w.path.d, w.last, &d);
    if (err < 0)
        goto unlock;
    struct inode *victim = d->inode;
    int removed = 0;
    if (rmdir && !inode_is_dir(victim))
        err = -ENOTDIR;
    else if (!rmdir && inode_is_dir(victim))
        err = -EISDIR;
    else if (!rmdir && w.trailing_slash)
        err = -ENOTDIR;
    else if (is_mountpoint(d))
        err = -EBUSY;
    else if ((err = may_delete(t, &w.path, victim)) == 0) {
        if (rmdir)
            err = di->ops->rmdir ? di->ops->rmdir(di, w.last, victim) : -EPERM;
        else
            err = di->ops->unlink ? di->ops->unlink(di, w.last, victim) : -EPERM;
        if (err == 0) {
            dcache_drop(d);
            inode_touch(di, ATTR_MTIME | ATTR_CTIME);
            inode_touch(victim, ATTR_CTIME);
            if (!rmdir)
                fsnotify_link_count(victim);
            removed = 1;
        }
    }
    /* Linux's order: the victim's IN_DELETE_SELF (when this was its last name and
     * dentry) comes before the directory's IN_DELETE */
    d_put(d);
    if (removed)
        fsnotify_delete(di, w.last, rmdir);
unlock:
    pthread_mutex_unlock(&di->dir_mu);
    path_put(&w.path);
    return err;
}

/* ---- rename ---- */

/* is_ancestor: a is d or one of its ancestors (in one filesystem). */
static int is_ancestor(struct dentry *a, struct dentry *d)
{
    pthread_mutex_lock(&vfs_tree_mu);
    for (; d; d = d->parent)
        if (d == a)
            break;
    pthread_mutex_unlock(&vfs_tree_mu);
    return d != NULL;
}

/* move_dentry: after a rename, d now lives at (parent, name). */
static void move_dentry(struct dentry *d, struct dentry *parent, const char *name)
{
    char *n = strdup(name);
    pthread_mutex_lock(&vfs_tree_mu);
    int was = dcache_unhash(d);
    struct dentry *old_parent = d->parent;
    d_get(parent);
    d->parent = parent;
    if (n) {
        free(d->name);
        d->name = n;
    }
    if (was && n)
        dcache_insert(d);   /* takes a new cache reference */
    pthread_mutex_unlock(&vfs_tree_mu);
    if (was)
        d_put(d);
    d_put(old_parent);
}

int vfs_rename(struct task *t, int odirfd, const char *opath, int ndirfd,
               const char *npath, unsigned flags)
{
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
        return -EINVAL;
    if ((flags & RENAME_EXCHANGE) && (flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)))
        return -EINVAL;
    if (flags & RENAME_WHITEOUT)
        return -EINVAL;
    struct walk_result ow, nw;
    int err = vfs_walk(t, odirfd, opath, WALK_PARENT, &ow);
    if (err < 0)
        return err;
    err = vfs_walk(t, ndirfd, npath, WALK_PARENT, &nw);
    if (err < 0) {
        path_put(&ow.path);
        return err;
    }
    if (ow.last_type != LAST_NORM || nw.last_type != LAST_NORM) {
        err = (ow.last_type == LAST_NORM && nw.last_type != LAST_NORM) ? -EEXIST : -EBUSY;
        if (ow.last_type == LAST_DOT || nw.last_type == LAST_DOT)
            err = -EBUSY;
        goto out_paths;
    }
    if (ow.path.mnt != nw.path.mnt) {
        err = -EXDEV;
        goto out_paths;
    }
    if ((err = may_create(t, &ow.path)) < 0 || (err = may_create(t, &nw.path)) < 0)
        goto out_paths;

    struct inode *odi = ow.path.d->inode, *ndi = nw.path.d->inode;
    pthread_mutex_lock(&vfs_rename_mu);
    if (odi == ndi) {
        pthread_mutex_lock(&odi->dir_mu);
    } else if ((uintptr_t)odi < (uintptr_t)ndi) {
        pthread_mutex_lock(&odi->dir_mu);
        pthread_mutex_lock(&ndi->dir_mu);
    } else {
        pthread_mutex_lock(&ndi->dir_mu);
        pthread_mutex_lock(&odi->dir_mu);
    }
    struct dentry *od = NULL, *nd = NULL;
    if ((err = vfs_lookup_locked(ow.path.d, ow.last, &od)) < 0)
        goto unlock;
    err = vfs_lookup_locked(nw.path.d, nw.last, &nd);
    if (err < 0 && err != -ENOENT)
        goto unlock;
    err = 0;
    struct inode *oi = od->inode;
    if ((flags & RENAME_EXCHANGE) && !nd) {
        err = -ENOENT;
        goto unlock;
    }
    if (nd && (flags & RENAME_NOREPLACE)) {
        err = -EEXIST;
        goto unlock;
    }
    if ((ow.trailing_slash || nw.trailing_slash) && !inode_is_dir(oi)) {
        err = -ENOTDIR;
        goto unlock;
    }
    if (nd && nd->inode == oi)
        goto unlock;   /* the same file: nothing to do, as Linux */
    if (nd && !(flags & RENAME_EXCHANGE)) {
        if (inode_is_dir(oi) && !inode_is_dir(nd->inode)) {
            err = -ENOTDIR;
            goto unlock;
        }
        if (!inode_is_dir(oi) && inode_is_dir(nd->inode)) {
            err = -EISDIR;
            goto unlock;
        }
    }
    /* a directory cannot move inside itself */
    if (inode_is_dir(oi) && is_ancestor(od, nw.path.d)) {
        err = -EINVAL;
        goto unlock;
    }
    if (nd && (flags & RENAME_EXCHANGE) && inode_is_dir(nd->inode) &&
        is_ancestor(nd, ow.path.d)) {
        err = -EINVAL;
        goto unlock;
    }
    if (nd && is_ancestor(nd, ow.path.d)) {
        err = -ENOTEMPTY;
        goto unlock;
    }
    if (is_mountpoint(od) || (nd && is_mountpoint(nd))) {
        err = -EBUSY;
        goto unlock;
    }
    if ((err = may_delete(t, &ow.path, oi)) < 0)
        goto unlock;
    if (nd && (err = may_delete(t, &nw.path, nd->inode)) < 0)
        goto unlock;
    if (!odi->ops->rename) {
        err = -EPERM;
        goto unlock;
    }
    err = odi->ops->rename(odi, ow.last, ndi, nw.last, flags);
    if (err < 0)
        goto unlock;
    if (flags & RENAME_EXCHANGE) {
        move_dentry(nd, ow.path.d, ow.last);
        move_dentry(od, nw.path.d, nw.last);
        fsnotify_move(odi, ow.last, ndi, nw.last, oi, NULL);
        fsnotify_move(ndi, nw.last, odi, ow.last, nd->inode, NULL);
    } else {
        if (nd)
            dcache_drop(nd);
        move_dentry(od, nw.path.d, nw.last);
        fsnotify_move(odi, ow.last, ndi, nw.last, oi, nd ? nd->inode : NULL);
    }
    inode_touch(odi, ATTR_MTIME | ATTR_CTIME);
    if (ndi != odi)
        inode_touch(ndi, ATTR_MTIME | ATTR_CTIME);
    inode_touch(oi, ATTR_CTIME);
unlock:
    if (od)
        d_put(od);
    if (nd)
        d_put(nd);
    pthread_mutex_unlock(&odi->dir_mu);
    if (odi != ndi)
        pthread_mutex_unlock(&ndi->dir_mu);
    pthread_mutex_unlock(&vfs_rename_mu);
out_paths:
    path_put(&ow.path);
    path_put(&nw.path);
    return err;
}

/* ---- links and attributes ---- */

int vfs_readlink(struct task *t, int dirfd, const char *path, char *buf, size_t size)
{
    struct walk_result w;
    int err = vfs_walk(t, dirfd, path, WALK_EMPTY_PATH, &w);
    if (err < 0)
        return err;
    struct inode *ino = w.path.d->inode;
    if (!S_ISLNK(ino->mode) || !ino->ops->readlink)
        err = -EINVAL;
    else
        err = ino->ops->readlink(ino, buf, size);
    path_put(&w.path);
    return err;
}

int vfs_setattr(struct task *t, const struct path *p, struct iattr *ia)
{
    struct inode *ino = p->d->inode;
    const struct creds *c = &t->cred;
    pthread_mutex_lock(&ino->mu);
    uint32_t uid = ino->uid, gid = ino->gid, mode = ino->mode;
    pthread_mutex_unlock(&ino->mu);
    /* inode_owner_or_capable, chown_ok and chgrp_ok of Linux's setattr_prepare */
    int owner = c->fsuid == uid || cred_capable(c, CAP_FOWNER);
    if (path_rdonly(p) && !S_ISCHR(mode) && !S_ISFIFO(mode) && !S_ISSOCK(mode))
        return -EROFS;
    if ((ia->valid & ATTR_MODE) && !owner)
        return -EPERM;
    if ((ia->valid & ATTR_UID) && !(c->fsuid == uid && ia->uid == uid) &&
        !cred_capable(c, CAP_CHOWN))
        return -EPERM;
    if ((ia->valid & ATTR_GID) &&
        !(c->fsuid == uid && (ia->gid == gid || cred_in_group(c, ia->gid))) &&
        !cred_capable(c, CAP_CHOWN))
        return -EPERM;
    if (ia->valid & ATTR_SIZE) {
        if (S_ISDIR(mode))
            return -EISDIR;
        if (!S_ISREG(mode))
            return -EINVAL;
        int err = vfs_permission(c, ino, MAY_WRITE);
        if (err < 0)
            return err;
        if (ia->size < 0)
            return -EINVAL;
    }
    if ((ia->valid & ATTR_MODE) && !S_ISDIR(mode) && !cred_capable(c, CAP_FSETID) &&
        !cred_in_group(c, (ia->valid & ATTR_GID) ? ia->gid : gid))
        ia->mode &= ~S_ISGID;   /* Linux drops setgid for a non-member */
    if ((ia->valid & (ATTR_UID | ATTR_GID)) && !S_ISDIR(mode) && !(ia->valid & ATTR_MODE)) {
        /* chown clears the set-id bits of non-directories */
        ia->valid |= ATTR_MODE;
        ia->mode = mode & 07777 & ~(S_ISUID | ((mode & S_IXGRP) ? S_ISGID : 0));
    }
    ia->valid |= ATTR_CTIME;
    clock_gettime(CLOCK_REALTIME, &ia->ctime);
    if (!ino->ops->setattr)
        return -EPERM;
    int err = ino->ops->setattr(ino, ia);
    if (err == 0)
        fsnotify_change(p->d, ia->valid);
    return err;
}
