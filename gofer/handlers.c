/* The Gofer's request handlers: one function per message type, each working only
 * through fds it already holds. Names from the Sentry are single components (the
 * decoder checked) and are only ever used relative to a directory fd with
 * O_NOFOLLOW or the *at equivalent, so no request can name a file outside the tree or
 * make the Gofer follow a symlink. */
#include "gofer/server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

/* Open flags the Sentry may ask for; the rest (O_CREAT, O_PATH, O_TMPFILE, O_NOATIME
 * ...) are the Gofer's business or not allowed. */
#define OPEN_FLAGS_ALLOWED (O_ACCMODE | O_APPEND | O_TRUNC | O_NONBLOCK | O_DSYNC | \
                            O_SYNC | O_DIRECT)

/* Rootless: root of the Gofer's user namespace stands for these ids outside (-1:
 * not rootless). The Sentry and the guest see and give host ids; the host shows root
 * for the user's own files, and the overflow id for owners outside the map. */
static int64_t g_root_uid = -1, g_root_gid = -1;

void gofer_set_root_ids(uint32_t uid, uint32_t gid)
{
    g_root_uid = uid;
    g_root_gid = gid;
}

static uint32_t id_out(uint32_t id, int64_t root_is)
{
    return root_is >= 0 && id == 0 ? (uint32_t)root_is : id;
}

/* id_in: an owner from the Sentry in the namespace's terms: the user is root inside;
 * every other id, host root included, is outside the map, and the kernel refuses it
 * (EINVAL), as chown to another user is refused to a user who is not root. */
static uint32_t id_in(uint32_t id, int64_t root_is)
{
    if (root_is < 0 || id == (uint32_t)-1)
        return id;
    if (id == (uint32_t)root_is)
        return 0;
    return id == 0 ? (uint32_t)-2 : id;   /* -2: an id no map here holds */
}

/* chown_at: fchownat of fd itself with ids from the Sentry. 0 or -errno. */
static int chown_at(int fd, uint32_t uid, uint32_t gid)
{
    if (fchownat(fd, "", id_in(uid, g_root_uid), id_in(gid, g_root_gid),
                 AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
        return errno == EINVAL ? -EPERM : -errno;
    return 0;
}

static void stat_to_wire(const struct stat *st, struct gp_stat *w)
{
    *w = (struct gp_stat){
        .dev = st->st_dev, .ino = st->st_ino, .nlink = st->st_nlink,
        .rdev = st->st_rdev, .size = (uint64_t)st->st_size,
        .blocks = (uint64_t)st->st_blocks, .mode = st->st_mode,
        .uid = id_out(st->st_uid, g_root_uid), .gid = id_out(st->st_gid, g_root_gid), .blksize = (uint32_t)st->st_blksize,
        .atime_sec = st->st_atim.tv_sec, .atime_nsec = (uint32_t)st->st_atim.tv_nsec,
        .mtime_sec = st->st_mtim.tv_sec, .mtime_nsec = (uint32_t)st->st_mtim.tv_nsec,
        .ctime_sec = st->st_ctim.tv_sec, .ctime_nsec = (uint32_t)st->st_ctim.tv_nsec,
    };
}

/* fstat_wire: the stat of fd (O_PATH works) into the reply. 0 or -errno. */
static int fstat_wire(int fd, struct gp_stat *w)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    stat_to_wire(&st, w);
    return 0;
}

/* reopen: a new fd with real access to the file the O_PATH fd names, through
 * /proc/self/fd (the magic link leads to the file itself, not to a path). */
static int reopen(struct gofer_server *s, int fd, int flags)
{
    char num[16];
    snprintf(num, sizeof(num), "%d", fd);
    int r = openat(s->procfd, num, flags | O_CLOEXEC | O_NOCTTY);
    return r < 0 ? -errno : r;
}

/* add_fid_at: walks to name in dirfd (never following a symlink) and makes a fid
 * of it, setting rp->fid and rp->st. 0 or -errno. */
static int add_fid_at(struct gofer_server *s, int dirfd, const char *name,
                      struct gp_reply *rp)
{
    int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    uint32_t fid = fid_add(&s->fids, fd, st.st_mode & S_IFMT);
    if (!fid)
        return -ENFILE;
    rp->fid = fid;
    stat_to_wire(&st, &rp->st);
    return 0;
}

/* set_owner: gives a new file the guest's owner. Best effort when the Gofer is not
 * root (it cannot chown then; the file keeps the Gofer's ids). */
static int set_owner(int fd, uint32_t uid, uint32_t gid)
{
    int err = chown_at(fd, uid, gid);
    return err == -EPERM ? 0 : err;
}

/* made_node: after mkdir/mknod/symlink of name in dirfd: owner, then a fid. Removes
 * the node again if that fails, so an error leaves nothing behind. */
static int made_node(struct gofer_server *s, int dirfd, const struct gp_req *rq,
                     struct gp_reply *rp)
{
    int err = add_fid_at(s, dirfd, rq->name, rp);
    if (err == 0) {
        struct fid *f = fid_get(&s->fids, rp->fid);
        err = set_owner(f->fd, rq->uid, rq->gid);
        if (err == 0)
            err = fstat_wire(f->fd, &rp->st);
        if (err < 0)
            fid_del(&s->fids, rp->fid);
    }
    if (err < 0)
        unlinkat(dirfd, rq->name, S_ISDIR(rq->mode) ? AT_REMOVEDIR : 0);
    return err;
}

/* ---- one function per request; each returns 0 or -errno ---- */

static int do_attach(struct gofer_server *s, const struct gp_req *rq, struct gp_reply *rp)
{
    (void)rq;
    return add_fid_at(s, s->rootfd, ".", rp);
}

static int do_walk(struct gofer_server *s, struct fid *dir, const struct gp_req *rq,
                   struct gp_reply *rp)
{
    if (dir->type != S_IFDIR)
        return -ENOTDIR;
    return add_fid_at(s, dir->fd, rq->name, rp);
}

static int do_open(struct gofer_server *s, struct fid *f, const struct gp_req *rq,
                   int *fd_out)
{
    int flags = (int)(rq->flags & OPEN_FLAGS_ALLOWED);
    int acc = flags & O_ACCMODE;
    if (rq->flags & ~(uint32_t)(OPEN_FLAGS_ALLOWED | O_LARGEFILE | O_CLOEXEC |
                                O_DIRECTORY | O_NOFOLLOW | O_NOCTTY) ||
        acc == O_ACCMODE)
        return -EINVAL;
    switch (f->type) {
    case S_IFREG:
        break;
    case S_IFDIR:
        if (acc != O_RDONLY || (flags & O_TRUNC))
            return -EISDIR;
        flags |= O_DIRECTORY;
        break;
    case S_IFLNK:
        return -ELOOP;   /* the Sentry resolves symlinks itself */
    default:
        return -ENXIO;   /* FIFOs and sockets are the Sentry's own */
    }
    if (s->readonly && (acc != O_RDONLY || (flags & O_TRUNC)))
        return -EROFS;
    int fd = reopen(s, f->fd, flags);
    if (fd < 0)
        return fd;
    *fd_out = fd;
    return 0;
}

static int do_create(struct gofer_server *s, struct fid *dir, const struct gp_req *rq,
                     struct gp_reply *rp, int *fd_out)
{
    int flags = (int)(rq->flags & OPEN_FLAGS_ALLOWED & ~O_TRUNC);
    if ((flags & O_ACCMODE) == O_ACCMODE || (rq->mode & S_IFMT & ~S_IFREG))
        return -EINVAL;
    if (dir->type != S_IFDIR)
        return -ENOTDIR;
    int fd = openat(dir->fd, rq->name, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    rq->mode & 07777);
    if (fd < 0)
        return -errno;
    int err = set_owner(fd, rq->uid, rq->gid);
    int path = err ? err : reopen(s, fd, O_PATH);
    if (path < 0) {
        close(fd);
        unlinkat(dir->fd, rq->name, 0);
        return path;
    }
    struct stat st;
    uint32_t fid = 0;
    if (fstat(fd, &st) == 0)
        fid = fid_add(&s->fids, path, S_IFREG);
    else
        close(path);
    if (!fid) {
        close(fd);
        unlinkat(dir->fd, rq->name, 0);
        return -ENFILE;
    }
    rp->fid = fid;
    stat_to_wire(&st, &rp->st);
    *fd_out = fd;
    return 0;
}

static int do_mkdir(struct gofer_server *s, struct fid *dir, const struct gp_req *rq,
                    struct gp_reply *rp)
{
    if (mkdirat(dir->fd, rq->name, rq->mode & 07777) < 0)
        return -errno;
    struct gp_req r = *rq;
    r.mode = S_IFDIR;   /* for made_node's clean-up */
    return made_node(s, dir->fd, &r, rp);
}

static int do_mknod(struct gofer_server *s, struct fid *dir, const struct gp_req *rq,
                    struct gp_reply *rp)
{
    uint32_t type = rq->mode & S_IFMT;
    if (type == 0)
        type = S_IFREG;
    if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK)
        return -EPERM;   /* no device nodes on the host, ever */
    if (mknodat(dir->fd, rq->name, type | (rq->mode & 07777), 0) < 0)
        return -errno;
    return made_node(s, dir->fd, rq, rp);
}

static int do_symlink(struct gofer_server *s, struct fid *dir, const struct gp_req *rq,
                      struct gp_reply *rp)
{
    if (symlinkat(rq->name2, dir->fd, rq->name) < 0)
        return -errno;
    return made_node(s, dir->fd, rq, rp);
}

static int do_link(struct gofer_server *s, struct fid *dir, const struct gp_req *rq,
                   struct gp_reply *rp)
{
    struct fid *target = fid_get(&s->fids, rq->fid2);
    if (!target)
        return -EBADF;
    if (target->type == S_IFDIR)
        return -EPERM;
    /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; without it, the /proc/self/fd link */
    if (linkat(target->fd, "", dir->fd, rq->name, AT_EMPTY_PATH) < 0) {
        if (errno != ENOENT)
            return -errno;
        char num[16];
        snprintf(num, sizeof(num), "%d", target->fd);
        if (linkat(s->procfd, num, dir->fd, rq->name, AT_SYMLINK_FOLLOW) < 0)
            return -errno;
    }
    return fstat_wire(target->fd, &rp->st);
}

static int do_unlink(struct fid *dir, const struct gp_req *rq)
{
    if (rq->flags & ~(uint32_t)AT_REMOVEDIR)
        return -EINVAL;
    return unlinkat(dir->fd, rq->name, (int)rq->flags) < 0 ? -errno : 0;
}

static int do_rename(struct gofer_server *s, struct fid *odir, const struct gp_req *rq)
{
    struct fid *ndir = fid_get(&s->fids, rq->fid2);
    if (!ndir)
        return -EBADF;
    if (rq->flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE))
        return -EINVAL;
    if (renameat2(odir->fd, rq->name, ndir->fd, rq->name2, rq->flags) < 0)
        return -errno;
    return 0;
}

static int do_readlink(struct gofer_server *s, struct fid *f, struct gp_reply *rp)
{
    if (f->type != S_IFLNK)
        return -EINVAL;
    ssize_t n = readlinkat(f->fd, "", s->scratch, GP_TARGET_MAX + 1);
    if (n < 0)
        return -errno;
    if (n == 0 || n > GP_TARGET_MAX)
        return -ENAMETOOLONG;
    s->scratch[n] = 0;
    rp->target = s->scratch;
    return 0;
}

/* do_getdents: entries from the cookie on, as many as fit in one reply. */
static int do_getdents(struct gofer_server *s, struct fid *f, const struct gp_req *rq,
                       struct gp_reply *rp)
{
    if (f->type != S_IFDIR)
        return -ENOTDIR;
    if (f->dirfd < 0) {
        f->dirfd = openat(f->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (f->dirfd < 0)
            return -errno;
    }
    if (lseek(f->dirfd, (off_t)rq->offset, SEEK_SET) < 0)
        return -errno;
    /* room for GP_MAX_DENTS of the longest entries; names are copied to scratch */
    static char buf[GP_MAX_DENTS * (sizeof(struct dirent64) + 8)];
    ssize_t n = getdents64(f->dirfd, buf, sizeof(buf));
    if (n < 0)
        return -errno;
    size_t used = 0;
    for (ssize_t off = 0; off < n && rp->ndents < GP_MAX_DENTS;) {
        struct dirent64 *d = (struct dirent64 *)(buf + off);
        size_t len = strnlen(d->d_name, GP_NAME_MAX + 1);
        if (len > GP_NAME_MAX || used + len + 1 > sizeof(s->scratch))
            break;
        memcpy(s->scratch + used, d->d_name, len + 1);
        rp->dents[rp->ndents++] = (struct gp_dirent){
            .ino = d->d_ino, .next = (uint64_t)d->d_off, .type = d->d_type,
            .namelen = (uint16_t)len, .name = s->scratch + used,
        };
        used += len + 1;
        off += d->d_reclen;
    }
    return 0;
}

static int do_setattr(struct gofer_server *s, struct fid *f, const struct gp_req *rq,
                      struct gp_reply *rp)
{
    const struct gp_setattr *a = &rq->attr;
    char num[16];
    snprintf(num, sizeof(num), "%d", f->fd);
    if (a->valid & GP_SA_SIZE) {
        if (f->type != S_IFREG)
            return f->type == S_IFDIR ? -EISDIR : -EINVAL;
        int fd = reopen(s, f->fd, O_WRONLY);
        if (fd < 0)
            return fd;
        int r = ftruncate(fd, (off_t)a->size);
        int e = errno;
        close(fd);
        if (r < 0)
            return -e;
    }
    if (a->valid & GP_SA_MODE) {
        if (f->type == S_IFLNK)
            return -EOPNOTSUPP;   /* as lchmod on Linux */
        if (fchmodat(s->procfd, num, a->mode & 07777, 0) < 0)
            return -errno;
    }
    if (a->valid & (GP_SA_UID | GP_SA_GID)) {
        uint32_t uid = (a->valid & GP_SA_UID) ? a->uid : (uint32_t)-1;
        uint32_t gid = (a->valid & GP_SA_GID) ? a->gid : (uint32_t)-1;
        int err = chown_at(f->fd, uid, gid);
        if (err < 0)
            return err;
    }
    if (a->valid & (GP_SA_ATIME | GP_SA_MTIME)) {
        struct timespec ts[2] = {
            { a->atime_sec, (a->valid & GP_SA_ATIME) ? a->atime_nsec : UTIME_OMIT },
            { a->mtime_sec, (a->valid & GP_SA_MTIME) ? a->mtime_nsec : UTIME_OMIT },
        };
        if (utimensat(f->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
            return -errno;
    }
    return fstat_wire(f->fd, &rp->st);
}

static int do_statfs(struct fid *f, struct gp_reply *rp)
{
    struct statfs sf;
    if (fstatfs(f->fd, &sf) < 0)
        return -errno;
    rp->sfs = (struct gp_statfs){
        .type = (uint64_t)sf.f_type, .bsize = (uint64_t)sf.f_bsize, .blocks = sf.f_blocks,
        .bfree = sf.f_bfree, .bavail = sf.f_bavail, .files = sf.f_files,
        .ffree = sf.f_ffree, .namelen = (uint64_t)sf.f_namelen,
        .frsize = (uint64_t)sf.f_frsize, .flags = (uint64_t)sf.f_flags,
    };
    return 0;
}

static int do_fsync(struct gofer_server *s, struct fid *f, const struct gp_req *rq)
{
    if (f->type != S_IFREG && f->type != S_IFDIR)
        return 0;   /* nothing of theirs is buffered */
    int fd = reopen(s, f->fd, O_RDONLY);
    if (fd < 0)
        return fd;
    int r = (rq->flags & 1) ? fdatasync(fd) : fsync(fd);
    int e = errno;
    close(fd);
    return r < 0 ? -e : 0;
}

/* mutates: whether a request type changes the tree (refused when read-only). */
static int mutates(uint16_t type)
{
    switch (type) {
    case GP_CREATE: case GP_MKDIR: case GP_MKNOD: case GP_SYMLINK: case GP_LINK:
    case GP_UNLINK: case GP_RENAME: case GP_SETATTR:
        return 1;
    default:
        return 0;
    }
}

static int dispatch(struct gofer_server *s, const struct gp_req *rq, struct gp_reply *rp,
                    int *fd_out)
{
    if (rq->type == GP_ATTACH)
        return do_attach(s, rq, rp);
    struct fid *f = fid_get(&s->fids, rq->fid);
    if (!f)
        return -EBADF;
    if (s->readonly && mutates(rq->type))
        return -EROFS;
    switch (rq->type) {
    case GP_WALK:     return do_walk(s, f, rq, rp);
    case GP_STAT:     return fstat_wire(f->fd, &rp->st);
    case GP_OPEN:     return do_open(s, f, rq, fd_out);
    case GP_CREATE:   return do_create(s, f, rq, rp, fd_out);
    case GP_MKDIR:    return do_mkdir(s, f, rq, rp);
    case GP_MKNOD:    return do_mknod(s, f, rq, rp);
    case GP_SYMLINK:  return do_symlink(s, f, rq, rp);
    case GP_LINK:     return do_link(s, f, rq, rp);
    case GP_UNLINK:   return do_unlink(f, rq);
    case GP_RENAME:   return do_rename(s, f, rq);
    case GP_READLINK: return do_readlink(s, f, rp);
    case GP_GETDENTS: return do_getdents(s, f, rq, rp);
    case GP_SETATTR:  return do_setattr(s, f, rq, rp);
    case GP_STATFS:   return do_statfs(f, rp);
    case GP_FSYNC:    return do_fsync(s, f, rq);
    case GP_CLOSE:    return fid_del(&s->fids, rq->fid);
    default:          return -EINVAL;
    }
}

int gofer_handle(struct gofer_server *s, const struct gp_req *rq, struct gp_reply *rp)
{
    memset(rp, 0, sizeof(*rp));
    int fd = -1;
    int err = dispatch(s, rq, rp, &fd);
    if (err < 0) {
        /* a failed request sends nothing but its errno */
        memset(rp, 0, sizeof(*rp));
        rp->err = (uint32_t)-err;
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    rp->type = rq->type;
    rp->tag = rq->tag;
    return fd;
}
