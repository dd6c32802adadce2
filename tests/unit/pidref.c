/* Process handles (sentry/kernel/pidref.c): what a pidfd's poll reports as its
 * process runs, exits and is reaped, the wake-up pollers get, and the references. */
#include <criterion/criterion.h>
#include <poll.h>
#include <string.h>

#include "sentry/kernel/pidref.h"
#include "sentry/kernel/task.h"

static unsigned g_woken;

static int on_wake(struct waiter *w, unsigned events)
{
    (void)w;
    g_woken |= events;
    return 1;
}

Test(pidref, poll_follows_the_process)
{
    static struct thread_group tg;
    memset(&tg, 0, sizeof(tg));
    tg.tgid = 42;
    struct pidref *r = pidref_of(&tg);          /* the caller's reference, like a pidfd */
    cr_assert_not_null(r);
    cr_assert_eq(tg.pidref, r);
    cr_assert_eq(r->refs, 2);                   /* the caller's and tg's */
    cr_assert_eq(r->tgid, 42);
    cr_assert_eq(pidref_of(&tg), r);            /* one handle per process */
    pidref_put(r);

    struct waitq *wq = NULL;
    cr_assert_eq(pidref_poll(r, &wq), 0);       /* running */
    cr_assert_eq(wq, &r->wq);
    struct waiter w;
    waiter_init(&w, NULL, POLLIN);
    w.fn = on_wake;
    waitq_add(wq, &w);

    tg.zombie = 1;
    pidref_exited(&tg);
    cr_assert(g_woken & POLLIN);
    cr_assert_eq(pidref_poll(r, NULL), POLLIN | POLLRDNORM);

    pidref_reaped(&tg);
    cr_assert_null(tg.pidref);
    cr_assert_null(r->tg);
    cr_assert_eq(r->refs, 1);                   /* only the caller's is left */
    cr_assert_eq(pidref_poll(r, NULL), POLLIN | POLLRDNORM | POLLHUP);
    waitq_remove(wq, &w);
    pidref_put(r);
}

Test(pidref, attach_to_a_zombie_is_exited)
{
    static struct thread_group tg;
    memset(&tg, 0, sizeof(tg));
    tg.tgid = 7;
    tg.zombie = 1;
    struct pidref *r = pidref_new();
    cr_assert_not_null(r);
    cr_assert_eq(pidref_poll(r, NULL), 0);      /* not attached yet: running */
    pidref_attach(r, &tg);
    cr_assert_eq(pidref_poll(r, NULL), POLLIN | POLLRDNORM);
    pidref_reaped(&tg);
    pidref_put(r);
}
