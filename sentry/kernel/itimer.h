/* Interval timers (setitimer(2), alarm(2)): per process, ITIMER_REAL on
 * CLOCK_MONOTONIC (SIGALRM), ITIMER_VIRTUAL on the process's user time (SIGVTALRM) and
 * ITIMER_PROF on its user + system time (SIGPROF), the CPU times of cputime.h. They
 * survive exec, are not inherited by fork, and stop at exit. */
#ifndef SENTRY_KERNEL_ITIMER_H
#define SENTRY_KERNEL_ITIMER_H

#include <stdint.h>

struct task;
struct thread_group;

/* itimer_init: sets up tg's three timers once its tgid is known. Never with
 * g_kernel.mu held. */
void itimer_init(struct thread_group *tg);

/* itimer_set: arms timer which (ITIMER_REAL, _VIRTUAL, _PROF) of t's process to
 * expire after value ns (0: disarm), then every interval ns; the previous setting in
 * *old_value and *old_interval. 0 or -EINVAL for another which. */
int itimer_set(struct task *t, int which, uint64_t value, uint64_t interval,
               uint64_t *old_value, uint64_t *old_interval);

/* itimer_get: what is left of timer which and its interval. 0 or -EINVAL. */
int itimer_get(struct task *t, int which, uint64_t *value, uint64_t *interval);

/* itimer_exit: disarms tg's timers (the process has died). */
void itimer_exit(struct thread_group *tg);

#endif
