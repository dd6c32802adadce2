/* Job control: group stop, SIGCONT, the parent's CLD_STOPPED/CLD_CONTINUED, wait's
 * view of them, and orphaned process groups. See jobctl.h. */
#include "sentry/kernel/jobctl.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "sentry/kernel/kernel.h"

/* Default actions that do not end a stop (Linux's complete_signal kills a stopped
 * process at once only for a fatal signal that dumps no core). */
#define DEFAULT_IGNORE_SIGS (SIGBIT(SIGCHLD) | SIGBIT(SIGCONT) | SIGBIT(SIGURG) | \
                             SIGBIT(SIGWINCH))
#define DEFAULT_CORE_SIGS (SIGBIT(SIGQUIT) | SIGBIT(SIGILL) | SIGBIT(SIGTRAP) | \
                           SIGBIT(SIGABRT) | SIGBIT(SIGBUS) | SIGBIT(SIGFPE) | \
                           SIGBIT(SIGSEGV) | SIGBIT(SIGXCPU) | SIGBIT(SIGXFSZ) | \
                           SIGBIT(SIGSYS))

static int is_default(struct task *t, int sig)
{
    return t->tg->actions[sig - 1].handler == (uint64_t)(uintptr_t)SIG_DFL;
}

/* set_jobctl, get_jobctl: task->jobctl is a word lock-free readers look at (jobctl_check,
 * and readers that hold only one of its two locks). */
static void set_jobctl(struct task *t, unsigned v)
{
    __atomic_store_n(&t->jobctl, v, __ATOMIC_RELEASE);
}

static unsigned get_jobctl(struct task *t)
{
    return __atomic_load_n(&t->jobctl, __ATOMIC_ACQUIRE);
}

/* fatal_pending: a deliverable signal that kills t's process even while it is
 * stopped, or 0. t->mu held. */
static int fatal_pending(struct task *t)
{
    uint64_t ready = t->pending.mask & ~t->sigmask & ~t->sigwait_set;
    if (ready & SIGBIT(SIGKILL))
        return SIGKILL;
    ready &= ~(DEFAULT_IGNORE_SIGS | DEFAULT_CORE_SIGS | JOBCTL_STOP_SIGS);
    while (ready) {
        int sig = __builtin_ctzll(ready) + 1;
        if (is_default(t, sig))
            return sig;
        ready &= ready - 1;
    }
    return 0;
}

/* notify_parent: do_notify_parent_cldstop: SIGCHLD with why (CLD_STOPPED or
 * CLD_CONTINUED) unless the parent ignores it or asked SA_NOCLDSTOP; its waiters are
 * woken either way. g_kernel.mu held. */
static void notify_parent(struct thread_group *tg, int why)
{
    struct thread_group *p = tg->parent;
    if (!p || p->zombie)
        return;
    const struct guest_sigaction *chld = &p->actions[SIGCHLD - 1];
    if (chld->handler != (uint64_t)(uintptr_t)SIG_IGN && !(chld->flags & SA_NOCLDSTOP)) {
        siginfo_t si;
        memset(&si, 0, sizeof(si));
        si.si_signo = SIGCHLD;
        si.si_code = why;
        si.si_pid = tg->tgid;
        si.si_uid = tg->leader->cred.ruid;
        si.si_status = why == CLD_CONTINUED ? SIGCONT : tg->stop_sig & 0x7f;
        signal_send_group(p, SIGCHLD, &si);
    }
    __atomic_add_fetch(&p->child_events, 1, __ATOMIC_SEQ_CST);
    for (struct task *x = p->threads; x; x = x->next)
        task_wake(x);
}

void jobctl_prepare_signal(struct thread_group *tg, int sig)
{
    if (tg->exiting || tg->zombie)
        return;
    if (SIGBIT(sig) & JOBCTL_STOP_SIGS) {
        for (struct task *x = tg->threads; x; x = x->next) {
            pthread_mutex_lock(&x->mu);
            signal_discard(x, SIGBIT(SIGCONT));
            pthread_mutex_unlock(&x->mu);
        }
        return;
    }
    if (sig != SIGCONT)
        return;
    for (struct task *x = tg->threads; x; x = x->next) {
        pthread_mutex_lock(&x->mu);
        signal_discard(x, JOBCTL_STOP_SIGS);
        set_jobctl(x, 0);
        pthread_cond_broadcast(&x->cond);
        pthread_mutex_unlock(&x->mu);
    }
    /* a complete stop reports CLD_CONTINUED; one still in progress CLD_STOPPED (with
     * status 0, as Linux's does); either makes the child WCONTINUED-reportable */
    int why = 0;
    if (tg->jobctl & TG_JOBCTL_STOPPED)
        why = CLD_CONTINUED;
    else if (tg->stop_count)
        why = CLD_STOPPED;
    if (why) {
        tg->jobctl = TG_JOBCTL_CONTINUED;
        tg->stop_count = 0;
        tg->stop_sig = 0;
        notify_parent(tg, why);
    }
}

/* participate: t takes part in its group's stop. Returns 1 if that completed the
 * stop. g_kernel.mu held. */
static int participate(struct task *t)
{
    struct thread_group *tg = t->tg;
    pthread_mutex_lock(&t->mu);
    unsigned j = t->jobctl;
    set_jobctl(t, (j & ~(JOBCTL_STOP_PENDING | JOBCTL_STOP_CONSUME | JOBCTL_STOP_DEQUEUED)) |
                  JOBCTL_STOPPED);
    pthread_mutex_unlock(&t->mu);
    if ((j & JOBCTL_STOP_CONSUME) && tg->stop_count > 0)
        tg->stop_count--;
    if (tg->stop_count == 0 && !(tg->jobctl & TG_JOBCTL_STOPPED)) {
        tg->jobctl = TG_JOBCTL_STOPPED;
        return 1;
    }
    return 0;
}

/* take_pending_stop: if t has a group stop to take part in, does so (telling the
 * parent if it completed the stop). No locks held. */
static void take_pending_stop(struct task *t)
{
    pthread_mutex_lock(&g_kernel.mu);
    if ((get_jobctl(t) & JOBCTL_STOP_PENDING) && !t->tg->exiting && participate(t))
        notify_parent(t->tg, CLD_STOPPED);
    pthread_mutex_unlock(&g_kernel.mu);
}

/* pgrp_orphaned: whether no member of process group pgid has a parent in another
 * group of the same session (will_become_orphaned_pgrp), counting dead as gone and
 * its children as reaper's. The sandbox's init is a container's init, not Linux's
 * global init: it counts as a parent. g_kernel.mu held. */
static int pgrp_orphaned(int pgid, struct thread_group *dead, struct thread_group *reaper)
{
    for (int i = 1; i < PID_MAX; i++) {
        struct task *x = g_kernel.tasks[i];
        if (!x || x->tg->leader != x || x->tg->pgid != pgid)
            continue;
        struct thread_group *m = x->tg;
        if (m == dead || m->zombie)
            continue;
        struct thread_group *p = m->parent == dead && dead ? reaper : m->parent;
        if (p && p->pgid != pgid && p->sid == m->sid)
            return 0;
    }
    return 1;
}

static int pgrp_has_stopped(int pgid)
{
    for (int i = 1; i < PID_MAX; i++) {
        struct task *x = g_kernel.tasks[i];
        if (x && x->tg->leader == x && x->tg->pgid == pgid && !x->tg->zombie &&
            (x->tg->jobctl & TG_JOBCTL_STOPPED))
            return 1;
    }
    return 0;
}

/* begin_stop: the part of do_signal_stop under the locks: starts the group stop if
 * none is in progress, and has t take part. Returns 1 if t stopped, 0 if the signal
 * is discarded. No locks held. */
static int begin_stop(struct task *t, int sig)
{
    pthread_mutex_lock(&g_kernel.mu);
    struct thread_group *tg = t->tg;
    pthread_mutex_lock(&t->mu);
    unsigned j = t->jobctl;
    set_jobctl(t, j & ~JOBCTL_STOP_DEQUEUED);
    pthread_mutex_unlock(&t->mu);
    /* a SIGCONT since the dequeue cancels the stop; a dying process does not stop */
    if (!(j & JOBCTL_STOP_DEQUEUED) || tg->exiting || t->exiting ||
        (sig != SIGSTOP && pgrp_orphaned(tg->pgid, NULL, NULL))) {
        pthread_mutex_unlock(&g_kernel.mu);
        return 0;
    }
    if (!(j & JOBCTL_STOP_PENDING)) {
        if (!(tg->jobctl & TG_JOBCTL_STOPPED))
            tg->stop_sig = sig;
        tg->stop_count = 0;
        for (struct task *x = tg->threads; x; x = x->next) {
            if (x->exiting || (x != t && (get_jobctl(x) & JOBCTL_STOPPED)))
                continue;
            pthread_mutex_lock(&x->mu);
            set_jobctl(x, x->jobctl | JOBCTL_STOP_PENDING | JOBCTL_STOP_CONSUME);
            pthread_mutex_unlock(&x->mu);
            tg->stop_count++;
            if (x != t)
                task_wake(x);
        }
    }
    if (participate(t))
        notify_parent(tg, CLD_STOPPED);
    pthread_mutex_unlock(&g_kernel.mu);
    return 1;
}

/* stop_wait: t is stopped: waits for SIGCONT. A fatal signal that comes meanwhile is
 * acted on here, ahead of any other pending signal. Returns 1 if t is dying. */
static int stop_wait(struct task *t)
{
    int sig = 0;
    pthread_mutex_lock(&t->mu);
    while ((t->jobctl & JOBCTL_STOPPED) && !t->exiting && !(sig = fatal_pending(t)))
        pthread_cond_wait(&t->cond, &t->mu);
    int dying = t->exiting;
    if (!dying && (t->jobctl & JOBCTL_STOPPED) && sig) {
        signal_discard(t, SIGBIT(sig));
        dying = 1;
    } else {
        sig = 0;
    }
    pthread_mutex_unlock(&t->mu);
    if (sig)
        task_fatal_signal(t, sig);
    return dying;
}

int jobctl_do_stop(struct task *t, int sig)
{
    return begin_stop(t, sig) ? stop_wait(t) : t->exiting;
}

int jobctl_stop_point(struct task *t)
{
    if (get_jobctl(t) & JOBCTL_STOP_PENDING)
        take_pending_stop(t);
    if (get_jobctl(t) & JOBCTL_STOPPED)
        return stop_wait(t);
    return t->exiting;
}

int jobctl_in_sleep(struct task *t)
{
    if (t->jobctl & JOBCTL_STOPPED)
        return fatal_pending(t) ? -1 : 0;
    uint64_t ready = t->pending.mask & ~t->sigmask;
    uint64_t stops = 0;
    /* a stop signal rt_sigtimedwait waits for is its to take, not a stop */
    for (uint64_t s = ready & JOBCTL_STOP_SIGS & ~t->sigwait_set; s; s &= s - 1) {
        int sig = __builtin_ctzll(s) + 1;
        if (is_default(t, sig))
            stops |= SIGBIT(sig);
    }
    if (ready & ~stops)
        return -1;  /* something to deliver: the call is interrupted */
    if (t->jobctl & JOBCTL_STOP_PENDING) {
        pthread_mutex_unlock(&t->mu);
        take_pending_stop(t);
        pthread_mutex_lock(&t->mu);
        return 1;
    }
    if (!stops)
        return 0;
    /* dequeue the stop signal and stop where t sleeps, as if the call were restarted */
    int sig = __builtin_ctzll(stops) + 1;
    signal_discard(t, SIGBIT(sig));
    set_jobctl(t, t->jobctl | JOBCTL_STOP_DEQUEUED);
    pthread_mutex_unlock(&t->mu);
    begin_stop(t, sig);
    pthread_mutex_lock(&t->mu);
    return 1;
}

void jobctl_join_new_thread(struct task *c)
{
    struct thread_group *tg = c->tg;
    if (tg->exiting)
        return;
    unsigned j = 0;
    if (tg->stop_count) {
        tg->stop_count++;
        j = JOBCTL_STOP_PENDING | JOBCTL_STOP_CONSUME;
    } else if (tg->jobctl & TG_JOBCTL_STOPPED) {
        j = JOBCTL_STOP_PENDING;
    }
    pthread_mutex_lock(&c->mu);
    set_jobctl(c, j);
    pthread_mutex_unlock(&c->mu);
}

void jobctl_thread_exit(struct task *t)
{
    if ((get_jobctl(t) & JOBCTL_STOP_PENDING) && !t->tg->exiting && t->tg->nlive > 0 &&
        participate(t))
        notify_parent(t->tg, CLD_STOPPED);
}

int jobctl_wait_status(struct thread_group *c, int options)
{
    if (c->zombie || c->exiting)
        return 0;
    if ((options & WSTOPPED) && (c->jobctl & TG_JOBCTL_STOPPED) && c->stop_sig) {
        int status = (c->stop_sig << 8) | 0x7f;
        if (!(options & WNOWAIT))
            c->stop_sig = 0;
        return status;
    }
    if ((options & WCONTINUED) && (c->jobctl & TG_JOBCTL_CONTINUED)) {
        if (!(options & WNOWAIT))
            c->jobctl &= ~TG_JOBCTL_CONTINUED;
        return 0xffff;
    }
    return 0;
}

/* hup_if_orphaned: kill_orphaned_pgrp's test and action for group pgid. */
static void hup_if_orphaned(int pgid, struct thread_group *dead, struct thread_group *reaper)
{
    if (!pgrp_orphaned(pgid, dead, reaper) || !pgrp_has_stopped(pgid))
        return;
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    si.si_code = SI_KERNEL;
    si.si_signo = SIGHUP;
    signal_send_pgrp(pgid, SIGHUP, &si);
    si.si_signo = SIGCONT;
    signal_send_pgrp(pgid, SIGCONT, &si);
}

void jobctl_exit_orphans(struct thread_group *tg)
{
    struct thread_group *reaper = g_kernel.init ? g_kernel.init->tg : NULL;
    if (!reaper || reaper == tg)
        return;  /* init's death ends every process */
    /* each child's group may have had tg as its link to the session; a group is
     * looked at once, however many of tg's children are in it */
    for (struct thread_group *c = tg->children; c; c = c->sibling) {
        if (c->pgid == tg->pgid || c->sid != tg->sid)
            continue;
        int seen = 0;
        for (struct thread_group *d = tg->children; d != c && !seen; d = d->sibling)
            seen = d->pgid == c->pgid;
        if (!seen)
            hup_if_orphaned(c->pgid, tg, reaper);
    }
    /* tg's own group, if tg's parent was its link */
    struct thread_group *p = tg->parent;
    if (p && p->pgid != tg->pgid && p->sid == tg->sid)
        hup_if_orphaned(tg->pgid, tg, reaper);
}
