/* timerfd (see timerfd.h), after Linux's fs/timerfd.c. The timer is a ktimer
 * (sentry/kernel/timer.c) on CLOCK_MONOTONIC; REALTIME and BOOTTIME absolute times are
 * converted when the timer is set, so a later jump of the host's wall clock is not
 * followed (the sandbox cannot set clocks, so TFD_TIMER_CANCEL_ON_SET never cancels).
 *
 * Locks: the timerfd's mu serializes settings and comes before the timer lock; the
 * expiry callback (timer lock held) only adds to the atomic count and wakes the wait
 * queue (waitq.mu, then task->mu). */
#include "sentry/fs/timerfd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <time.h>

#include "lib/err.h"
#include "sentry/fs/anon_inode.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/timer.h"
#include "sentry/kernel/waitq.h"
#include "sentry/vfs/file.h"

struct timerfd {
    pthread_mutex_t mu;            /* serializes timerfd_set/get */
    int clockid;                   /* immutable */
    struct ktimer kt;
    uint64_t ticks;                /* atomic: expirations not yet read */
    struct waitq wq;               /* POLLIN when ticks becomes nonzero */
};

static struct timerfd *tfd(struct file *f) { return f->priv; }

static void tfd_fire(struct ktimer *k, uint64_t count)
{
    struct timerfd *tf = (struct timerfd *)((char *)k - offsetof(struct timerfd, kt));
    __atomic_add_fetch(&tf->ticks, count, __ATOMIC_SEQ_CST);
    waitq_wake(&tf->wq, POLLIN);
}

static int nonblocking(struct file *f)
{
    return (__atomic_load_n(&f->flags, __ATOMIC_RELAXED) & O_NONBLOCK) != 0;
}

static ssize_t tfd_read(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)pos;
    struct timerfd *tf = tfd(f);
    if (u->size < sizeof(uint64_t))
        return -EINVAL;
    uint64_t v;
    for (;;) {
        v = __atomic_exchange_n(&tf->ticks, 0, __ATOMIC_SEQ_CST);
        if (v)
            break;
        if (nonblocking(f))
            return -EAGAIN;
        struct waiter w;
        waiter_init(&w, current_task, POLLIN);
        waitq_add(&tf->wq, &w);
        int r = 0;
        if (!__atomic_load_n(&tf->ticks, __ATOMIC_SEQ_CST))
            r = waiter_sleep(&w, NULL);
        waitq_remove(&tf->wq, &w);
        if (r < 0)
            return -ERESTARTSYS;
    }
    /* as Linux, the count is taken even if the copy then faults */
    if (uio_copy_out(u, 0, &v, sizeof(v)) != sizeof(v))
        return -EFAULT;
    return sizeof(v);
}

static unsigned tfd_poll(struct file *f, struct waitq **wq)
{
    struct timerfd *tf = tfd(f);
    if (wq)
        *wq = &tf->wq;
    return __atomic_load_n(&tf->ticks, __ATOMIC_SEQ_CST) ? POLLIN : 0;
}

static int tfd_stat(struct file *f, struct stat *st)
{
    return inode_stat(f->inode, st);
}

/* noop_llseek, as Linux's timerfd: the position stays 0 */
static int64_t tfd_llseek(struct file *f, int64_t off, int whence)
{
    (void)off;
    (void)whence;
    return f->pos;
}

static int tfd_mmap(struct file *f, struct mappable **out)
{
    (void)f;
    (void)out;
    return -ENODEV;
}

static void tfd_release(struct file *f)
{
    struct timerfd *tf = tfd(f);
    ktimer_set(&tf->kt, 0, 0, 0, NULL, NULL);   /* after this no callback runs */
    pthread_mutex_destroy(&tf->mu);
    pthread_mutex_destroy(&tf->wq.mu);
    free(tf);
}

static const struct file_ops g_timerfd_ops = {
    .read = tfd_read,
    .stat = tfd_stat,
    .llseek = tfd_llseek,
    .release = tfd_release,
    .mmap = tfd_mmap,
    .poll = tfd_poll,
};

int is_timerfd_file(const struct file *f) { return f->ops == &g_timerfd_ops; }

int timerfd_new(int clockid, int flags, struct file **out)
{
    if (flags & ~(TFD_CLOEXEC | TFD_NONBLOCK))
        return -EINVAL;
    switch (clockid) {
    case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_BOOTTIME:
        break;
    default:
        /* the _ALARM clocks need CAP_WAKE_ALARM and an RTC: not in a sandbox */
        return -EINVAL;
    }
    struct timerfd *tf = calloc(1, sizeof(*tf));
    struct inode *ino = anon_inode_get();
    struct file *f = tf && ino ? file_alloc(&g_timerfd_ops,
                                            O_RDWR | ((unsigned)flags & TFD_NONBLOCK), tf)
                               : NULL;
    if (!f) {
        free(tf);
        inode_put(ino);
        return -ENOMEM;
    }
    pthread_mutex_init(&tf->mu, NULL);
    waitq_init(&tf->wq);
    tf->clockid = clockid;
    tf->kt.fire = tfd_fire;
    f->inode = ino;   /* the reference moves in */
    *out = f;
    return 0;
}

void timerfd_set(struct file *f, int abs, uint64_t value, uint64_t interval,
                 uint64_t *old_value, uint64_t *old_interval)
{
    struct timerfd *tf = tfd(f);
    pthread_mutex_lock(&tf->mu);
    /* disarm, then clear the count: no expiry of the old setting is counted after */
    ktimer_set(&tf->kt, 0, 0, 0, old_value, old_interval);
    __atomic_store_n(&tf->ticks, 0, __ATOMIC_SEQ_CST);
    if (value) {
        if (abs)
            value = ktimer_wall_to_mono(tf->clockid, value);
        ktimer_set(&tf->kt, value, abs, interval, NULL, NULL);
    }
    pthread_mutex_unlock(&tf->mu);
}

void timerfd_get(struct file *f, uint64_t *value, uint64_t *interval)
{
    struct timerfd *tf = tfd(f);
    pthread_mutex_lock(&tf->mu);
    ktimer_get(&tf->kt, value, interval);
    pthread_mutex_unlock(&tf->mu);
}
