/* Path walk: turns a guest path into a (mount, dentry) pair, one component at a time,
 * with Linux's rules: symlinks (at most SYMLOOP_MAX per walk), "." and "..", mount
 * crossings, search permission on every directory, and openat2's RESOLVE_* limits. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/kernel/task.h"
#include "sentry/vfs/dcache.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"

/* ---- per-process root and working directory ---- */

struct fs_context *fs_context_new(const struct path *root, const struct path *cwd)
{
    struct fs_context *fs = calloc(1, sizeof(*fs));
    if (!fs)
        return NULL;
    fs->refs = 1;
    pthread_mutex_init(&fs->mu, NULL);
    fs->root = *root;
    fs->cwd = *cwd;
    path_get(root);
    path_get(cwd);
    return fs;
}

struct fs_context *fs_context_copy(struct fs_context *fs)
{
    pthread_mutex_lock(&fs->mu);
    struct fs_context *c = fs_context_new(&fs->root, &fs->cwd);
    pthread_mutex_unlock(&fs->mu);
    return c;
}

void fs_context_put(struct fs_context *fs)
{
    if (!fs || __atomic_sub_fetch(&fs->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    path_put(&fs->root);
    path_put(&fs->cwd);
    pthread_mutex_destroy(&fs->mu);
    free(fs);
}

void fs_get_root(struct task *t, struct path *out)
{
    pthread_mutex_lock(&t->fs->mu);
    *out = t->fs->root;
    path_get(out);
    pthread_mutex_unlock(&t->fs->mu);
}

void fs_get_cwd(struct task *t, struct path *out)
{
    pthread_mutex_lock(&t->fs->mu);
    *out = t->fs->cwd;
    path_get(out);
    pthread_mutex_unlock(&t->fs->mu);
}

/* ---- permission ---- */

int vfs_permission(const struct creds *c, struct inode *ino, int may)
{
    pthread_mutex_lock(&ino->mu);
    uint32_t mode = ino->mode, uid = ino->uid, gid = ino->gid;
    pthread_mutex_unlock(&ino->mu);
    uint32_t want = (uint32_t)may & 7, bits;
    /* acl_permission_check: the owner's bits; else the group's when the caller is in
     * the file's group (looked up only if they differ from the others' bits) */
    if (c->fsuid == uid)
        bits = mode >> 6;
    else if ((want & (mode ^ (mode >> 3))) && cred_in_group(c, gid))
        bits = mode >> 3;
    else
        bits = mode;
    if ((want & ~bits) == 0)
        return 0;
    /* generic_permission: what capabilities override */
    if (S_ISDIR(mode)) {
        if (!(want & MAY_WRITE) && cred_capable(c, CAP_DAC_READ_SEARCH))
            return 0;
        return cred_capable(c, CAP_DAC_OVERRIDE) ? 0 : -EACCES;
    }
    if (want == MAY_READ && cred_capable(c, CAP_DAC_READ_SEARCH))
        return 0;
    /* reading and writing always, executing only if someone may execute */
    if ((!(want & MAY_EXEC) || (mode & 0111)) && cred_capable(c, CAP_DAC_OVERRIDE))
        return 0;
    return -EACCES;
}

/* ---- one component ---- */

/* cross_mounts: moves p onto whatever is mounted on it, repeatedly. */
static void cross_mounts(struct path *p)
{
    pthread_mutex_lock(&vfs_tree_mu);
    struct mount *m;
    while ((m = mount_on(p->mnt, p->d)) != NULL) {
        struct path next = { m, m->root };
        path_get(&next);
        /* the old references are dropped outside the lock below */
        struct path old = *p;
        *p = next;
        pthread_mutex_unlock(&vfs_tree_mu);
        path_put(&old);
        pthread_mutex_lock(&vfs_tree_mu);
    }
    pthread_mutex_unlock(&vfs_tree_mu);
}

/* lookup_dentry: the dentry of name under the directory dentry dir: the cache, else
 * the filesystem. dir_locked: the caller holds dir's dir_mu. */
static int lookup_dentry(struct dentry *dir, const char *name, int dir_locked,
                         struct dentry **out)
{
    struct inode *di = dir->inode;
    pthread_mutex_lock(&vfs_tree_mu);
    struct dentry *d = dcache_lookup(dir, name);
    pthread_mutex_unlock(&vfs_tree_mu);
    if (d) {
        *out = d;
        return 0;
    }
    if (!di->ops || !di->ops->lookup)
        return -ENOENT;
    /* a miss is resolved under dir_mu so it cannot race with an unlink or rename in
     * the same directory and cache a name that is already gone */
    if (!dir_locked)
        pthread_mutex_lock(&di->dir_mu);
    pthread_mutex_lock(&vfs_tree_mu);
    d = dcache_lookup(dir, name);
    pthread_mutex_unlock(&vfs_tree_mu);
    int err = 0;
    if (!d) {
        struct inode *ino = NULL;
        err = di->ops->lookup(di, name, &ino);
        if (err == 0) {
            d = d_alloc(dir, name, ino);
            if (!d) {
                inode_put(ino);
                err = -ENOMEM;
            } else if (!(di->sb->flags & SB_NOCACHE)) {
                pthread_mutex_lock(&vfs_tree_mu);
                dcache_insert(d);
                pthread_mutex_unlock(&vfs_tree_mu);
            }
        }
    }
    if (!dir_locked)
        pthread_mutex_unlock(&di->dir_mu);
    *out = d;
    return err;
}

int vfs_lookup_child(const struct path *dir, const char *name, struct path *out)
{
    struct dentry *d;
    int err = lookup_dentry(dir->d, name, 0, &d);
    if (err < 0)
        return err;
    out->mnt = dir->mnt;
    __atomic_add_fetch(&out->mnt->refs, 1, __ATOMIC_RELAXED);
    out->d = d;
    cross_mounts(out);
    return 0;
}

/* vfs_lookup_locked: for the VFS operations, which hold dir's dir_mu: the dentry of
 * name in dir (a new reference), or -ENOENT. No mount crossing: the caller acts on
 * the name in this directory. */
int vfs_lookup_locked(struct dentry *dir, const char *name, struct dentry **out)
{
    return lookup_dentry(dir, name, 1, out);
}

/* go_up: ".." from p, without leaving root; crossing a mount's root goes to its
 * mountpoint first. Returns -EXDEV when RESOLVE_NO_XDEV forbids the crossing. */
static int go_up(struct path *p, const struct path *root, unsigned flags)
{
    for (;;) {
        if (path_equal(p, root))
            return 0;
        pthread_mutex_lock(&vfs_tree_mu);
        if (p->d == p->mnt->root) {
            struct mount *parent = p->mnt->parent;
            if (!parent) {
                pthread_mutex_unlock(&vfs_tree_mu);
                return 0;   /* the top of the mount tree: ".." stays */
            }
            if (flags & WALK_NO_XDEV) {
                pthread_mutex_unlock(&vfs_tree_mu);
                return -EXDEV;
            }
            struct path up = { parent, p->mnt->mountpoint };
            path_get(&up);
            pthread_mutex_unlock(&vfs_tree_mu);
            path_put(p);
            *p = up;
            continue;   /* the mountpoint may itself be a mount's root */
        }
        struct dentry *parent = p->d->parent;
        d_get(parent);
        pthread_mutex_unlock(&vfs_tree_mu);
        d_put(p->d);
        p->d = parent;
        return 0;
    }
}

/* start_path: where a walk of path begins, and the root it may not climb above. */
static int start_path(struct task *t, int dirfd, const char *path, unsigned flags,
                      struct path *start, struct path *root)
{
    fs_get_root(t, root);
    if (path[0] == '/' && !(flags & (WALK_BENEATH | WALK_IN_ROOT))) {
        *start = *root;
        path_get(start);
        return 0;
    }
    if (dirfd == AT_FDCWD_GUEST) {
        fs_get_cwd(t, start);
    } else {
        struct file *f = fdtable_get(t->fds, dirfd);
        if (!f) {
            path_put(root);
            return -EBADF;
        }
        if (!f->path.d || (!inode_is_dir(f->inode) && path[0])) {
            file_put(f);
            path_put(root);
            return -ENOTDIR;
        }
        *start = f->path;
        path_get(start);
        file_put(f);
    }
    if (flags & (WALK_BENEATH | WALK_IN_ROOT)) {
        /* the walk is confined to start: it is the root for ".." and "/" */
        path_put(root);
        *root = *start;
        path_get(root);
        if (path[0] == '/' && (flags & WALK_BENEATH)) {
            path_put(start);
            path_put(root);
            return -EXDEV;
        }
    }
    return 0;
}

int vfs_walk(struct task *t, int dirfd, const char *path, unsigned flags,
             struct walk_result *out)
{
    return vfs_walk_from(t, dirfd, NULL, path, flags, out);
}

int vfs_walk_from(struct task *t, int dirfd, const struct path *from, const char *path,
                  unsigned flags, struct walk_result *out)
{
    memset(out, 0, sizeof(*out));
    size_t plen = strlen(path);
    if (plen == 0 && !(flags & WALK_EMPTY_PATH))
        return -ENOENT;
    if (plen >= PATH_MAX)
        return -ENAMETOOLONG;

    struct path cur, root;
    int err;
    if (from && path[0] != '/') {
        fs_get_root(t, &root);
        cur = *from;
        path_get(&cur);
    } else if ((err = start_path(t, dirfd, path, flags, &cur, &root)) < 0) {
        return err;
    }
    if (plen == 0) {
        out->path = cur;
        path_put(&root);
        if ((flags & WALK_DIRECTORY) && !inode_is_dir(cur.d->inode)) {
            path_put(&out->path);
            return -ENOTDIR;
        }
        return 0;
    }

    /* the remaining path; a symlink's target is spliced in front of the rest */
    size_t cap = 2 * PATH_MAX;
    char *buf = malloc(cap);
    if (!buf) {
        path_put(&cur);
        path_put(&root);
        return -ENOMEM;
    }
    memcpy(buf, path, plen + 1);
    char *p = buf;
    int links = 0;
    char name[NAME_MAX + 1];

    for (;;) {
        while (*p == '/')
            p++;
        if (!*p) {
            /* "/" alone, or a path ending in slashes after a directory */
            if (flags & WALK_PARENT) {
                out->last_type = LAST_ROOT;
                out->last[0] = 0;
            }
            break;
        }
        char *q = p;
        while (*q && *q != '/')
            q++;
        size_t len = (size_t)(q - p);
        if (len > NAME_MAX) {
            err = -ENAMETOOLONG;
            goto fail;
        }
        memcpy(name, p, len);
        name[len] = 0;
        char *rest = q;
        while (*rest == '/')
            rest++;
        int last = *rest == 0;
        int slash = *q == '/';

        if (!inode_is_dir(cur.d->inode)) {
            err = -ENOTDIR;
            goto fail;
        }
        if ((err = vfs_permission(&t->cred, cur.d->inode, MAY_EXEC)) < 0)
            goto fail;

        if (last && (flags & WALK_PARENT)) {
            memcpy(out->last, name, len + 1);
            out->last_type = strcmp(name, ".") == 0    ? LAST_DOT
                             : strcmp(name, "..") == 0 ? LAST_DOTDOT
                                                       : LAST_NORM;
            out->trailing_slash = slash;
            break;
        }
        p = rest;
        if (strcmp(name, ".") == 0) {
            if (last)
                out->trailing_slash = slash;
            continue;
        }
        if (strcmp(name, "..") == 0) {
            if ((flags & WALK_BENEATH) && path_equal(&cur, &root)) {
                err = -EXDEV;
                goto fail;
            }
            if ((err = go_up(&cur, &root, flags)) < 0)
                goto fail;
            if (last)
                out->trailing_slash = slash;
            continue;
        }

        struct path child;
        if ((err = vfs_lookup_child(&cur, name, &child)) < 0)
            goto fail;
        if ((flags & WALK_NO_XDEV) && child.mnt != cur.mnt) {
            path_put(&child);
            err = -EXDEV;
            goto fail;
        }
        struct inode *ci = child.d->inode;
        int follow = !last || slash || (flags & WALK_FOLLOW);
        if (S_ISLNK(ci->mode) && follow) {
            if ((flags & WALK_NO_SYMLINKS) || ++links > SYMLOOP_MAX ||
                (child.mnt->flags & MNT_NOSYMFOLLOW)) {
                path_put(&child);
                err = -ELOOP;
                goto fail;
            }
            if (ci->ops->get_link) {
                /* a magic link: it names an object, not a path */
                if (flags & WALK_NO_MAGICLINKS) {
                    path_put(&child);
                    err = -ELOOP;
                    goto fail;
                }
                struct path target;
                err = ci->ops->get_link(ci, t, &target);
                path_put(&child);
                if (err < 0)
                    goto fail;
                path_put(&cur);
                cur = target;
                if (last)
                    out->trailing_slash = slash;
                continue;
            }
            char target[PATH_MAX];
            int n = ci->ops->readlink ? ci->ops->readlink(ci, target, sizeof(target) - 1)
                                      : -EINVAL;
            path_put(&child);
            if (n < 0) {
                err = n;
                goto fail;
            }
            if (n == 0) {
                err = -ENOENT;
                goto fail;
            }
            target[n] = 0;
            size_t rlen = strlen(rest);
            if ((size_t)n + 1 + rlen + 1 > cap) {
                err = -ENAMETOOLONG;
                goto fail;
            }
            /* splice: target, then "/" and the rest (or the trailing slash) */
            char *nb = malloc(cap);
            if (!nb) {
                err = -ENOMEM;
                goto fail;
            }
            memcpy(nb, target, (size_t)n);
            size_t at = (size_t)n;
            if (rlen || slash)
                nb[at++] = '/';
            memcpy(nb + at, rest, rlen + 1);
            free(buf);
            buf = nb;
            p = buf;
            if (target[0] == '/') {
                if (flags & WALK_BENEATH) {
                    err = -EXDEV;
                    goto fail;
                }
                path_put(&cur);
                cur = root;
                path_get(&cur);
            }
            continue;
        }
        path_put(&cur);
        cur = child;
        if (last)
            out->trailing_slash = slash;
    }

    free(buf);
    path_put(&root);
    if (!(flags & WALK_PARENT) && (out->trailing_slash || (flags & WALK_DIRECTORY)) &&
        !inode_is_dir(cur.d->inode)) {
        path_put(&cur);
        return -ENOTDIR;
    }
    out->path = cur;
    return 0;

fail:
    free(buf);
    path_put(&cur);
    path_put(&root);
    return err;
}

/* ---- names ---- */

int vfs_path_is_under(const struct path *p, const struct path *root)
{
    pthread_mutex_lock(&vfs_tree_mu);
    struct mount *m = p->mnt;
    struct dentry *d = p->d;
    int under = 0;
    for (;;) {
        if (m == root->mnt && d == root->d) {
            under = 1;
            break;
        }
        if (d == m->root) {
            if (!m->parent)
                break;
            d = m->mountpoint;
            m = m->parent;
            continue;
        }
        if (!d->parent)
            break;
        d = d->parent;
    }
    pthread_mutex_unlock(&vfs_tree_mu);
    return under;
}

int vfs_path_string(const struct path *p, const struct path *root, char *buf, size_t size)
{
    if (size < 2)
        return -ENAMETOOLONG;
    /* build backwards from the end of buf */
    size_t at = size - 1;
    buf[at] = 0;
    pthread_mutex_lock(&vfs_tree_mu);
    struct mount *m = p->mnt;
    struct dentry *d = p->d;
    int dead = d->dead;
    int err = 0;
    for (;;) {
        if (root && m == root->mnt && d == root->d)
            break;
        if (d == m->root) {
            if (!m->parent)
                break;
            d = m->mountpoint;
            m = m->parent;
            continue;
        }
        if (!d->parent)
            break;
        size_t n = strlen(d->name);
        if (n + 1 > at) {
            err = -ENAMETOOLONG;
            break;
        }
        at -= n;
        memcpy(buf + at, d->name, n);
        buf[--at] = '/';
        d = d->parent;
    }
    pthread_mutex_unlock(&vfs_tree_mu);
    if (err < 0)
        return err;
    if (at == size - 1)
        buf[--at] = '/';
    size_t len = size - 1 - at;
    memmove(buf, buf + at, len + 1);
    if (dead) {
        const char *suffix = " (deleted)";
        if (len + strlen(suffix) + 1 > size)
            return -ENAMETOOLONG;
        strcpy(buf + len, suffix);
        len += strlen(suffix);
    }
    return (int)len;
}
