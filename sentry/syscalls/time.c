/* Clocks and sleeping. Time is the host's (the Sentry reads its own clock); sleeping
 * blocks the task in task_sleep_until so that signals can interrupt it. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/timer.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"

#define NSEC_PER_SEC 1000000000LL

/* read_clock: the sandbox's value of clock id. 0 or -EINVAL. */
static int read_clock(int id, struct timespec *ts)
{
    switch (id) {
    case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_MONOTONIC_RAW:
    case CLOCK_REALTIME_COARSE: case CLOCK_MONOTONIC_COARSE: case CLOCK_BOOTTIME:
    case CLOCK_TAI:
        clock_gettime(id, ts);
        return 0;
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID:
        /* the Sentry thread's own time for now; guest CPU time per task comes with
         * the processes issue */
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, ts);
        return 0;
    default:
        return -EINVAL;
    }
}

long sys_clock_gettime(struct task *t, const struct syscall_args *a)
{
    struct timespec ts;
    int r = read_clock(arg_int(a, 0), &ts);
    if (r < 0)
        return r;
    return mm_copy_out(t->mm, arg_u64(a, 1), &ts, sizeof(ts), 0);
}

long sys_clock_getres(struct task *t, const struct syscall_args *a)
{
    int id = arg_int(a, 0);
    struct timespec ts;
    if (read_clock(id, &ts) < 0)
        return -EINVAL;
    clock_getres(id == CLOCK_PROCESS_CPUTIME_ID ? CLOCK_THREAD_CPUTIME_ID : id, &ts);
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
    struct { int64_t sec, nsec; } g;
    if (mm_copy_in(t->mm, &g, addr, sizeof(g)) < 0)
        return -EFAULT;
    if (g.sec < 0 || g.nsec < 0 || g.nsec >= NSEC_PER_SEC)
        return -EINVAL;
    ts->tv_sec = g.sec;
    ts->tv_nsec = g.nsec;
    return 0;
}

/* sleep_common: sleeps on clock id until the relative or absolute time req. */
static long sleep_common(struct task *t, int id, int abs, uint64_t req_addr,
                         uint64_t rem_addr)
{
    struct timespec req, deadline;
    int r = copy_timespec_in(t, req_addr, &req);
    if (r < 0)
        return r;
    if (abs) {
        deadline = req;
    } else {
        clock_gettime(id, &deadline);
        deadline.tv_sec += req.tv_sec;
        deadline.tv_nsec += req.tv_nsec;
        if (deadline.tv_nsec >= NSEC_PER_SEC) {
            deadline.tv_sec++;
            deadline.tv_nsec -= NSEC_PER_SEC;
        }
    }
    r = task_sleep_until(t, id, &deadline);
    if (r == -EINTR && !abs && rem_addr) {
        struct timespec now;
        clock_gettime(id, &now);
        int64_t left = (deadline.tv_sec - now.tv_sec) * NSEC_PER_SEC +
                       (deadline.tv_nsec - now.tv_nsec);
        if (left < 0)
            left = 0;
        struct { int64_t sec, nsec; } g = { left / NSEC_PER_SEC, left % NSEC_PER_SEC };
        if (mm_copy_out(t->mm, rem_addr, &g, sizeof(g), 0) < 0)
            return -EFAULT;
    }
    return r;
}

long sys_nanosleep(struct task *t, const struct syscall_args *a)
{
    return sleep_common(t, CLOCK_MONOTONIC, 0, arg_u64(a, 0), arg_u64(a, 1));
}

long sys_clock_nanosleep(struct task *t, const struct syscall_args *a)
{
    int id = arg_int(a, 0);
    int flags = arg_int(a, 1);
    switch (id) {
    case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_BOOTTIME: case CLOCK_TAI:
        break;
    case CLOCK_THREAD_CPUTIME_ID:
        return -EINVAL;
    default:
        return id < 0 ? -EINVAL : -EOPNOTSUPP;
    }
    long r = sleep_common(t, id, flags & TIMER_ABSTIME, arg_u64(a, 2), arg_u64(a, 3));
    return r;
}

/* real_timer_fire: ITIMER_REAL expired: SIGALRM to the process. */
static void real_timer_fire(struct ktimer *k)
{
    struct thread_group *tg = (struct thread_group *)((char *)k -
                              offsetof(struct thread_group, real_timer));
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    si.si_signo = SIGALRM;
    si.si_code = SI_KERNEL;
    pthread_mutex_lock(&g_kernel.mu);
    if (!tg->exiting && !tg->zombie)
        signal_send_group(tg, SIGALRM, &si);
    pthread_mutex_unlock(&g_kernel.mu);
}

/* The guest's struct itimerval. */
struct guest_itimerval { int64_t isec, iusec, vsec, vusec; };

static uint64_t tv_ns(int64_t sec, int64_t usec)
{
    return (uint64_t)sec * 1000000000ULL + (uint64_t)usec * 1000ULL;
}

static void ns_tv(uint64_t ns, int64_t *sec, int64_t *usec)
{
    /* round up, so a running timer never reads as disarmed */
    uint64_t us = (ns + 999) / 1000;
    *sec = (int64_t)(us / 1000000);
    *usec = (int64_t)(us % 1000000);
}

/* set_real: arms the process's ITIMER_REAL; old values in *old. */
static void set_real(struct task *t, uint64_t value, uint64_t interval,
                     struct guest_itimerval *old)
{
    uint64_t left, ival;
    t->tg->real_timer.fire = real_timer_fire;
    ktimer_set(&t->tg->real_timer, value ? ktimer_now() + value : 0, interval, &left,
               &ival);
    if (old) {
        ns_tv(ival, &old->isec, &old->iusec);
        ns_tv(left, &old->vsec, &old->vusec);
    }
}

long sys_setitimer(struct task *t, const struct syscall_args *a)
{
    int which = arg_int(a, 0);
    uint64_t unew = arg_u64(a, 1), uold = arg_u64(a, 2);
    if (which == ITIMER_VIRTUAL || which == ITIMER_PROF)
        return -ENOSYS;  /* CPU-time timers need per-task CPU accounting */
    if (which != ITIMER_REAL)
        return -EINVAL;
    struct guest_itimerval n = { 0, 0, 0, 0 }, old;
    if (unew && mm_copy_in(t->mm, &n, unew, sizeof(n)) < 0)
        return -EFAULT;
    if (n.iusec < 0 || n.iusec >= 1000000 || n.vusec < 0 || n.vusec >= 1000000 ||
        n.isec < 0 || n.vsec < 0)
        return -EINVAL;
    set_real(t, tv_ns(n.vsec, n.vusec), tv_ns(n.isec, n.iusec), &old);
    if (uold && mm_copy_out(t->mm, uold, &old, sizeof(old), 0) < 0)
        return -EFAULT;
    return 0;
}

long sys_getitimer(struct task *t, const struct syscall_args *a)
{
    int which = arg_int(a, 0);
    if (which == ITIMER_VIRTUAL || which == ITIMER_PROF)
        return -ENOSYS;
    if (which != ITIMER_REAL)
        return -EINVAL;
    uint64_t left, ival;
    ktimer_get(&t->tg->real_timer, &left, &ival);
    struct guest_itimerval cur;
    ns_tv(ival, &cur.isec, &cur.iusec);
    ns_tv(left, &cur.vsec, &cur.vusec);
    return mm_copy_out(t->mm, arg_u64(a, 1), &cur, sizeof(cur), 0);
}

long sys_alarm(struct task *t, const struct syscall_args *a)
{
    unsigned secs = arg_uint(a, 0);
    struct guest_itimerval old;
    set_real(t, (uint64_t)secs * 1000000000ULL, 0, &old);
    /* alarm() rounds what was left to the nearest second, and never to 0 */
    int64_t left = old.vsec + (old.vusec >= 500000);
    if (!left && (old.vsec || old.vusec))
        left = 1;
    return left;
}
