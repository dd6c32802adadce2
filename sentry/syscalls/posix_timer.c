/* POSIX timer system calls: timer_create, timer_settime, timer_gettime,
 * timer_getoverrun, timer_delete. The timers themselves are sentry/kernel/posix_timer.c;
 * this file decodes the guest's structures in Linux's order of checks. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "sentry/kernel/posix_timer.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/timespec.h"

/* The guest's struct sigevent (64 bytes; the kernel reads all of it). */
struct guest_sigevent {
    uint64_t value;
    int32_t signo;
    int32_t notify;
    union {
        int32_t pad[12];
        int32_t tid;    /* SIGEV_THREAD_ID */
    } un;
};
_Static_assert(sizeof(struct guest_sigevent) == 64, "sigevent ABI");

long sys_timer_create(struct task *t, const struct syscall_args *a)
{
    int clockid = arg_int(a, 0);
    uint64_t uevent = arg_u64(a, 1), uid = arg_u64(a, 2);
    struct ptimer_event ev, *evp = NULL;
    if (uevent) {
        struct guest_sigevent g;
        if (mm_copy_in(t->mm, &g, uevent, sizeof(g)) < 0)
            return -EFAULT;
        ev.notify = g.notify;
        ev.signo = g.signo;
        ev.tid = g.un.tid;
        ev.value = g.value;
        evp = &ev;
    }
    int id;
    int r = ptimer_create(t, clockid, evp, &id);
    if (r < 0)
        return r;
    int32_t id32 = id;
    if (mm_copy_out(t->mm, uid, &id32, sizeof(id32), 0) < 0) {
        ptimer_delete(t, id);
        return -EFAULT;
    }
    return 0;
}

long sys_timer_settime(struct task *t, const struct syscall_args *a)
{
    int id = arg_int(a, 0), flags = arg_int(a, 1);
    uint64_t unew = arg_u64(a, 2), uold = arg_u64(a, 3);
    if (!unew)
        return -EINVAL;
    uint64_t value, interval, old_value, old_interval;
    int r = copy_itimerspec_in(t, unew, &value, &interval);
    if (r < 0)
        return r;
    /* flags other than TIMER_ABSTIME are ignored, as Linux does */
    r = ptimer_set(t, id, (flags & TIMER_ABSTIME) != 0, value, interval, &old_value,
                   &old_interval);
    if (r < 0)
        return r;
    if (uold)
        return copy_itimerspec_out(t, uold, old_value, old_interval);
    return 0;
}

long sys_timer_gettime(struct task *t, const struct syscall_args *a)
{
    uint64_t value, interval;
    int r = ptimer_get(t, arg_int(a, 0), &value, &interval);
    if (r < 0)
        return r;
    return copy_itimerspec_out(t, arg_u64(a, 1), value, interval);
}

long sys_timer_getoverrun(struct task *t, const struct syscall_args *a)
{
    return ptimer_overrun(t, arg_int(a, 0));
}

long sys_timer_delete(struct task *t, const struct syscall_args *a)
{
    return ptimer_delete(t, arg_int(a, 0));
}
