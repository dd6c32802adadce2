/* CPU time accounting and CPU clocks. See cputime.h. */
#include "sentry/kernel/cputime.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"

/* Linux's CPU clock id encoding (include/linux/posix-timers.h). */
#define CPUCLOCK_PERTHREAD_MASK 4
#define CPUCLOCK_CLOCK_MASK 3
#define CPUCLOCK_MAX 3
static int clock_pid(int clockid) { return ~(clockid >> 3); }

/* The seqcount: the owner makes seq odd, updates, makes it even again; readers retry
 * while it is odd or changed under them. Fields are accessed as relaxed atomics so the
 * racing reads are well defined. */
#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ST(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

void cputime_start(struct task *t)
{
    struct task_cputime *c = &t->cpu;
    unsigned s = LD(c->seq);
    ST(c->seq, s + 1);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    ST(c->since, ktimer_now());
    ST(c->state, CPU_SENTRY);
    __atomic_store_n(&c->seq, s + 2, __ATOMIC_RELEASE);
}

void cputime_switch(struct task *t, enum cpu_state state)
{
    struct task_cputime *c = &t->cpu;
    uint64_t now = ktimer_now();
    unsigned s = LD(c->seq);
    ST(c->seq, s + 1);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    uint64_t d = now - c->since;
    if (c->state == CPU_GUEST)
        ST(c->utime, c->utime + d);
    else if (c->state == CPU_SENTRY)
        ST(c->stime, c->stime + d);
    if (state == CPU_IDLE && c->state != CPU_IDLE)
        ST(c->nvcsw, c->nvcsw + 1);
    ST(c->since, now);
    ST(c->state, (int)state);
    __atomic_store_n(&c->seq, s + 2, __ATOMIC_RELEASE);
}

void cputime_thread(struct task *t, struct cpu_times *out)
{
    struct task_cputime *c = &t->cpu;
    uint64_t now = ktimer_now();
    for (;;) {
        unsigned s = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
        int state = LD(c->state);
        uint64_t since = LD(c->since), u = LD(c->utime), st = LD(c->stime);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if ((s & 1) || LD(c->seq) != s)
            continue;
        /* now was read first, so a transition after it can make since > now */
        uint64_t run = now > since ? now - since : 0;
        if (state == CPU_GUEST)
            u += run;
        else if (state == CPU_SENTRY && since)
            st += run;
        out->utime = u;
        out->stime = st;
        return;
    }
}

void cputime_group(struct thread_group *tg, struct cpu_times *out)
{
    *out = tg->used_dead.cpu;
    for (struct task *x = tg->threads; x; x = x->next) {
        struct cpu_times ct;
        cputime_thread(x, &ct);
        out->utime += ct.utime;
        out->stime += ct.stime;
    }
}

void cputime_usage_thread(struct task *t, struct rusage_acct *out)
{
    cputime_thread(t, &out->cpu);
    out->min_flt = LD(t->cpu.min_flt);
    out->nvcsw = LD(t->cpu.nvcsw);
    out->maxrss = 0;
}

/* add: a += b, with maxrss the larger. */
static void add(struct rusage_acct *a, const struct rusage_acct *b)
{
    a->cpu.utime += b->cpu.utime;
    a->cpu.stime += b->cpu.stime;
    a->min_flt += b->min_flt;
    a->nvcsw += b->nvcsw;
    if (b->maxrss > a->maxrss)
        a->maxrss = b->maxrss;
}

void cputime_usage_group(struct thread_group *tg, struct rusage_acct *out)
{
    *out = tg->used_dead;
    for (struct task *x = tg->threads; x; x = x->next) {
        struct rusage_acct u;
        cputime_usage_thread(x, &u);
        add(out, &u);
    }
}

void cputime_thread_exit(struct task *t)
{
    struct rusage_acct u;
    cputime_usage_thread(t, &u);
    add(&t->tg->used_dead, &u);
}

void cputime_note_rss(struct thread_group *tg, uint64_t rss)
{
    pthread_mutex_lock(&g_kernel.mu);
    if (rss > tg->used_dead.maxrss)
        tg->used_dead.maxrss = rss;
    pthread_mutex_unlock(&g_kernel.mu);
}

void cputime_reap(struct thread_group *parent, struct thread_group *child,
                  struct rusage_acct *child_use)
{
    struct rusage_acct u = child->used_dead;
    add(&u, &child->used_children);
    add(&parent->used_children, &u);
    if (child_use)
        *child_use = u;
}

uint64_t cputime_measure(const struct cpu_times *ct, int which)
{
    return which == CPUCLOCK_VIRT ? ct->utime : ct->utime + ct->stime;
}

/* same_group_thread: the task with tid in t's process, or NULL. g_kernel.mu held. */
static struct task *same_group_thread(struct task *t, int tid)
{
    struct task *x = kernel_find_task(tid);
    return x && x->tg == t->tg && !x->tg->zombie ? x : NULL;
}

int cpuclock_decode(struct task *t, int clockid, struct cpuclock *out)
{
    if (clockid == CLOCK_PROCESS_CPUTIME_ID || clockid == CLOCK_THREAD_CPUTIME_ID) {
        out->which = CPUCLOCK_SCHED;
        out->per_thread = clockid == CLOCK_THREAD_CPUTIME_ID;
        out->id = out->per_thread ? t->tid : t->tg->tgid;
        return 1;
    }
    if (clockid >= 0)
        return 0;
    if ((clockid & CPUCLOCK_CLOCK_MASK) >= CPUCLOCK_MAX)
        return -EINVAL;   /* 3 is Linux's CLOCKFD: dynamic clocks, which we lack */
    out->which = clockid & CPUCLOCK_CLOCK_MASK;
    out->per_thread = (clockid & CPUCLOCK_PERTHREAD_MASK) != 0;
    int pid = clock_pid(clockid);
    int ret = 1;
    pthread_mutex_lock(&g_kernel.mu);
    if (pid == 0) {
        out->id = out->per_thread ? t->tid : t->tg->tgid;
    } else if (out->per_thread) {
        /* thread clocks: only of the caller's own process (Linux pid_for_clock) */
        ret = same_group_thread(t, pid) ? 1 : -EINVAL;
        out->id = pid;
    } else {
        struct task *x = kernel_find_task(pid);
        /* a process by its tgid; the caller's own tid also names its process (Linux
         * allows that for clock_gettime only; we allow it everywhere) */
        if (x && x->tg->tgid == pid)
            out->id = pid;
        else if (x && x == t)
            out->id = t->tg->tgid;
        else
            ret = -EINVAL;
    }
    pthread_mutex_unlock(&g_kernel.mu);
    return ret;
}

int cpuclock_read(const struct cpuclock *c, uint64_t *ns, int *nthreads)
{
    struct cpu_times ct;
    int n = 1, ret = 0;
    pthread_mutex_lock(&g_kernel.mu);
    struct task *x = kernel_find_task(c->id);
    if (c->per_thread) {
        if (x)
            cputime_thread(x, &ct);   /* an exited leader reads its final times */
        else
            ret = -EINVAL;
    } else if (x && x->tg->tgid == c->id) {
        cputime_group(x->tg, &ct);
        n = x->tg->nlive;
    } else {
        ret = -EINVAL;
    }
    pthread_mutex_unlock(&g_kernel.mu);
    if (ret == 0)
        *ns = cputime_measure(&ct, c->which);
    if (nthreads)
        *nthreads = n > 0 ? n : 1;
    return ret;
}
