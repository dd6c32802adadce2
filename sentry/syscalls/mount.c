/* mount(2) and umount2(2), in the Sentry's own mount table (sentry/vfs/mount.c).
 * The decoding follows Linux's path_mount and ksys_umount, checks in the same
 * order so errors match: strings are copied first (EFAULT), then the target is
 * walked (ENOENT ...), then permission (EPERM), then the operation's own checks.
 *
 * Permission: the sandbox does not model capabilities, so CAP_SYS_ADMIN is an
 * effective uid of 0. A mount is a Sentry object (a tmpfs, proc or sysfs
 * superblock, or a bind of a Sentry dentry): nothing the guest mounts names a host
 * path, so mounting cannot reach beyond the tree the Gofer serves. Propagation
 * types other than unbindable mean nothing with one mount namespace and are
 * accepted as no-ops. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "lib/util.h"
#include "sentry/fs/fstypes.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/vfs/vfs.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef UMOUNT_NOFOLLOW
#define UMOUNT_NOFOLLOW 8
#endif

/* capable_sys_admin: what stands in for CAP_SYS_ADMIN. */
static int capable_sys_admin(const struct task *t) { return t->cred.euid == 0; }

/* The strings of one mount(2) call, copied in. */
struct mount_strings {
    char *type;      /* NULL: none given */
    char *source;    /* NULL: none given */
    char *data;      /* NULL: none given; else at most a page, NUL-terminated */
    char target[PATH_MAX];
};

/* copy_mount_string: Linux's copy_mount_string: NULL stays NULL; a string longer
 * than max is -EINVAL. */
static int copy_mount_string(struct task *t, uint64_t src, size_t max, char **out)
{
    *out = NULL;
    if (!src)
        return 0;
    char *buf = malloc(max);
    if (!buf)
        return -ENOMEM;
    long n = mm_copy_string_in(t->mm, src, buf, max);
    if (n < 0) {
        free(buf);
        return n == -ENAMETOOLONG ? -EINVAL : (int)n;
    }
    *out = buf;
    return 0;
}

/* copy_mount_data: Linux's copy_mount_options: up to a page, as much as can be read
 * (the options end at the first NUL or the page's last byte); -EFAULT only if none
 * can. */
static int copy_mount_data(struct task *t, uint64_t src, char **out)
{
    *out = NULL;
    if (!src)
        return 0;
    char *buf = calloc(1, PAGE_SIZE);
    if (!buf)
        return -ENOMEM;
    size_t first = PAGE_SIZE - (src & (PAGE_SIZE - 1));
    if (mm_copy_in(t->mm, buf, src, first) < 0) {
        free(buf);
        return -EFAULT;
    }
    if (first < PAGE_SIZE && mm_copy_in(t->mm, buf + first, src + first,
                                        PAGE_SIZE - first) < 0)
        memset(buf + first, 0, PAGE_SIZE - first);
    buf[PAGE_SIZE - 1] = '\0';
    *out = buf;
    return 0;
}

static void free_strings(struct mount_strings *s)
{
    free(s->type);
    free(s->source);
    free(s->data);
    free(s);
}

/* mnt_flags_of: the per-mount flags MS_* flags ask for (path_mount's mapping);
 * cur: the mount's current flags, whose atime flags a remount keeps by default. */
static unsigned mnt_flags_of(unsigned long flags, unsigned cur)
{
    unsigned m = 0;
    if (!(flags & MS_NOATIME))
        m |= MNT_RELATIME;
    if (flags & MS_NOSUID) m |= MNT_NOSUID;
    if (flags & MS_NODEV) m |= MNT_NODEV;
    if (flags & MS_NOEXEC) m |= MNT_NOEXEC;
    if (flags & MS_NOATIME) m |= MNT_NOATIME;
    if (flags & MS_NODIRATIME) m |= MNT_NODIRATIME;
    if (flags & MS_STRICTATIME) m &= ~(unsigned)(MNT_RELATIME | MNT_NOATIME);
    if (flags & MS_RDONLY) m |= MNT_RDONLY;
    if (flags & MS_NOSYMFOLLOW) m |= MNT_NOSYMFOLLOW;
    const unsigned atime = MNT_NOATIME | MNT_NODIRATIME | MNT_RELATIME;
    if ((flags & MS_REMOUNT) &&
        !(flags & (MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME)))
        m = (m & ~atime) | (cur & atime);
    return m;
}

/* walk_source: the path a bind or move takes from (followed, as Linux). */
static int walk_source(struct task *t, const char *name, struct path *out)
{
    if (!name || !*name)
        return -EINVAL;
    struct walk_result w;
    int err = vfs_walk(t, AT_FDCWD_GUEST, name, WALK_FOLLOW, &w);
    if (err == 0)
        *out = w.path;
    return err;
}

/* new_mount: a new filesystem of s->type on p. */
static int new_mount(struct task *t, const struct path *p, const struct mount_strings *s,
                     unsigned long flags, unsigned mnt_flags)
{
    if (!s->type)
        return -EINVAL;
    struct superblock *sb;
    struct inode *root;
    int err = fs_type_mount(s->type, s->data, (flags & MS_RDONLY) != 0, t->cred.fsuid,
                            t->cred.fsgid, &sb, &root);
    if (err < 0)
        return err;
    return vfs_mount_at(p, sb, root, mnt_flags, s->source ? s->source : "none", NULL);
}

/* do_mount: path_mount's dispatch on the flags, once the target p is known. */
static int do_mount(struct task *t, const struct path *p, const struct mount_strings *s,
                    unsigned long flags)
{
    if ((flags & MS_MGC_MSK) == MS_MGC_VAL)
        flags &= ~(unsigned long)MS_MGC_MSK;
    if (flags & MS_NOUSER)
        return -EINVAL;
    if (!capable_sys_admin(t))
        return -EPERM;
    unsigned mnt_flags = mnt_flags_of(flags, p->mnt->flags);
    if ((flags & (MS_REMOUNT | MS_BIND)) == (MS_REMOUNT | MS_BIND))
        return vfs_reconfigure_mount(p, mnt_flags);
    if (flags & MS_REMOUNT)
        return vfs_remount(p, (flags & MS_RDONLY) != 0, mnt_flags, s->data);
    if (flags & (MS_BIND | MS_MOVE)) {
        struct path src;
        int err = walk_source(t, s->source, &src);
        if (err < 0)
            return err;
        err = (flags & MS_BIND) ? vfs_bind_at(p, &src, (flags & MS_REC) != 0)
                                : vfs_move_mount(&src, p);
        path_put(&src);
        return err;
    }
    const unsigned long types = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;
    if (flags & types) {
        /* exactly one propagation type and no other flag but MS_REC and MS_SILENT
         * (Linux no longer strips MS_NOSUID and the like here) */
        unsigned long type = flags & ~(unsigned long)(MS_REC | MS_SILENT);
        if (type & (type - 1))
            return -EINVAL;
        return vfs_set_unbindable(p, type == MS_UNBINDABLE, (flags & MS_REC) != 0);
    }
    return new_mount(t, p, s, flags, mnt_flags);
}

long sys_mount(struct task *t, const struct syscall_args *a)
{
    uint64_t usource = arg_u64(a, 0), utarget = arg_u64(a, 1), utype = arg_u64(a, 2);
    unsigned long flags = (unsigned long)arg_u64(a, 3);
    uint64_t udata = arg_u64(a, 4);
    struct mount_strings *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    int err;
    if ((err = copy_mount_string(t, utype, PAGE_SIZE, &s->type)) < 0 ||
        (err = copy_mount_string(t, usource, PATH_MAX, &s->source)) < 0 ||
        (err = copy_mount_data(t, udata, &s->data)) < 0)
        goto out;
    long n = mm_copy_string_in(t->mm, utarget, s->target, sizeof(s->target));
    if (n < 0) {
        err = (int)n;
        goto out;
    }
    struct walk_result w;
    if ((err = vfs_walk(t, AT_FDCWD_GUEST, s->target, WALK_FOLLOW, &w)) < 0)
        goto out;
    err = do_mount(t, &w.path, s, flags);
    path_put(&w.path);
out:
    free_strings(s);
    return err;
}

long sys_umount2(struct task *t, const struct syscall_args *a)
{
    uint64_t utarget = arg_u64(a, 0);
    int flags = arg_int(a, 1);
    if (flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW))
        return -EINVAL;
    char *target = malloc(PATH_MAX);
    if (!target)
        return -ENOMEM;
    long n = mm_copy_string_in(t->mm, utarget, target, PATH_MAX);
    struct walk_result w;
    int err = n < 0 ? (int)n
                    : vfs_walk(t, AT_FDCWD_GUEST, target,
                               (flags & UMOUNT_NOFOLLOW) ? 0 : WALK_FOLLOW, &w);
    free(target);
    if (err < 0)
        return err;
    if (!capable_sys_admin(t))
        err = -EPERM;
    else if ((flags & MNT_EXPIRE) && (flags & (MNT_FORCE | MNT_DETACH)))
        err = -EINVAL;
    if (err < 0) {
        path_put(&w.path);
        return err;
    }
    /* MNT_FORCE asks filesystems to abort pending I/O: ours have none to abort */
    unsigned vf = ((flags & MNT_DETACH) ? VFS_UMOUNT_DETACH : 0) |
                  ((flags & MNT_EXPIRE) ? VFS_UMOUNT_EXPIRE : 0);
    return vfs_umount(&w.path, vf);   /* releases the path */
}
