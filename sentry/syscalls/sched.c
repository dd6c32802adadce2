/* Scheduling parameters and CPU affinity: nice values, policies and priorities,
 * affinity masks over the sandbox's virtual CPUs. The Sentry keeps and reports them
 * with Linux's checks (ranges, CAP_SYS_NICE, same-user rules); the host schedules
 * every guest thread as an ordinary thread whatever they say. */
#include "sentry/syscalls/sched.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>

#include "lib/util.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"

#ifndef SCHED_RESET_ON_FORK
#define SCHED_RESET_ON_FORK 0x40000000
#endif
/* Linux's SCHED_RR time slice (RR_TIMESLICE, 100 ms). */
#define RR_TIMESLICE_NS 100000000L

static int ncpus(void) { return MIN(kernel_ncpus(), SCHED_CPUS_MAX); }

void sched_init_task(struct task *t, int nice)
{
    memset(&t->sched, 0, sizeof(t->sched));
    t->sched.nice = MAX(-20, MIN(19, nice));
    t->sched.policy = SCHED_OTHER;
    for (int i = 0; i < ncpus(); i++)
        t->sched.affinity[i / 64] |= 1ULL << (i % 64);
}

/* ---- finding targets and checking rights ---- */

/* find: the task pid names (0: t itself), or NULL. g_kernel.mu held. */
static struct task *find(struct task *t, int pid)
{
    if (pid == 0)
        return t;
    struct task *x = kernel_find_task(pid);
    return x && !x->tg->zombie ? x : NULL;
}

/* may_change: Linux's check_same_owner or CAP_SYS_NICE. */
static int may_change(struct task *t, struct task *target)
{
    if (t == target || cred_capable(&t->cred, CAP_SYS_NICE))
        return 1;
    pthread_mutex_lock(&target->mu);
    int same = target->cred.ruid == t->cred.euid || target->cred.euid == t->cred.euid;
    pthread_mutex_unlock(&target->mu);
    return same;
}

/* ---- nice values ---- */

/* matches: task x is among what getpriority/setpriority's (which, who) names. */
static int matches(struct task *t, struct task *x, int which, int who)
{
    if (x->tg->zombie)
        return 0;
    switch (which) {
    case PRIO_PROCESS: return x->tid == (who ? who : t->tid);
    case PRIO_PGRP: return x->tg->pgid == (who ? who : t->tg->pgid);
    case PRIO_USER: {
        /* another task's credentials are read under its mu (cred.h) */
        pthread_mutex_lock(&x->mu);
        uint32_t ruid = x->cred.ruid;
        pthread_mutex_unlock(&x->mu);
        return ruid == (who ? (uint32_t)who : t->cred.ruid);
    }
    }
    return 0;
}

/* for_each_target: calls fn on every thread (which, who) names; g_kernel.mu held
 * during the walk. Returns -ESRCH if none, else the first error fn gave, else 0 (fn
 * returns 0 or -errno; best carries getpriority's answer). */
static long for_each_target(struct task *t, int which, int who,
                            long (*fn)(struct task *t, struct task *x, void *arg), void *arg)
{
    if (which != PRIO_PROCESS && which != PRIO_PGRP && which != PRIO_USER)
        return -EINVAL;
    long ret = -ESRCH;
    pthread_mutex_lock(&g_kernel.mu);
    if (which == PRIO_PROCESS) {
        struct task *x = find(t, who);
        if (x)
            ret = fn(t, x, arg);
    } else {
        for (int i = 1; i < PID_MAX; i++) {
            struct task *x = g_kernel.tasks[i];
            if (!x || !matches(t, x, which, who))
                continue;
            long r = fn(t, x, arg);
            if (ret == -ESRCH || (ret == 0 && r < 0))
                ret = r;
        }
    }
    pthread_mutex_unlock(&g_kernel.mu);
    return ret;
}

static long get_nice(struct task *t, struct task *x, void *arg)
{
    (void)t;
    int *lowest = arg;
    pthread_mutex_lock(&x->mu);
    *lowest = MIN(*lowest, x->sched.nice);
    pthread_mutex_unlock(&x->mu);
    return 0;
}

long sys_getpriority(struct task *t, const struct syscall_args *a)
{
    int lowest = 20;
    long r = for_each_target(t, arg_int(a, 0), arg_int(a, 1), get_nice, &lowest);
    /* the system call's answer is 20 - nice (1..40), so it is never negative */
    return r < 0 ? r : 20 - lowest;
}

static long set_nice(struct task *t, struct task *x, void *arg)
{
    int nice = *(int *)arg;
    if (!may_change(t, x))
        return -EPERM;
    pthread_mutex_lock(&x->mu);
    long r = 0;
    /* a lower nice value (more CPU) needs CAP_SYS_NICE (RLIMIT_NICE is 0 here) */
    if (nice < x->sched.nice && !cred_capable(&t->cred, CAP_SYS_NICE))
        r = -EACCES;
    else
        x->sched.nice = nice;
    pthread_mutex_unlock(&x->mu);
    return r;
}

long sys_setpriority(struct task *t, const struct syscall_args *a)
{
    int nice = MAX(-20, MIN(19, arg_int(a, 2)));
    return for_each_target(t, arg_int(a, 0), arg_int(a, 1), set_nice, &nice);
}

/* ---- policies and real-time priorities ---- */

static int valid_policy(int policy)
{
    return policy == SCHED_OTHER || policy == SCHED_FIFO || policy == SCHED_RR ||
           policy == SCHED_BATCH || policy == SCHED_IDLE;
}

static int is_rt(int policy) { return policy == SCHED_FIFO || policy == SCHED_RR; }

/* set_sched: sched_setscheduler and sched_setparam (policy -1: keep it). */
static long set_sched(struct task *t, int pid, int policy, uint64_t uparam)
{
    if (pid < 0 || !uparam)
        return -EINVAL;
    struct sched_param param;
    if (mm_copy_in(t->mm, &param, uparam, sizeof(param)) < 0)
        return -EFAULT;
    if (policy != -1) {
        policy &= ~SCHED_RESET_ON_FORK;
        if (!valid_policy(policy))
            return -EINVAL;
    }
    long r = 0;
    pthread_mutex_lock(&g_kernel.mu);
    struct task *x = find(t, pid);
    if (!x) {
        r = -ESRCH;
        goto out;
    }
    pthread_mutex_lock(&x->mu);
    int p = policy == -1 ? x->sched.policy : policy;
    pthread_mutex_unlock(&x->mu);
    /* FIFO and RR take 1..99, the others 0 */
    if (is_rt(p) ? param.sched_priority < 1 || param.sched_priority > 99
                 : param.sched_priority != 0) {
        r = -EINVAL;
        goto out;
    }
    if (!may_change(t, x) || (is_rt(p) && !cred_capable(&t->cred, CAP_SYS_NICE))) {
        r = -EPERM;
        goto out;
    }
    pthread_mutex_lock(&x->mu);
    x->sched.policy = p;
    x->sched.rt_priority = param.sched_priority;
    pthread_mutex_unlock(&x->mu);
out:
    pthread_mutex_unlock(&g_kernel.mu);
    return r;
}

long sys_sched_setscheduler(struct task *t, const struct syscall_args *a)
{
    int policy = arg_int(a, 1);
    if (policy < 0)
        return -EINVAL;
    return set_sched(t, arg_int(a, 0), policy, arg_u64(a, 2));
}

long sys_sched_setparam(struct task *t, const struct syscall_args *a)
{
    return set_sched(t, arg_int(a, 0), -1, arg_u64(a, 1));
}

/* get_sched: a copy of pid's parameters, or -errno. */
static long get_sched(struct task *t, int pid, struct task_sched *out)
{
    if (pid < 0)
        return -EINVAL;
    pthread_mutex_lock(&g_kernel.mu);
    struct task *x = find(t, pid);
    if (x) {
        pthread_mutex_lock(&x->mu);
        *out = x->sched;
        pthread_mutex_unlock(&x->mu);
    }
    pthread_mutex_unlock(&g_kernel.mu);
    return x ? 0 : -ESRCH;
}

long sys_sched_getscheduler(struct task *t, const struct syscall_args *a)
{
    struct task_sched s;
    long r = get_sched(t, arg_int(a, 0), &s);
    return r < 0 ? r : s.policy;
}

long sys_sched_getparam(struct task *t, const struct syscall_args *a)
{
    if (!arg_u64(a, 1))
        return -EINVAL;
    struct task_sched s;
    long r = get_sched(t, arg_int(a, 0), &s);
    if (r < 0)
        return r;
    struct sched_param param = { .sched_priority = s.rt_priority };
    return mm_copy_out(t->mm, arg_u64(a, 1), &param, sizeof(param), 0) < 0 ? -EFAULT : 0;
}

long sys_sched_get_priority_max(struct task *t, const struct syscall_args *a)
{
    (void)t;
    int policy = arg_int(a, 0);
    return !valid_policy(policy) ? -EINVAL : is_rt(policy) ? 99 : 0;
}

long sys_sched_get_priority_min(struct task *t, const struct syscall_args *a)
{
    (void)t;
    int policy = arg_int(a, 0);
    return !valid_policy(policy) ? -EINVAL : is_rt(policy) ? 1 : 0;
}

long sys_sched_rr_get_interval(struct task *t, const struct syscall_args *a)
{
    struct task_sched s;
    long r = get_sched(t, arg_int(a, 0), &s);
    if (r < 0)
        return r;
    /* RR: its time slice; FIFO: none; the others: CFS's slice depends on the load,
     * which the sandbox does not model: 0 */
    struct timespec ts = { 0, s.policy == SCHED_RR ? RR_TIMESLICE_NS : 0 };
    return mm_copy_out(t->mm, arg_u64(a, 1), &ts, sizeof(ts), 0) < 0 ? -EFAULT : 0;
}

/* ---- CPU affinity over the sandbox's virtual CPUs ---- */

long sys_sched_setaffinity(struct task *t, const struct syscall_args *a)
{
    int pid = arg_int(a, 0);
    size_t len = arg_size(a, 1);
    uint64_t umask = arg_u64(a, 2);
    uint64_t mask[SCHED_CPUS_MAX / 64];
    memset(mask, 0, sizeof(mask));
    /* a shorter mask means the rest is clear; a longer one is cut (Linux's
     * get_user_cpu_mask) */
    if (mm_copy_in(t->mm, mask, umask, MIN(len, sizeof(mask))) < 0)
        return -EFAULT;
    int any = 0;
    for (int i = 0; i < SCHED_CPUS_MAX; i++) {
        if (i >= ncpus())
            mask[i / 64] &= ~(1ULL << (i % 64));
        else if (mask[i / 64] & (1ULL << (i % 64)))
            any = 1;
    }
    if (pid < 0)
        return -ESRCH;
    long r = 0;
    pthread_mutex_lock(&g_kernel.mu);
    struct task *x = find(t, pid);
    if (!x)
        r = -ESRCH;
    else if (!may_change(t, x))
        r = -EPERM;
    else if (!any)
        r = -EINVAL;   /* no CPU of the sandbox in it */
    else {
        pthread_mutex_lock(&x->mu);
        memcpy(x->sched.affinity, mask, sizeof(mask));
        pthread_mutex_unlock(&x->mu);
    }
    pthread_mutex_unlock(&g_kernel.mu);
    return r;
}

long sys_sched_getaffinity(struct task *t, const struct syscall_args *a)
{
    int pid = arg_int(a, 0);
    size_t size = arg_size(a, 1);
    uint64_t umask = arg_u64(a, 2);
    size_t need = (size_t)((ncpus() + 63) / 64) * 8;
    if (size < need || (size & 7))
        return -EINVAL;
    if (pid < 0)
        return -ESRCH;
    struct task_sched s;
    long r = get_sched(t, pid, &s);
    if (r < 0)
        return r;
    if (mm_copy_out(t->mm, umask, s.affinity, need, 0) < 0)
        return -EFAULT;
    return (long)need;
}

long sys_getcpu(struct task *t, const struct syscall_args *a)
{
    /* the first CPU it may run on: virtual CPUs are not where it runs on the host */
    uint32_t cpu = 0, node = 0;
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < ncpus(); i++)
        if (t->sched.affinity[i / 64] & (1ULL << (i % 64))) {
            cpu = (uint32_t)i;
            break;
        }
    pthread_mutex_unlock(&t->mu);
    if (arg_u64(a, 0) && mm_copy_out(t->mm, arg_u64(a, 0), &cpu, 4, 0) < 0)
        return -EFAULT;
    if (arg_u64(a, 1) && mm_copy_out(t->mm, arg_u64(a, 1), &node, 4, 0) < 0)
        return -EFAULT;
    return 0;
}
