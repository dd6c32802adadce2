/* goferfs: inodes and their operations (see goferfs.h). Each inode holds one Gofer
 * fid, walked to when the inode was looked up and closed when it is evicted. The
 * attributes come from the Gofer's stat at walk time and are cached; they are asked
 * for again only after something we did may have changed them (stale). */
#include "sentry/fs/goferfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "sentry/fs/goferfs_impl.h"
#include "sentry/mm/pagecache.h"
#include "sentry/vfs/file.h"

static const struct inode_ops g_goferfs_ops;

void goferfs_apply_stat(struct inode *ino, const struct gp_stat *st)
{
    pthread_mutex_lock(&ino->mu);
    /* the type is immutable; a fid cannot change type, so keep ours */
    ino->mode = (ino->mode & S_IFMT) | (st->mode & ~(uint32_t)S_IFMT);
    ino->uid = st->uid;
    ino->gid = st->gid;
    ino->nlink = (uint32_t)st->nlink;
    ino->size = (int64_t)st->size;
    ino->blocks = st->blocks;
    ino->rdev = st->rdev;
    ino->atime = (struct timespec){ st->atime_sec, st->atime_nsec };
    ino->mtime = (struct timespec){ st->mtime_sec, st->mtime_nsec };
    ino->ctime = (struct timespec){ st->ctime_sec, st->ctime_nsec };
    pthread_mutex_unlock(&ino->mu);
}

void goferfs_mark_stale(struct inode *ino)
{
    __atomic_store_n(&gino(ino)->stale, 1, __ATOMIC_RELEASE);
}

/* close_fid: tells the Gofer to forget fid (errors do not matter: the fid is gone
 * either way, and a dead Gofer has forgotten it already). */
static void close_fid(struct gofer_client *c, uint32_t fid)
{
    struct gp_req rq = { .type = GP_CLOSE, .fid = fid };
    struct gp_reply rp;
    gc_call(c, &rq, &rp, NULL, NULL);
}

/* new_inode: an inode for a fid the Gofer just gave us. Closes the fid on failure. */
static int new_inode(struct superblock *sb, uint32_t fid, const struct gp_stat *st,
                     struct inode **out)
{
    struct goferfs_sb *s = sb->priv;
    struct gofer_inode *gi = malloc(sizeof(*gi));
    struct inode *ino = gi ? inode_new(sb, &g_goferfs_ops, st->ino, st->mode) : NULL;
    if (!ino) {
        free(gi);
        close_fid(s->client, fid);
        return -ENOMEM;
    }
    *gi = (struct gofer_inode){ .fid = fid, .rd_fd = -1, .rw_fd = -1 };
    pthread_mutex_init(&gi->fd_mu, NULL);
    ino->priv = gi;
    goferfs_apply_stat(ino, st);
    *out = ino;
    return 0;
}

/* name_error: why a name cannot be sent (the encoder only says -EINVAL). */
static int name_error(const char *name)
{
    return strlen(name) > GP_NAME_MAX ? -ENAMETOOLONG : -EINVAL;
}

static int call(struct inode *ino, struct gp_req *rq, struct gp_reply *rp)
{
    int err = gc_call(gclient(ino), rq, rp, NULL, NULL);
    return err == -EINVAL && rq->name && !gp_name_ok(rq->name, strlen(rq->name))
               ? name_error(rq->name) : err;
}

static int goferfs_lookup(struct inode *dir, const char *name, struct inode **out)
{
    struct gp_req rq = { .type = GP_WALK, .fid = gino(dir)->fid, .name = name };
    struct gp_reply rp;
    int err = call(dir, &rq, &rp);
    return err < 0 ? err : new_inode(dir->sb, rp.fid, &rp.st, out);
}

static int goferfs_create(struct inode *dir, const char *name, const struct new_node *nn,
                          struct inode **out)
{
    struct gp_req rq = { .fid = gino(dir)->fid, .name = name, .mode = nn->mode,
                         .uid = nn->uid, .gid = nn->gid };
    switch (nn->mode & S_IFMT) {
    case S_IFREG: rq.type = GP_CREATE; rq.flags = O_RDWR; break;
    case S_IFDIR: rq.type = GP_MKDIR; break;
    case S_IFIFO: case S_IFSOCK: rq.type = GP_MKNOD; break;
    case S_IFLNK: rq.type = GP_SYMLINK; rq.name2 = nn->target; break;
    default: return -EPERM;   /* devices are never made on the host */
    }
    if (rq.type == GP_SYMLINK && (!nn->target || !nn->target[0]))
        return -ENOENT;
    if (rq.type == GP_SYMLINK && strlen(nn->target) > GP_TARGET_MAX)
        return -ENAMETOOLONG;
    struct gp_reply rp;
    int fd = -1;
    int err = gc_call(gclient(dir), &rq, &rp, NULL, rq.type == GP_CREATE ? &fd : NULL);
    if (err == -EINVAL && !gp_name_ok(name, strlen(name)))
        return name_error(name);
    if (err < 0)
        return err;
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        close_fid(gclient(dir), rp.fid);
        return -EIO;
    }
    goferfs_mark_stale(dir);   /* mtime, and nlink for a new directory */
    err = new_inode(dir->sb, rp.fid, &rp.st, out);
    if (err < 0) {
        if (fd >= 0)
            close(fd);
        return err;
    }
    if (fd >= 0)
        gino(*out)->rw_fd = fd;   /* keep it: the page cache will want one */
    return 0;
}

static int goferfs_link(struct inode *dir, const char *name, struct inode *target)
{
    struct gp_req rq = { .type = GP_LINK, .fid = gino(dir)->fid,
                         .fid2 = gino(target)->fid, .name = name };
    struct gp_reply rp;
    int err = call(dir, &rq, &rp);
    if (err < 0)
        return err;
    goferfs_apply_stat(target, &rp.st);
    goferfs_mark_stale(dir);
    return 0;
}

static int remove_name(struct inode *dir, const char *name, struct inode *victim,
                       uint32_t flags)
{
    struct gp_req rq = { .type = GP_UNLINK, .fid = gino(dir)->fid, .name = name,
                         .flags = flags };
    struct gp_reply rp;
    int err = call(dir, &rq, &rp);
    if (err < 0)
        return err;
    goferfs_mark_stale(dir);
    if (victim)
        goferfs_mark_stale(victim);   /* nlink */
    return 0;
}

static int goferfs_unlink(struct inode *dir, const char *name, struct inode *victim)
{
    return remove_name(dir, name, victim, 0);
}

static int goferfs_rmdir(struct inode *dir, const char *name, struct inode *victim)
{
    return remove_name(dir, name, victim, AT_REMOVEDIR);
}

static int goferfs_rename(struct inode *odir, const char *oname, struct inode *ndir,
                          const char *nname, unsigned flags)
{
    struct gp_req rq = { .type = GP_RENAME, .fid = gino(odir)->fid, .name = oname,
                         .fid2 = gino(ndir)->fid, .name2 = nname, .flags = flags };
    struct gp_reply rp;
    int err = gc_call(gclient(odir), &rq, &rp, NULL, NULL);
    if (err == -EINVAL && !(gp_name_ok(oname, strlen(oname)) &&
                            gp_name_ok(nname, strlen(nname))))
        return name_error(gp_name_ok(oname, strlen(oname)) ? nname : oname);
    if (err < 0)
        return err;
    goferfs_mark_stale(odir);
    goferfs_mark_stale(ndir);
    return 0;
}

/* link_target: the symlink's target, asked of the Gofer the first time only (every
 * path walk through a served symlink would otherwise cost a round trip). */
static int link_target(struct inode *ino, const char **out)
{
    struct gofer_inode *gi = gino(ino);
    char *cached = __atomic_load_n(&gi->link, __ATOMIC_ACQUIRE);
    if (!cached) {
        char *pkt = malloc(GP_MAX_MSG);
        if (!pkt)
            return -ENOMEM;
        struct gp_req rq = { .type = GP_READLINK, .fid = gi->fid };
        struct gp_reply rp;
        int err = gc_call(gclient(ino), &rq, &rp, pkt, NULL);
        char *mine = err == 0 ? strdup(rp.target) : NULL;
        free(pkt);
        if (err < 0)
            return err;
        if (!mine)
            return -ENOMEM;
        cached = NULL;
        if (__atomic_compare_exchange_n(&gi->link, &cached, mine, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            cached = mine;
        else
            free(mine);  /* another thread stored the same target first */
    }
    *out = cached;
    return 0;
}

static int goferfs_readlink(struct inode *ino, char *buf, size_t size)
{
    const char *target;
    int err = link_target(ino, &target);
    if (err < 0)
        return err;
    size_t n = strlen(target);
    if (n > size)
        n = size;
    memcpy(buf, target, n);
    return (int)n;
}

static int goferfs_getattr(struct inode *ino)
{
    struct gofer_inode *gi = gino(ino);
    if (!__atomic_exchange_n(&gi->stale, 0, __ATOMIC_ACQ_REL))
        return 0;
    struct gp_req rq = { .type = GP_STAT, .fid = gi->fid };
    struct gp_reply rp;
    int err = gc_call(gclient(ino), &rq, &rp, NULL, NULL);
    if (err < 0) {
        goferfs_mark_stale(ino);   /* try again next time */
        return err;
    }
    goferfs_apply_stat(ino, &rp.st);
    return 0;
}

static int goferfs_setattr(struct inode *ino, const struct iattr *ia)
{
    struct gp_req rq = { .type = GP_SETATTR, .fid = gino(ino)->fid };
    struct gp_setattr *a = &rq.attr;
    if (ia->valid & ATTR_MODE) { a->valid |= GP_SA_MODE; a->mode = ia->mode & 07777; }
    if (ia->valid & ATTR_UID) { a->valid |= GP_SA_UID; a->uid = ia->uid; }
    if (ia->valid & ATTR_GID) { a->valid |= GP_SA_GID; a->gid = ia->gid; }
    if (ia->valid & ATTR_SIZE) {
        if (ia->size < 0)
            return -EINVAL;
        a->valid |= GP_SA_SIZE;
        a->size = (uint64_t)ia->size;
    }
    if (ia->valid & ATTR_ATIME) {
        a->valid |= GP_SA_ATIME;
        a->atime_sec = ia->atime.tv_sec;
        a->atime_nsec = (uint32_t)ia->atime.tv_nsec;
    }
    if (ia->valid & ATTR_MTIME) {
        a->valid |= GP_SA_MTIME;
        a->mtime_sec = ia->mtime.tv_sec;
        a->mtime_nsec = (uint32_t)ia->mtime.tv_nsec;
    }
    /* ATTR_CTIME alone: the host sets ctime itself on any change; ask for the stat */
    if (!a->valid)
        rq.type = GP_STAT;
    struct gp_reply rp;
    int err = gc_call(gclient(ino), &rq, &rp, NULL, NULL);
    if (err < 0)
        return err;
    if ((ia->valid & ATTR_SIZE) && ino->cache)
        pc_truncate(ino->cache, ((uint64_t)ia->size + PAGE_SIZE - 1) / PAGE_SIZE,
                    (uint64_t)ia->size & (PAGE_SIZE - 1));
    goferfs_apply_stat(ino, &rp.st);
    return 0;
}

static int goferfs_statfs(struct inode *ino, struct statfs *out)
{
    struct gp_req rq = { .type = GP_STATFS, .fid = gino(ino)->fid };
    struct gp_reply rp;
    int err = gc_call(gclient(ino), &rq, &rp, NULL, NULL);
    if (err < 0)
        return err;
    memset(out, 0, sizeof(*out));
    out->f_type = (__fsword_t)rp.sfs.type;
    out->f_bsize = (__fsword_t)rp.sfs.bsize;
    out->f_blocks = rp.sfs.blocks;
    out->f_bfree = rp.sfs.bfree;
    out->f_bavail = rp.sfs.bavail;
    out->f_files = rp.sfs.files;
    out->f_ffree = rp.sfs.ffree;
    out->f_namelen = (__fsword_t)rp.sfs.namelen;
    out->f_frsize = (__fsword_t)rp.sfs.frsize;
    out->f_flags = (__fsword_t)rp.sfs.flags;
    return 0;
}

int goferfs_open_host(struct inode *ino, int flags)
{
    struct gp_req rq = { .type = GP_OPEN, .fid = gino(ino)->fid, .flags = (uint32_t)flags };
    struct gp_reply rp;
    int fd;
    int err = gc_call(gclient(ino), &rq, &rp, NULL, &fd);
    if (err < 0)
        return err;
    /* the fd must be the file the fid names, as far as we can tell */
    struct stat st;
    if (fstat(fd, &st) < 0 || (st.st_mode & S_IFMT) != (ino->mode & S_IFMT)) {
        close(fd);
        return -EIO;
    }
    return fd;
}

int goferfs_fsync(struct inode *ino, int datasync)
{
    struct gp_req rq = { .type = GP_FSYNC, .fid = gino(ino)->fid, .flags = !!datasync };
    struct gp_reply rp;
    return gc_call(gclient(ino), &rq, &rp, NULL, NULL);
}

int goferfs_inode_fd(struct inode *ino, int write)
{
    struct gofer_inode *gi = gino(ino);
    pthread_mutex_lock(&gi->fd_mu);
    int fd = gi->rw_fd >= 0 ? gi->rw_fd : write ? -1 : gi->rd_fd;
    if (fd < 0) {
        fd = goferfs_open_host(ino, write ? O_RDWR : O_RDONLY);
        if (fd >= 0)
            *(write ? &gi->rw_fd : &gi->rd_fd) = fd;
    }
    pthread_mutex_unlock(&gi->fd_mu);
    return fd;
}

static int goferfs_fill_page(struct inode *ino, uint64_t idx, void *dst)
{
    if (!S_ISREG(ino->mode))
        return -EINVAL;
    int fd = goferfs_inode_fd(ino, 0);
    if (fd < 0)
        return fd;
    size_t done = 0;
    while (done < PAGE_SIZE) {
        ssize_t n = pread(fd, (char *)dst + done, PAGE_SIZE - done,
                          (off_t)(idx * PAGE_SIZE + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        done += (size_t)n;
    }
    memset((char *)dst + done, 0, PAGE_SIZE - done);
    return 0;
}

static int goferfs_write_page(struct inode *ino, uint64_t idx, const void *src, size_t len)
{
    if (gsb(ino)->readonly)
        return -EROFS;
    int fd = goferfs_inode_fd(ino, 1);
    if (fd < 0)
        return fd;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(fd, (const char *)src + done, len - done,
                           (off_t)(idx * PAGE_SIZE + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        done += (size_t)n;
    }
    goferfs_mark_stale(ino);
    return 0;
}

static void goferfs_evict(struct inode *ino)
{
    struct gofer_inode *gi = gino(ino);
    if (!gi)
        return;
    close_fid(gclient(ino), gi->fid);
    if (gi->rd_fd >= 0)
        close(gi->rd_fd);
    if (gi->rw_fd >= 0)
        close(gi->rw_fd);
    pthread_mutex_destroy(&gi->fd_mu);
    free(gi->link);
    free(gi);
    ino->priv = NULL;
}

static const struct inode_ops g_goferfs_ops = {
    .lookup = goferfs_lookup,
    .create = goferfs_create,
    .link = goferfs_link,
    .unlink = goferfs_unlink,
    .rmdir = goferfs_rmdir,
    .rename = goferfs_rename,
    .readlink = goferfs_readlink,
    .getattr = goferfs_getattr,
    .setattr = goferfs_setattr,
    .open = goferfs_open_file,
    .statfs = goferfs_statfs,
    .fill_page = goferfs_fill_page,
    .write_page = goferfs_write_page,
    .evict = goferfs_evict,
};

struct superblock *goferfs_new(int sock, int readonly, struct inode **root, int *err)
{
    struct superblock *sb = calloc(1, sizeof(*sb));
    struct goferfs_sb *s = calloc(1, sizeof(*s));
    struct gofer_client *c = gc_new(sock);
    if (!sb || !s || !c) {
        *err = -ENOMEM;
        goto fail;
    }
    struct gp_req rq = { .type = GP_ATTACH };
    struct gp_reply rp;
    *err = gc_call(c, &rq, &rp, NULL, NULL);
    if (*err < 0)
        goto fail;
    if (!S_ISDIR(rp.st.mode)) {
        *err = -ENOTDIR;
        goto fail;
    }
    s->client = c;
    s->root_fid = rp.fid;
    s->readonly = readonly;
    *sb = (struct superblock){ .fstype = "9p", .dev = vfs_new_dev(),
                               .flags = readonly ? SB_RDONLY : 0, .priv = s };
    *err = new_inode(sb, rp.fid, &rp.st, root);
    if (*err < 0) {
        s->client = NULL;
        goto fail;
    }
    return sb;
fail:
    if (c)
        gc_detach(c);   /* not gc_free: the socket stays the caller's */
    free(s);
    free(sb);
    return NULL;
}
