/* Character devices: /dev/null, zero, full, random and urandom with Linux's semantics
 * (drivers/char/mem.c, random.c). None of them keeps a position: reads and writes
 * leave it alone and lseek always answers 0, but pread/pwrite work. The terminals
 * (/dev/tty, /dev/ptmx, /dev/pts/N) are tty.c's. */
#include "sentry/fs/devices.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "lib/util.h"
#include "sentry/fs/special.h"
#include "sentry/fs/tty.h"
#include "sentry/kernel/signal.h"
#include "sentry/kernel/task.h"
#include "sentry/vfs/file.h"

const struct device_node g_dev_nodes[] = {
    { "null",    1, 3, S_IFCHR | 0666 },
    { "zero",    1, 5, S_IFCHR | 0666 },
    { "full",    1, 7, S_IFCHR | 0666 },
    { "random",  1, 8, S_IFCHR | 0666 },
    { "urandom", 1, 9, S_IFCHR | 0666 },
    { "tty",     5, 0, S_IFCHR | 0666 },
    { "ptmx",    5, 2, S_IFCHR | 0666 },
};
const size_t g_dev_nodes_count = ARRAY_SIZE(g_dev_nodes);

/* ---- shared pieces ---- */

/* fill_out: writes the whole vector from fill(), a chunk at a time; the bytes written
 * (short only at a fault), or -EFAULT. */
static ssize_t fill_out(const struct uio *u, void (*fill)(char *buf, size_t n))
{
    static _Thread_local char chunk[16 * PAGE_SIZE];
    size_t done = 0;
    while (done < u->size) {
        size_t n = MIN(u->size - done, sizeof(chunk));
        fill(chunk, n);
        ssize_t got = uio_copy_out(u, done, chunk, n);
        if (got < 0)
            return done ? (ssize_t)done : got;
        done += (size_t)got;
        if ((size_t)got < n)
            break;
        /* huge reads stop early for a signal, as Linux's read_iter_zero does */
        if (current_task && signal_pending_unblocked(current_task))
            break;
    }
    return (ssize_t)done;
}

static void fill_zero(char *buf, size_t n)
{
    memset(buf, 0, n);   /* the chunk is shared with random reads */
}

static void fill_random(char *buf, size_t n)
{
    /* the Sentry's own entropy; getrandom of at most 64 KiB from the non-blocking
     * pool does not come up short */
    size_t at = 0;
    while (at < n) {
        ssize_t r = getrandom(buf + at, n - at, 0);
        if (r > 0)
            at += (size_t)r;
    }
}

static ssize_t read_eof(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)f, (void)u, (void)pos;
    return 0;
}

static ssize_t read_zero(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)f, (void)pos;
    return fill_out(u, fill_zero);
}

static ssize_t read_random(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)f, (void)pos;
    return fill_out(u, fill_random);
}

/* writes to null, zero, random and urandom are accepted whole (random's "entropy" is
 * dropped: the Sentry's pool is the host's) */
static ssize_t write_sink(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)f, (void)pos;
    return (ssize_t)u->size;
}

static ssize_t write_full(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)f, (void)u, (void)pos;
    return -ENOSPC;
}

static int dev_stat(struct file *f, struct stat *st)
{
    return f->inode ? inode_stat(f->inode, st) : -EINVAL;
}

/* Linux's null_lseek: the position is always 0 */
static int64_t dev_llseek(struct file *f, int64_t off, int whence)
{
    (void)off, (void)whence;
    f->pos = 0;
    return 0;
}

static int mmap_nodev(struct file *f, struct mappable **out)
{
    (void)f, (void)out;
    return -ENODEV;
}

/* /dev/zero maps as anonymous memory: NULL tells mm so */
static int mmap_anon(struct file *f, struct mappable **out)
{
    (void)f;
    *out = NULL;
    return 0;
}

static const struct file_ops g_null_ops = {
    .read = read_eof, .write = write_sink, .stat = dev_stat, .llseek = dev_llseek,
    .mmap = mmap_nodev,
};
static const struct file_ops g_zero_ops = {
    .read = read_zero, .write = write_sink, .stat = dev_stat, .llseek = dev_llseek,
    .mmap = mmap_anon,
};
static const struct file_ops g_full_ops = {
    .read = read_zero, .write = write_full, .stat = dev_stat, .llseek = dev_llseek,
    .mmap = mmap_nodev,
};
static const struct file_ops g_random_ops = {
    .read = read_random, .write = write_sink, .stat = dev_stat, .llseek = dev_llseek,
    .mmap = mmap_nodev,
};

int chrdev_open(struct task *t, uint64_t rdev, struct file *f, int flags)
{
    /* terminals: TTYAUX_MAJOR 5 (tty, ptmx) and the Unix98 pty slaves */
    if (major(rdev) == 5 && minor(rdev) == 0)
        return tty_open_current(t, f, flags);
    if (major(rdev) == 5 && minor(rdev) == 2)
        return ptmx_open(t, f, flags);
    if (major(rdev) == 136)
        return pts_open(t, minor(rdev), f, flags);
    const struct file_ops *ops = NULL;
    if (major(rdev) == 1) {
        switch (minor(rdev)) {
        case 3: ops = &g_null_ops; break;
        case 5: ops = &g_zero_ops; break;
        case 7: ops = &g_full_ops; break;
        case 8:
        case 9: ops = &g_random_ops; break;
        }
    }
    if (!ops)
        return -ENXIO;
    f->ops = ops;
    f->seekable = 1;   /* so pread/pwrite work; the callbacks never move pos */
    return 0;
}
