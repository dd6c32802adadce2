/* Kernel timers. See timer.h. The armed list is short (a few per process), so it is
 * a plain list; the thread starts with the first timer armed.
 *
 * CPU-clock timers: CPU time only advances while a thread runs, and a thread's clock
 * can never advance faster than the wall clock (a process's no faster than its live
 * threads together). So the thread looks at a CPU timer's clock when it could first
 * have expired - after (expires - now) / threads of wall time - and again after the
 * new bound if it has not: a busy target is caught within a step, an idle one costs a
 * wake-up per bound. */
#include "sentry/kernel/timer.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "sentry/kernel/cputime.h"

/* The shortest wait between two looks at a CPU clock. */
#define CPU_CHECK_MIN_NS 500000ULL

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond;
static struct ktimer *g_armed;     /* g_mu */
static int g_started;              /* g_mu */

uint64_t ktimer_now(void)
{
    return ktimer_clock_ns(CLOCK_MONOTONIC);
}

uint64_t ktimer_clock_ns(int clockid)
{
    struct timespec ts;
    clock_gettime(clockid, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t ktimer_wall_to_mono(int clockid, uint64_t abs)
{
    uint64_t mono = ktimer_now();
    if (clockid == CLOCK_MONOTONIC)
        return abs > mono ? abs : mono;
    uint64_t wall = ktimer_clock_ns(clockid);
    return abs > wall ? mono + (abs - wall) : mono;
}

static void link_timer(struct ktimer *k)
{
    k->next = g_armed;
    g_armed = k;
    k->linked = 1;
}

static void unlink_timer(struct ktimer *k)
{
    for (struct ktimer **pp = &g_armed; *pp; pp = &(*pp)->next) {
        if (*pp == k) {
            *pp = k->next;
            break;
        }
    }
    k->next = NULL;
    k->linked = 0;
}

/* clock_now: now on k's clock, and through *nthreads how many threads advance it
 * (1 for CLOCK_MONOTONIC). -EINVAL if a CPU clock's target has gone. */
static int clock_now(struct ktimer *k, uint64_t *now, int *nthreads)
{
    *nthreads = 1;
    if (!k->on_cpu) {
        *now = ktimer_now();
        return 0;
    }
    return cpuclock_read(&k->cpu, now, nthreads);
}

/* next_check: when to look at CPU timer k again, its clock reading cnow. g_mu held. */
static void next_check(struct ktimer *k, uint64_t mono, uint64_t cnow, int nthreads)
{
    uint64_t left = k->expires > cnow ? k->expires - cnow : 0;
    uint64_t step = left / (uint64_t)(nthreads > 0 ? nthreads : 1);
    k->check = mono + (step > CPU_CHECK_MIN_NS ? step : CPU_CHECK_MIN_NS);
}

/* expire: k is due at clock reading now: advance or disarm it, then run its callback.
 * g_mu held. */
static void expire(struct ktimer *k, uint64_t now)
{
    uint64_t count = 1;
    if (k->interval) {
        count += (now - k->expires) / k->interval;
        k->expires += count * k->interval;
    } else {
        k->expires = 0;
        unlink_timer(k);
    }
    /* fired with the lock held, so once ktimer_set disarms a timer its owner may free
     * it: no callback can still be running on it */
    k->fire(k, count);
}

static void *timer_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_mu);
    for (;;) {
        uint64_t now = ktimer_now(), soonest = 0;
        struct ktimer *due = NULL;
        for (struct ktimer *k = g_armed; k; k = k->next) {
            uint64_t when = k->on_cpu ? k->check : k->expires;
            if (when <= now) {
                due = k;
                break;
            }
            if (!soonest || when < soonest)
                soonest = when;
        }
        if (due && !due->on_cpu) {
            expire(due, now);
            continue;
        }
        if (due) {
            uint64_t cnow;
            int n;
            if (clock_now(due, &cnow, &n) < 0) {
                due->expires = 0;        /* the thread or process has gone */
                unlink_timer(due);
            } else if (cnow < due->expires) {
                next_check(due, now, cnow, n);
            } else {
                expire(due, cnow);
                if (due->linked)
                    next_check(due, ktimer_now(), cnow, n);
            }
            continue;
        }
        if (!soonest) {
            pthread_cond_wait(&g_cond, &g_mu);
        } else {
            struct timespec ts = { (time_t)(soonest / 1000000000ULL),
                                   (long)(soonest % 1000000000ULL) };
            pthread_cond_timedwait(&g_cond, &g_mu, &ts);
        }
    }
    return NULL;
}

/* start: the timer thread, once. g_mu held. */
static void start(void)
{
    if (g_started)
        return;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    if (pthread_create(&th, &attr, timer_thread, NULL) == 0)
        g_started = 1;
    pthread_attr_destroy(&attr);
}

/* left_locked: what is left of k at clock reading now. g_mu held. */
static uint64_t left_locked(struct ktimer *k, uint64_t now)
{
    if (!k->expires)
        return 0;
    return k->expires > now ? k->expires - now : 1;  /* due, not yet fired */
}

void ktimer_set_cpu(struct ktimer *k, const struct cpuclock *c)
{
    pthread_mutex_lock(&g_mu);
    if (k->linked)
        unlink_timer(k);
    k->expires = k->interval = 0;
    k->on_cpu = c != NULL;
    if (c)
        k->cpu = *c;
    pthread_mutex_unlock(&g_mu);
}

void ktimer_get(struct ktimer *k, uint64_t *left, uint64_t *interval)
{
    pthread_mutex_lock(&g_mu);
    uint64_t now = 0;
    int n;
    if (k->expires && clock_now(k, &now, &n) < 0)
        now = k->expires;  /* target gone: the timer will never fire */
    *left = left_locked(k, now);
    *interval = k->interval;
    pthread_mutex_unlock(&g_mu);
}

int ktimer_set(struct ktimer *k, uint64_t value, int abs, uint64_t interval,
               uint64_t *old_left, uint64_t *old_interval)
{
    pthread_mutex_lock(&g_mu);
    uint64_t now;
    int n, ret = clock_now(k, &now, &n);
    if (old_left)
        *old_left = ret < 0 ? 0 : left_locked(k, now);
    if (old_interval)
        *old_interval = k->interval;
    if (k->linked)
        unlink_timer(k);
    k->expires = 0;
    k->interval = 0;
    if (value && ret == 0) {
        k->expires = abs ? value : now + value;
        if (!k->expires)
            k->expires = 1;  /* 0 means disarmed: absolute 0 is simply past */
        k->interval = interval;
        if (k->on_cpu)
            k->check = 0;    /* look at once: an absolute time may be past */
        start();
        link_timer(k);
        pthread_cond_signal(&g_cond);
    }
    pthread_mutex_unlock(&g_mu);
    return value ? ret : 0;
}
