/* Resource use: getrusage and times, from the CPU accounting of
 * sentry/kernel/cputime.h. */
#include "sentry/syscalls/rusage.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"

#define NS_PER_TICK NS_PER_USER_HZ

/* The guest's struct rusage. */
struct guest_rusage {
    int64_t utime_sec, utime_usec, stime_sec, stime_usec;
    int64_t maxrss, ixrss, idrss, isrss, minflt, majflt, nswap, inblock, oublock,
            msgsnd, msgrcv, nsignals, nvcsw, nivcsw;
};
_Static_assert(sizeof(struct guest_rusage) == 144, "rusage ABI");

int copy_rusage_out(struct task *t, uint64_t addr, const struct rusage_acct *u)
{
    struct guest_rusage g;
    memset(&g, 0, sizeof(g));
    uint64_t us = u->cpu.utime / 1000, ss = u->cpu.stime / 1000;
    g.utime_sec = (int64_t)(us / 1000000);
    g.utime_usec = (int64_t)(us % 1000000);
    g.stime_sec = (int64_t)(ss / 1000000);
    g.stime_usec = (int64_t)(ss % 1000000);
    g.maxrss = (int64_t)(u->maxrss / 1024);
    g.minflt = (int64_t)u->min_flt;
    g.nvcsw = (int64_t)u->nvcsw;
    return mm_copy_out(t->mm, addr, &g, sizeof(g), 0) < 0 ? -EFAULT : 0;
}

/* usage: what getrusage(who) reports for t. 0 or -EINVAL. */
static int usage(struct task *t, int who, struct rusage_acct *u)
{
    uint64_t rss;
    switch (who) {
    case RUSAGE_SELF:
        rss = mm_rss(t->mm);
        pthread_mutex_lock(&g_kernel.mu);
        cputime_usage_group(t->tg, u);
        pthread_mutex_unlock(&g_kernel.mu);
        if (rss > u->maxrss)
            u->maxrss = rss;
        return 0;
    case RUSAGE_THREAD:
        cputime_usage_thread(t, u);
        u->maxrss = mm_rss(t->mm);
        return 0;
    case RUSAGE_CHILDREN:
        pthread_mutex_lock(&g_kernel.mu);
        *u = t->tg->used_children;
        pthread_mutex_unlock(&g_kernel.mu);
        return 0;
    default:
        return -EINVAL;
    }
}

long sys_getrusage(struct task *t, const struct syscall_args *a)
{
    struct rusage_acct u;
    int r = usage(t, arg_int(a, 0), &u);
    if (r < 0)
        return r;
    return copy_rusage_out(t, arg_u64(a, 1), &u);
}

long sys_times(struct task *t, const struct syscall_args *a)
{
    uint64_t ubuf = arg_u64(a, 0);
    if (ubuf) {
        struct cpu_times self, kids;
        pthread_mutex_lock(&g_kernel.mu);
        cputime_group(t->tg, &self);
        kids = t->tg->used_children.cpu;
        pthread_mutex_unlock(&g_kernel.mu);
        int64_t tms[4] = { (int64_t)(self.utime / NS_PER_TICK),
                           (int64_t)(self.stime / NS_PER_TICK),
                           (int64_t)(kids.utime / NS_PER_TICK),
                           (int64_t)(kids.stime / NS_PER_TICK) };
        if (mm_copy_out(t->mm, ubuf, tms, sizeof(tms), 0) < 0)
            return -EFAULT;
    }
    /* ticks since the sandbox booted: only differences mean anything */
    struct timespec now;
    clock_gettime(CLOCK_BOOTTIME, &now);
    int64_t ns = (now.tv_sec - g_kernel.boot_time.tv_sec) * 1000000000LL +
                 (now.tv_nsec - g_kernel.boot_time.tv_nsec);
    return (long)(ns / (int64_t)NS_PER_TICK);
}
