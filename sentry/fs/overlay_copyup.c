/* Overlay copy-up: makes the upper copy of a lower node, parents first, before
 * anything changes it. Regular file data moves page by page from the lower's
 * fill_page into the upper tmpfs inode's page cache (which is its storage); pages
 * that are all zeroes are left out, so sparse files stay sparse. Mode, owner, times
 * and xattrs are kept; the lower's inode number is recorded as the origin. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "sentry/fs/overlay_priv.h"
#include "sentry/fs/tmpfs.h"
#include "sentry/mm/memfile.h"
#include "sentry/mm/pagecache.h"

static int fill_from_lower(void *arg, uint64_t idx, void *dst)
{
    struct inode *lower = arg;
    if (!lower->ops->fill_page)
        return -EIO;
    return lower->ops->fill_page(lower, idx, dst);
}

static int all_zero(const void *page)
{
    const uint64_t *w = page;
    for (size_t i = 0; i < PAGE_SIZE / sizeof(*w); i++)
        if (w[i])
            return 0;
    return 1;
}

/* copy_data: the lower's bytes [0, size) into the upper's page cache, then the
 * upper's size. */
static int copy_data(struct inode *lower, struct inode *upper, int64_t size)
{
    if (!tmpfs_is(upper))
        return -EXDEV;     /* only a tmpfs keeps its data in the page cache */
    struct pagecache *pc = inode_cache(upper);
    if (!pc)
        return -ENOMEM;
    uint64_t pages = page_up((uint64_t)size) / PAGE_SIZE;
    for (uint64_t idx = 0; idx < pages; idx++) {
        int64_t off = pc_get(pc, idx, fill_from_lower, lower);
        if (off < 0)
            return off == -ENOMEM ? -ENOSPC : (int)off;
        int zero = all_zero(memfile_ptr((uint64_t)off));
        memfile_decref((uint64_t)off, PAGE_SIZE);
        if (zero)
            pc_drop(pc, idx);
    }
    struct iattr ia = { .valid = ATTR_SIZE, .size = size };
    return upper->ops->setattr(upper, &ia);
}

/* copy_xattrs: the lower's extended attributes (best effort: a lower without
 * xattrs, or one the upper refuses, is skipped). */
static void copy_xattrs(struct inode *lower, struct inode *upper)
{
    if (!lower->ops->listxattr || !lower->ops->getxattr || !upper->ops->setxattr)
        return;
    int n = lower->ops->listxattr(lower, NULL, 0);
    if (n <= 0)
        return;
    char *names = malloc((size_t)n);
    char *val = malloc(65536);
    if (names && val && (n = lower->ops->listxattr(lower, names, (size_t)n)) > 0) {
        for (char *p = names; p < names + n; p += strlen(p) + 1) {
            if (strncmp(p, OVL_XATTR_PREFIX, strlen(OVL_XATTR_PREFIX)) == 0)
                continue;
            int len = lower->ops->getxattr(lower, p, val, 65536);
            if (len >= 0)
                upper->ops->setxattr(upper, p, val, (size_t)len, 0);
        }
    }
    free(names);
    free(val);
}

/* make_upper: creates the copy of lower at name in ud. ud->dir_mu held. */
static int make_upper(struct inode *ud, const char *name, struct inode *lower,
                      struct inode **out)
{
    struct stat st;
    int err = inode_stat(lower, &st);
    if (err)
        return err;
    struct new_node nn = { .mode = st.st_mode, .uid = st.st_uid, .gid = st.st_gid,
                           .rdev = st.st_rdev };
    char *target = NULL;
    if (S_ISLNK(st.st_mode)) {
        target = malloc(PATH_MAX + 1);
        if (!target)
            return -ENOMEM;
        int n = lower->ops->readlink(lower, target, PATH_MAX);
        if (n < 0) {
            free(target);
            return n;
        }
        target[n] = 0;
        nn.target = target;
    }
    struct inode *u;
    err = ud->ops->create(ud, name, &nn, &u);
    free(target);
    if (err)
        return err;
    if (S_ISREG(st.st_mode))
        err = copy_data(lower, u, st.st_size);
    if (!err) {
        copy_xattrs(lower, u);
        uint64_t origin = lower->ino;
        if (u->ops->setxattr)
            u->ops->setxattr(u, OVL_XATTR_ORIGIN, &origin, sizeof(origin), 0);
        /* times last: the steps above touched them */
        struct iattr ia = { .valid = ATTR_MODE | ATTR_ATIME | ATTR_MTIME | ATTR_CTIME,
                            .mode = st.st_mode & 07777, .atime = st.st_atim,
                            .mtime = st.st_mtim, .ctime = st.st_ctim };
        err = u->ops->setattr(u, &ia);
    }
    if (err) {
        if (S_ISDIR(st.st_mode))
            ud->ops->rmdir(ud, name, u);
        else
            ud->ops->unlink(ud, name, u);
        inode_put(u);
        return err;
    }
    *out = u;
    return 0;
}

int ovl_copy_up(struct inode *ino)
{
    struct ovl_node *n = ON(ino);
    if (ovl_upper(ino))
        return 0;
    if (!n->parent)
        return -EROFS;    /* the root always has an upper */
    /* a node without an upper was never renamed (renames copy up first), so its
     * parent and name are stable here */
    int err = ovl_copy_up(n->parent);
    if (err)
        return err;
    pthread_mutex_lock(&n->cu_mu);
    if (ovl_upper(ino)) {
        pthread_mutex_unlock(&n->cu_mu);
        return 0;
    }
    struct inode *ud = ovl_upper(n->parent), *u = NULL;
    pthread_mutex_lock(&ud->dir_mu);
    if (ud->ops->lookup(ud, n->name, &u) == 0) {
        /* the name was removed (whiteout) or replaced while ino was held open: the
         * copy would have no name to live under */
        inode_put(u);
        u = NULL;
        err = -ENOENT;
    } else {
        err = make_upper(ud, n->name, n->lower, &u);
    }
    pthread_mutex_unlock(&ud->dir_mu);
    if (!err) {
        if (S_ISREG(ino->mode))
            __atomic_store_n(&ino->cache, inode_cache(u), __ATOMIC_RELEASE);
        __atomic_store_n(&n->upper, u, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&n->cu_mu);
    if (!err)
        ovl_refresh(ino);
    return err;
}
