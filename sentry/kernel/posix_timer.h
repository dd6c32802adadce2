/* POSIX timers (timer_create(2) and friends): per-process timers on a wall or CPU
 * clock that signal their expiry. As Linux: each timer has one signal of its own; while
 * it is pending, further expirations only count (si_overrun, timer_getoverrun), and a
 * pending signal of a timer deleted or set again since is dropped when it would be
 * dequeued. Timers are deleted at exec and exit.
 *
 * Locks: a process's timer calls are serialized by its table's ops lock, taken before
 * the timer lock (timer.c). The timers' signal state and the table's lists are under
 * one global lock, innermost: the signal code reaches it with a task's mu held. */
#ifndef SENTRY_KERNEL_POSIX_TIMER_H
#define SENTRY_KERNEL_POSIX_TIMER_H

#include <signal.h>
#include <stdint.h>

struct task;
struct thread_group;

/* A guest struct sigevent, decoded. */
struct ptimer_event {
    int notify;        /* SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD (the kernel treats it
                        * as SIGEV_SIGNAL: the libc makes the thread) or
                        * SIGEV_THREAD_ID */
    int signo;
    int tid;           /* SIGEV_THREAD_ID: the thread signalled */
    uint64_t value;    /* sigev_value, the signal's si_value */
};

/* ptimer_create: a new disarmed timer of t's process on clockid (wall: REALTIME,
 * MONOTONIC, BOOTTIME, TAI; or a CPU clock, cputime.h) notifying as ev says (NULL:
 * SIGALRM to the process with si_value the timer's id). Its id in *id. 0, -EINVAL
 * (clock, notification, signal, or a thread not in the process), -EOPNOTSUPP (a
 * clock without timers), -EAGAIN (too many timers), -ENOMEM. */
int ptimer_create(struct task *t, int clockid, const struct ptimer_event *ev, int *id);

/* ptimer_set: timer_settime: arms timer id to expire after value ns (at value on its
 * clock if abs; 0 disarms) and then every interval ns; the previous setting's time
 * left and interval in *old_value, *old_interval. 0 or -EINVAL (no such timer). */
int ptimer_set(struct task *t, int id, int abs, uint64_t value, uint64_t interval,
               uint64_t *old_value, uint64_t *old_interval);

/* ptimer_get: timer_gettime: time left and interval. 0 or -EINVAL. */
int ptimer_get(struct task *t, int id, uint64_t *value, uint64_t *interval);

/* ptimer_overrun: timer_getoverrun: the overrun count of the last signal delivered,
 * or -EINVAL. */
int ptimer_overrun(struct task *t, int id);

/* ptimer_delete: timer_delete. 0 or -EINVAL. */
int ptimer_delete(struct task *t, int id);

/* ptimer_exit: deletes every timer of tg (exec, exit); at_exit also frees the table.
 * Never with g_kernel.mu held. */
void ptimer_exit(struct thread_group *tg, int at_exit);

/* ptimer_signal_dequeued: a signal with si_code SI_TIMER leaves a pending set of a
 * thread of tg (delivered, waited for, read from a signalfd, or discarded). Returns 1
 * if it is to be delivered, with si_overrun filled in, or 0 if it must be dropped (its
 * timer was deleted or set again since it was sent). A task's mu may be held. */
int ptimer_signal_dequeued(struct thread_group *tg, siginfo_t *info);

/* ptimer_siginfo_from_user: clears in si what only the kernel may set on a timer
 * signal (rt_sigqueueinfo's siginfo, which may claim SI_TIMER). */
void ptimer_siginfo_from_user(siginfo_t *si);

#endif
