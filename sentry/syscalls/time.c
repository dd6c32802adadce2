/* Clocks, sleeping and interval timers. Wall time is the host's (the Sentry reads its
 * own clock); CPU clocks are the Sentry's accounting (sentry/kernel/cputime.h).
 * Sleeping blocks the task in task_sleep_until so that signals can interrupt it. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "lib/err.h"
#include "lib/util.h"
#include "sentry/kernel/cputime.h"
#include "sentry/kernel/itimer.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/timer.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/timespec.h"

/* The shortest wait between two looks at a CPU clock in clock_nanosleep. */
#define CPU_SLEEP_STEP_MIN_NS 500000ULL

/* read_clock: the sandbox's value of clock id (wall clocks are the host's; CPU clocks
 * are the Sentry's accounting, cputime.h). 0 or -EINVAL. */
static int read_clock(struct task *t, int id, struct timespec *ts)
{
    switch (id) {
    case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_MONOTONIC_RAW:
    case CLOCK_REALTIME_COARSE: case CLOCK_MONOTONIC_COARSE: case CLOCK_BOOTTIME:
    case CLOCK_TAI:
        clock_gettime(id, ts);
        return 0;
    }
    uint64_t ns;
    if (id == CLOCK_THREAD_CPUTIME_ID) {
        struct cpu_times ct;
        cputime_thread(t, &ct);   /* its own: no lookup, no lock */
        ns = ct.utime + ct.stime;
    } else {
        struct cpuclock c;
        if (cpuclock_decode(t, id, &c) <= 0 || cpuclock_read(&c, &ns, NULL) < 0)
            return -EINVAL;
    }
    ts->tv_sec = (time_t)(ns / NSEC_PER_SEC);
    ts->tv_nsec = (long)(ns % NSEC_PER_SEC);
    return 0;
}

long sys_clock_gettime(struct task *t, const struct syscall_args *a)
{
    struct timespec ts;
    int r = read_clock(t, arg_int(a, 0), &ts);
    if (r < 0)
        return r;
    return mm_copy_out(t->mm, arg_u64(a, 1), &ts, sizeof(ts), 0);
}

long sys_clock_getres(struct task *t, const struct syscall_args *a)
{
    int id = arg_int(a, 0);
    struct timespec ts;
    if (read_clock(t, id, &ts) < 0)
        return -EINVAL;
    if (id < 0 || id == CLOCK_PROCESS_CPUTIME_ID || id == CLOCK_THREAD_CPUTIME_ID) {
        ts.tv_sec = 0;
        ts.tv_nsec = 1;   /* the accounting counts nanoseconds */
    } else {
        clock_getres(id, &ts);
    }
    if (!arg_u64(a, 1))
        return 0;
    return mm_copy_out(t->mm, arg_u64(a, 1), &ts, sizeof(ts), 0);
}

long sys_gettimeofday(struct task *t, const struct syscall_args *a)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (arg_u64(a, 0)) {
        struct { int64_t sec, usec; } tv = { ts.tv_sec, ts.tv_nsec / 1000 };
        if (mm_copy_out(t->mm, arg_u64(a, 0), &tv, sizeof(tv), 0) < 0)
            return -EFAULT;
    }
    if (arg_u64(a, 1)) {
        int32_t tz[2] = { 0, 0 };  /* UTC, no DST: what Linux reports by default */
        if (mm_copy_out(t->mm, arg_u64(a, 1), tz, sizeof(tz), 0) < 0)
            return -EFAULT;
    }
    return 0;
}

long sys_time(struct task *t, const struct syscall_args *a)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = ts.tv_sec;
    if (arg_u64(a, 0) && mm_copy_out(t->mm, arg_u64(a, 0), &now, 8, 0) < 0)
        return -EFAULT;
    return now;
}

/* copy_timespec_in: reads and validates a guest timespec. */
static int copy_timespec_in(struct task *t, uint64_t addr, struct timespec *ts)
{
    struct guest_timespec g;
    if (mm_copy_in(t->mm, &g, addr, sizeof(g)) < 0)
        return -EFAULT;
    if (!ts_valid(&g))
        return -EINVAL;
    ts->tv_sec = g.sec;
    ts->tv_nsec = g.nsec;
    return 0;
}

/* copy_rem_out: the time left of an interrupted relative sleep. */
static int copy_rem_out(struct task *t, uint64_t rem_addr, int64_t left)
{
    struct guest_timespec g = ns_to_ts(left > 0 ? (uint64_t)left : 0);
    return mm_copy_out(t->mm, rem_addr, &g, sizeof(g), 0) < 0 ? -EFAULT : 0;
}

/* sleep_common: sleeps on wall clock id until the relative or absolute time req. An
 * interrupted absolute sleep restarts unless a handler runs (ERESTARTNOHAND, as
 * Linux); a relative one returns EINTR with the time left. */
static long sleep_common(struct task *t, int id, int abs, const struct timespec *req,
                         uint64_t rem_addr)
{
    struct timespec deadline;
    if (abs) {
        deadline = *req;
    } else {
        clock_gettime(id, &deadline);
        deadline.tv_sec += req->tv_sec;
        deadline.tv_nsec += req->tv_nsec;
        if (deadline.tv_nsec >= NSEC_PER_SEC) {
            deadline.tv_sec++;
            deadline.tv_nsec -= NSEC_PER_SEC;
        }
    }
    int r = task_sleep_until(t, id, &deadline);
    if (r == -EINTR && abs)
        return -ERESTARTNOHAND;
    if (r == -EINTR && rem_addr) {
        struct timespec now;
        clock_gettime(id, &now);
        int64_t left = (deadline.tv_sec - now.tv_sec) * NSEC_PER_SEC +
                       (deadline.tv_nsec - now.tv_nsec);
        if (copy_rem_out(t, rem_addr, left) < 0)
            return -EFAULT;
    }
    return r;
}

/* cpu_sleep: clock_nanosleep on CPU clock c: the task looks at the clock when it could
 * first have got there (the time left spread over the threads that advance it), as
 * the timer thread does for CPU timers. */
static long cpu_sleep(struct task *t, const struct cpuclock *c, int abs,
                      const struct timespec *req, uint64_t rem_addr)
{
    uint64_t now;
    int n;
    if (cpuclock_read(c, &now, &n) < 0)
        return -EINVAL;
    uint64_t want = (uint64_t)req->tv_sec * NSEC_PER_SEC + (uint64_t)req->tv_nsec;
    uint64_t deadline = abs ? want : now + want;
    while (now < deadline) {
        uint64_t step = (deadline - now) / (uint64_t)n;
        if (step < CPU_SLEEP_STEP_MIN_NS)
            step = CPU_SLEEP_STEP_MIN_NS;
        uint64_t wake = ktimer_now() + step;
        struct timespec mono = { (time_t)(wake / NSEC_PER_SEC),
                                 (long)(wake % NSEC_PER_SEC) };
        if (task_sleep_until(t, CLOCK_MONOTONIC, &mono) == -EINTR) {
            if (abs)
                return -ERESTARTNOHAND;
            if (rem_addr && cpuclock_read(c, &now, &n) == 0 &&
                copy_rem_out(t, rem_addr, (int64_t)(deadline - MIN(now, deadline))) < 0)
                return -EFAULT;
            return -EINTR;
        }
        if (cpuclock_read(c, &now, &n) < 0)
            return 0;   /* the thread or process has gone: its clock stopped */
    }
    return 0;
}

long sys_nanosleep(struct task *t, const struct syscall_args *a)
{
    struct timespec req;
    int r = copy_timespec_in(t, arg_u64(a, 0), &req);
    if (r < 0)
        return r;
    return sleep_common(t, CLOCK_MONOTONIC, 0, &req, arg_u64(a, 1));
}

long sys_clock_nanosleep(struct task *t, const struct syscall_args *a)
{
    int id = arg_int(a, 0);
    int abs = (arg_int(a, 1) & TIMER_ABSTIME) != 0;
    struct cpuclock c;
    int cpu = 0;
    /* Linux's order: the clock, whether it can sleep, then the time */
    switch (id) {
    case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_BOOTTIME: case CLOCK_TAI:
        break;
    case CLOCK_THREAD_CPUTIME_ID: case CLOCK_MONOTONIC_RAW: case CLOCK_REALTIME_COARSE:
    case CLOCK_MONOTONIC_COARSE: case CLOCK_REALTIME_ALARM: case CLOCK_BOOTTIME_ALARM:
        return -EOPNOTSUPP;
    default:
        cpu = cpuclock_decode(t, id, &c);
        if (cpu <= 0)
            return -EINVAL;
        break;
    }
    struct timespec req;
    int r = copy_timespec_in(t, arg_u64(a, 2), &req);
    if (r < 0)
        return r;
    if (cpu) {
        /* a thread cannot wait for its own clock (Linux posix_cpu_nsleep) */
        if (c.per_thread && c.id == t->tid)
            return -EINVAL;
        return cpu_sleep(t, &c, abs, &req, arg_u64(a, 3));
    }
    return sleep_common(t, id, abs, &req, arg_u64(a, 3));
}

/* The guest's struct itimerval. */
struct guest_itimerval { int64_t isec, iusec, vsec, vusec; };

/* tv_ns: a valid timeval in ns, clamped to KTIME_MAX_NS as Linux clamps it. */
static uint64_t tv_ns(int64_t sec, int64_t usec)
{
    struct guest_timespec ts = { sec, usec * 1000 };
    return ts_to_ns(&ts);
}

static void ns_tv(uint64_t ns, int64_t *sec, int64_t *usec)
{
    /* round up, so a running timer never reads as disarmed */
    uint64_t us = (ns + 999) / 1000;
    *sec = (int64_t)(us / 1000000);
    *usec = (int64_t)(us % 1000000);
}

long sys_setitimer(struct task *t, const struct syscall_args *a)
{
    int which = arg_int(a, 0);
    uint64_t unew = arg_u64(a, 1), uold = arg_u64(a, 2);
    if (which != ITIMER_REAL && which != ITIMER_VIRTUAL && which != ITIMER_PROF)
        return -EINVAL;
    struct guest_itimerval n = { 0, 0, 0, 0 }, old;
    if (unew && mm_copy_in(t->mm, &n, unew, sizeof(n)) < 0)
        return -EFAULT;
    if (n.iusec < 0 || n.iusec >= 1000000 || n.vusec < 0 || n.vusec >= 1000000 ||
        n.isec < 0 || n.vsec < 0)
        return -EINVAL;
    uint64_t left, ival;
    itimer_set(t, which, tv_ns(n.vsec, n.vusec), tv_ns(n.isec, n.iusec), &left, &ival);
    ns_tv(ival, &old.isec, &old.iusec);
    ns_tv(left, &old.vsec, &old.vusec);
    if (uold && mm_copy_out(t->mm, uold, &old, sizeof(old), 0) < 0)
        return -EFAULT;
    return 0;
}

long sys_getitimer(struct task *t, const struct syscall_args *a)
{
    uint64_t left, ival;
    if (itimer_get(t, arg_int(a, 0), &left, &ival) < 0)
        return -EINVAL;
    struct guest_itimerval cur;
    ns_tv(ival, &cur.isec, &cur.iusec);
    ns_tv(left, &cur.vsec, &cur.vusec);
    return mm_copy_out(t->mm, arg_u64(a, 1), &cur, sizeof(cur), 0);
}

long sys_alarm(struct task *t, const struct syscall_args *a)
{
    unsigned secs = arg_uint(a, 0);
    uint64_t left_ns, ival;
    itimer_set(t, ITIMER_REAL, (uint64_t)secs * 1000000000ULL, 0, &left_ns, &ival);
    struct guest_itimerval old;
    ns_tv(left_ns, &old.vsec, &old.vusec);
    /* alarm() rounds what was left to the nearest second, and never to 0 */
    int64_t left = old.vsec + (old.vusec >= 500000);
    if (!left && (old.vsec || old.vusec))
        left = 1;
    return left;
}
