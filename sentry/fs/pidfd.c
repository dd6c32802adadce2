/* pidfd files (see pidfd.h), after Linux's kernel/pid.c pidfd_fops: no read or write,
 * a poll that follows the process's exit, fstat of the shared anonymous inode. */
#include "sentry/fs/pidfd.h"

#include <errno.h>
#include <fcntl.h>

#include "sentry/fs/anon_inode.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/pidref.h"
#include "sentry/vfs/file.h"

static void pidfd_release(struct file *f)
{
    pidref_put(f->priv);
}

static int pidfd_stat(struct file *f, struct stat *st)
{
    return inode_stat(f->inode, st);
}

static unsigned pidfd_poll(struct file *f, struct waitq **wq)
{
    return pidref_poll(f->priv, wq);
}

static int pidfd_mmap(struct file *f, struct mappable **out)
{
    (void)f;
    (void)out;
    return -ENODEV;
}

static const struct file_ops g_pidfd_ops = {
    .stat = pidfd_stat,
    .release = pidfd_release,
    .poll = pidfd_poll,
    .mmap = pidfd_mmap,
};

int pidfd_create(struct pidref *r, unsigned flags, struct file **out)
{
    struct inode *ino = anon_inode_get();
    struct file *f = ino ? file_alloc(&g_pidfd_ops, O_RDWR | (flags & O_NONBLOCK), r)
                         : NULL;
    if (!f) {
        inode_put(ino);
        return -ENOMEM;
    }
    f->inode = ino;   /* the reference moves in */
    *out = f;
    return 0;
}

struct pidref *pidfd_pidref(struct file *f)
{
    return f->ops == &g_pidfd_ops ? f->priv : NULL;
}

int pidfd_pid(struct file *f)
{
    struct pidref *r = f->priv;
    pthread_mutex_lock(&g_kernel.mu);
    int pid = r->tg ? r->tgid : -1;
    pthread_mutex_unlock(&g_kernel.mu);
    return pid;
}
