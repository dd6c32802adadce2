/* eventfd (see eventfd.h), after Linux's fs/eventfd.c: the same checks in the same
 * order, so errors match (a short buffer is EINVAL before anything else; a read that
 * faults on the copy-out has still consumed the counter). */
#include "sentry/fs/eventfd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>

#include "lib/err.h"
#include "sentry/fs/anon_inode.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/waitq.h"
#include "sentry/vfs/file.h"

struct eventfd {
    pthread_mutex_t mu;
    uint64_t count;                /* mu */
    int semaphore;                 /* immutable */
    struct waitq wq;
};

static struct eventfd *efd(struct file *f) { return f->priv; }

static int nonblocking(struct file *f)
{
    return (__atomic_load_n(&f->flags, __ATOMIC_RELAXED) & O_NONBLOCK) != 0;
}

/* wait_locked: sleeps for events with e->mu dropped: 0 when woken, -EAGAIN if f is
 * non-blocking, -ERESTARTSYS on a signal. */
static int wait_locked(struct file *f, struct eventfd *e, unsigned events)
{
    if (nonblocking(f))
        return -EAGAIN;
    struct waiter w;
    waiter_init(&w, current_task, events);
    waitq_add(&e->wq, &w);
    pthread_mutex_unlock(&e->mu);
    int r = waiter_sleep(&w, NULL);
    waitq_remove(&e->wq, &w);
    pthread_mutex_lock(&e->mu);
    return r < 0 ? -ERESTARTSYS : 0;
}

static ssize_t efd_read(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)pos;
    struct eventfd *e = efd(f);
    if (u->size < sizeof(uint64_t))
        return -EINVAL;
    pthread_mutex_lock(&e->mu);
    while (e->count == 0) {
        int err = wait_locked(f, e, POLLIN);
        if (err < 0) {
            pthread_mutex_unlock(&e->mu);
            return err;
        }
    }
    uint64_t v = e->semaphore ? 1 : e->count;
    e->count -= v;
    waitq_wake(&e->wq, POLLOUT);
    pthread_mutex_unlock(&e->mu);
    if (uio_copy_out(u, 0, &v, sizeof(v)) != sizeof(v))
        return -EFAULT;
    return sizeof(v);
}

static ssize_t efd_write(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)pos;
    struct eventfd *e = efd(f);
    uint64_t v;
    if (u->size < sizeof(v))
        return -EINVAL;
    if (uio_copy_in(u, 0, &v, sizeof(v)) != sizeof(v))
        return -EFAULT;
    if (v == UINT64_MAX)
        return -EINVAL;
    pthread_mutex_lock(&e->mu);
    /* the counter never reaches UINT64_MAX: wait until v fits below it */
    while (UINT64_MAX - e->count <= v) {
        int err = wait_locked(f, e, POLLOUT);
        if (err < 0) {
            pthread_mutex_unlock(&e->mu);
            return err;
        }
    }
    e->count += v;
    waitq_wake(&e->wq, POLLIN);
    pthread_mutex_unlock(&e->mu);
    return sizeof(v);
}

static int eventfd_stat(struct file *f, struct stat *st)
{
    return inode_stat(f->inode, st);
}

/* noop_llseek, as Linux's eventfd: the position stays 0 and is reported */
static int64_t eventfd_llseek(struct file *f, int64_t off, int whence)
{
    (void)off;
    (void)whence;
    return f->pos;
}

static void eventfd_release(struct file *f)
{
    struct eventfd *e = efd(f);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

static int eventfd_mmap(struct file *f, struct mappable **out)
{
    (void)f;
    (void)out;
    return -ENODEV;
}

static unsigned eventfd_poll_op(struct file *f, struct waitq **wq)
{
    if (wq)
        *wq = eventfd_waitq(f);
    return eventfd_poll(f);
}

static const struct file_ops g_eventfd_ops = {
    .poll = eventfd_poll_op,
    .read = efd_read,
    .write = efd_write,
    .stat = eventfd_stat,
    .llseek = eventfd_llseek,
    .release = eventfd_release,
    .mmap = eventfd_mmap,
};

int is_eventfd_file(const struct file *f) { return f->ops == &g_eventfd_ops; }

unsigned eventfd_poll(struct file *f)
{
    struct eventfd *e = efd(f);
    pthread_mutex_lock(&e->mu);
    uint64_t c = e->count;
    pthread_mutex_unlock(&e->mu);
    unsigned mask = 0;
    if (c > 0)
        mask |= POLLIN;
    if (c == UINT64_MAX)
        mask |= POLLERR;
    if (UINT64_MAX - 1 > c)
        mask |= POLLOUT;
    return mask;
}

struct waitq *eventfd_waitq(struct file *f) { return &efd(f)->wq; }

int eventfd_create(uint64_t initval, int flags, struct file **out)
{
    if (flags & ~(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE))
        return -EINVAL;
    struct eventfd *e = calloc(1, sizeof(*e));
    struct inode *ino = anon_inode_get();
    struct file *f = e && ino ? file_alloc(&g_eventfd_ops,
                                           O_RDWR | ((unsigned)flags & EFD_NONBLOCK), e)
                              : NULL;
    if (!f) {
        free(e);
        inode_put(ino);
        return -ENOMEM;
    }
    pthread_mutex_init(&e->mu, NULL);
    waitq_init(&e->wq);
    e->count = initval;
    e->semaphore = (flags & EFD_SEMAPHORE) != 0;
    f->inode = ino;   /* the reference moves in */
    *out = f;
    return 0;
}
