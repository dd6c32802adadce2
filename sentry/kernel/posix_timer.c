/* POSIX timers. See posix_timer.h.
 *
 * A timer is a ktimer (timer.c) on CLOCK_MONOTONIC (wall clocks; absolute times are
 * converted when the timer is set) or on a CPU clock. When it fires, its signal is
 * queued unless the previous one is still pending, in which case the expiry is only
 * counted. The signal's siginfo carries the timer's id and a cookie unique to the timer
 * (in the kernel's si_sys_private slot), so the dequeue hook finds the timer again, and
 * a signal left by a deleted timer whose id was reused is recognised as stale.
 *
 * Signal state per timer (g_mu): `seq` counts settings (timer_settime, delete);
 * `sent_seq` is the setting the pending signal stands for. A signal dequeued with
 * sent_seq != seq belongs to an old setting and is dropped, as Linux 6.13+ does. */
#include "sentry/kernel/posix_timer.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sentry/kernel/cputime.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/timer.h"

#define SIGEV_THREAD_ID_ 4       /* not in every libc's headers */
#define NBUCKETS 256
/* Linux bounds timers by RLIMIT_SIGPENDING; a fixed bound does here. */
#define MAX_TIMERS 32768

struct posix_timer {
    int id;                      /* immutable */
    int32_t cookie;              /* immutable, never 0 */
    int clockid;                 /* immutable: the clock the guest named */
    struct thread_group *tg;     /* immutable: the owner */
    struct ptimer_event ev;      /* immutable */
    struct ktimer kt;            /* setting: ops lock; firing: timer lock */
    uint64_t seq, sent_seq;      /* g_mu */
    int queued;                  /* g_mu: its signal is pending */
    int overrun;                 /* g_mu: expiries while queued */
    int overrun_last;            /* g_mu: overrun of the last signal delivered */
    struct posix_timer *next;    /* in its bucket; g_mu (and the ops lock) */
};

struct ptimer_table {
    pthread_mutex_t ops_mu;      /* serializes the process's timer calls */
    int next_id;                 /* ops_mu */
    int count;                   /* ops_mu */
    struct posix_timer *buckets[NBUCKETS];   /* changed under ops_mu and g_mu */
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int32_t g_next_cookie = 1;                /* g_mu */

/* The kernel's layout of a timer signal's siginfo fields (_sifields._timer). */
struct timer_fields {
    int32_t tid, overrun;
    uint64_t sigval;
    int32_t sys_private;
};
#define TIMER_FIELDS_OFFSET 16

static void get_fields(const siginfo_t *si, struct timer_fields *f)
{
    memcpy(f, (const char *)si + TIMER_FIELDS_OFFSET, sizeof(*f));
}

static void put_fields(siginfo_t *si, const struct timer_fields *f)
{
    memcpy((char *)si + TIMER_FIELDS_OFFSET, f, sizeof(*f));
}

/* lookup: timer id of table tb, or NULL. ops_mu or g_mu held. */
static struct posix_timer *lookup(struct ptimer_table *tb, int id)
{
    if (!tb || id < 0)
        return NULL;
    for (struct posix_timer *pt = tb->buckets[id % NBUCKETS]; pt; pt = pt->next)
        if (pt->id == id)
            return pt;
    return NULL;
}

/* unlink_timer: takes pt out of its table; bumps seq so its pending signal is stale.
 * ops_mu held. */
static void unlink_timer(struct ptimer_table *tb, struct posix_timer *pt)
{
    pthread_mutex_lock(&g_mu);
    for (struct posix_timer **pp = &tb->buckets[pt->id % NBUCKETS]; *pp;
         pp = &(*pp)->next) {
        if (*pp == pt) {
            *pp = pt->next;
            break;
        }
    }
    pt->seq++;
    pthread_mutex_unlock(&g_mu);
    tb->count--;
}

/* table: tg's table (created on first use), or NULL when out of memory. */
static struct ptimer_table *table(struct thread_group *tg, int create)
{
    pthread_mutex_lock(&g_mu);
    struct ptimer_table *tb = tg->ptimers;
    if (!tb && create) {
        tb = calloc(1, sizeof(*tb));
        if (tb) {
            pthread_mutex_init(&tb->ops_mu, NULL);
            tg->ptimers = tb;
        }
    }
    pthread_mutex_unlock(&g_mu);
    return tb;
}

static int add_int(int a, uint64_t b)
{
    return b >= (uint64_t)(INT_MAX - a) ? INT_MAX : a + (int)b;
}

/* fire: the timer expired count times: its signal, or a count while one is pending.
 * On the timer thread, timer lock held. */
static void fire(struct ktimer *k, uint64_t count)
{
    struct posix_timer *pt = (struct posix_timer *)((char *)k -
                                                    offsetof(struct posix_timer, kt));
    if (pt->ev.notify == SIGEV_NONE)
        return;
    pthread_mutex_lock(&g_kernel.mu);
    struct thread_group *tg = pt->tg;
    struct task *to = NULL;
    if (tg->exiting || tg->zombie)
        goto out;
    if (pt->ev.notify == SIGEV_THREAD_ID_) {
        to = kernel_find_task(pt->ev.tid);
        if (!to || to->tg != tg || to->exiting)
            goto out;   /* the thread has gone: nobody to tell */
    }
    pthread_mutex_lock(&g_mu);
    if (pt->queued) {
        /* a missed period of the setting the pending signal stands for; after a new
         * setting the pending signal stands for the new one instead */
        pt->overrun = add_int(pt->overrun, pt->sent_seq == pt->seq ? count : count - 1);
        pt->sent_seq = pt->seq;
        pthread_mutex_unlock(&g_mu);
        goto out;
    }
    pt->queued = 1;
    pt->overrun = add_int(0, count - 1);
    pt->sent_seq = pt->seq;
    pthread_mutex_unlock(&g_mu);

    siginfo_t si;
    memset(&si, 0, sizeof(si));
    si.si_signo = pt->ev.signo;
    si.si_code = SI_TIMER;
    struct timer_fields f = { .tid = pt->id, .overrun = 0, .sigval = pt->ev.value,
                              .sys_private = pt->cookie };
    put_fields(&si, &f);
    if (signal_send_timer(tg, to, pt->ev.signo, &si) != 1) {
        /* ignored (or no memory): this expiry is lost, the next one tries again */
        pthread_mutex_lock(&g_mu);
        pt->queued = 0;
        pt->overrun = 0;
        pthread_mutex_unlock(&g_mu);
    }
out:
    pthread_mutex_unlock(&g_kernel.mu);
}

/* check_clock: how a timer on clockid counts: *cpu set and 1 for a CPU clock, 0 for a
 * wall clock, or -errno. */
static int check_clock(struct task *t, int clockid, struct cpuclock *cpu)
{
    switch (clockid) {
    case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_BOOTTIME: case CLOCK_TAI:
        return 0;
    case CLOCK_MONOTONIC_RAW: case CLOCK_REALTIME_COARSE: case CLOCK_MONOTONIC_COARSE:
    case CLOCK_REALTIME_ALARM: case CLOCK_BOOTTIME_ALARM:
        return -EOPNOTSUPP;   /* clocks without timers (alarms need a wake-up RTC) */
    }
    int r = cpuclock_decode(t, clockid, cpu);
    return r == 0 ? -EINVAL : r;
}

/* check_event: validates ev for a timer of t (good_sigevent in Linux). */
static int check_event(struct task *t, const struct ptimer_event *ev)
{
    switch (ev->notify) {
    case SIGEV_NONE:
        return 0;
    case SIGEV_THREAD_ID_: {
        pthread_mutex_lock(&g_kernel.mu);
        struct task *x = kernel_find_task(ev->tid);
        int ok = x && x->tg == t->tg && !x->exiting;
        pthread_mutex_unlock(&g_kernel.mu);
        if (!ok)
            return -EINVAL;
    }
        /* fall through */
    case SIGEV_SIGNAL:
    case SIGEV_THREAD:
        return ev->signo >= 1 && ev->signo <= GUEST_NSIG ? 0 : -EINVAL;
    default:
        return -EINVAL;
    }
}

int ptimer_create(struct task *t, int clockid, const struct ptimer_event *ev, int *id)
{
    struct cpuclock cpu;
    int on_cpu = check_clock(t, clockid, &cpu);
    if (on_cpu < 0)
        return on_cpu;
    if (ev && check_event(t, ev) < 0)
        return -EINVAL;
    struct ptimer_table *tb = table(t->tg, 1);
    struct posix_timer *pt = calloc(1, sizeof(*pt));
    if (!tb || !pt) {
        free(pt);
        return -ENOMEM;
    }
    pt->clockid = clockid;
    pt->tg = t->tg;
    pt->kt.fire = fire;
    if (on_cpu)
        ktimer_set_cpu(&pt->kt, &cpu);

    pthread_mutex_lock(&tb->ops_mu);
    if (tb->count >= MAX_TIMERS) {
        pthread_mutex_unlock(&tb->ops_mu);
        free(pt);
        return -EAGAIN;
    }
    /* ids go up from 0 per process, skipping those in use, as Linux hands them out */
    while (lookup(tb, tb->next_id))
        tb->next_id = tb->next_id == INT_MAX ? 0 : tb->next_id + 1;
    pt->id = tb->next_id;
    tb->next_id = tb->next_id == INT_MAX ? 0 : tb->next_id + 1;
    if (ev) {
        pt->ev = *ev;
    } else {
        pt->ev.notify = SIGEV_SIGNAL;
        pt->ev.signo = SIGALRM;
        pt->ev.value = (uint64_t)pt->id;
    }
    pthread_mutex_lock(&g_mu);
    pt->cookie = g_next_cookie;
    g_next_cookie = g_next_cookie == INT32_MAX ? 1 : g_next_cookie + 1;
    pt->next = tb->buckets[pt->id % NBUCKETS];
    tb->buckets[pt->id % NBUCKETS] = pt;
    pthread_mutex_unlock(&g_mu);
    tb->count++;
    *id = pt->id;
    pthread_mutex_unlock(&tb->ops_mu);
    return 0;
}

int ptimer_set(struct task *t, int id, int abs, uint64_t value, uint64_t interval,
               uint64_t *old_value, uint64_t *old_interval)
{
    struct ptimer_table *tb = table(t->tg, 0);
    if (!tb)
        return -EINVAL;
    pthread_mutex_lock(&tb->ops_mu);
    struct posix_timer *pt = lookup(tb, id);
    if (!pt) {
        pthread_mutex_unlock(&tb->ops_mu);
        return -EINVAL;
    }
    /* disarm first: no expiry of the old setting can come after the new one starts */
    ktimer_set(&pt->kt, 0, 0, 0, old_value, old_interval);
    pthread_mutex_lock(&g_mu);
    pt->seq++;
    pt->overrun = 0;
    pt->overrun_last = 0;
    pthread_mutex_unlock(&g_mu);
    if (value) {
        if (abs && !pt->kt.on_cpu)
            value = ktimer_wall_to_mono(pt->clockid, value);
        ktimer_set(&pt->kt, value, abs, interval, NULL, NULL);
    }
    pthread_mutex_unlock(&tb->ops_mu);
    return 0;
}

int ptimer_get(struct task *t, int id, uint64_t *value, uint64_t *interval)
{
    struct ptimer_table *tb = table(t->tg, 0);
    if (!tb)
        return -EINVAL;
    pthread_mutex_lock(&tb->ops_mu);
    struct posix_timer *pt = lookup(tb, id);
    if (pt)
        ktimer_get(&pt->kt, value, interval);
    pthread_mutex_unlock(&tb->ops_mu);
    return pt ? 0 : -EINVAL;
}

int ptimer_overrun(struct task *t, int id)
{
    struct ptimer_table *tb = table(t->tg, 0);
    if (!tb)
        return -EINVAL;
    pthread_mutex_lock(&tb->ops_mu);
    struct posix_timer *pt = lookup(tb, id);
    int r = -EINVAL;
    if (pt) {
        pthread_mutex_lock(&g_mu);
        r = pt->overrun_last;
        pthread_mutex_unlock(&g_mu);
    }
    pthread_mutex_unlock(&tb->ops_mu);
    return r;
}

int ptimer_delete(struct task *t, int id)
{
    struct ptimer_table *tb = table(t->tg, 0);
    if (!tb)
        return -EINVAL;
    pthread_mutex_lock(&tb->ops_mu);
    struct posix_timer *pt = lookup(tb, id);
    if (pt) {
        unlink_timer(tb, pt);
        ktimer_set(&pt->kt, 0, 0, 0, NULL, NULL);   /* after this no callback runs */
    }
    pthread_mutex_unlock(&tb->ops_mu);
    free(pt);
    return pt ? 0 : -EINVAL;
}

void ptimer_exit(struct thread_group *tg, int at_exit)
{
    struct ptimer_table *tb = table(tg, 0);
    if (!tb)
        return;
    pthread_mutex_lock(&tb->ops_mu);
    for (int b = 0; b < NBUCKETS; b++) {
        while (tb->buckets[b]) {
            struct posix_timer *pt = tb->buckets[b];
            unlink_timer(tb, pt);
            ktimer_set(&pt->kt, 0, 0, 0, NULL, NULL);
            free(pt);
        }
    }
    tb->next_id = 0;   /* a new program starts counting again */
    pthread_mutex_unlock(&tb->ops_mu);
    if (at_exit) {
        pthread_mutex_lock(&g_mu);
        tg->ptimers = NULL;
        pthread_mutex_unlock(&g_mu);
        pthread_mutex_destroy(&tb->ops_mu);
        free(tb);
    }
}

int ptimer_signal_dequeued(struct thread_group *tg, siginfo_t *info)
{
    struct timer_fields f;
    get_fields(info, &f);
    if (!f.sys_private)
        return 1;   /* sent by rt_sigqueueinfo with SI_TIMER: an ordinary signal */
    int deliver = 0;
    pthread_mutex_lock(&g_mu);
    struct posix_timer *pt = lookup(tg->ptimers, f.tid);
    if (pt && pt->cookie == f.sys_private && pt->queued) {
        pt->queued = 0;
        if (pt->sent_seq == pt->seq) {
            deliver = 1;
            pt->overrun_last = pt->overrun;
            pt->overrun = 0;
            f.overrun = pt->overrun_last;
        }
    }
    pthread_mutex_unlock(&g_mu);
    f.sys_private = 0;   /* the guest sees 0 there, as from Linux */
    put_fields(info, &f);
    return deliver;
}

void ptimer_siginfo_from_user(siginfo_t *si)
{
    struct timer_fields f;
    get_fields(si, &f);
    f.sys_private = 0;
    put_fields(si, &f);
}
