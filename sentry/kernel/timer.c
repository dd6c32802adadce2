/* Kernel timers. See timer.h. The armed list is short (a few per process), so it is
 * a plain list; the thread starts with the first timer armed. */
#include "sentry/kernel/timer.h"

#include <pthread.h>
#include <time.h>

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond;
static struct ktimer *g_armed;     /* g_mu */
static int g_started;              /* g_mu */

uint64_t ktimer_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
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
}

static void *timer_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_mu);
    for (;;) {
        uint64_t now = ktimer_now(), soonest = 0;
        struct ktimer *due = NULL;
        for (struct ktimer *k = g_armed; k; k = k->next) {
            if (k->expires <= now) {
                due = k;
                break;
            }
            if (!soonest || k->expires < soonest)
                soonest = k->expires;
        }
        if (due) {
            if (due->interval) {
                /* overruns collapse into one signal, as for a pending SIGALRM */
                while (due->expires <= now)
                    due->expires += due->interval;
            } else {
                due->expires = 0;
                unlink_timer(due);
            }
            /* fired with the lock held, so once ktimer_set disarms a timer its
             * owner may free it: no callback can still be running on it */
            due->fire(due);
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

void ktimer_get(struct ktimer *k, uint64_t *left, uint64_t *interval)
{
    pthread_mutex_lock(&g_mu);
    uint64_t now = ktimer_now();
    *left = k->expires ? (k->expires > now ? k->expires - now : 1) : 0;
    *interval = k->interval;
    pthread_mutex_unlock(&g_mu);
}

void ktimer_set(struct ktimer *k, uint64_t expires, uint64_t interval,
                uint64_t *old_left, uint64_t *old_interval)
{
    pthread_mutex_lock(&g_mu);
    uint64_t now = ktimer_now();
    if (old_left)
        *old_left = k->expires ? (k->expires > now ? k->expires - now : 1) : 0;
    if (old_interval)
        *old_interval = k->interval;
    if (k->expires)
        unlink_timer(k);
    k->expires = expires;
    k->interval = expires ? interval : 0;
    if (expires) {
        start();
        k->next = g_armed;
        g_armed = k;
        pthread_cond_signal(&g_cond);
    }
    pthread_mutex_unlock(&g_mu);
}
