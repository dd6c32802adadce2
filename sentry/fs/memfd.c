/* memfds (see memfd.h): one internal tmpfs mounted nowhere (Linux's shm_mnt), whose
 * root directory stays empty: each memfd is a dentry "memfd:NAME" under that root,
 * dead from birth (unlinked), holding an unnamed tmpfs file. */
#include "sentry/fs/memfd.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "sentry/fs/tmpfs.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"

static struct mount *g_memfd_mnt;   /* immutable once made */
static int g_memfd_err;
static pthread_once_t g_memfd_once = PTHREAD_ONCE_INIT;

static void memfd_init(void)
{
    struct inode *root;
    int err = 0;
    struct superblock *sb = tmpfs_new("tmpfs", S_IFDIR | 01777, 0, 0, &root, &err);
    if (!sb) {
        g_memfd_err = err;
        return;
    }
    g_memfd_err = vfs_mount_internal(sb, root, "tmpfs", &g_memfd_mnt);
}

int memfd_new(const char *name, unsigned uid, unsigned gid, int noexec, unsigned seals,
              struct file **out)
{
    pthread_once(&g_memfd_once, memfd_init);
    if (!g_memfd_mnt)
        return g_memfd_err ? g_memfd_err : -ENOMEM;
    char dname[6 + 256];
    snprintf(dname, sizeof(dname), "memfd:%s", name);
    struct inode *ino = tmpfs_new_unnamed(g_memfd_mnt->sb, noexec ? 0666 : 0777, uid, gid);
    if (!ino)
        return -ENOMEM;
    tmpfs_init_seals(ino, seals);
    struct dentry *d = d_alloc(g_memfd_mnt->root, dname, ino);   /* ino moves in */
    if (!d) {
        inode_put(ino);
        return -ENOMEM;
    }
    pthread_mutex_lock(&vfs_tree_mu);
    d->dead = 1;   /* never had a name anyone could walk to */
    pthread_mutex_unlock(&vfs_tree_mu);
    struct path p = { g_memfd_mnt, d };
    struct file *f = file_alloc_path(&p, O_RDWR);
    d_put(d);      /* the file holds its own reference now */
    if (!f)
        return -ENOMEM;
    int err = ino->ops->open(ino, f, O_RDWR);
    if (err < 0) {
        f->ops = NULL;
        file_put(f);
        return err;
    }
    *out = f;
    return 0;
}
