/* Wait queues: where tasks sleep until an object (a pipe, an eventfd, a socket)
 * changes state. A waiter is registered before the sleeper re-checks the condition,
 * so a wake-up between the check and the sleep is never lost.
 *
 * Pattern:
 *     struct waiter w;
 *     for (;;) {
 *         lock object; if (ready) { ...; unlock; break; }
 *         waiter_init(&w, t, POLLIN); waitq_add(&obj->wq, &w); unlock object;
 *         int r = waiter_sleep(&w, NULL);   // 0 woken, -EINTR, -ETIMEDOUT
 *         waitq_remove(&obj->wq, &w);
 *         if (r < 0) return r == -EINTR ? -ERESTARTSYS : r;
 *     }
 *
 * Lock order: object locks → waitq.mu → task->mu. */
#ifndef SENTRY_KERNEL_WAITQ_H
#define SENTRY_KERNEL_WAITQ_H

#include <pthread.h>
#include <time.h>

struct task;
struct waiter;

/* A callback waiter (epoll, poll tables) runs fn under waitq.mu instead of waking a
 * task. It returns nonzero if it counts as a wake-up for exclusive waking (below). */
typedef int (*waiter_fn)(struct waiter *w, unsigned events);

struct waiter {
    struct task *t;                /* the sleeper (NULL for callback waiters) */
    unsigned mask;                 /* POLL* events of interest */
    int woken;                     /* atomic */
    int exclusive;                 /* one wake-up goes to at most one exclusive
                                    * callback waiter that takes it (EPOLLEXCLUSIVE);
                                    * the others are all woken */
    waiter_fn fn;                  /* optional */
    void *arg;                     /* for fn */
    struct waiter *next, *prev;    /* waitq.mu */
};

struct waitq {
    pthread_mutex_t mu;
    struct waiter *head;
};

void waitq_init(struct waitq *q);
void waiter_init(struct waiter *w, struct task *t, unsigned mask);
void waitq_add(struct waitq *q, struct waiter *w);
void waitq_remove(struct waitq *q, struct waiter *w);
/* waitq_active: whether anyone waits on q now (a snapshot). */
int waitq_active(struct waitq *q);
/* waitq_wake: wakes the waiters interested in any of events (of the exclusive ones,
 * only up to the first whose fn takes the wake-up). */
void waitq_wake(struct waitq *q, unsigned events);
/* waiter_sleep: blocks w->t until woken (0), a signal or exit (-EINTR), or the
 * CLOCK_MONOTONIC deadline (-ETIMEDOUT). */
int waiter_sleep(struct waiter *w, const struct timespec *deadline);

#endif
