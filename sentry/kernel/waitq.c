/* Wait queues (see waitq.h). */
#include "sentry/kernel/waitq.h"

#include <errno.h>

#include "sentry/kernel/task.h"

void waitq_init(struct waitq *q)
{
    pthread_mutex_init(&q->mu, NULL);
    q->head = NULL;
}

void waiter_init(struct waiter *w, struct task *t, unsigned mask)
{
    w->t = t;
    w->mask = mask;
    w->woken = 0;
    w->exclusive = 0;
    w->fn = NULL;
    w->arg = NULL;
    w->next = w->prev = NULL;
}

void waitq_add(struct waitq *q, struct waiter *w)
{
    pthread_mutex_lock(&q->mu);
    w->prev = NULL;
    w->next = q->head;
    if (q->head)
        q->head->prev = w;
    q->head = w;
    pthread_mutex_unlock(&q->mu);
}

void waitq_remove(struct waitq *q, struct waiter *w)
{
    pthread_mutex_lock(&q->mu);
    if (w->prev)
        w->prev->next = w->next;
    else if (q->head == w)
        q->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->next = w->prev = NULL;
    pthread_mutex_unlock(&q->mu);
}

int waitq_active(struct waitq *q)
{
    pthread_mutex_lock(&q->mu);
    int r = q->head != NULL;
    pthread_mutex_unlock(&q->mu);
    return r;
}

void waitq_wake(struct waitq *q, unsigned events)
{
    int exclusive_taken = 0;
    pthread_mutex_lock(&q->mu);
    for (struct waiter *w = q->head; w; w = w->next) {
        if (!(w->mask & events))
            continue;
        if (w->fn) {
            if (w->exclusive && exclusive_taken)
                continue;
            if (w->fn(w, events) && w->exclusive)
                exclusive_taken = 1;
            continue;
        }
        __atomic_store_n(&w->woken, 1, __ATOMIC_SEQ_CST);
        /* the sleeper is in the Sentry (task_block), not in guest code: a condition
         * broadcast is enough, no platform interrupt */
        pthread_mutex_lock(&w->t->mu);
        pthread_cond_broadcast(&w->t->cond);
        pthread_mutex_unlock(&w->t->mu);
    }
    pthread_mutex_unlock(&q->mu);
}

static int is_woken(void *arg)
{
    return __atomic_load_n(&((struct waiter *)arg)->woken, __ATOMIC_SEQ_CST);
}

int waiter_sleep(struct waiter *w, const struct timespec *deadline)
{
    return task_block(w->t, CLOCK_MONOTONIC, deadline, is_woken, w);
}
