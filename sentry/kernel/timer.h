/* Kernel timers: one Sentry thread sleeps until the earliest armed timer expires and
 * runs its callback. Used for ITIMER_REAL/alarm; POSIX timers will share it. */
#ifndef SENTRY_KERNEL_TIMER_H
#define SENTRY_KERNEL_TIMER_H

#include <stdint.h>

struct ktimer {
    uint64_t expires;              /* CLOCK_MONOTONIC ns; 0: disarmed (timer lock) */
    uint64_t interval;             /* ns; 0: one-shot (timer lock) */
    void (*fire)(struct ktimer *); /* runs on the timer thread with the timer lock
                                    * held (order: timer lock, then g_kernel.mu) */
    struct ktimer *next;           /* in the armed list (timer lock) */
};

/* ktimer_now: CLOCK_MONOTONIC in ns. */
uint64_t ktimer_now(void);
/* ktimer_set: arms k to expire at `expires` (0: disarm) and then every interval ns;
 * returns through *old_left / *old_interval what was left of the previous setting. */
void ktimer_set(struct ktimer *k, uint64_t expires, uint64_t interval,
                uint64_t *old_left, uint64_t *old_interval);
/* ktimer_get: what is left of k and its interval (0, 0 when disarmed). */
void ktimer_get(struct ktimer *k, uint64_t *left, uint64_t *interval);

#endif
