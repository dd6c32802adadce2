/* Timeouts and signal masks of the waiting calls, shared by poll.c (poll, ppoll,
 * select, pselect6) and epoll.c (epoll_wait, epoll_pwait, epoll_pwait2). */
#ifndef SENTRY_SYSCALLS_POLL_H
#define SENTRY_SYSCALLS_POLL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct task;

/* When a wait ends: never, at once (a zero timeout: no sleeping at all), or at a
 * CLOCK_MONOTONIC deadline. */
enum { WAIT_FOREVER, WAIT_NOW, WAIT_UNTIL };
struct wait_end {
    int kind;
    struct timespec at;          /* WAIT_UNTIL */
};

/* wait_end_ms: a timeout in milliseconds (negative: forever), as poll and epoll_wait
 * take it. */
void wait_end_ms(struct wait_end *e, long ms);

/* wait_end_ts: a relative timeout (Linux's poll_select_set_timeout): -EINVAL unless
 * sec >= 0 and 0 <= nsec < 1e9; the deadline saturates instead of overflowing. */
int wait_end_ts(struct wait_end *e, int64_t sec, int64_t nsec);

/* wait_end_deadline: the deadline to sleep until (NULL: none). */
const struct timespec *wait_end_deadline(const struct wait_end *e);

/* wait_sigmask_in: installs the guest's sigset at addr (size bytes) as the mask for
 * the wait (signal_set_wait_mask); addr 0 keeps the mask. 0, -EINVAL (size is not 8),
 * -EFAULT. */
int wait_sigmask_in(struct task *t, uint64_t addr, size_t size);

/* signal_pending_now: a signal t does not block is pending, or t is exiting. */
int signal_pending_now(struct task *t);

#endif
