/* devpts: the /dev/pts filesystem (Linux's fs/devpts/inode.c, one instance): the
 * root directory holds "ptmx" (char 5,2, mode 0000 as Linux's default ptmxmode) and,
 * for every pty whose master is open, N (char 136,N), owned by whoever opened the
 * master, mode 0600. Inode numbers are Linux's: 1 the root, 2 ptmx, N + 3 for N.
 *
 * The superblock is SB_NOCACHE: lookups ask the pty table (tty.c) each time, so N
 * disappears as soon as its master closes. Each pty keeps its node's inode (made
 * here by devpts_node), so chmod/chown of /dev/pts/N last as long as the pty. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "lib/util.h"
#include "sentry/fs/tty_impl.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"

#define DEVPTS_ROOT_INO 1
#define DEVPTS_PTMX_INO 2
#define DEVPTS_FIRST_INO 3

static struct superblock *g_devpts_sb;     /* immutable after devpts_new */
static struct inode *g_ptmx_inode;         /* immutable after devpts_new */
static pthread_mutex_t g_devpts_mu = PTHREAD_MUTEX_INITIALIZER;
static struct path g_devpts_root;          /* g_devpts_mu: where it is mounted */

static const struct inode_ops devpts_dir_iops, devpts_node_iops;

/* parse_index: a slave number as devpts names it (decimal, no leading zero). */
static int parse_index(const char *s)
{
    if (!*s || (s[0] == '0' && s[1]))
        return -1;
    long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
        if (v >= PTY_MAX)
            return -1;
    }
    return (int)v;
}

static int devpts_lookup(struct inode *dir, const char *name, struct inode **out)
{
    (void)dir;
    if (strcmp(name, "ptmx") == 0) {
        inode_get(g_ptmx_inode);
        *out = g_ptmx_inode;
        return 0;
    }
    int index = parse_index(name);
    struct pty *p = index >= 0 ? pty_lookup((unsigned)index) : NULL;
    if (!p)
        return -ENOENT;
    inode_get(p->slave_inode);
    *out = p->slave_inode;
    pty_put(p);
    return 0;
}

/* Positions: 0 ".", 1 "..", 2 "ptmx", then N + 3 for slave N, so a listing resumes
 * in the right place when ptys come and go between getdents calls. */
static int devpts_iterate(struct file *f, struct dir_emit *e)
{
    if (f->pos == 0) {
        if (e->emit(e, ".", 1, DEVPTS_ROOT_INO, DT_DIR, 1))
            return 0;
        f->pos = 1;
    }
    if (f->pos == 1) {
        if (e->emit(e, "..", 2, DEVPTS_ROOT_INO, DT_DIR, 2))
            return 0;
        f->pos = 2;
    }
    if (f->pos == 2) {
        if (e->emit(e, "ptmx", 4, DEVPTS_PTMX_INO, DT_CHR, 3))
            return 0;
        f->pos = 3;
    }
    for (;;) {
        unsigned ids[64];
        int64_t from = f->pos - DEVPTS_FIRST_INO;
        if (from >= PTY_MAX)
            return 0;
        int got = pty_list((unsigned)from, ids, (int)ARRAY_SIZE(ids));
        if (got == 0)
            return 0;
        for (int i = 0; i < got; i++) {
            char name[16];
            int len = snprintf(name, sizeof(name), "%u", ids[i]);
            int64_t next = (int64_t)ids[i] + DEVPTS_FIRST_INO + 1;
            if (e->emit(e, name, (size_t)len, ids[i] + DEVPTS_FIRST_INO, DT_CHR, next))
                return 0;
            f->pos = next;
        }
    }
}

static const struct file_ops devpts_dir_fops = {
    .iterate = devpts_iterate,
};

static int devpts_open(struct inode *ino, struct file *f, int flags)
{
    (void)flags;
    if (!S_ISDIR(ino->mode))
        return -ENXIO;   /* the nodes open through chrdev_open */
    f->ops = &devpts_dir_fops;
    f->seekable = 1;
    return 0;
}

/* devpts_setattr: chmod, chown and utimes of the nodes (grantpt's old way). */
static int devpts_setattr(struct inode *ino, const struct iattr *ia)
{
    if (ia->valid & ATTR_SIZE)
        return S_ISDIR(ino->mode) ? -EISDIR : -EINVAL;
    inode_setattr_copy(ino, ia);
    return 0;
}

static const struct inode_ops devpts_dir_iops = {
    .lookup = devpts_lookup,
    .open = devpts_open,
    .setattr = devpts_setattr,
};
static const struct inode_ops devpts_node_iops = {
    .setattr = devpts_setattr,
};

static struct inode *make_node(uint64_t ino, uint32_t mode, unsigned maj, unsigned min,
                               uint32_t uid, uint32_t gid)
{
    struct inode *i = inode_new(g_devpts_sb, &devpts_node_iops, ino, mode);
    if (!i)
        return NULL;
    i->rdev = makedev(maj, min);
    i->uid = uid;
    i->gid = gid;
    i->nlink = 1;
    return i;
}

struct inode *devpts_node(unsigned index, uint32_t uid, uint32_t gid)
{
    if (!g_devpts_sb)
        return NULL;
    return make_node((uint64_t)index + DEVPTS_FIRST_INO, S_IFCHR | 0600, PTS_MAJOR, index,
                     uid, gid);
}

struct superblock *devpts_new(struct inode **root, int *err)
{
    if (g_devpts_sb) {
        *err = -EBUSY;   /* one instance: every /dev/pts shows the same ptys */
        return NULL;
    }
    struct superblock *sb = calloc(1, sizeof(*sb));
    if (!sb) {
        *err = -ENOMEM;
        return NULL;
    }
    sb->fstype = "devpts";
    sb->dev = vfs_new_dev();
    sb->flags = SB_NOCACHE;
    g_devpts_sb = sb;
    struct inode *r = inode_new(sb, &devpts_dir_iops, DEVPTS_ROOT_INO, S_IFDIR | 0755);
    g_ptmx_inode = make_node(DEVPTS_PTMX_INO, S_IFCHR, 5, 2, 0, 0);
    if (!r || !g_ptmx_inode) {
        if (r)
            inode_put(r);
        *err = -ENOMEM;
        return NULL;   /* the half-made superblock stays: boot fails anyway */
    }
    r->nlink = 2;
    *root = r;
    return sb;
}

void devpts_mounted(const struct path *p)
{
    path_get(p);
    pthread_mutex_lock(&g_devpts_mu);
    struct path old = g_devpts_root;
    g_devpts_root = *p;
    pthread_mutex_unlock(&g_devpts_mu);
    if (old.mnt)
        path_put(&old);
}

int devpts_slave_path(struct pty *p, struct path *out)
{
    char name[16];
    snprintf(name, sizeof(name), "%d", p->index);
    pthread_mutex_lock(&g_devpts_mu);
    struct path root = g_devpts_root;
    if (root.mnt)
        path_get(&root);
    pthread_mutex_unlock(&g_devpts_mu);
    if (!root.mnt)
        return -ENOENT;
    inode_get(p->slave_inode);
    struct dentry *d = d_alloc(root.d, name, p->slave_inode);
    if (!d) {
        inode_put(p->slave_inode);
        path_put(&root);
        return -ENOMEM;
    }
    /* the mount reference of root moves to out, its dentry reference is dropped */
    out->mnt = root.mnt;
    out->d = d;
    d_put(root.d);
    return 0;
}
