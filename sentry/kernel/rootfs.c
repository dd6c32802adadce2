/* Building the mount tree at boot (see rootfs.h). The root is what runsc gives `do`:
 * the served tree read-only under an in-memory overlay, so the guest may write
 * anywhere (/tmp included, which shows the host's files) and nothing reaches the host. /dev is a tmpfs holding the device nodes the
 * Sentry implements, with devpts on /dev/pts; /proc and /sys are the Sentry's own. */
#include "sentry/kernel/rootfs.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "lib/log.h"
#include "sentry/fs/devices.h"
#include "sentry/fs/goferfs.h"
#include "sentry/fs/overlay.h"
#include "sentry/fs/procfs.h"
#include "sentry/fs/tty.h"
#include "sentry/fs/tmpfs.h"
#include "sentry/vfs/vfs.h"

/* The flags of /proc and /sys, as a Linux system mounts them. */
#define MNT_BOOT_PROC (MNT_NOSUID | MNT_NODEV | MNT_NOEXEC | MNT_RELATIME)

/* child_dir: the directory name under p, created (0755) in the root overlay when the
 * served tree lacks it. A new reference in out. */
static int child_dir(const struct path *p, const char *name, struct path *out)
{
    int err = vfs_lookup_child(p, name, out);
    if (err != -ENOENT)
        return err;
    struct inode *di = p->d->inode;
    struct new_node nn = { .mode = S_IFDIR | 0755 };
    struct inode *ino;
    pthread_mutex_lock(&di->dir_mu);
    err = di->ops->create ? di->ops->create(di, name, &nn, &ino) : -EPERM;
    pthread_mutex_unlock(&di->dir_mu);
    if (err < 0)
        return err;
    inode_put(ino);
    return vfs_lookup_child(p, name, out);
}

/* mount_fs: mounts (sb, root) at /name. */
static int mount_fs(const struct path *root, const char *name, struct superblock *sb,
                    struct inode *fsroot, unsigned flags, const char *source)
{
    struct path at;
    int err = child_dir(root, name, &at);
    if (err < 0) {
        inode_put(fsroot);
        log_err("cannot make /%s: %s", name, strerror(-err));
        return err;
    }
    err = vfs_mount_at(&at, sb, fsroot, flags, source, NULL);
    path_put(&at);
    if (err < 0)
        log_err("cannot mount %s on /%s: %s", source, name, strerror(-err));
    return err;
}

/* populate_dev: the device nodes and the conventional links of /dev. */
static int populate_dev(struct inode *dev)
{
    for (size_t i = 0; i < g_dev_nodes_count; i++) {
        const struct device_node *n = &g_dev_nodes[i];
        struct new_node nn = { .mode = n->mode, .rdev = makedev(n->major, n->minor) };
        struct inode *ino;
        int err = dev->ops->create(dev, n->name, &nn, &ino);
        if (err < 0)
            return err;
        inode_put(ino);
    }
    static const struct { const char *name, *target; } links[] = {
        { "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
        { "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
    };
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        struct new_node nn = { .mode = S_IFLNK | 0777, .target = links[i].target };
        struct inode *ino;
        int err = dev->ops->create(dev, links[i].name, &nn, &ino);
        if (err < 0)
            return err;
        inode_put(ino);
    }
    static const char *dirs[] = { "shm", "pts" };
    for (size_t i = 0; i < 2; i++) {
        struct new_node nn = { .mode = S_IFDIR | (i == 0 ? 01777 : 0755) };
        struct inode *ino;
        int err = dev->ops->create(dev, dirs[i], &nn, &ino);
        if (err < 0)
            return err;
        inode_put(ino);
    }
    return 0;
}

/* mount_devpts: the ptys' filesystem on /dev/pts, as Linux mounts devpts there. */
static int mount_devpts(const struct path *dev)
{
    struct path pts;
    int err = vfs_lookup_child(dev, "pts", &pts);
    if (err < 0)
        return err;
    struct inode *fsroot;
    struct superblock *sb = devpts_new(&fsroot, &err);
    struct mount *m;
    if (sb)
        err = vfs_mount_at(&pts, sb, fsroot, MNT_NOSUID | MNT_NOEXEC, "devpts", &m);
    if (sb && err == 0) {
        struct path root = { m, m->root };
        devpts_mounted(&root);
    }
    path_put(&pts);
    return err;
}

int rootfs_build(int gofer_sock, int readonly)
{
    int err = 0;
    struct inode *lower, *upper, *root;
    struct superblock *gsb = goferfs_new(gofer_sock, readonly, &lower, &err);
    if (!gsb) {
        log_err("cannot attach to the Gofer: %s", strerror(-err));
        return err;
    }
    struct superblock *usb = tmpfs_new("tmpfs", S_IFDIR | 0755, 0, 0, &upper, &err);
    if (!usb) {
        inode_put(lower);
        return err;
    }
    struct superblock *osb = overlay_new(upper, lower, &root, &err);
    if (!osb) {
        log_err("cannot build the root overlay: %s", strerror(-err));
        return err;
    }
    if ((err = vfs_mount_root(osb, root, "/")) < 0)
        return err;

    struct path rp;
    vfs_root(&rp);
    struct inode *fsroot;
    struct superblock *sb;
    if (!(sb = tmpfs_new("tmpfs", S_IFDIR | 0755, 0, 0, &fsroot, &err)) ||
        (err = populate_dev(fsroot)) < 0 ||
        (err = mount_fs(&rp, "dev", sb, fsroot, MNT_NOSUID | MNT_RELATIME, "tmpfs")) < 0)
        goto out;
    if (!(sb = procfs_new(&fsroot, &err)) ||
        (err = mount_fs(&rp, "proc", sb, fsroot, MNT_BOOT_PROC,
                        "proc")) < 0)
        goto out;
    if (!(sb = sysfs_new(&fsroot, &err)) ||
        (err = mount_fs(&rp, "sys", sb, fsroot, MNT_BOOT_PROC,
                        "sysfs")) < 0)
        goto out;
    {
        struct path dev, shm;
        if ((err = vfs_lookup_child(&rp, "dev", &dev)) == 0) {
            if ((err = vfs_lookup_child(&dev, "shm", &shm)) == 0) {
                if ((sb = tmpfs_new("tmpfs", S_IFDIR | 01777, 0, 0, &fsroot, &err)))
                    err = vfs_mount_at(&shm, sb, fsroot,
                                       MNT_NOSUID | MNT_NODEV | MNT_RELATIME, "tmpfs",
                                       NULL);
                path_put(&shm);
            }
            if (err == 0)
                err = mount_devpts(&dev);
            path_put(&dev);
        }
    }
out:
    path_put(&rp);
    if (err < 0)
        log_err("cannot build the sandbox's file system: %s", strerror(-err));
    return err;
}
