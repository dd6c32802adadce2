/* sigpending: Linux's queueing rules for standard and real-time signals, the
 * per-user limit, and which instances a process-directed take finds. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "sentry/kernel/sigqueue.h"

static siginfo_t info(int sig, int code, int value)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    si.si_signo = sig;
    si.si_code = code;
    si.si_value.sival_int = value;
    return si;
}

static int add(struct sigpending *p, int sig, int code, int value, unsigned flags,
               uint64_t limit)
{
    siginfo_t si = info(sig, code, value);
    return sigpending_add(p, sig, &si, flags, 777, limit);
}

Test(sigqueue, standard_keeps_one_realtime_queues_fifo)
{
    struct sigpending p;
    memset(&p, 0, sizeof(p));
    cr_assert_eq(add(&p, SIGUSR1, SI_QUEUE, 1, 0, 100), 1);
    cr_assert_eq(add(&p, SIGUSR1, SI_QUEUE, 2, 0, 100), 0);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(add(&p, 40, SI_QUEUE, 10 + i, 0, 100), 1);
    cr_assert_eq(sigqueue_user_count(777), 4);
    siginfo_t si;
    unsigned fl;
    cr_assert(sigpending_take(&p, SIGUSR1, 0, &si, &fl));
    cr_assert_eq(si.si_value.sival_int, 1);
    cr_assert(!sigpending_take(&p, SIGUSR1, 0, &si, &fl));
    for (int i = 0; i < 3; i++) {
        cr_assert(p.mask & (1ULL << 39));
        cr_assert(sigpending_take(&p, 40, 0, &si, &fl));
        cr_assert_eq(si.si_value.sival_int, 10 + i);
    }
    cr_assert_eq(p.mask, 0);
    cr_assert_eq(sigqueue_user_count(777), 0);
}

Test(sigqueue, limit)
{
    struct sigpending p;
    memset(&p, 0, sizeof(p));
    cr_assert_eq(add(&p, 40, SI_QUEUE, 1, 0, 2), 1);
    cr_assert_eq(add(&p, 40, SI_QUEUE, 2, 0, 2), 1);
    cr_assert_eq(add(&p, 40, SI_QUEUE, 3, 0, 2), -EAGAIN);
    cr_assert_eq(add(&p, 40, SI_TKILL, 3, 0, 2), -EAGAIN);
    cr_assert_eq(add(&p, 41, SI_USER, 0, 0, 2), 1);        /* kill(): bare */
    cr_assert_eq(add(&p, SIGUSR2, SI_QUEUE, 5, 0, 2), 1);  /* standard: bare */
    cr_assert_eq(add(&p, SIGHUP, SI_USER, 0, 0, 2), 1);    /* kill(): over the limit */
    cr_assert_eq(add(&p, 42, SI_TIMER, 9, SQ_TIMER, 2), 1);
    cr_assert_eq(sigqueue_user_count(777), 3);
    siginfo_t si;
    unsigned fl;
    cr_assert(sigpending_take(&p, 41, 0, &si, &fl));
    cr_assert_eq(si.si_code, SI_USER);
    cr_assert(sigpending_take(&p, SIGUSR2, 0, &si, &fl));
    cr_assert_eq(si.si_code, SI_USER);
    cr_assert_eq(si.si_value.sival_int, 0);
    cr_assert(sigpending_take(&p, 42, 0, &si, &fl));
    cr_assert_eq(fl, SQ_TIMER);
    sigpending_clear(&p);
    cr_assert_eq(p.mask, 0);
    cr_assert_eq(sigqueue_user_count(777), 0);
}

Test(sigqueue, shared_instances)
{
    struct sigpending p;
    memset(&p, 0, sizeof(p));
    add(&p, 40, SI_QUEUE, 1, 0, 100);
    add(&p, 40, SI_QUEUE, 2, SQ_SHARED, 100);
    add(&p, 40, SI_QUEUE, 3, 0, 100);
    cr_assert(p.shared & (1ULL << 39));
    cr_assert(sigpending_private(&p) & (1ULL << 39));
    siginfo_t si;
    unsigned fl;
    cr_assert(sigpending_take(&p, 40, 1, &si, &fl));
    cr_assert_eq(si.si_value.sival_int, 2);
    cr_assert_eq(fl, SQ_SHARED);
    cr_assert(!(p.shared & (1ULL << 39)));
    cr_assert(!sigpending_take(&p, 40, 1, &si, &fl));
    cr_assert(sigpending_take(&p, 40, 0, &si, &fl));
    cr_assert_eq(si.si_value.sival_int, 1);
    /* a standard process-directed signal: not private */
    add(&p, SIGUSR1, SI_USER, 0, SQ_SHARED, 100);
    cr_assert(!(sigpending_private(&p) & (1ULL << (SIGUSR1 - 1))));
    sigpending_clear(&p);
    cr_assert_eq(sigqueue_user_count(777), 0);
}
