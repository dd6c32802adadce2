/* Kernel timers: one Sentry thread sleeps until the earliest armed timer expires and
 * runs its callback. A timer counts on CLOCK_MONOTONIC, or on a CPU clock (a thread's
 * or a process's CPU time, cputime.h). Used by the interval timers and alarm, POSIX
 * timers and timerfds; the wall clocks (REALTIME, BOOTTIME, TAI) are converted to
 * CLOCK_MONOTONIC when a timer is set (ktimer_wall_to_mono). */
#ifndef SENTRY_KERNEL_TIMER_H
#define SENTRY_KERNEL_TIMER_H

#include <stdint.h>

/* What a CPU clock measures (Linux's CPUCLOCK_* values). */
#define CPUCLOCK_PROF  0   /* user + system time */
#define CPUCLOCK_VIRT  1   /* user time */
#define CPUCLOCK_SCHED 2   /* user + system time (Linux's precise runtime; ours is PROF) */

/* A CPU clock: of one thread (per_thread, id a tid) or of a process (id a tgid). The
 * target is looked up by id each time the clock is read: a timer on a thread or process
 * that has gone simply stops. */
struct cpuclock {
    int which;       /* CPUCLOCK_* */
    int per_thread;
    int id;
};

struct ktimer {
    uint64_t expires;              /* ns on the timer's clock; 0: disarmed (timer lock) */
    uint64_t interval;             /* ns; 0: one-shot (timer lock) */
    int on_cpu;                    /* counts on cpu instead of CLOCK_MONOTONIC (timer
                                    * lock; ktimer_set_cpu) */
    struct cpuclock cpu;           /* the clock when on_cpu (timer lock) */
    uint64_t check;                /* on_cpu: CLOCK_MONOTONIC ns of the next look at
                                    * the CPU clock (timer lock) */
    void (*fire)(struct ktimer *k, uint64_t count);
                                   /* runs on the timer thread with the timer lock held
                                    * (order: timer lock, then g_kernel.mu); count is
                                    * the expirations since the last call (>1 when the
                                    * thread was late or a CPU timer overran) */
    int linked;                    /* in the armed list (timer lock) */
    struct ktimer *next;           /* (timer lock) */
};

/* ktimer_now: CLOCK_MONOTONIC in ns. */
uint64_t ktimer_now(void);

/* ktimer_clock_ns: now on host clock id (CLOCK_REALTIME, MONOTONIC, BOOTTIME, TAI)
 * in ns. */
uint64_t ktimer_clock_ns(int clockid);

/* ktimer_wall_to_mono: the CLOCK_MONOTONIC ns at which wall clock id reads abs (ns);
 * a time already past gives now, so an absolute timer in the past fires at once. */
uint64_t ktimer_wall_to_mono(int clockid, uint64_t abs);

/* ktimer_set: arms k to expire after value ns on its clock (at value itself if abs; 0:
 * disarm) and then every interval ns; returns through *old_left / *old_interval (may
 * be NULL) what was left of the previous setting. Once it returns, no callback of the
 * previous setting is running. 0, or -EINVAL if k counts on a CPU clock whose thread
 * or process has gone (k is then disarmed). Never call with g_kernel.mu held. */
int ktimer_set(struct ktimer *k, uint64_t value, int abs, uint64_t interval,
               uint64_t *old_left, uint64_t *old_interval);

/* ktimer_set_cpu: makes k count on CPU clock c (NULL: CLOCK_MONOTONIC) from its next
 * ktimer_set on; disarms it. */
void ktimer_set_cpu(struct ktimer *k, const struct cpuclock *c);

/* ktimer_get: what is left of k and its interval (0, 0 when disarmed). Never call with
 * g_kernel.mu held. */
void ktimer_get(struct ktimer *k, uint64_t *left, uint64_t *interval);

#endif
