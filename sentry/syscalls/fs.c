/* System calls on paths: open and its variants, the stat family, access, getdents,
 * creating and removing names, links, attributes (mode, owner, times, size), the
 * working directory and root, statfs, sync, extended attributes and close_range.
 * Each copies its strings in, then calls the VFS (sentry/vfs/ops.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <linux/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <dirent.h>

#include "lib/util.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/fsnotify.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"

#ifndef UTIME_NOW
#define UTIME_NOW ((1l << 30) - 1l)
#define UTIME_OMIT ((1l << 30) - 2l)
#endif

/* get_path: copies a path argument in (at most PATH_MAX bytes with the NUL). */
static int get_path(struct task *t, uint64_t ptr, char *buf)
{
    long n = mm_copy_string_in(t->mm, ptr, buf, PATH_MAX);
    return n < 0 ? (int)n : 0;
}

/* ---- open ---- */

/* x86-64 Linux's open(2) always adds O_LARGEFILE (force_o_largefile), which F_GETFL
 * shows; glibc's O_LARGEFILE is 0 on x86-64, so the kernel's value is spelled here. */
#define LINUX_O_LARGEFILE 0100000
/* The kernel's __O_TMPFILE: O_TMPFILE without O_DIRECTORY (glibc's __O_TMPFILE
 * includes O_DIRECTORY). */
#define LINUX_O_TMPFILE_BIT 020000000

/* The flags open(2) knows; anything else is ignored by open and refused by openat2. */
#define VALID_OPEN_FLAGS                                                              \
    (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK |      \
     O_DSYNC | O_ASYNC | O_DIRECT | LINUX_O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW |    \
     O_NOATIME | O_CLOEXEC | O_PATH | O_TMPFILE | O_SYNC)

static long do_open(struct task *t, int dirfd, uint64_t upath, int flags, uint32_t mode,
                    unsigned wflags)
{
    char path[PATH_MAX];
    int err = get_path(t, upath, path);
    if (err < 0)
        return err;
    flags &= VALID_OPEN_FLAGS;
    flags |= LINUX_O_LARGEFILE;
    struct file *f;
    if ((err = vfs_open(t, dirfd, path, flags, mode, wflags, &f)) < 0)
        return err;
    int fd = fdtable_install(t->fds, 0, f, flags & O_CLOEXEC);
    if (fd < 0)
        file_put(f);
    return fd;
}

long sys_open(struct task *t, const struct syscall_args *a)
{
    return do_open(t, AT_FDCWD_GUEST, arg_u64(a, 0), arg_int(a, 1), arg_uint(a, 2), 0);
}

long sys_openat(struct task *t, const struct syscall_args *a)
{
    return do_open(t, arg_int(a, 0), arg_u64(a, 1), arg_int(a, 2), arg_uint(a, 3), 0);
}

long sys_creat(struct task *t, const struct syscall_args *a)
{
    return do_open(t, AT_FDCWD_GUEST, arg_u64(a, 0), O_CREAT | O_WRONLY | O_TRUNC,
                   arg_uint(a, 1), 0);
}

long sys_openat2(struct task *t, const struct syscall_args *a)
{
    size_t size = arg_size(a, 3);
    struct open_how how;
    if (size < sizeof(how))
        return -EINVAL;
    if (size > PAGE_SIZE)
        return -E2BIG;
    memset(&how, 0, sizeof(how));
    if (mm_copy_in(t->mm, &how, arg_u64(a, 2), sizeof(how)) < 0)
        return -EFAULT;
    /* a larger struct from a newer guest must be zero beyond what we know */
    for (size_t off = sizeof(how); off < size; off++) {
        uint8_t b;
        if (mm_copy_in(t->mm, &b, arg_u64(a, 2) + off, 1) < 0)
            return -EFAULT;
        if (b)
            return -E2BIG;
    }
    if (how.flags & ~(uint64_t)VALID_OPEN_FLAGS)
        return -EINVAL;
    if (how.resolve & ~(uint64_t)(RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS |
                                  RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_IN_ROOT |
                                  RESOLVE_CACHED))
        return -EINVAL;
    if (how.mode & ~(uint64_t)07777)
        return -EINVAL;
    if (how.mode && !(how.flags & (O_CREAT | LINUX_O_TMPFILE_BIT)))
        return -EINVAL;
    if ((how.resolve & RESOLVE_BENEATH) && (how.resolve & RESOLVE_IN_ROOT))
        return -EINVAL;
    if (how.resolve & RESOLVE_CACHED)
        return -EAGAIN;   /* allowed by Linux: "try again without RESOLVE_CACHED" */
    unsigned wf = 0;
    if (how.resolve & RESOLVE_NO_XDEV) wf |= WALK_NO_XDEV;
    if (how.resolve & RESOLVE_NO_MAGICLINKS) wf |= WALK_NO_MAGICLINKS;
    if (how.resolve & RESOLVE_NO_SYMLINKS) wf |= WALK_NO_SYMLINKS;
    if (how.resolve & RESOLVE_BENEATH) wf |= WALK_BENEATH;
    if (how.resolve & RESOLVE_IN_ROOT) wf |= WALK_IN_ROOT;
    return do_open(t, arg_int(a, 0), arg_u64(a, 1), (int)how.flags, (uint32_t)how.mode, wf);
}

/* ---- stat ---- */

/* stat_at: the stat of what (dirfd, path) names, with AT_* flags. */
static int stat_at(struct task *t, int dirfd, uint64_t upath, int flags, struct stat *st)
{
    char path[PATH_MAX];
    int err = get_path(t, upath, path);
    if (err < 0)
        return err;
    if (!path[0] && (flags & AT_EMPTY_PATH) && dirfd != AT_FDCWD_GUEST) {
        struct file *f = fdtable_get(t->fds, dirfd);
        if (!f)
            return -EBADF;
        err = vfs_fstat(f, st);
        file_put(f);
        return err;
    }
    unsigned wf = (flags & AT_SYMLINK_NOFOLLOW) ? 0 : WALK_FOLLOW;
    if (flags & AT_EMPTY_PATH)
        wf |= WALK_EMPTY_PATH;
    struct walk_result w;
    if ((err = vfs_walk(t, dirfd, path, wf, &w)) < 0)
        return err;
    err = inode_stat(w.path.d->inode, st);
    path_put(&w.path);
    return err;
}

long sys_stat(struct task *t, const struct syscall_args *a)
{
    struct stat st;
    int err = stat_at(t, AT_FDCWD_GUEST, arg_u64(a, 0), 0, &st);
    return err < 0 ? err : mm_copy_out(t->mm, arg_u64(a, 1), &st, sizeof(st), 0);
}

long sys_lstat(struct task *t, const struct syscall_args *a)
{
    struct stat st;
    int err = stat_at(t, AT_FDCWD_GUEST, arg_u64(a, 0), AT_SYMLINK_NOFOLLOW, &st);
    return err < 0 ? err : mm_copy_out(t->mm, arg_u64(a, 1), &st, sizeof(st), 0);
}

long sys_newfstatat(struct task *t, const struct syscall_args *a)
{
    int flags = arg_int(a, 3);
    if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT))
        return -EINVAL;
    struct stat st;
    int err = stat_at(t, arg_int(a, 0), arg_u64(a, 1), flags, &st);
    return err < 0 ? err : mm_copy_out(t->mm, arg_u64(a, 2), &st, sizeof(st), 0);
}

static struct statx_timestamp sx_time(struct timespec ts)
{
    return (struct statx_timestamp){ ts.tv_sec, (uint32_t)ts.tv_nsec, 0 };
}

long sys_statx(struct task *t, const struct syscall_args *a)
{
    int flags = arg_int(a, 2);
    unsigned mask = arg_uint(a, 3);
    if (mask & STATX__RESERVED)
        return -EINVAL;
    if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT |
                  AT_STATX_SYNC_TYPE))
        return -EINVAL;
    if ((flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE)
        return -EINVAL;
    struct stat st;
    int err = stat_at(t, arg_int(a, 0), arg_u64(a, 1), flags, &st);
    if (err < 0)
        return err;
    struct statx sx;
    memset(&sx, 0, sizeof(sx));
    sx.stx_mask = STATX_BASIC_STATS;
    sx.stx_blksize = (uint32_t)st.st_blksize;
    sx.stx_nlink = (uint32_t)st.st_nlink;
    sx.stx_uid = st.st_uid;
    sx.stx_gid = st.st_gid;
    sx.stx_mode = (uint16_t)st.st_mode;
    sx.stx_ino = st.st_ino;
    sx.stx_size = (uint64_t)st.st_size;
    sx.stx_blocks = (uint64_t)st.st_blocks;
    sx.stx_atime = sx_time(st.st_atim);
    sx.stx_mtime = sx_time(st.st_mtim);
    sx.stx_ctime = sx_time(st.st_ctim);
    sx.stx_rdev_major = major(st.st_rdev);
    sx.stx_rdev_minor = minor(st.st_rdev);
    sx.stx_dev_major = major(st.st_dev);
    sx.stx_dev_minor = minor(st.st_dev);
    return mm_copy_out(t->mm, arg_u64(a, 4), &sx, sizeof(sx), 0);
}

/* ---- access ---- */

static long do_access(struct task *t, int dirfd, uint64_t upath, int mode, int flags)
{
    if (mode & ~(R_OK | W_OK | X_OK))
        return -EINVAL;
    if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    char path[PATH_MAX];
    int err = get_path(t, upath, path);
    if (err < 0)
        return err;
    /* access checks with the real ids unless AT_EACCESS (the walk's search
     * permission too, so the override is t's for the call, as Linux's override_creds) */
    struct creds saved = t->cred;
    if (!(flags & AT_EACCESS)) {
        pthread_mutex_lock(&t->mu);
        cred_access_override(&saved, &t->cred);
        pthread_mutex_unlock(&t->mu);
    }
    unsigned wf = (flags & AT_SYMLINK_NOFOLLOW) ? 0 : WALK_FOLLOW;
    if (flags & AT_EMPTY_PATH)
        wf |= WALK_EMPTY_PATH;
    struct walk_result w;
    err = vfs_walk(t, dirfd, path, wf, &w);
    if (err == 0) {
        int may = ((mode & R_OK) ? MAY_READ : 0) | ((mode & W_OK) ? MAY_WRITE : 0) |
                  ((mode & X_OK) ? MAY_EXEC : 0);
        struct inode *ino = w.path.d->inode;
        /* as Linux: a regular file on a noexec mount cannot be executed by anyone */
        if ((mode & X_OK) && S_ISREG(ino->mode) && (w.path.mnt->flags & MNT_NOEXEC))
            err = -EACCES;
        else
            err = may ? vfs_permission(&t->cred, ino, may) : 0;
        if (err == 0 && (mode & W_OK) && (S_ISREG(ino->mode) || S_ISDIR(ino->mode) ||
                                          S_ISLNK(ino->mode)) &&
            ((w.path.mnt->flags & MNT_RDONLY) || (ino->sb->flags & SB_RDONLY)))
            err = -EROFS;
        path_put(&w.path);
    }
    pthread_mutex_lock(&t->mu);
    t->cred = saved;
    pthread_mutex_unlock(&t->mu);
    return err;
}

long sys_access(struct task *t, const struct syscall_args *a)
{
    return do_access(t, AT_FDCWD_GUEST, arg_u64(a, 0), arg_int(a, 1), 0);
}

long sys_faccessat(struct task *t, const struct syscall_args *a)
{
    return do_access(t, arg_int(a, 0), arg_u64(a, 1), arg_int(a, 2), 0);
}

long sys_faccessat2(struct task *t, const struct syscall_args *a)
{
    return do_access(t, arg_int(a, 0), arg_u64(a, 1), arg_int(a, 2), arg_int(a, 3));
}

/* ---- getdents ---- */

struct dents_buf {
    struct dir_emit e;
    char *buf;
    size_t size, used;
    int old;          /* getdents (struct linux_dirent) rather than getdents64 */
    int full;         /* an entry was offered that did not fit */
};

static int emit_dirent(struct dir_emit *e, const char *name, size_t len, uint64_t ino,
                       unsigned type, int64_t next_pos)
{
    struct dents_buf *b = (struct dents_buf *)e;
    size_t reclen;
    if (b->old) /* ino, off, reclen, name, NUL, type */
        reclen = (8 + 8 + 2 + len + 2 + 7) & ~(size_t)7;
    else        /* ino, off, reclen, type, name, NUL */
        reclen = (8 + 8 + 2 + 1 + len + 1 + 7) & ~(size_t)7;
    if (b->used + reclen > b->size) {
        b->full = 1;
        return 1;
    }
    char *p = b->buf + b->used;
    memset(p, 0, reclen);
    memcpy(p, &ino, 8);
    memcpy(p + 8, &next_pos, 8);
    uint16_t rl = (uint16_t)reclen;
    memcpy(p + 16, &rl, 2);
    if (b->old) {
        memcpy(p + 18, name, len);
        p[reclen - 1] = (char)type;
    } else {
        p[18] = (char)type;
        memcpy(p + 19, name, len);
    }
    b->used += reclen;
    return 0;
}

static long do_getdents(struct task *t, int fd, uint64_t dirp, size_t count, int old)
{
    struct file *f = fdtable_get(t->fds, fd);
    if (!f)
        return -EBADF;
    long ret;
    if (!f->ops || !f->ops->iterate) {
        ret = -ENOTDIR;
        goto out;
    }
    struct dents_buf b = { .e = { emit_dirent }, .size = MIN(count, (size_t)1 << 20),
                           .old = old };
    b.buf = malloc(b.size ? b.size : 1);
    if (!b.buf) {
        ret = -ENOMEM;
        goto out;
    }
    pthread_mutex_lock(&f->pos_mu);
    ret = f->ops->iterate(f, &b.e);
    pthread_mutex_unlock(&f->pos_mu);
    fsnotify_access(f);   /* as Linux's iterate_dir, whatever it found */
    if (ret == 0) {
        if (b.used == 0 && b.full)
            ret = -EINVAL;   /* Linux: the buffer cannot hold the next entry */
        else if (b.used && mm_copy_out(t->mm, dirp, b.buf, b.used, 0) < 0)
            ret = -EFAULT;
        else
            ret = (long)b.used;
    }
    free(b.buf);
    if (ret >= 0)
        inode_touch(f->inode, ATTR_ATIME);
out:
    file_put(f);
    return ret;
}

long sys_getdents64(struct task *t, const struct syscall_args *a)
{
    return do_getdents(t, arg_int(a, 0), arg_u64(a, 1), arg_size(a, 2), 0);
}

long sys_getdents(struct task *t, const struct syscall_args *a)
{
    return do_getdents(t, arg_int(a, 0), arg_u64(a, 1), arg_size(a, 2), 1);
}

/* ---- names ---- */

long sys_mkdirat(struct task *t, const struct syscall_args *a)
{
    char path[PATH_MAX];
    int err = get_path(t, arg_u64(a, 1), path);
    return err < 0 ? err : vfs_mkdir(t, arg_int(a, 0), path, arg_uint(a, 2));
}

long sys_mkdir(struct task *t, const struct syscall_args *a)
{
    char path[PATH_MAX];
    int err = get_path(t, arg_u64(a, 0), path);
    return err < 0 ? err : vfs_mkdir(t, AT_FDCWD_GUEST, path, arg_uint(a, 1));
}

long sys_mknodat(struct task *t, const struct syscall_args *a)
{
    char path[PATH_MAX];
    int err = get_path(t, arg_u64(a, 1), path);
    return err < 0 ? err : vfs_mknod(t, arg_int(a, 0), path, arg_uint(a, 2), arg_u64(a, 3));
}

long sys_mknod(struct task *t, const struct syscall_args *a)
{
    char path[PATH_MAX];
    int err = get_path(t, arg_u64(a, 0), path);
    return err < 0 ? err : vfs_mknod(t, AT_FDCWD_GUEST, path, arg_uint(a, 1), arg_u64(a, 2));
}

long sys_unlinkat(struct task *t, const struct syscall_args *a)
{
    int flags = arg_int(a, 2);
    if (flags & ~AT_REMOVEDIR)
        return -EINVAL;
    char path[PATH_MAX];
    int err = get_path(t, arg_u64(a, 1), path);
    return err < 0 ? err : vfs_unlink(t, arg_int(a, 0), path, flags);
}

long sys_unlink(struct task *t, const struct syscall_args *a)
{
    char path[PATH_MAX];
    int err = get_path(t, arg_u64(a, 0), path);
    return err < 0 ? err : vfs_unlink(t, AT_FDCWD_GUEST, path, 0);
}

long sys_rmdir(struct task *t, const struct syscall_args *a)
{
    char path[PATH_MAX];
    int err = get_path(t, arg_u64(a, 0), path);
    return err < 0 ? err : vfs_unlink(t, AT_FDCWD_GUEST, path, AT_REMOVEDIR);
}

static long do_rename(struct task *t, int odfd, uint64_t uold, int ndfd, uint64_t unew,
                      unsigned flags)
{
    char *o = malloc(2 * PATH_MAX);
    if (!o)
        return -ENOMEM;
    char *n = o + PATH_MAX;
    int err = get_path(t, uold, o);
    if (err == 0)
        err = get_path(t, unew, n);
    if (err == 0)
        err = vfs_rename(t, odfd, o, ndfd, n, flags);
    free(o);
    return err;
}

long sys_rename(struct task *t, const struct syscall_args *a)
{
    return do_rename(t, AT_FDCWD_GUEST, arg_u64(a, 0), AT_FDCWD_GUEST, arg_u64(a, 1), 0);
}

long sys_renameat(struct task *t, const struct syscall_args *a)
{
    return do_rename(t, arg_int(a, 0), arg_u64(a, 1), arg_int(a, 2), arg_u64(a, 3), 0);
}

long sys_renameat2(struct task *t, const struct syscall_args *a)
{
    return do_rename(t, arg_int(a, 0), arg_u64(a, 1), arg_int(a, 2), arg_u64(a, 3),
                     arg_uint(a, 4));
}

static long do_link(struct task *t, int odfd, uint64_t uold, int ndfd, uint64_t unew,
                    int flags)
{
    if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    char *o = malloc(2 * PATH_MAX);
    if (!o)
        return -ENOMEM;
    char *n = o + PATH_MAX;
    int err = get_path(t, uold, o);
    if (err == 0)
        err = get_path(t, unew, n);
    if (err == 0)
        err = vfs_link(t, odfd, o, ndfd, n, flags);
    free(o);
    return err;
}

long sys_link(struct task *t, const struct syscall_args *a)
{
    return do_link(t, AT_FDCWD_GUEST, arg_u64(a, 0), AT_FDCWD_GUEST, arg_u64(a, 1), 0);
}

long sys_linkat(struct task *t, const struct syscall_args *a)
{
    return do_link(t, arg_int(a, 0), arg_u64(a, 1), arg_int(a, 2), arg_u64(a, 3),
                   arg_int(a, 4));
}

static long do_symlink(struct task *t, uint64_t utarget, int dfd, uint64_t upath)
{
    char *target = malloc(2 * PATH_MAX);
    if (!target)
        return -ENOMEM;
    char *path = target + PATH_MAX;
    int err = get_path(t, utarget, target);
    if (err == 0)
        err = get_path(t, upath, path);
    if (err == 0)
        err = vfs_symlink(t, target, dfd, path);
    free(target);
    return err;
}

long sys_symlink(struct task *t, const struct syscall_args *a)
{
    return do_symlink(t, arg_u64(a, 0), AT_FDCWD_GUEST, arg_u64(a, 1));
}

long sys_symlinkat(struct task *t, const struct syscall_args *a)
{
    return do_symlink(t, arg_u64(a, 0), arg_int(a, 1), arg_u64(a, 2));
}

static long do_readlink(struct task *t, int dfd, uint64_t upath, uint64_t ubuf, int size)
{
    if (size <= 0)
        return -EINVAL;
    char path[PATH_MAX], target[PATH_MAX];
    int err = get_path(t, upath, path);
    if (err < 0)
        return err;
    int n = vfs_readlink(t, dfd, path, target, sizeof(target));
    if (n < 0)
        return n;
    n = MIN(n, size);
    return mm_copy_out(t->mm, ubuf, target, (size_t)n, 0) < 0 ? -EFAULT : n;
}

long sys_readlink(struct task *t, const struct syscall_args *a)
{
    return do_readlink(t, AT_FDCWD_GUEST, arg_u64(a, 0), arg_u64(a, 1), arg_int(a, 2));
}

long sys_readlinkat(struct task *t, const struct syscall_args *a)
{
    return do_readlink(t, arg_int(a, 0), arg_u64(a, 1), arg_u64(a, 2), arg_int(a, 3));
}

/* ---- attributes ---- */

/* attr_target: the object an attribute call acts on: what (dfd, path) names, or with
 * by_fd the file at dfd. Returns 1 for a nameless file (a pipe: nothing to change
 * that anyone can see), 0 with a reference in *out, or -errno. */
static int attr_target(struct task *t, int dfd, uint64_t upath, int by_fd, int at_flags,
                       struct path *out)
{
    if (by_fd) {
        struct file *f = fdtable_get(t->fds, dfd);
        if (!f)
            return -EBADF;
        int named = f->path.d != NULL;
        if (named) {
            *out = f->path;
            path_get(out);
        }
        file_put(f);
        return named ? 0 : 1;
    }
    char path[PATH_MAX];
    int err = get_path(t, upath, path);
    if (err < 0)
        return err;
    unsigned wf = (at_flags & AT_SYMLINK_NOFOLLOW) ? 0 : WALK_FOLLOW;
    if (at_flags & AT_EMPTY_PATH)
        wf |= WALK_EMPTY_PATH;
    struct walk_result w;
    if ((err = vfs_walk(t, dfd, path, wf, &w)) < 0)
        return err;
    *out = w.path;
    return 0;
}

/* setattr_at: applies ia to the attr_target. */
static long setattr_at(struct task *t, int dfd, uint64_t upath, int by_fd, int at_flags,
                       struct iattr *ia)
{
    struct path p;
    int err = attr_target(t, dfd, upath, by_fd, at_flags, &p);
    if (err != 0)
        return err < 0 ? err : 0;
    err = vfs_setattr(t, &p, ia);
    path_put(&p);
    return err;
}

static long do_chmod(struct task *t, int dfd, uint64_t upath, uint32_t mode, int flags)
{
    struct iattr ia = { .valid = ATTR_MODE, .mode = mode & 07777 };
    return setattr_at(t, dfd, upath, 0, flags, &ia);
}

long sys_chmod(struct task *t, const struct syscall_args *a)
{
    return do_chmod(t, AT_FDCWD_GUEST, arg_u64(a, 0), arg_uint(a, 1), 0);
}

long sys_fchmodat(struct task *t, const struct syscall_args *a)
{
    return do_chmod(t, arg_int(a, 0), arg_u64(a, 1), arg_uint(a, 2), 0);
}

long sys_fchmodat2(struct task *t, const struct syscall_args *a)
{
    int flags = arg_int(a, 3);
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    if (flags & AT_SYMLINK_NOFOLLOW)
        return -EOPNOTSUPP;   /* symlinks have no mode of their own */
    return do_chmod(t, arg_int(a, 0), arg_u64(a, 1), arg_uint(a, 2), flags);
}

long sys_fchmod(struct task *t, const struct syscall_args *a)
{
    struct iattr ia = { .valid = ATTR_MODE, .mode = arg_uint(a, 1) & 07777 };
    return setattr_at(t, arg_int(a, 0), 0, 1, 0, &ia);
}

static long do_chown(struct task *t, int dfd, uint64_t upath, int by_fd, uint32_t uid,
                     uint32_t gid, int flags)
{
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    struct iattr ia = { 0 };
    if (uid != (uint32_t)-1) {
        ia.valid |= ATTR_UID;
        ia.uid = uid;
    }
    if (gid != (uint32_t)-1) {
        ia.valid |= ATTR_GID;
        ia.gid = gid;
    }
    return setattr_at(t, dfd, upath, by_fd, flags, &ia);
}

long sys_chown(struct task *t, const struct syscall_args *a)
{
    return do_chown(t, AT_FDCWD_GUEST, arg_u64(a, 0), 0, arg_uint(a, 1), arg_uint(a, 2), 0);
}

long sys_lchown(struct task *t, const struct syscall_args *a)
{
    return do_chown(t, AT_FDCWD_GUEST, arg_u64(a, 0), 0, arg_uint(a, 1), arg_uint(a, 2),
                    AT_SYMLINK_NOFOLLOW);
}

long sys_fchownat(struct task *t, const struct syscall_args *a)
{
    return do_chown(t, arg_int(a, 0), arg_u64(a, 1), 0, arg_uint(a, 2), arg_uint(a, 3),
                    arg_int(a, 4));
}

long sys_fchown(struct task *t, const struct syscall_args *a)
{
    return do_chown(t, arg_int(a, 0), 0, 1, arg_uint(a, 1), arg_uint(a, 2), 0);
}

/* set_times: utimensat's rules for two timespecs (NULL: both now). */
static long set_times(struct task *t, int dfd, uint64_t upath, const struct timespec *ts,
                      int flags)
{
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    struct iattr ia = { 0 };
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int only_now = 1;
    for (int i = 0; i < 2; i++) {
        struct timespec v = ts ? ts[i] : (struct timespec){ 0, UTIME_NOW };
        if (v.tv_nsec == UTIME_OMIT)
            continue;
        if (v.tv_nsec == UTIME_NOW)
            v = now;
        else if (v.tv_nsec < 0 || v.tv_nsec >= 1000000000L)
            return -EINVAL;
        else
            only_now = 0;
        if (i == 0) {
            ia.valid |= ATTR_ATIME;
            ia.atime = v;
        } else {
            ia.valid |= ATTR_MTIME;
            ia.mtime = v;
        }
    }
    if (!ia.valid)
        return 0;
    /* setting times to now needs write permission; other times need ownership */
    if (upath == 0 && dfd == AT_FDCWD_GUEST)
        return -EFAULT;
    struct path p;
    int err = attr_target(t, dfd, upath, upath == 0, flags, &p);
    if (err != 0)
        return err < 0 ? err : 0;
    struct inode *ino = p.d->inode;
    int owner = t->cred.fsuid == ino->uid || cred_capable(&t->cred, CAP_FOWNER);
    if (!owner) {
        err = only_now ? vfs_permission(&t->cred, ino, MAY_WRITE) : -EPERM;
        if (err < 0) {
            path_put(&p);
            return only_now ? -EACCES : -EPERM;
        }
        /* the check passed: setattr's owner rules do not apply to times */
    }
    if ((p.mnt->flags & MNT_RDONLY) || (ino->sb->flags & SB_RDONLY))
        err = -EROFS;
    else if (!ino->ops->setattr)
        err = -EPERM;
    else {
        ia.valid |= ATTR_CTIME;
        ia.ctime = now;
        err = ino->ops->setattr(ino, &ia);
        if (err == 0)
            fsnotify_change(p.d, ia.valid);
    }
    path_put(&p);
    return err;
}

long sys_utimensat(struct task *t, const struct syscall_args *a)
{
    struct timespec ts[2];
    uint64_t uts = arg_u64(a, 2);
    if (uts && mm_copy_in(t->mm, ts, uts, sizeof(ts)) < 0)
        return -EFAULT;
    return set_times(t, arg_int(a, 0), arg_u64(a, 1), uts ? ts : NULL, arg_int(a, 3));
}

/* timevals: utimes/futimesat's microsecond times as timespecs. */
static long times_from_timevals(struct task *t, uint64_t utv, struct timespec *ts)
{
    struct { int64_t sec, usec; } tv[2];
    if (mm_copy_in(t->mm, tv, utv, sizeof(tv)) < 0)
        return -EFAULT;
    for (int i = 0; i < 2; i++) {
        if (tv[i].usec < 0 || tv[i].usec >= 1000000)
            return -EINVAL;
        ts[i] = (struct timespec){ tv[i].sec, tv[i].usec * 1000 };
    }
    return 0;
}

long sys_utimes(struct task *t, const struct syscall_args *a)
{
    struct timespec ts[2];
    uint64_t utv = arg_u64(a, 1);
    if (utv) {
        long err = times_from_timevals(t, utv, ts);
        if (err < 0)
            return err;
    }
    return set_times(t, AT_FDCWD_GUEST, arg_u64(a, 0), utv ? ts : NULL, 0);
}

long sys_futimesat(struct task *t, const struct syscall_args *a)
{
    struct timespec ts[2];
    uint64_t utv = arg_u64(a, 2);
    if (utv) {
        long err = times_from_timevals(t, utv, ts);
        if (err < 0)
            return err;
    }
    return set_times(t, arg_int(a, 0), arg_u64(a, 1), utv ? ts : NULL, 0);
}

long sys_utime(struct task *t, const struct syscall_args *a)
{
    struct timespec ts[2];
    uint64_t ub = arg_u64(a, 1);
    if (ub) {
        int64_t b[2];
        if (mm_copy_in(t->mm, b, ub, sizeof(b)) < 0)
            return -EFAULT;
        ts[0] = (struct timespec){ b[0], 0 };
        ts[1] = (struct timespec){ b[1], 0 };
    }
    return set_times(t, AT_FDCWD_GUEST, arg_u64(a, 0), ub ? ts : NULL, 0);
}

long sys_truncate(struct task *t, const struct syscall_args *a)
{
    int64_t len = (int64_t)arg_u64(a, 1);
    if (len < 0)
        return -EINVAL;
    char path[PATH_MAX];
    int err = get_path(t, arg_u64(a, 0), path);
    if (err < 0)
        return err;
    struct walk_result w;
    if ((err = vfs_walk(t, AT_FDCWD_GUEST, path, WALK_FOLLOW, &w)) < 0)
        return err;
    struct iattr ia = { .valid = ATTR_SIZE | ATTR_MTIME, .size = len };
    clock_gettime(CLOCK_REALTIME, &ia.mtime);
    err = vfs_setattr(t, &w.path, &ia);
    path_put(&w.path);
    return err;
}

long sys_ftruncate(struct task *t, const struct syscall_args *a)
{
    int64_t len = (int64_t)arg_u64(a, 1);
    struct file *f = fdtable_get(t->fds, arg_int(a, 0));
    if (!f)
        return -EBADF;
    long err;
    if (len < 0)
        err = -EINVAL;
    else if ((f->flags & O_ACCMODE) == O_RDONLY || (f->flags & O_PATH))
        err = (f->flags & O_PATH) ? -EBADF : -EINVAL;
    else if (f->inode && inode_is_dir(f->inode))
        err = -EINVAL;
    else
        err = vfs_truncate_file(t, f, len);
    file_put(f);
    return err;
}

/* ---- working directory and root ---- */

static long set_dir(struct task *t, const struct path *p, int root)
{
    int err = vfs_permission(&t->cred, p->d->inode, MAY_EXEC);
    if (err < 0)
        return err;
    pthread_mutex_lock(&t->fs->mu);
    struct path *slot = root ? &t->fs->root : &t->fs->cwd;
    struct path old = *slot;
    *slot = *p;
    path_get(p);
    pthread_mutex_unlock(&t->fs->mu);
    path_put(&old);
    return 0;
}

static long chdir_path(struct task *t, uint64_t upath, int root)
{
    char path[PATH_MAX];
    int err = get_path(t, upath, path);
    if (err < 0)
        return err;
    if (root && !cred_capable(&t->cred, CAP_SYS_CHROOT))
        return -EPERM;
    struct walk_result w;
    if ((err = vfs_walk(t, AT_FDCWD_GUEST, path, WALK_FOLLOW | WALK_DIRECTORY, &w)) < 0)
        return err;
    err = (int)set_dir(t, &w.path, root);
    path_put(&w.path);
    return err;
}

long sys_chdir(struct task *t, const struct syscall_args *a) { return chdir_path(t, arg_u64(a, 0), 0); }
long sys_chroot(struct task *t, const struct syscall_args *a) { return chdir_path(t, arg_u64(a, 0), 1); }

long sys_fchdir(struct task *t, const struct syscall_args *a)
{
    struct file *f = fdtable_get(t->fds, arg_int(a, 0));
    if (!f)
        return -EBADF;
    long err = -ENOTDIR;
    if (f->path.d && inode_is_dir(f->inode))
        err = set_dir(t, &f->path, 0);
    file_put(f);
    return err;
}

long sys_getcwd(struct task *t, const struct syscall_args *a)
{
    uint64_t buf = arg_u64(a, 0);
    size_t size = arg_size(a, 1);
    struct path cwd, root;
    fs_get_cwd(t, &cwd);
    fs_get_root(t, &root);
    char path[PATH_MAX];
    int n = vfs_path_string(&cwd, &root, path, sizeof(path));
    int dead = cwd.d->dead;
    path_put(&cwd);
    path_put(&root);
    if (n < 0)
        return n;
    if (dead)
        return -ENOENT;
    if ((size_t)n + 1 > size)
        return -ERANGE;
    if (mm_copy_out(t->mm, buf, path, (size_t)n + 1, 0) < 0)
        return -EFAULT;
    return n + 1;
}

/* ---- statfs ---- */

/* fs_magic: the f_type Linux reports for a filesystem type name. */
static long fs_magic(const char *type)
{
    static const struct { const char *name; long magic; } m[] = {
        { "tmpfs", TMPFS_MAGIC }, { "proc", PROC_SUPER_MAGIC },
        { "sysfs", SYSFS_MAGIC }, { "devpts", DEVPTS_SUPER_MAGIC },
        { "overlay", OVERLAYFS_SUPER_MAGIC }, { "9p", V9FS_MAGIC },
        { "pipefs", PIPEFS_MAGIC }, { "devtmpfs", TMPFS_MAGIC },
    };
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
        if (type && strcmp(type, m[i].name) == 0)
            return m[i].magic;
    return TMPFS_MAGIC;
}

static int statfs_inode(const struct path *p, struct statfs *sf)
{
    struct inode *ino = p->d->inode;
    memset(sf, 0, sizeof(*sf));
    sf->f_type = fs_magic(ino->sb ? ino->sb->fstype : NULL);
    sf->f_bsize = PAGE_SIZE;
    sf->f_frsize = PAGE_SIZE;
    sf->f_namelen = NAME_MAX;
    int err = ino->ops->statfs ? ino->ops->statfs(ino, sf) : 0;
    unsigned long fl = 0;
    if ((p->mnt->flags & MNT_RDONLY) || (ino->sb->flags & SB_RDONLY)) fl |= ST_RDONLY;
    if (p->mnt->flags & MNT_NOSUID) fl |= ST_NOSUID;
    if (p->mnt->flags & MNT_NODEV) fl |= ST_NODEV;
    if (p->mnt->flags & MNT_NOEXEC) fl |= ST_NOEXEC;
    if (p->mnt->flags & MNT_NOATIME) fl |= ST_NOATIME;
    if (p->mnt->flags & MNT_NODIRATIME) fl |= ST_NODIRATIME;
    if (p->mnt->flags & MNT_RELATIME) fl |= ST_RELATIME;
    if (p->mnt->flags & MNT_NOSYMFOLLOW) fl |= 0x2000 /* ST_NOSYMFOLLOW */;
    sf->f_flags = (long)(fl | 0x0020 /* ST_VALID */);
    return err;
}

long sys_statfs(struct task *t, const struct syscall_args *a)
{
    char path[PATH_MAX];
    int err = get_path(t, arg_u64(a, 0), path);
    if (err < 0)
        return err;
    struct walk_result w;
    if ((err = vfs_walk(t, AT_FDCWD_GUEST, path, WALK_FOLLOW, &w)) < 0)
        return err;
    struct statfs sf;
    err = statfs_inode(&w.path, &sf);
    path_put(&w.path);
    if (err < 0)
        return err;
    return mm_copy_out(t->mm, arg_u64(a, 1), &sf, sizeof(sf), 0);
}

long sys_fstatfs(struct task *t, const struct syscall_args *a)
{
    struct file *f = fdtable_get(t->fds, arg_int(a, 0));
    if (!f)
        return -EBADF;
    struct statfs sf;
    int err;
    if (f->path.d) {
        err = statfs_inode(&f->path, &sf);
    } else {
        memset(&sf, 0, sizeof(sf));
        sf.f_type = PIPEFS_MAGIC;
        sf.f_bsize = PAGE_SIZE;
        sf.f_namelen = NAME_MAX;
        err = 0;
    }
    file_put(f);
    if (err < 0)
        return err;
    return mm_copy_out(t->mm, arg_u64(a, 1), &sf, sizeof(sf), 0);
}

/* ---- sync ---- */

static long do_fsync(struct task *t, int fd, int datasync)
{
    struct file *f = fdtable_get(t->fds, fd);
    if (!f)
        return -EBADF;
    long err = (f->ops && f->ops->fsync) ? f->ops->fsync(f, datasync) : 0;
    file_put(f);
    return err;
}

long sys_fsync(struct task *t, const struct syscall_args *a) { return do_fsync(t, arg_int(a, 0), 0); }
long sys_fdatasync(struct task *t, const struct syscall_args *a) { return do_fsync(t, arg_int(a, 0), 1); }

long sys_syncfs(struct task *t, const struct syscall_args *a)
{
    struct file *f = fdtable_get(t->fds, arg_int(a, 0));
    if (!f)
        return -EBADF;
    file_put(f);
    return 0;   /* tmpfs data is in memory; Gofer files are written through */
}

long sys_sync(struct task *t, const struct syscall_args *a)
{
    (void)t; (void)a;
    return 0;   /* as syncfs */
}

/* ---- extended attributes ---- */

/* xattr_target: the object a *xattr call names (nofollow: the l* forms; fd >= 0: the
 * f* forms, where a nameless file has no attributes to hold). */
static int xattr_target(struct task *t, uint64_t upath, int fd, int nofollow,
                        struct path *out)
{
    int err = attr_target(t, fd >= 0 ? fd : AT_FDCWD_GUEST, upath, fd >= 0,
                          nofollow ? AT_SYMLINK_NOFOLLOW : 0, out);
    return err == 1 ? -EOPNOTSUPP : err;
}

static int xattr_name(struct task *t, uint64_t uname, char *name)
{
    long n = mm_copy_string_in(t->mm, uname, name, XATTR_NAME_MAX + 1);
    if (n == -ENAMETOOLONG)
        return -ERANGE;
    if (n < 0)
        return (int)n;
    if (n == 0)
        return -ERANGE;
    if (strncmp(name, "user.", 5) && strncmp(name, "trusted.", 8) &&
        strncmp(name, "security.", 9) && strncmp(name, "system.", 7))
        return -EOPNOTSUPP;
    return 0;
}

/* which: 0 set, 1 get, 2 list, 3 remove */
static long do_xattr(struct task *t, const struct syscall_args *a, int fd_form,
                     int nofollow, int which)
{
    int fd = fd_form ? arg_int(a, 0) : -1;
    struct path p;
    int err = xattr_target(t, arg_u64(a, 0), fd, nofollow, &p);
    if (err < 0)
        return err;
    struct inode *ino = p.d->inode;
    char name[XATTR_NAME_MAX + 1];
    long ret;
    if (which != 2 && (err = xattr_name(t, arg_u64(a, 1), name)) < 0) {
        ret = err;
        goto out;
    }
    if (which == 0 || which == 3) {
        int owner = t->cred.fsuid == ino->uid || cred_capable(&t->cred, CAP_FOWNER);
        if ((p.mnt->flags & MNT_RDONLY) || (ino->sb->flags & SB_RDONLY)) {
            ret = -EROFS;
            goto out;
        }
        if (!strncmp(name, "trusted.", 8) && !cred_capable(&t->cred, CAP_SYS_ADMIN)) {
            ret = -EPERM;
            goto out;
        }
        if (!strncmp(name, "user.", 5) && !S_ISREG(ino->mode) && !S_ISDIR(ino->mode)) {
            ret = -EPERM;
            goto out;
        }
        if (!owner && (ret = vfs_permission(&t->cred, ino, MAY_WRITE)) < 0)
            goto out;
    }
    switch (which) {
    case 0: {
        size_t size = arg_size(a, 3);
        int flags = arg_int(a, 4);
        if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) {
            ret = -EINVAL;
            break;
        }
        if (size > XATTR_SIZE_MAX) {
            ret = -E2BIG;
            break;
        }
        void *val = malloc(size ? size : 1);
        if (!val) {
            ret = -ENOMEM;
            break;
        }
        if (size && mm_copy_in(t->mm, val, arg_u64(a, 2), size) < 0)
            ret = -EFAULT;
        else
            ret = ino->ops->setxattr ? ino->ops->setxattr(ino, name, val, size, flags)
                                     : -EOPNOTSUPP;
        free(val);
        if (ret == 0) {
            inode_touch(ino, ATTR_CTIME);
            fsnotify_xattr(p.d);
        }
        break;
    }
    case 1: {
        size_t size = MIN(arg_size(a, 3), (size_t)XATTR_SIZE_MAX);
        void *val = malloc(size ? size : 1);
        if (!val) {
            ret = -ENOMEM;
            break;
        }
        ret = ino->ops->getxattr ? ino->ops->getxattr(ino, name, size ? val : NULL, size)
                                 : -ENODATA;
        if (ret > 0 && size && mm_copy_out(t->mm, arg_u64(a, 2), val, (size_t)ret, 0) < 0)
            ret = -EFAULT;
        free(val);
        break;
    }
    case 2: {
        size_t size = MIN(arg_size(a, 2), (size_t)XATTR_LIST_MAX);
        char *buf = malloc(size ? size : 1);
        if (!buf) {
            ret = -ENOMEM;
            break;
        }
        ret = ino->ops->listxattr ? ino->ops->listxattr(ino, size ? buf : NULL, size) : 0;
        if (ret > 0 && size && mm_copy_out(t->mm, arg_u64(a, 1), buf, (size_t)ret, 0) < 0)
            ret = -EFAULT;
        free(buf);
        break;
    }
    default:
        ret = ino->ops->removexattr ? ino->ops->removexattr(ino, name) : -ENODATA;
        if (ret == 0) {
            inode_touch(ino, ATTR_CTIME);
            fsnotify_xattr(p.d);
        }
    }
out:
    path_put(&p);
    return ret;
}

long sys_setxattr(struct task *t, const struct syscall_args *a) { return do_xattr(t, a, 0, 0, 0); }
long sys_lsetxattr(struct task *t, const struct syscall_args *a) { return do_xattr(t, a, 0, 1, 0); }
long sys_fsetxattr(struct task *t, const struct syscall_args *a) { return do_xattr(t, a, 1, 0, 0); }
long sys_getxattr(struct task *t, const struct syscall_args *a) { return do_xattr(t, a, 0, 0, 1); }
long sys_lgetxattr(struct task *t, const struct syscall_args *a) { return do_xattr(t, a, 0, 1, 1); }
long sys_fgetxattr(struct task *t, const struct syscall_args *a) { return do_xattr(t, a, 1, 0, 1); }
long sys_listxattr(struct task *t, const struct syscall_args *a) { return do_xattr(t, a, 0, 0, 2); }
long sys_llistxattr(struct task *t, const struct syscall_args *a) { return do_xattr(t, a, 0, 1, 2); }
long sys_flistxattr(struct task *t, const struct syscall_args *a) { return do_xattr(t, a, 1, 0, 2); }
long sys_removexattr(struct task *t, const struct syscall_args *a) { return do_xattr(t, a, 0, 0, 3); }
long sys_lremovexattr(struct task *t, const struct syscall_args *a) { return do_xattr(t, a, 0, 1, 3); }
long sys_fremovexattr(struct task *t, const struct syscall_args *a) { return do_xattr(t, a, 1, 0, 3); }

/* ---- close_range ---- */

long sys_close_range(struct task *t, const struct syscall_args *a)
{
    unsigned first = arg_uint(a, 0), last = arg_uint(a, 1), flags = arg_uint(a, 2);
    if (flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC))
        return -EINVAL;
    if (first > last)
        return -EINVAL;
    if ((flags & CLOSE_RANGE_UNSHARE) &&
        __atomic_load_n(&t->fds->refs, __ATOMIC_ACQUIRE) > 1) {
        struct fdtable *copy = fdtable_dup(t->fds);
        if (!copy)
            return -ENOMEM;
        struct fdtable *old = t->fds;
        t->fds = copy;
        fdtable_put(old);
    }
    return fdtable_close_range(t->fds, first, last, flags & CLOSE_RANGE_CLOEXEC);
}
