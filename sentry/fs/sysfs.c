/* sysfs: the little of /sys that programs read to size themselves: the CPU lists
 * under /sys/devices/system/cpu (glibc's get_nprocs, sysconf(_SC_NPROCESSORS_*)).
 * A fixed tree of static nodes; the lists follow procfs_ncpus(). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "sentry/fs/procfs.h"
#include "sentry/fs/seqfile.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/poll.h"
#include "sentry/vfs/vfs.h"

/* A node of the tree; its index + 1 is its inode number. */
struct sys_node {
    const char *name;
    int parent;         /* index; -1 for the root */
    int dir;
};

enum { N_ROOT, N_DEVICES, N_SYSTEM, N_CPU, N_ONLINE, N_POSSIBLE, N_PRESENT, N_COUNT };

static const struct sys_node nodes[N_COUNT] = {
    [N_ROOT] = { "", -1, 1 },
    [N_DEVICES] = { "devices", N_ROOT, 1 },
    [N_SYSTEM] = { "system", N_DEVICES, 1 },
    [N_CPU] = { "cpu", N_SYSTEM, 1 },
    [N_ONLINE] = { "online", N_CPU, 0 },
    [N_POSSIBLE] = { "possible", N_CPU, 0 },
    [N_PRESENT] = { "present", N_CPU, 0 },
};

static const struct inode_ops sysfs_iops;

static int node_of(struct inode *ino) { return (int)(ino->ino - 1); }

static int make_inode(struct superblock *sb, int idx, struct inode **out)
{
    /* sysfs shows directories 0755 and attribute files 0444, owned by root */
    uint32_t mode = nodes[idx].dir ? S_IFDIR | 0755 : S_IFREG | 0444;
    struct inode *i = inode_new(sb, &sysfs_iops, (uint64_t)idx + 1, mode);
    if (!i)
        return -ENOMEM;
    i->nlink = nodes[idx].dir ? 2 : 1;
    /* Linux reports a sysfs attribute as one page long */
    if (!nodes[idx].dir)
        i->size = (int64_t)PAGE_SIZE;
    *out = i;
    return 0;
}

static int sysfs_lookup(struct inode *dir, const char *name, struct inode **out)
{
    int d = node_of(dir);
    for (int i = 0; i < N_COUNT; i++)
        if (nodes[i].parent == d && strcmp(nodes[i].name, name) == 0)
            return make_inode(dir->sb, i, out);
    return -ENOENT;
}

/* Positions: 0 ".", 1 "..", then node index + 2. */
static int sysfs_iterate(struct file *f, struct dir_emit *e)
{
    int d = node_of(f->inode);
    if (f->pos == 0) {
        if (e->emit(e, ".", 1, (uint64_t)d + 1, DT_DIR, 1))
            return 0;
        f->pos = 1;
    }
    if (f->pos == 1) {
        uint64_t up = nodes[d].parent < 0 ? (uint64_t)d + 1 : (uint64_t)nodes[d].parent + 1;
        if (e->emit(e, "..", 2, up, DT_DIR, 2))
            return 0;
        f->pos = 2;
    }
    for (int i = (int)f->pos - 2; i < N_COUNT; i++) {
        if (i < 0 || nodes[i].parent != d)
            continue;
        if (e->emit(e, nodes[i].name, strlen(nodes[i].name), (uint64_t)i + 1,
                    nodes[i].dir ? DT_DIR : DT_REG, i + 3))
            return 0;
        f->pos = i + 3;
    }
    return 0;
}

static const struct file_ops sysfs_dir_fops = { .iterate = sysfs_iterate };

/* sysfs_poll: what kernfs_generic_poll reports for an attribute that was never
 * notified since open: always ready, plus POLLERR|POLLPRI */
static unsigned sysfs_poll(struct file *f, struct waitq **wq)
{
    (void)f;
    (void)wq;
    return POLL_DEFAULT_MASK | POLLERR | POLLPRI;
}

static const struct file_ops sysfs_file_fops = {
    .read = seqfile_read,
    .llseek = seqfile_llseek,
    .release = seqfile_release,
    .poll = sysfs_poll,
};

static int sysfs_open(struct inode *ino, struct file *f, int flags)
{
    (void)flags;
    if (nodes[node_of(ino)].dir) {
        f->ops = &sysfs_dir_fops;
        f->seekable = 1;
        return 0;
    }
    /* online, possible and present are the same list: every vCPU, always there */
    struct sbuf b = sb_dynamic();
    int n = procfs_ncpus();
    if (n > 1)
        sb_printf(&b, "0-%d\n", n - 1);
    else
        sb_printf(&b, "0\n");
    return seqfile_open(f, &b, &sysfs_file_fops);
}

static const struct inode_ops sysfs_iops = {
    .lookup = sysfs_lookup,
    .open = sysfs_open,
};

struct superblock *sysfs_new(struct inode **root, int *err)
{
    struct superblock *sb = calloc(1, sizeof(*sb));
    if (!sb) {
        *err = -ENOMEM;
        return NULL;
    }
    sb->fstype = "sysfs";
    sb->dev = vfs_new_dev();
    sb->flags = SB_RDONLY | SB_FREE_WITH_INODES;
    procfs_ncpus();   /* fix the CPU count at boot */
    int e = make_inode(sb, N_ROOT, root);
    if (e < 0) {
        free(sb);
        *err = e;
        return NULL;
    }
    return sb;
}
