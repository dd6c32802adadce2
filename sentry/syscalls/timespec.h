/* Guest time structures (struct timespec, struct itimerspec, struct timeval in the
 * x86-64 layout) and their conversion to nanoseconds, shared by the time, POSIX timer
 * and timerfd calls. */
#ifndef SENTRY_SYSCALLS_TIMESPEC_H
#define SENTRY_SYSCALLS_TIMESPEC_H

#include <errno.h>
#include <stdint.h>

#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"

#define NSEC_PER_SEC 1000000000LL
/* Linux's KTIME_MAX: longer times are clamped to it. */
#define KTIME_MAX_NS ((uint64_t)INT64_MAX)

struct guest_timespec { int64_t sec, nsec; };
struct guest_itimerspec { struct guest_timespec interval, value; };

/* ts_valid: Linux's timespec64_valid: sec >= 0, 0 <= nsec < 1e9. */
static inline int ts_valid(const struct guest_timespec *ts)
{
    return ts->sec >= 0 && ts->nsec >= 0 && ts->nsec < NSEC_PER_SEC;
}

/* ts_to_ns: a valid timespec in ns, clamped to KTIME_MAX_NS. */
static inline uint64_t ts_to_ns(const struct guest_timespec *ts)
{
    if ((uint64_t)ts->sec >= KTIME_MAX_NS / NSEC_PER_SEC)
        return KTIME_MAX_NS;
    return (uint64_t)ts->sec * NSEC_PER_SEC + (uint64_t)ts->nsec;
}

static inline struct guest_timespec ns_to_ts(uint64_t ns)
{
    struct guest_timespec ts = { (int64_t)(ns / NSEC_PER_SEC),
                                 (int64_t)(ns % NSEC_PER_SEC) };
    return ts;
}

/* copy_itimerspec_in: reads and validates a guest itimerspec into ns. 0, -EFAULT,
 * -EINVAL. */
static inline int copy_itimerspec_in(struct task *t, uint64_t addr, uint64_t *value,
                                     uint64_t *interval)
{
    struct guest_itimerspec its;
    if (mm_copy_in(t->mm, &its, addr, sizeof(its)) < 0)
        return -EFAULT;
    if (!ts_valid(&its.value) || !ts_valid(&its.interval))
        return -EINVAL;
    *value = ts_to_ns(&its.value);
    *interval = ts_to_ns(&its.interval);
    return 0;
}

/* copy_itimerspec_out: writes value and interval (ns) as a guest itimerspec. */
static inline int copy_itimerspec_out(struct task *t, uint64_t addr, uint64_t value,
                                      uint64_t interval)
{
    struct guest_itimerspec its = { ns_to_ts(interval), ns_to_ts(value) };
    return mm_copy_out(t->mm, addr, &its, sizeof(its), 0) < 0 ? -EFAULT : 0;
}

#endif
