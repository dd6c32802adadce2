/* Processes and threads: the task table, starting a task on its own host thread,
 * and the end of threads and processes (zombies, the parent's SIGCHLD, reparenting). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "lib/log.h"
#include "sentry/fs/tty.h"
#include "sentry/kernel/futex.h"
#include "sentry/kernel/jobctl.h"
#include "sentry/kernel/itimer.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/posix_timer.h"
#include "sentry/kernel/pidref.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/vfs.h"

/* A Sentry thread's stack: handlers keep large buffers off it, this is ample. */
#define TASK_THREAD_STACK (1U << 20)

struct task *kernel_find_task(int tid)
{
    return tid > 0 && tid < PID_MAX ? g_kernel.tasks[tid] : NULL;
}

int kernel_alloc_tid(struct task *t)
{
    for (int i = 1; i < PID_MAX; i++) {
        int tid = (g_kernel.last_tid + i) % PID_MAX;
        if (tid == 0 || g_kernel.tasks[tid])
            continue;
        g_kernel.tasks[tid] = t;
        g_kernel.last_tid = tid;
        t->tid = tid;
        return tid;
    }
    return -EAGAIN;
}

struct task *task_alloc(void)
{
    struct task *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    pthread_mutex_init(&t->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cond, &ca);
    pthread_condattr_destroy(&ca);
    t->altstack.flags = SS_DISABLE;
    return t;
}

static void task_free(struct task *t)
{
    sigpending_clear(&t->pending);   /* anything sent after its exit's flush */
    cred_release(&t->cred);
    free(t->start_fpu);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* wake_group: makes every live thread of tg look at its state. g_kernel.mu held. */
static void wake_group(struct thread_group *tg)
{
    for (struct task *x = tg->threads; x; x = x->next)
        task_wake(x);
}

void task_exit_group(struct task *t, int status)
{
    pthread_mutex_lock(&g_kernel.mu);
    struct thread_group *tg = t->tg;
    if (!tg->exiting) {
        tg->exiting = 1;
        tg->exit_status = status;
    }
    for (struct task *x = tg->threads; x; x = x->next) {
        x->exiting = 1;
        if (x != t)
            task_wake(x);
    }
    t->exiting = 1;
    pthread_mutex_unlock(&g_kernel.mu);
}

void task_exit_thread(struct task *t, int status)
{
    pthread_mutex_lock(&g_kernel.mu);
    /* the process's status is the last thread's, unless a group exit set one */
    if (!t->tg->exiting)
        t->tg->exit_status = status;
    t->exiting = 1;
    pthread_mutex_unlock(&g_kernel.mu);
}

/* A wake-up from another CPU costs 30 us and more here (the idle CPU must be woken),
 * while the other side of a hand-off (a futex ping-pong, a pipe's reader and writer)
 * often answers within a few microseconds: so a sleeper first watches for its
 * wake-up this long, on a machine with more than one CPU. */
#define SPIN_BEFORE_SLEEP_NS 20000

static int64_t ns_of(const struct timespec *ts)
{
    return ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

/* spin_briefly: returns once done(arg), after SPIN_BEFORE_SLEEP_NS, or at the
 * CLOCK_MONOTONIC deadline (NULL: none), whichever comes first. */
static void spin_briefly(int (*done)(void *arg), void *arg, const struct timespec *deadline)
{
    if (kernel_ncpus() < 2)
        return;   /* the waker needs this CPU */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t end = ns_of(&now) + SPIN_BEFORE_SLEEP_NS;
    /* (a guest's far deadline, whose nanoseconds could overflow, is no limit) */
    if (deadline && deadline->tv_sec <= now.tv_sec + 1 && ns_of(deadline) < end)
        end = ns_of(deadline);
    for (int i = 1;; i++) {
        if (done(arg))
            return;
        __builtin_ia32_pause();
        if (i % 64 == 0) {
            sched_yield();   /* a waker queued on this CPU runs first */
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (ns_of(&now) >= end)
                return;
        }
    }
}

int task_block(struct task *t, int id, const struct timespec *deadline,
               int (*done)(void *arg), void *arg)
{
    struct timespec mono = deadline ? *deadline : (struct timespec){ 0, 0 };
    if (deadline && id != CLOCK_MONOTONIC) {
        /* condition variables wait on CLOCK_MONOTONIC: convert once */
        struct timespec now_id, now_mono;
        clock_gettime(id, &now_id);
        clock_gettime(CLOCK_MONOTONIC, &now_mono);
        int64_t left = (deadline->tv_sec - now_id.tv_sec) * 1000000000LL +
                       (deadline->tv_nsec - now_id.tv_nsec);
        if (left < 0)
            left = 0;
        int64_t ns = now_mono.tv_nsec + left % 1000000000LL;
        mono.tv_sec = now_mono.tv_sec + left / 1000000000LL + ns / 1000000000LL;
        mono.tv_nsec = ns % 1000000000LL;
    }
    int ret = 0, idle = 0;
    if (done)
        spin_briefly(done, arg, deadline ? &mono : NULL);
    pthread_mutex_lock(&t->mu);
    for (;;) {
        if (done && done(arg))
            break;
        if (t->exiting) {
            ret = -EINTR;
            break;
        }
        if (signal_pending_unblocked(t) || t->jobctl) {
            /* a stop does not end the sleep: the task stops where it sleeps */
            int j = jobctl_in_sleep(t);
            if (j < 0) {
                ret = -EINTR;
                break;
            }
            if (j > 0)
                continue;
        }
        if (!idle && t == current_task) {
            cputime_switch(t, CPU_IDLE);   /* a sleep is no CPU time */
            idle = 1;
        }
        if (!deadline) {
            pthread_cond_wait(&t->cond, &t->mu);
        } else if (pthread_cond_timedwait(&t->cond, &t->mu, &mono) == ETIMEDOUT) {
            ret = done && done(arg) ? 0 : -ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&t->mu);
    if (idle)
        cputime_switch(t, CPU_SENTRY);
    return ret;
}

int task_sleep_until(struct task *t, int id, const struct timespec *deadline)
{
    int r = task_block(t, id, deadline, NULL, NULL);
    return r == -ETIMEDOUT ? 0 : r;
}

/* notify_parent: tg has died: tell its parent (SIGCHLD and a wait wake-up). Returns
 * 1 if tg was reaped at once because the parent does not wait for children.
 * g_kernel.mu held. */
static int notify_parent(struct thread_group *tg)
{
    struct thread_group *p = tg->parent;
    if (!p)
        return 0;
    struct guest_sigaction *chld = &p->actions[SIGCHLD - 1];
    /* SIGCHLD ignored, or SA_NOCLDWAIT: the child is reaped automatically */
    int autoreap = tg->exit_signal == SIGCHLD &&
                   (chld->handler == (uint64_t)SIG_IGN || (chld->flags & SA_NOCLDWAIT));
    if (tg->exit_signal > 0 && !p->exiting && p->threads) {
        siginfo_t si;
        memset(&si, 0, sizeof(si));
        si.si_signo = tg->exit_signal;
        si.si_pid = tg->tgid;
        /* the child's own CPU time, in USER_HZ (100 Hz) ticks, as Linux reports it */
        si.si_utime = (clock_t)(tg->used_dead.cpu.utime / 10000000);
        si.si_stime = (clock_t)(tg->used_dead.cpu.stime / 10000000);
        int st = tg->exit_status;
        if (WIFEXITED(st)) {
            si.si_code = CLD_EXITED;
            si.si_status = WEXITSTATUS(st);
        } else {
            si.si_code = WCOREDUMP(st) ? CLD_DUMPED : CLD_KILLED;
            si.si_status = WTERMSIG(st);
        }
        signal_send(p->threads, tg->exit_signal, &si);
    }
    __atomic_add_fetch(&p->child_events, 1, __ATOMIC_SEQ_CST);
    wake_group(p);
    return autoreap;
}

/* unlink_child: removes tg from its parent's children. g_kernel.mu held. */
static void unlink_child(struct thread_group *tg)
{
    if (!tg->parent)
        return;
    for (struct thread_group **pp = &tg->parent->children; *pp; pp = &(*pp)->sibling) {
        if (*pp == tg) {
            *pp = tg->sibling;
            break;
        }
    }
    tg->parent = NULL;
}

void tg_reap(struct thread_group *tg)
{
    unlink_child(tg);
    pidref_reaped(tg);
    if (g_kernel.tasks[tg->tgid] == tg->leader)
        g_kernel.tasks[tg->tgid] = NULL;
    task_free(tg->leader);
    free(tg);
}

/* live_thread: a thread of tg that is not exiting, or NULL. g_kernel.mu held. */
static struct task *live_thread(struct thread_group *tg)
{
    for (struct task *x = tg->threads; x; x = x->next)
        if (!x->exiting)
            return x;
    return NULL;
}

/* send_pdeath: child c's parent thread (a thread of dying, the caller) has gone:
 * every thread of c that asked for a parent-death signal sends it to c, as
 * forget_original_parent does (SI_USER from the dying process). g_kernel.mu held. */
static void send_pdeath(struct thread_group *c, struct task *dying)
{
    for (struct task *x = c->threads; x; x = x->next) {
        int sig = __atomic_load_n(&x->pdeath_signal, __ATOMIC_RELAXED);
        if (!sig)
            continue;
        siginfo_t si;
        memset(&si, 0, sizeof(si));
        si.si_signo = sig;
        si.si_code = SI_USER;
        si.si_pid = dying->tg->tgid;
        si.si_uid = dying->cred.ruid;
        signal_send_group(c, sig, &si);
    }
}

/* children_lose_thread: thread t is exiting; the children it forked pass to another
 * live thread of its process and get their parent-death signal (Linux: the parent
 * of a process is the thread that forked it). With no live thread left they stay
 * until the process dies (reparent_children). g_kernel.mu held. */
static void children_lose_thread(struct task *t)
{
    struct task *heir = live_thread(t->tg);
    for (struct thread_group *c = t->tg->children; c; c = c->sibling) {
        if (c->parent_thread != t)
            continue;
        c->parent_thread = heir;
        if (heir)
            send_pdeath(c, t);
    }
}

/* find_reaper: where the children of dying tg go: the nearest ancestor that is a
 * child subreaper and has a live thread, else init (Linux's find_new_reaper).
 * g_kernel.mu held. */
static struct thread_group *find_reaper(struct thread_group *tg)
{
    struct thread_group *init = g_kernel.init ? g_kernel.init->tg : NULL;
    for (struct thread_group *p = tg->parent; p && p != init; p = p->parent)
        if (p->is_child_subreaper && live_thread(p))
            return p;
    return init;
}

/* reparent_children: the children of tg, whose last thread t is exiting, get their
 * parent-death signal and go to the nearest subreaper or init. g_kernel.mu held. */
static void reparent_children(struct task *t)
{
    struct thread_group *tg = t->tg;
    struct thread_group *reaper = find_reaper(tg);
    while (tg->children) {
        struct thread_group *c = tg->children;
        tg->children = c->sibling;
        send_pdeath(c, t);
        if (!reaper || reaper == tg) {
            c->parent = NULL;
            c->sibling = NULL;
            c->parent_thread = NULL;
            continue;
        }
        c->parent = reaper;
        c->parent_thread = live_thread(reaper);
        c->sibling = reaper->children;
        reaper->children = c;
        c->exit_signal = SIGCHLD;   /* reparent_leader: "we don't want people slaying init" */
        if (c->zombie && notify_parent(c))
            tg_reap(c);
    }
}

/* kill_everything: init died: every other process dies too (a pid namespace). */
static void kill_everything(void)
{
    for (int i = 2; i < PID_MAX; i++) {
        struct task *x = g_kernel.tasks[i];
        if (x && !x->exiting) {
            x->tg->exiting = 1;
            x->exiting = 1;
            task_wake(x);
        }
    }
}

int task_exit(struct task *t)
{
    struct thread_group *tg = t->tg;
    /* robust futexes t still holds are marked as their owner's death (before the
     * clear-child-tid wake, as Linux's mm_release) */
    futex_exit_robust_list(t);
    /* CLONE_CHILD_CLEARTID: tell pthread_join (a futex wake on the tid word) */
    if (t->clear_child_tid) {
        uint32_t zero = 0;
        if (mm_copy_out(t->mm, t->clear_child_tid, &zero, 4, 0) == 0)
            futex_wake_addr(t->mm, t->clear_child_tid, 1);
    }
    /* vfork: the parent may run again */
    if (t->vfork_parent) {
        struct task *p = t->vfork_parent;
        pthread_mutex_lock(&p->mu);
        p->vfork_done = 1;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->mu);
        t->vfork_parent = NULL;
    }

    pthread_mutex_lock(&g_kernel.mu);
    for (struct task **pp = &tg->threads; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    tg->nlive--;
    jobctl_thread_exit(t);
    cputime_thread_exit(t);
    signal_flush(t);
    children_lose_thread(t);
    int leader = tg->leader == t;
    if (!leader && g_kernel.tasks[t->tid] == t)
        g_kernel.tasks[t->tid] = NULL;
    /* the leader's host thread stays until the last thread has gone: it created the
     * stub process, which must outlive every thread of it; unless an exec in another
     * thread makes that thread the leader (exec.c), then it leaves as the others do */
    pthread_cond_broadcast(&g_kernel.thread_exit);
    while (tg->leader == t && tg->nlive > 0)
        pthread_cond_wait(&g_kernel.thread_exit, &g_kernel.mu);
    leader = tg->leader == t;
    pthread_mutex_unlock(&g_kernel.mu);

    if (!leader) {
        g_plat->thread_leave(t->mm->as);
        mm_put(t->mm);
        fdtable_put(t->fds);
        fs_context_put(t->fs);
        g_plat->ctx_destroy(t->ctx);
        task_free(t);
        return -1;
    }

    /* the process is dead: release its resources, then become a zombie */
    itimer_exit(tg);
    ptimer_exit(tg, 1);
    cputime_note_rss(tg, mm_rss(t->mm));
    mm_put(t->mm);
    t->mm = NULL;
    fdtable_put(t->fds);
    t->fds = NULL;
    fs_context_put(t->fs);
    t->fs = NULL;
    tty_exit_process(tg);   /* after the files, as Linux's do_exit */
    struct plat_ctx *ctx = t->ctx;
    __atomic_store_n(&t->ctx, NULL, __ATOMIC_SEQ_CST);
    g_plat->ctx_destroy(ctx);

    pthread_mutex_lock(&g_kernel.mu);
    int status = tg->exit_status;
    jobctl_exit_orphans(tg);
    reparent_children(t);
    tg->zombie = 1;
    pthread_cond_broadcast(&g_kernel.thread_exit);   /* boot.c waits for init's end */
    pidref_exited(tg);
    int is_init = t == g_kernel.init;
    if (is_init)
        kill_everything();
    else if (notify_parent(tg))
        tg_reap(tg);
    pthread_mutex_unlock(&g_kernel.mu);
    return status;
}

/* task_main: the host thread of a task other than init. */
static void *task_main(void *arg)
{
    struct task *t = arg;
    int err = 0;
    /* published atomically: task_wake reads it from other threads and skips a task
     * whose context does not exist yet; a signal that came that early is caught by
     * the check below */
    __atomic_store_n(&t->ctx, g_plat->ctx_create(&err), __ATOMIC_SEQ_CST);
    if (t->ctx) {
        pthread_mutex_lock(&t->mu);
        int early = signal_pending_unblocked(t);
        pthread_mutex_unlock(&t->mu);
        if (early)
            g_plat->interrupt(t->ctx);   /* the first switch returns at once */
        if (t->plat_handle)
            err = g_plat->thread_adopt(t->mm->as, t->plat_handle);
        else
            err = mm_activate(t->mm);
    }
    if (!t->ctx || err < 0) {
        log_err("task %d cannot start: %d", t->tid, err);
        task_exit_group(t, SIGKILL);
    } else if (t->start_fpu) {
        g_plat->fpu_set(t->ctx, t->mm->as, t->start_fpu);
    }
    task_run(t);
    task_exit(t);
    return NULL;
}

int task_start(struct task *child)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, TASK_THREAD_STACK);
    pthread_t th;
    int r = pthread_create(&th, &attr, task_main, child);
    pthread_attr_destroy(&attr);
    return -r;
}
