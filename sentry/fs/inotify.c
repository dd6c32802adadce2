/* inotify files (see inotify.h), after Linux's fs/notify/inotify: the queue lives
 * under the group's mutex, which fsnotify holds when it calls inotify_event, so
 * queueing needs no lock of its own. Readers sleep on the file's wait queue. */
#include "sentry/fs/inotify.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>

#include "lib/err.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/waitq.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/fsnotify.h"

#ifndef INOTIFY_IOC_SETNEXTWD
#define INOTIFY_IOC_SETNEXTWD _IOW('I', 0, int)
#endif

/* One queued event: the record read(2) copies out, name padded. */
struct inotify_ev {
    struct inotify_ev *next;
    struct inotify_event rec;      /* rec.len: the padded name size */
    char name[];
};

struct inotify {
    struct fsnotify_group group;   /* group.mu also protects the queue below */
    struct inotify_ev *head, *last;
    struct inotify_ev **tail;
    unsigned count;                /* events queued, an overflow event included */
    size_t bytes;                  /* their size as read(2) returns them (FIONREAD) */
    int overflow_queued;
    struct waitq wq;               /* POLLIN when an event is queued */
};

static struct inotify *of_group(struct fsnotify_group *g)
{
    return (struct inotify *)((char *)g - offsetof(struct inotify, group));
}

static struct inotify *of_file(struct file *f) { return f->priv; }

/* same_as_last: new would repeat the last queued event (Linux's event_compare). */
static int same_as_last(const struct inotify *in, int wd, uint32_t mask,
                        const char *name, uint32_t padded)
{
    const struct inotify_ev *l = in->last;
    if (!l || (l->rec.mask & IN_IGNORED))
        return 0;
    return l->rec.wd == wd && l->rec.mask == mask && l->rec.len == padded &&
           (!padded || strcmp(l->name, name) == 0);
}

static void enqueue(struct inotify *in, struct inotify_ev *e)
{
    *in->tail = e;
    in->tail = &e->next;
    in->last = e;
    in->count++;
    in->bytes += sizeof(e->rec) + e->rec.len;
    waitq_wake(&in->wq, POLLIN | POLLRDNORM);
}

/* inotify_event: fsnotify's callback, group.mu held. */
static void inotify_event(struct fsnotify_group *g, int wd, uint32_t mask, uint32_t cookie,
                          const char *name)
{
    struct inotify *in = of_group(g);
    size_t n = name ? strlen(name) : 0;
    uint32_t padded = n ? (uint32_t)((n + 1 + 15) & ~(size_t)15) : 0;
    struct inotify_ev *e = NULL;
    if (in->count < INOTIFY_MAX_QUEUED) {
        if (same_as_last(in, wd, mask, name, padded))
            return;
        e = calloc(1, sizeof(*e) + padded);
    }
    if (!e) {
        /* full (or out of memory, which Linux also reports this way): one
         * IN_Q_OVERFLOW until it has been read */
        if (in->overflow_queued || !(e = calloc(1, sizeof(*e))))
            return;
        in->overflow_queued = 1;
        e->rec.wd = -1;
        e->rec.mask = IN_Q_OVERFLOW;
        enqueue(in, e);
        return;
    }
    e->rec.wd = wd;
    e->rec.mask = mask;
    e->rec.cookie = cookie;
    e->rec.len = padded;
    if (n)
        memcpy(e->name, name, n);
    enqueue(in, e);
}

static const struct fsnotify_group_ops inotify_group_ops = { .event = inotify_event };

/* dequeue: the first event, if it fits in room bytes (else NULL, *too_big set).
 * group.mu held. */
static struct inotify_ev *dequeue(struct inotify *in, size_t room, int *too_big)
{
    struct inotify_ev *e = in->head;
    if (!e)
        return NULL;
    size_t size = sizeof(e->rec) + e->rec.len;
    if (size > room) {
        *too_big = 1;
        return NULL;
    }
    in->head = e->next;
    if (!in->head)
        in->tail = &in->head;
    if (in->last == e)
        in->last = NULL;
    in->count--;
    in->bytes -= size;
    if (e->rec.mask == IN_Q_OVERFLOW && e->rec.wd == -1)
        in->overflow_queued = 0;
    return e;
}

static int nonblocking(struct file *f)
{
    return (__atomic_load_n(&f->flags, __ATOMIC_RELAXED) & O_NONBLOCK) != 0;
}

/* inotify_read: whole events while they fit; an event is taken off the queue before
 * it is copied, so a fault loses it (as on Linux) and the read fails with EFAULT. */
static ssize_t inotify_read(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)pos;
    struct inotify *in = of_file(f);
    size_t done = 0;
    ssize_t ret = 0;
    pthread_mutex_lock(&in->group.mu);
    for (;;) {
        int too_big = 0;
        struct inotify_ev *e = dequeue(in, u->size - done, &too_big);
        if (e) {
            pthread_mutex_unlock(&in->group.mu);
            size_t size = sizeof(e->rec) + e->rec.len;
            ssize_t n = uio_copy_out(u, done, &e->rec, sizeof(e->rec));
            if (n == (ssize_t)sizeof(e->rec) && e->rec.len)
                n += uio_copy_out(u, done + sizeof(e->rec), e->name, e->rec.len);
            free(e);
            pthread_mutex_lock(&in->group.mu);
            if (n != (ssize_t)size) {
                ret = -EFAULT;
                break;
            }
            done += size;
            continue;
        }
        if (too_big) {
            ret = done ? 0 : -EINVAL;
            break;
        }
        if (done)
            break;
        if (nonblocking(f)) {
            ret = -EAGAIN;
            break;
        }
        struct waiter w;
        waiter_init(&w, current_task, POLLIN);
        waitq_add(&in->wq, &w);
        pthread_mutex_unlock(&in->group.mu);
        int r = waiter_sleep(&w, NULL);
        waitq_remove(&in->wq, &w);
        pthread_mutex_lock(&in->group.mu);
        if (r < 0) {
            ret = -ERESTARTSYS;
            break;
        }
    }
    pthread_mutex_unlock(&in->group.mu);
    if (ret == -EFAULT || !done)
        return ret;
    return (ssize_t)done;
}

static long inotify_ioctl(struct file *f, struct task *t, unsigned cmd, uint64_t arg)
{
    struct inotify *in = of_file(f);
    if (cmd == FIONREAD) {
        pthread_mutex_lock(&in->group.mu);
        int n = (int)in->bytes;
        pthread_mutex_unlock(&in->group.mu);
        return mm_copy_out(t->mm, arg, &n, sizeof(n), 0);
    }
    if (cmd == INOTIFY_IOC_SETNEXTWD) {
        /* checkpoint/restore: the next watch gets wd arg */
        if (arg == 0 || arg >= INT32_MAX)
            return -EINVAL;
        pthread_mutex_lock(&in->group.mu);
        in->group.next_wd = (int)arg - 1;
        pthread_mutex_unlock(&in->group.mu);
        return 0;
    }
    return -ENOTTY;
}

static unsigned inotify_poll(struct file *f, struct waitq **wq)
{
    struct inotify *in = of_file(f);
    if (wq)
        *wq = &in->wq;
    pthread_mutex_lock(&in->group.mu);
    unsigned mask = in->head ? POLLIN | POLLRDNORM : 0;
    pthread_mutex_unlock(&in->group.mu);
    return mask;
}

static int inotify_stat(struct file *f, struct stat *st)
{
    return inode_stat(f->inode, st);
}

/* noop_llseek, as Linux's inotify: the position stays 0 */
static int64_t inotify_llseek(struct file *f, int64_t off, int whence)
{
    (void)off;
    (void)whence;
    return f->pos;
}

static int inotify_mmap(struct file *f, struct mappable **out)
{
    (void)f;
    (void)out;
    return -ENODEV;
}

static void inotify_release(struct file *f)
{
    struct inotify *in = of_file(f);
    fsnotify_group_release(&in->group);   /* no event can come after this */
    while (in->head) {
        struct inotify_ev *e = in->head;
        in->head = e->next;
        free(e);
    }
    free(in);
}

static const struct file_ops g_inotify_ops = {
    .read = inotify_read,
    .stat = inotify_stat,
    .ioctl = inotify_ioctl,
    .llseek = inotify_llseek,
    .release = inotify_release,
    .mmap = inotify_mmap,
    .poll = inotify_poll,
};

int is_inotify_file(const struct file *f) { return f->ops == &g_inotify_ops; }

/* The inode every inotify file shares, on a superblock named so /proc/PID/fd shows
 * "anon_inode:inotify" (see procfs.h). */
static struct superblock g_inotify_sb = { .fstype = "inotify" };
static struct inode *g_inotify_inode;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void inotify_inode_init(void)
{
    g_inotify_sb.dev = vfs_new_dev();
    g_inotify_inode = inode_new(&g_inotify_sb, NULL, sb_next_ino(&g_inotify_sb), 0600);
}

int inotify_create(int flags, struct file **out)
{
    if (flags & ~(IN_CLOEXEC | IN_NONBLOCK))
        return -EINVAL;
    pthread_once(&g_once, inotify_inode_init);
    if (!g_inotify_inode)
        return -ENOMEM;
    struct inotify *in = calloc(1, sizeof(*in));
    struct file *f = in ? file_alloc(&g_inotify_ops,
                                     O_RDONLY | ((unsigned)flags & IN_NONBLOCK), in)
                        : NULL;
    if (!f) {
        free(in);
        return -ENOMEM;
    }
    fsnotify_group_init(&in->group, &inotify_group_ops);
    in->tail = &in->head;
    waitq_init(&in->wq);
    inode_get(g_inotify_inode);
    f->inode = g_inotify_inode;
    *out = f;
    return 0;
}

int inotify_watch(struct file *f, struct inode *ino, uint32_t mask)
{
    return fsnotify_add_watch(&of_file(f)->group, ino, mask);
}

int inotify_unwatch(struct file *f, int wd)
{
    return fsnotify_rm_watch(&of_file(f)->group, wd);
}
