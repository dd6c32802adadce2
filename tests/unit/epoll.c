/* Wait queues' exclusive waking and the epoll core (sentry/fs/epoll.c) on a fake
 * pollable file: ctl errors, readiness reaching the epoll file (and through nested
 * ones), EPOLL_CTL_MOD looking at the file, loop and depth checks,
 * and registrations going away with the last reference to the watched file. No task
 * or guest memory is needed: readiness is read through vfs_poll on the epoll file. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "sentry/fs/epoll.h"
#include "sentry/kernel/waitq.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/poll.h"

/* ---- exclusive waking ---- */

static int g_calls[4];

static int count_and_take(struct waiter *w, unsigned events)
{
    (void)events;
    g_calls[(long)w->arg]++;
    return 1;
}

Test(waitq, exclusive_waiters_take_one_wakeup)
{
    struct waitq q;
    waitq_init(&q);
    struct waiter w[4];
    for (long i = 0; i < 4; i++) {
        waiter_init(&w[i], NULL, POLLIN);
        w[i].fn = count_and_take;
        w[i].arg = (void *)i;
        w[i].exclusive = i >= 2;   /* 0, 1 plain; 2, 3 exclusive */
        waitq_add(&q, &w[i]);
    }
    cr_assert(waitq_active(&q));
    waitq_wake(&q, POLLIN);
    cr_assert_eq(g_calls[0], 1);
    cr_assert_eq(g_calls[1], 1);
    cr_assert_eq(g_calls[2] + g_calls[3], 1, "one exclusive waiter, not both");
    waitq_wake(&q, POLLOUT);   /* nobody's events */
    cr_assert_eq(g_calls[0] + g_calls[1] + g_calls[2] + g_calls[3], 3);
    for (int i = 0; i < 4; i++)
        waitq_remove(&q, &w[i]);
    cr_assert(!waitq_active(&q));
}

/* ---- a fake pollable file: readiness set by the test, one queue ---- */

struct fake {
    unsigned ready;
    struct waitq wq;
    int *released;
};

static unsigned fake_poll(struct file *f, struct waitq **wq)
{
    struct fake *k = f->priv;
    if (wq)
        *wq = &k->wq;
    return __atomic_load_n(&k->ready, __ATOMIC_SEQ_CST);
}

static void fake_release(struct file *f)
{
    struct fake *k = f->priv;
    if (k->released)
        (*k->released)++;
    free(k);
}

static const struct file_ops g_fake_ops = { .poll = fake_poll, .release = fake_release };
static const struct file_ops g_plain_ops = { 0 };   /* no poll: a regular file */

static struct file *fake_new(int *released)
{
    struct fake *k = calloc(1, sizeof(*k));
    cr_assert(k);
    waitq_init(&k->wq);
    k->released = released;
    struct file *f = file_alloc(&g_fake_ops, O_RDWR, k);
    cr_assert(f);
    return f;
}

/* fake_set: changes the readiness and wakes the queue, as a file does */
static void fake_set(struct file *f, unsigned ready)
{
    struct fake *k = f->priv;
    __atomic_store_n(&k->ready, ready, __ATOMIC_SEQ_CST);
    waitq_wake(&k->wq, ready ? ready : POLLIN | POLLOUT);
}

static struct file *ep_new(void)
{
    struct file *f;
    cr_assert_eq(epoll_create_file(&f), 0);
    return f;
}

static int ctl(struct file *ep, int op, struct file *tf, int fd, uint32_t events)
{
    struct guest_epoll_event ev = { events, (uint64_t)fd };
    return epoll_ctl_file(ep, op, tf, fd, &ev);
}

Test(epoll, ctl_errors)
{
    struct file *ep = ep_new(), *ep2 = ep_new(), *a = fake_new(NULL);
    struct file *plain = file_alloc(&g_plain_ops, O_RDONLY, NULL);
    cr_assert_eq(ctl(ep, EPOLL_CTL_ADD, plain, 3, EPOLLIN), -EPERM);
    cr_assert_eq(ctl(ep, EPOLL_CTL_ADD, ep, 4, EPOLLIN), -EINVAL);
    cr_assert_eq(ctl(a, EPOLL_CTL_ADD, ep, 4, EPOLLIN), -EINVAL);
    cr_assert_eq(ctl(ep, EPOLL_CTL_ADD, a, 5, EPOLLIN), 0);
    cr_assert_eq(ctl(ep, EPOLL_CTL_ADD, a, 5, EPOLLIN), -EEXIST);
    cr_assert_eq(ctl(ep, EPOLL_CTL_ADD, a, 6, EPOLLIN), 0, "another fd: another item");
    cr_assert_eq(ctl(ep, EPOLL_CTL_MOD, a, 7, EPOLLIN), -ENOENT);
    cr_assert_eq(ctl(ep, EPOLL_CTL_DEL, a, 7, 0), -ENOENT);
    cr_assert_eq(ctl(ep, EPOLL_CTL_DEL, a, 6, 0), 0);
    cr_assert_eq(ctl(ep, 99, a, 5, EPOLLIN), -EINVAL);
    cr_assert_eq(ctl(ep, EPOLL_CTL_MOD, a, 5, EPOLLIN | EPOLLEXCLUSIVE), -EINVAL);
    cr_assert_eq(ctl(ep, EPOLL_CTL_ADD, ep2, 8, EPOLLIN | EPOLLEXCLUSIVE), -EINVAL);
    cr_assert_eq(ctl(ep, EPOLL_CTL_ADD, a, 9, EPOLLIN | EPOLLEXCLUSIVE | EPOLLRDHUP),
                 -EINVAL);
    cr_assert_eq(ctl(ep, EPOLL_CTL_ADD, a, 9, EPOLLIN | EPOLLEXCLUSIVE), 0);
    cr_assert_eq(ctl(ep, EPOLL_CTL_MOD, a, 9, EPOLLIN), -EINVAL);
    file_put(plain);
    file_put(a);
    file_put(ep2);
    file_put(ep);
}

Test(epoll, readiness_reaches_the_epoll_file)
{
    struct file *ep = ep_new(), *a = fake_new(NULL);
    cr_assert_eq(ctl(ep, EPOLL_CTL_ADD, a, 3, EPOLLIN), 0);
    struct waitq *wq;
    cr_assert_eq(vfs_poll(ep, &wq), 0);
    cr_assert(wq);
    fake_set(a, POLLOUT);   /* not asked for */
    cr_assert_eq(vfs_poll(ep, NULL), 0);
    fake_set(a, POLLIN);
    cr_assert_eq(vfs_poll(ep, NULL), POLLIN | POLLRDNORM);
    fake_set(a, 0);         /* gone again: dropped from the ready list */
    cr_assert_eq(vfs_poll(ep, NULL), 0);
    fake_set(a, POLLHUP);   /* always reported */
    cr_assert_eq(vfs_poll(ep, NULL), POLLIN | POLLRDNORM);
    /* MOD to something not ready, then ready at MOD time */
    fake_set(a, 0);
    cr_assert_eq(ctl(ep, EPOLL_CTL_MOD, a, 3, EPOLLOUT), 0);
    cr_assert_eq(vfs_poll(ep, NULL), 0);
    struct fake *k = a->priv;
    k->ready = POLLOUT;     /* no wake-up: MOD itself must look */
    cr_assert_eq(ctl(ep, EPOLL_CTL_MOD, a, 3, EPOLLOUT), 0);
    cr_assert_eq(vfs_poll(ep, NULL), POLLIN | POLLRDNORM);
    /* deleted: nothing, though the file is still ready */
    cr_assert_eq(ctl(ep, EPOLL_CTL_DEL, a, 3, 0), 0);
    cr_assert_eq(vfs_poll(ep, NULL), 0);
    file_put(a);
    file_put(ep);
}

Test(epoll, nested_instances_and_loops)
{
    struct file *e[7], *a = fake_new(NULL);
    for (int i = 0; i < 7; i++)
        e[i] = ep_new();
    cr_assert_eq(ctl(e[0], EPOLL_CTL_ADD, a, 1, EPOLLIN), 0);
    /* e[i] watches e[i-1]: four levels of nesting above e[0] fit, the fifth not */
    for (int i = 1; i < 5; i++)
        cr_assert_eq(ctl(e[i], EPOLL_CTL_ADD, e[i - 1], 10 + i, EPOLLIN), 0, "level %d", i);
    cr_assert_eq(ctl(e[5], EPOLL_CTL_ADD, e[4], 15, EPOLLIN), -ELOOP);
    /* a loop */
    cr_assert_eq(ctl(e[0], EPOLL_CTL_ADD, e[2], 20, EPOLLIN), -ELOOP);
    /* readiness climbs the chain */
    cr_assert_eq(vfs_poll(e[4], NULL), 0);
    fake_set(a, POLLIN);
    cr_assert_eq(vfs_poll(e[4], NULL), POLLIN | POLLRDNORM);
    fake_set(a, 0);
    cr_assert_eq(vfs_poll(e[4], NULL), 0);
    /* dropping a middle instance (its last reference) unhooks it from both sides */
    file_put(e[2]);
    fake_set(a, POLLIN);
    cr_assert_eq(vfs_poll(e[4], NULL), 0, "e[3] no longer sees e[1]");
    cr_assert_eq(vfs_poll(e[1], NULL), POLLIN | POLLRDNORM);
    for (int i = 0; i < 7; i++)
        if (i != 2)
            file_put(e[i]);
    file_put(a);
}

Test(epoll, registration_goes_with_the_last_reference)
{
    int released = 0;
    struct file *ep = ep_new(), *a = fake_new(&released);
    cr_assert_eq(ctl(ep, EPOLL_CTL_ADD, a, 3, EPOLLIN), 0);
    file_get(a);   /* a dup */
    file_put(a);
    cr_assert_eq(released, 0);
    cr_assert_eq(ctl(ep, EPOLL_CTL_ADD, a, 3, EPOLLIN), -EEXIST, "still registered");
    fake_set(a, POLLIN);
    cr_assert_eq(vfs_poll(ep, NULL), POLLIN | POLLRDNORM);
    file_put(a);   /* the last: the item goes, then the file */
    cr_assert_eq(released, 1);
    cr_assert_eq(vfs_poll(ep, NULL), 0);
    /* and an epoll released with items left unhooks them from their files */
    struct file *b = fake_new(&released);
    cr_assert_eq(ctl(ep, EPOLL_CTL_ADD, b, 4, EPOLLIN), 0);
    file_put(ep);
    cr_assert_null(b->epitems);
    fake_set(b, POLLIN);   /* no callback into the freed instance */
    file_put(b);
    cr_assert_eq(released, 2);
}
