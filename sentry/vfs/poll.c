/* Readiness and poll tables (see poll.h). */
#include "sentry/vfs/poll.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "sentry/kernel/task.h"
#include "sentry/vfs/file.h"

unsigned vfs_poll(struct file *f, struct waitq **wq)
{
    if (wq)
        *wq = NULL;
    if (!f->ops || !f->ops->poll)
        return POLL_DEFAULT_MASK;
    return f->ops->poll(f, wq);
}

int vfs_can_poll(const struct file *f) { return f->ops && f->ops->poll; }

static int is_triggered(void *arg)
{
    return __atomic_load_n(&((struct poll_table *)arg)->triggered, __ATOMIC_SEQ_CST);
}

/* poll_wake: a registered queue woke (waitq.mu held): trigger the table and wake its
 * task, the way waitq_wake wakes a plain sleeper. */
static int poll_wake(struct waiter *w, unsigned events)
{
    (void)events;
    struct poll_table *pt = w->arg;
    __atomic_store_n(&pt->triggered, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&pt->t->mu);
    pthread_cond_broadcast(&pt->t->cond);
    pthread_mutex_unlock(&pt->t->mu);
    return 1;
}

void poll_table_init(struct poll_table *pt, struct task *t)
{
    pt->t = t;
    pt->triggered = 1;
    pt->err = 0;
    pt->first.next = NULL;
    pt->first.n = 0;
    pt->last = &pt->first;
}

void poll_table_add(struct poll_table *pt, struct file *f, struct waitq *wq,
                    unsigned events)
{
    struct poll_block *b = pt->last;
    if (b->n == POLL_BLOCK_ENTRIES) {
        b = malloc(sizeof(*b));
        if (!b) {
            pt->err = -ENOMEM;
            return;
        }
        b->next = NULL;
        b->n = 0;
        pt->last->next = b;
        pt->last = b;
    }
    struct poll_entry *e = &b->e[b->n++];
    file_get(f);
    e->f = f;
    e->wq = wq;
    waiter_init(&e->w, NULL, events);
    e->w.fn = poll_wake;
    e->w.arg = pt;
    waitq_add(wq, &e->w);
}

int poll_table_wait(struct poll_table *pt, const struct timespec *deadline)
{
    int r = task_block(pt->t, CLOCK_MONOTONIC, deadline, is_triggered, pt);
    __atomic_store_n(&pt->triggered, 0, __ATOMIC_SEQ_CST);
    return r;
}

void poll_table_free(struct poll_table *pt)
{
    struct poll_block *b = &pt->first;
    while (b) {
        for (int i = 0; i < b->n; i++) {
            waitq_remove(b->e[i].wq, &b->e[i].w);
            file_put(b->e[i].f);
        }
        struct poll_block *next = b->next;
        if (b != &pt->first)
            free(b);
        b = next;
    }
    pt->first.n = 0;
    pt->first.next = NULL;
    pt->last = &pt->first;
}
