/* Process handles (see pidref.h). */
#include "sentry/kernel/pidref.h"

#include <poll.h>
#include <stdlib.h>

#include "sentry/kernel/task.h"

struct pidref *pidref_new(void)
{
    struct pidref *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->refs = 1;
    waitq_init(&r->wq);
    return r;
}

void pidref_attach(struct pidref *r, struct thread_group *tg)
{
    __atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
    r->tg = tg;
    r->tgid = tg->tgid;
    if (tg->zombie)
        __atomic_store_n(&r->exited, 1, __ATOMIC_RELEASE);
    tg->pidref = r;
}

struct pidref *pidref_of(struct thread_group *tg)
{
    if (!tg->pidref) {
        struct pidref *r = pidref_new();
        if (!r)
            return NULL;
        pidref_attach(r, tg);
        return r;   /* the reference pidref_new made is the caller's */
    }
    __atomic_add_fetch(&tg->pidref->refs, 1, __ATOMIC_RELAXED);
    return tg->pidref;
}

void pidref_put(struct pidref *r)
{
    if (r && __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        pthread_mutex_destroy(&r->wq.mu);
        free(r);
    }
}

void pidref_exited(struct thread_group *tg)
{
    struct pidref *r = tg->pidref;
    if (!r)
        return;
    __atomic_store_n(&r->exited, 1, __ATOMIC_RELEASE);
    waitq_wake(&r->wq, POLLIN | POLLRDNORM | POLLHUP);
}

void pidref_reaped(struct thread_group *tg)
{
    struct pidref *r = tg->pidref;
    if (!r)
        return;
    tg->pidref = NULL;
    r->tg = NULL;
    __atomic_store_n(&r->exited, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&r->reaped, 1, __ATOMIC_RELEASE);
    waitq_wake(&r->wq, POLLIN | POLLRDNORM | POLLHUP);
    pidref_put(r);
}

unsigned pidref_poll(struct pidref *r, struct waitq **wq)
{
    if (wq)
        *wq = &r->wq;
    if (!__atomic_load_n(&r->exited, __ATOMIC_ACQUIRE))
        return 0;
    return POLLIN | POLLRDNORM | (__atomic_load_n(&r->reaped, __ATOMIC_ACQUIRE) ? POLLHUP : 0);
}
