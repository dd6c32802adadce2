/* tmpfs extended attributes: a short list per inode, in Sentry memory. Namespaces
 * and errors as Linux tmpfs: trusted.*, security.* and user.* (user.* only on regular
 * files and directories); system.* (ACLs) is not supported. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/fs/tmpfs_priv.h"

#define XATTR_CREATE 0x1
#define XATTR_REPLACE 0x2
#define XATTR_NAME_MAX 255
#define XATTR_SIZE_MAX 65536

/* check_name: 0 if name may be used on ino, else -errno. */
static int check_name(struct inode *ino, const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > XATTR_NAME_MAX)
        return -ERANGE;
    if (strncmp(name, "user.", 5) == 0) {
        if (!S_ISREG(ino->mode) && !S_ISDIR(ino->mode))
            return -EPERM;
        return len > 5 ? 0 : -EINVAL;
    }
    if (strncmp(name, "trusted.", 8) == 0)
        return len > 8 ? 0 : -EINVAL;
    if (strncmp(name, "security.", 9) == 0)
        return len > 9 ? 0 : -EINVAL;
    return -EOPNOTSUPP;
}

static struct xattr **find(struct tnode *tn, const char *name)
{
    struct xattr **pp = &tn->xattrs;
    while (*pp && strcmp((*pp)->name, name) != 0)
        pp = &(*pp)->next;
    return pp;
}

int tmpfs_getxattr(struct inode *ino, const char *name, void *buf, size_t size)
{
    int err = check_name(ino, name);
    if (err)
        return err == -EPERM ? -ENODATA : err;
    struct tnode *tn = TN(ino);
    pthread_mutex_lock(&tn->xmu);
    struct xattr *x = *find(tn, name);
    int ret;
    if (!x)
        ret = -ENODATA;
    else if (size == 0)
        ret = (int)x->size;           /* the size query */
    else if (size < x->size)
        ret = -ERANGE;
    else {
        memcpy(buf, x->val, x->size);
        ret = (int)x->size;
    }
    pthread_mutex_unlock(&tn->xmu);
    return ret;
}

int tmpfs_setxattr(struct inode *ino, const char *name, const void *val, size_t size,
                   int flags)
{
    int err = check_name(ino, name);
    if (err)
        return err;
    if (size > XATTR_SIZE_MAX)
        return -E2BIG;
    if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
        return -EINVAL;
    struct xattr *nx = malloc(sizeof(*nx) + size);
    char *nname = strdup(name);
    if (!nx || !nname) {
        free(nx);
        free(nname);
        return -ENOMEM;
    }
    nx->name = nname;
    nx->size = size;
    if (size)
        memcpy(nx->val, val, size);

    struct tnode *tn = TN(ino);
    pthread_mutex_lock(&tn->xmu);
    struct xattr **pp = find(tn, name), *old = *pp;
    if (old && (flags & XATTR_CREATE))
        err = -EEXIST;
    else if (!old && (flags & XATTR_REPLACE))
        err = -ENODATA;
    else {
        nx->next = old ? old->next : NULL;
        *pp = nx;
    }
    pthread_mutex_unlock(&tn->xmu);
    if (err) {
        free(nname);
        free(nx);
        return err;
    }
    if (old) {
        free(old->name);
        free(old);
    }
    inode_touch(ino, ATTR_CTIME);
    return 0;
}

int tmpfs_listxattr(struct inode *ino, char *buf, size_t size)
{
    struct tnode *tn = TN(ino);
    pthread_mutex_lock(&tn->xmu);
    size_t need = 0;
    for (struct xattr *x = tn->xattrs; x; x = x->next)
        need += strlen(x->name) + 1;
    int ret = (int)need;
    if (size && size < need)
        ret = -ERANGE;
    else if (size) {
        char *p = buf;
        for (struct xattr *x = tn->xattrs; x; x = x->next) {
            size_t l = strlen(x->name) + 1;
            memcpy(p, x->name, l);
            p += l;
        }
    }
    pthread_mutex_unlock(&tn->xmu);
    return ret;
}

int tmpfs_removexattr(struct inode *ino, const char *name)
{
    int err = check_name(ino, name);
    if (err)
        return err == -EPERM ? -ENODATA : err;
    struct tnode *tn = TN(ino);
    pthread_mutex_lock(&tn->xmu);
    struct xattr **pp = find(tn, name), *x = *pp;
    if (x)
        *pp = x->next;
    pthread_mutex_unlock(&tn->xmu);
    if (!x)
        return -ENODATA;
    free(x->name);
    free(x);
    inode_touch(ino, ATTR_CTIME);
    return 0;
}

void tmpfs_xattrs_free(struct tnode *tn)
{
    struct xattr *x = tn->xattrs;
    while (x) {
        struct xattr *next = x->next;
        free(x->name);
        free(x);
        x = next;
    }
    tn->xattrs = NULL;
}
