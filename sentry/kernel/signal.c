/* Signal generation and delivery. See signal.h. The frame layout is the ABI of
 * arch/x86/kernel/signal.c: struct rt_sigframe { pretcode; ucontext; siginfo } with the
 * XSAVE area below it, 64-byte aligned, framed by the FP_XSTATE magic words. */
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/signal.h"
#include "sentry/kernel/jobctl.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/resource.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/util.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/posix_timer.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/waitq.h"
#include "sentry/mm/mm.h"

#define UNBLOCKABLE (SIGBIT(SIGKILL) | SIGBIT(SIGSTOP))
#define DEFAULT_IGNORE (SIGBIT(SIGCHLD) | SIGBIT(SIGCONT) | SIGBIT(SIGURG) | \
                        SIGBIT(SIGWINCH))
#define DEFAULT_STOP (SIGBIT(SIGSTOP) | SIGBIT(SIGTSTP) | SIGBIT(SIGTTIN) | \
                      SIGBIT(SIGTTOU))
#define SYNCHRONOUS (SIGBIT(SIGSEGV) | SIGBIT(SIGBUS) | SIGBIT(SIGILL) | \
                     SIGBIT(SIGTRAP) | SIGBIT(SIGFPE) | SIGBIT(SIGSYS))

/* x86-64 user segments and the flags a signal frame may restore. */
#define USER_CS 0x33
#define USER_SS 0x2b
#define FIX_EFLAGS 0x50dd5ULL   /* AC OF DF TF SF ZF AF PF CF RF */
#define EFLAGS_TF 0x100ULL
#define EFLAGS_DF 0x400ULL
#define EFLAGS_RF 0x10000ULL

#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4
#define FP_XSTATE_MAGIC1 0x46505853U
#define FP_XSTATE_MAGIC2 0x46505845U
#define REDZONE 128
#define SA_RESTORER 0x04000000

struct guest_sigcontext {
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
    uint16_t cs, gs, fs, ss;
    uint64_t err, trapno, oldmask, cr2;
    uint64_t fpstate;
    uint64_t reserved1[8];
};

struct guest_ucontext {
    uint64_t flags;
    uint64_t link;
    uint64_t ss_sp;
    int32_t ss_flags, pad;
    uint64_t ss_size;
    struct guest_sigcontext mcontext;
    uint64_t sigmask;
};

struct guest_rt_sigframe {
    uint64_t pretcode;
    struct guest_ucontext uc;
    siginfo_t info;
};

_Static_assert(sizeof(struct guest_sigcontext) == 256, "sigcontext ABI");
_Static_assert(sizeof(struct guest_rt_sigframe) == 440, "rt_sigframe ABI");

/* The software bytes Linux keeps in the FXSAVE area's reserved tail (offset 464). */
struct fpx_sw_bytes {
    uint32_t magic1, extended_size;
    uint64_t xfeatures;
    uint32_t xstate_size, padding[7];
};

static int action_is_ignore(struct task *t, int sig)
{
    uint64_t h = t->tg->actions[sig - 1].handler;
    return h == (uint64_t)SIG_IGN || (h == (uint64_t)SIG_DFL &&
                                      (DEFAULT_IGNORE & SIGBIT(sig)));
}

static struct waitq g_signal_wq = { PTHREAD_MUTEX_INITIALIZER, NULL };

struct waitq *signal_waitq(void) { return &g_signal_wq; }

/* send: queues sig for t with SQ_* flags (SQ_SHARED: a process-directed signal).
 * See signal_send. */
static int send(struct task *t, int sig, const siginfo_t *info, unsigned flags)
{
    if (sig < 1 || sig > GUEST_NSIG)
        return -1;
    if (SIGBIT(sig) & (JOBCTL_STOP_SIGS | SIGBIT(SIGCONT)))
        jobctl_prepare_signal(t->tg, sig);
    siginfo_t kinfo;
    if (!info) {
        memset(&kinfo, 0, sizeof(kinfo));
        kinfo.si_signo = sig;
        kinfo.si_code = SI_KERNEL;
        info = &kinfo;
        flags |= SQ_SPECIAL;
    }
    pthread_mutex_lock(&t->mu);
    /* ignored signals are discarded when sent, unless blocked (Linux sig_ignored) */
    if (!(t->sigmask & SIGBIT(sig)) && action_is_ignore(t, sig) && sig != SIGKILL) {
        pthread_mutex_unlock(&t->mu);
        return -1;
    }
    /* counted against the receiver's real user and limit, as Linux's sigqueue_alloc */
    uint64_t limit = __atomic_load_n(&t->tg->rlimits[RLIMIT_SIGPENDING][0],
                                     __ATOMIC_RELAXED);
    int ret = sigpending_add(&t->pending, sig, info, flags, t->cred.ruid, limit);
    pthread_mutex_unlock(&t->mu);
    if (ret != 1)
        return ret;
    task_wake(t);
    waitq_wake(&g_signal_wq, POLLIN);
    return ret;
}

int signal_send(struct task *t, int sig, const siginfo_t *info)
{
    return send(t, sig, info, 0);
}

/* pick_thread: the thread a process-directed sig goes to: one that does not block it
 * if there is one, else the first; never `not`. g_kernel.mu held. */
static struct task *pick_thread(struct thread_group *tg, int sig, struct task *not)
{
    struct task *to = NULL;
    for (struct task *x = tg->threads; x; x = x->next) {
        if (x == not)
            continue;
        if (!to)
            to = x;
        if (!(__atomic_load_n(&x->sigmask, __ATOMIC_RELAXED) & SIGBIT(sig)))
            return x;
    }
    return to;
}

int signal_send_group(struct thread_group *tg, int sig, const siginfo_t *si)
{
    if (sig < 1 || sig > GUEST_NSIG)
        return -1;
    struct task *to = pick_thread(tg, sig, NULL);
    return to ? send(to, sig, si, SQ_SHARED) : -1;
}

int signal_send_timer(struct thread_group *tg, struct task *t, int sig,
                      const siginfo_t *info)
{
    if (sig < 1 || sig > GUEST_NSIG)
        return -1;
    if (t)
        return send(t, sig, info, SQ_TIMER);
    struct task *to = pick_thread(tg, sig, NULL);
    return to ? send(to, sig, info, SQ_TIMER | SQ_SHARED) : -1;
}

void signal_send_sigpipe(struct task *t)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    si.si_signo = SIGPIPE;
    si.si_code = SI_USER;
    si.si_pid = t->tg->tgid;
    si.si_uid = t->cred.ruid;
    signal_send(t, SIGPIPE, &si);
}

int signal_send_pgrp(int pgid, int sig, const siginfo_t *info)
{
    int n = 0;
    for (int i = 1; i < PID_MAX; i++) {
        struct task *x = g_kernel.tasks[i];
        if (!x || x->tg->leader != x || x->tg->zombie || x->tg->pgid != pgid)
            continue;
        if (sig)
            signal_send_group(x->tg, sig, info);
        n++;
    }
    return n;
}

void signal_force(struct task *t, int sig, int code, uint64_t addr)
{
    pthread_mutex_lock(&t->mu);
    struct guest_sigaction *act = &t->tg->actions[sig - 1];
    if ((t->sigmask & SIGBIT(sig)) || act->handler == (uint64_t)SIG_IGN) {
        act->handler = (uint64_t)SIG_DFL;
        t->sigmask &= ~SIGBIT(sig);
    }
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    si.si_signo = sig;
    si.si_code = code;
    si.si_addr = (void *)addr;
    /* an instance already pending is the one delivered (Linux's legacy_queue) */
    sigpending_add(&t->pending, sig, &si, SQ_SPECIAL, t->cred.ruid,
                   t->tg->rlimits[RLIMIT_SIGPENDING][0]);
    pthread_mutex_unlock(&t->mu);
}

int signal_pending_unblocked(struct task *t)
{
    return (t->pending.mask & ~t->sigmask) != 0;
}

/* dequeue: signal_dequeue, of process-directed instances only if only_shared. */
static int dequeue(struct task *t, uint64_t mask, int only_shared, siginfo_t *info)
{
    for (;;) {
        uint64_t ready = t->pending.mask & mask;
        if (only_shared)
            ready &= t->pending.shared;
        if (!ready)
            return 0;
        uint64_t sync = ready & SYNCHRONOUS;
        int sig = __builtin_ctzll(sync ? sync : ready) + 1;
        unsigned flags;
        if (!sigpending_take(&t->pending, sig, only_shared, info, &flags))
            return 0;
        if ((flags & SQ_TIMER) && !ptimer_signal_dequeued(t->tg, info))
            continue;   /* its timer was deleted or set again: the signal is stale */
        return sig;
    }
}

int signal_dequeue(struct task *t, uint64_t mask, siginfo_t *info)
{
    return dequeue(t, mask, 0, info);
}

void signal_discard(struct task *t, uint64_t mask)
{
    for (uint64_t m = t->pending.mask & mask; m; m &= m - 1) {
        int sig = __builtin_ctzll(m) + 1;
        siginfo_t info;
        unsigned flags;
        while (sigpending_take(&t->pending, sig, 0, &info, &flags))
            if (flags & SQ_TIMER)
                ptimer_signal_dequeued(t->tg, &info);   /* lets its timer signal again */
    }
}

int signal_dequeue_any(struct task *t, uint64_t mask, siginfo_t *info)
{
    pthread_mutex_lock(&t->mu);
    int sig = signal_dequeue(t, mask, info);
    pthread_mutex_unlock(&t->mu);
    if (sig)
        return sig;
    /* process-directed signals wait on whichever thread they were given to */
    pthread_mutex_lock(&g_kernel.mu);
    for (struct task *x = t->tg->threads; x && !sig; x = x->next) {
        if (x == t)
            continue;
        pthread_mutex_lock(&x->mu);
        sig = dequeue(x, mask, 1, info);
        pthread_mutex_unlock(&x->mu);
    }
    pthread_mutex_unlock(&g_kernel.mu);
    return sig;
}

int signal_pending_any(struct task *t, uint64_t mask)
{
    pthread_mutex_lock(&t->mu);
    int any = (t->pending.mask & mask) != 0;
    pthread_mutex_unlock(&t->mu);
    if (any)
        return 1;
    pthread_mutex_lock(&g_kernel.mu);
    for (struct task *x = t->tg->threads; x && !any; x = x->next) {
        pthread_mutex_lock(&x->mu);
        any = (x->pending.mask & x->pending.shared & mask) != 0;
        pthread_mutex_unlock(&x->mu);
    }
    pthread_mutex_unlock(&g_kernel.mu);
    return any;
}

uint64_t signal_pending_set(struct task *t)
{
    pthread_mutex_lock(&t->mu);
    uint64_t set = t->pending.mask;
    pthread_mutex_unlock(&t->mu);
    pthread_mutex_lock(&g_kernel.mu);
    for (struct task *x = t->tg->threads; x; x = x->next) {
        if (x == t)
            continue;
        pthread_mutex_lock(&x->mu);
        set |= x->pending.shared;
        pthread_mutex_unlock(&x->mu);
    }
    pthread_mutex_unlock(&g_kernel.mu);
    return set;
}

void signal_flush(struct task *t)
{
    struct sigpending p;
    pthread_mutex_lock(&t->mu);
    p = t->pending;
    memset(&t->pending, 0, sizeof(t->pending));
    pthread_mutex_unlock(&t->mu);
    for (uint64_t m = p.mask; m; m &= m - 1) {
        int sig = __builtin_ctzll(m) + 1;
        siginfo_t si;
        unsigned flags;
        while (sigpending_take(&p, sig, 0, &si, &flags)) {
            /* a process-directed signal stays the process's: another thread takes it */
            struct task *to = (flags & SQ_SHARED) && !t->tg->exiting ?
                              pick_thread(t->tg, sig, t) : NULL;
            if (to && send(to, sig, &si, flags) == 1)
                continue;
            if (flags & SQ_TIMER)
                ptimer_signal_dequeued(t->tg, &si);  /* lets its timer signal again */
        }
    }
}

int signal_reset_fpu(struct task *t)
{
    static _Thread_local struct guest_fpu fpu;
    int r = g_plat->fpu_get(t->ctx, t->mm->as, &fpu);
    if (r < 0)
        return r;
    uint32_t mask;
    memcpy(&mask, fpu.xsave + 28, 4);
    memset(fpu.xsave, 0, 512 + 64);
    uint16_t fcw = 0x37f;
    uint32_t mxcsr = 0x1f80;
    memcpy(fpu.xsave, &fcw, 2);
    memcpy(fpu.xsave + 24, &mxcsr, 4);
    memcpy(fpu.xsave + 28, &mask, 4);
    return g_plat->fpu_set(t->ctx, t->mm->as, &fpu);
}

/* on_altstack: whether sp lies on t's alternate signal stack. */
static int on_altstack(struct task *t, uint64_t sp)
{
    return !(t->altstack.flags & SS_DISABLE) && sp > t->altstack.sp &&
           sp - t->altstack.sp <= t->altstack.size;
}

/* setup_frame: builds the handler's frame and registers. 0, or -EFAULT. */
static int setup_frame(struct task *t, int sig, const siginfo_t *info,
                       const struct guest_sigaction *act, uint64_t oldmask)
{
    static _Thread_local struct guest_fpu fpu;
    struct guest_regs *r = &t->regs;
    unsigned xsize = g_plat->fpu_size();
    if (!(act->flags & SA_RESTORER))
        return -EFAULT;  /* x86-64 has no kernel-provided trampoline */

    uint64_t sp = r->rsp - REDZONE;
    int was_on = on_altstack(t, r->rsp);
    if ((act->flags & SA_ONSTACK) && !(t->altstack.flags & SS_DISABLE) && !was_on)
        sp = t->altstack.sp + t->altstack.size;
    /* with XSAVE, Linux describes the image in the FXSAVE area's software bytes and
     * ends it with a second magic; a CPU without XSAVE gets the bare FXSAVE image */
    int xsave = xsize > 512;
    uint64_t fpstate = (sp - xsize - (xsave ? 4 : 0)) & ~63ULL;
    uint64_t frame = ((fpstate - sizeof(struct guest_rt_sigframe)) & ~15ULL) - 8;

    if (g_plat->fpu_get(t->ctx, t->mm->as, &fpu) < 0)
        return -EFAULT;
    if (xsave) {
        struct fpx_sw_bytes sw = { .magic1 = FP_XSTATE_MAGIC1,
                                   .extended_size = xsize + 4, .xstate_size = xsize };
        memcpy(&sw.xfeatures, fpu.xsave + 512, 8);  /* XSTATE_BV: what it holds */
        sw.xfeatures |= 3;                          /* x87 and SSE always described */
        memcpy(fpu.xsave + 464, &sw, sizeof(sw));
    }
    uint32_t magic2 = FP_XSTATE_MAGIC2;
    if (mm_copy_out(t->mm, fpstate, fpu.xsave, xsize, 0) < 0 ||
        (xsave && mm_copy_out(t->mm, fpstate + xsize, &magic2, 4, 0) < 0))
        return -EFAULT;

    struct guest_rt_sigframe f;
    memset(&f, 0, sizeof(f));
    f.pretcode = act->restorer;
    f.uc.flags = (xsave ? UC_FP_XSTATE : 0) | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
    f.uc.ss_sp = t->altstack.sp;
    f.uc.ss_flags = (t->altstack.flags & SS_DISABLE) ? SS_DISABLE :
                    (was_on ? SS_ONSTACK : 0);
    f.uc.ss_size = t->altstack.size;
    struct guest_sigcontext *sc = &f.uc.mcontext;
    sc->r8 = r->r8; sc->r9 = r->r9; sc->r10 = r->r10; sc->r11 = r->r11;
    sc->r12 = r->r12; sc->r13 = r->r13; sc->r14 = r->r14; sc->r15 = r->r15;
    sc->rdi = r->rdi; sc->rsi = r->rsi; sc->rbp = r->rbp; sc->rbx = r->rbx;
    sc->rdx = r->rdx; sc->rax = r->rax; sc->rcx = r->rcx; sc->rsp = r->rsp;
    sc->rip = r->rip; sc->eflags = r->eflags;
    sc->cs = USER_CS; sc->ss = USER_SS;
    sc->oldmask = oldmask;
    sc->fpstate = fpstate;
    if (sig == SIGSEGV || sig == SIGBUS) {
        sc->cr2 = (uint64_t)info->si_addr;
        sc->trapno = 14;
    }
    f.uc.sigmask = oldmask;
    f.info = *info;
    if (mm_copy_out(t->mm, frame, &f, sizeof(f), 0) < 0)
        return -EFAULT;

    r->rdi = (uint64_t)sig;
    r->rsi = frame + offsetof(struct guest_rt_sigframe, info);
    r->rdx = frame + offsetof(struct guest_rt_sigframe, uc);
    r->rax = 0;
    r->rsp = frame;
    r->rip = act->handler;
    r->eflags &= ~(EFLAGS_TF | EFLAGS_DF | EFLAGS_RF);
    r->cs = USER_CS;
    r->ss = USER_SS;
    signal_reset_fpu(t);
    return 0;
}

/* default_action: what SIG_DFL does for sig (stops are handled where signals are
 * dequeued, in signal_deliver). Returns 1 if the task is dying. */
static int default_action(struct task *t, int sig)
{
    uint64_t bit = SIGBIT(sig);
    if (bit & DEFAULT_IGNORE)
        return 0;
    task_fatal_signal(t, sig);
    return 1;
}

/* restart_code: the syscall result if it is a restart code, else 0. */
static int restart_code(long ret)
{
    switch (-ret) {
    case ERESTARTSYS: case ERESTARTNOINTR: case ERESTARTNOHAND:
    case ERESTART_RESTARTBLOCK:
        return (int)-ret;
    }
    return 0;
}

/* restart: makes the guest execute its system call again. */
static void restart(struct task *t, int code)
{
    t->regs.rax = code == ERESTART_RESTARTBLOCK ? 219 /* restart_syscall */
                                                 : t->regs.orig_rax;
    t->regs.rip -= 2;  /* back over the two-byte syscall instruction */
}

void signal_deliver(struct task *t, int in_syscall)
{
    /* rt_sigreturn sets orig_rax to -1: the restored rax is never a restart code */
    int rc = in_syscall && (int64_t)t->regs.orig_rax >= 0 ?
             restart_code((long)t->regs.rax) : 0;
    siginfo_t info;
    /* a stopped task waits here: it runs no guest code and takes no signal */
    if (jobctl_check(t))
        return;
    pthread_mutex_lock(&t->mu);
    int sig;
    struct guest_sigaction act = { 0, 0, 0, 0 };
    for (;;) {
        sig = signal_dequeue(t, ~t->sigmask, &info);
        if (!sig)
            break;
        act = t->tg->actions[sig - 1];
        if (act.handler == (uint64_t)SIG_IGN)
            continue;
        if (act.handler == (uint64_t)SIG_DFL) {
            if ((SIGBIT(sig) & DEFAULT_IGNORE))
                continue;
            if (SIGBIT(sig) & DEFAULT_STOP) {
                /* stop the process; once continued, look at the signals again */
                jobctl_mark_dequeued(t);
                pthread_mutex_unlock(&t->mu);
                if (jobctl_do_stop(t, sig))
                    return;
                pthread_mutex_lock(&t->mu);
                continue;
            }
            break;
        }
        break;
    }
    uint64_t oldmask = t->restore_sigmask ? t->saved_sigmask : t->sigmask;
    pthread_mutex_unlock(&t->mu);

    if (!sig || act.handler == (uint64_t)SIG_DFL) {
        if (sig && default_action(t, sig))
            return;
        if (rc)
            restart(t, rc);
        if (t->restore_sigmask) {
            t->sigmask = t->saved_sigmask;
            t->restore_sigmask = 0;
        }
        return;
    }

    /* a handler runs: decide what the interrupted call returns */
    if (rc == ERESTARTNOHAND || rc == ERESTART_RESTARTBLOCK ||
        (rc == ERESTARTSYS && !(act.flags & SA_RESTART)))
        t->regs.rax = (uint64_t)-EINTR;
    else if (rc)
        restart(t, rc);

    if (setup_frame(t, sig, &info, &act, oldmask) < 0) {
        log_info("task %d: cannot build a frame for signal %d: SIGSEGV", t->tid, sig);
        task_fatal_signal(t, SIGSEGV);
        return;
    }
    pthread_mutex_lock(&t->mu);
    t->restore_sigmask = 0;
    t->sigmask = oldmask | act.mask;
    if (!(act.flags & SA_NODEFER))
        t->sigmask |= SIGBIT(sig);
    t->sigmask &= ~UNBLOCKABLE;
    if (act.flags & SA_RESETHAND)
        t->tg->actions[sig - 1].handler = (uint64_t)SIG_DFL;
    if (act.flags & SA_ONSTACK && (t->altstack.flags & (int32_t)(1U << 31))) {
        /* SS_AUTODISARM: the stack is disarmed while the handler runs */
        t->altstack.flags = SS_DISABLE;
    }
    pthread_mutex_unlock(&t->mu);
}

long signal_return(struct task *t)
{
    static _Thread_local struct guest_fpu fpu;
    struct guest_regs *r = &t->regs;
    uint64_t frame = r->rsp - 8;
    struct guest_rt_sigframe f;
    if (mm_copy_in(t->mm, &f, frame, sizeof(f)) < 0)
        goto bad;
    struct guest_sigcontext *sc = &f.uc.mcontext;
    r->r8 = sc->r8; r->r9 = sc->r9; r->r10 = sc->r10; r->r11 = sc->r11;
    r->r12 = sc->r12; r->r13 = sc->r13; r->r14 = sc->r14; r->r15 = sc->r15;
    r->rdi = sc->rdi; r->rsi = sc->rsi; r->rbp = sc->rbp; r->rbx = sc->rbx;
    r->rdx = sc->rdx; r->rax = sc->rax; r->rcx = sc->rcx; r->rsp = sc->rsp;
    r->rip = sc->rip;
    r->eflags = (r->eflags & ~FIX_EFLAGS) | (sc->eflags & FIX_EFLAGS);
    r->cs = USER_CS;
    r->ss = USER_SS;
    r->orig_rax = (uint64_t)-1;  /* no syscall restart after this */

    pthread_mutex_lock(&t->mu);
    t->sigmask = f.uc.sigmask & ~UNBLOCKABLE;
    pthread_mutex_unlock(&t->mu);

    if (sc->fpstate) {
        unsigned xsize = g_plat->fpu_size();
        struct fpx_sw_bytes sw;
        uint32_t magic2;
        if (mm_copy_in(t->mm, fpu.xsave, sc->fpstate, xsize) < 0)
            goto bad;
        memcpy(&sw, fpu.xsave + 464, sizeof(sw));
        if (xsize == 512) {
            /* no XSAVE: the FXSAVE image is all there is */
        } else if (sw.magic1 == FP_XSTATE_MAGIC1 && sw.xstate_size == xsize &&
            mm_copy_in(t->mm, &magic2, sc->fpstate + xsize, 4) == 0 &&
            magic2 == FP_XSTATE_MAGIC2) {
            /* a full XSAVE image */
        } else {
            /* only the legacy FXSAVE part is valid: describe x87+SSE alone */
            memset(fpu.xsave + 512, 0, xsize > 512 ? xsize - 512 : 0);
            uint64_t bv = 3;
            memcpy(fpu.xsave + 512, &bv, 8);
        }
        /* the guest may not enable features the host did not give it */
        if (g_plat->fpu_set(t->ctx, t->mm->as, &fpu) < 0)
            goto bad;
    } else {
        signal_reset_fpu(t);
    }
    /* restore_altstack: like sigaltstack(2), errors ignored */
    if (!(f.uc.ss_flags & SS_ONSTACK) && !on_altstack(t, r->rsp)) {
        if (f.uc.ss_flags & SS_DISABLE) {
            t->altstack.flags = SS_DISABLE;
            t->altstack.sp = t->altstack.size = 0;
        } else if (f.uc.ss_size >= 2048) {
            t->altstack.sp = f.uc.ss_sp;
            t->altstack.size = f.uc.ss_size;
            t->altstack.flags = f.uc.ss_flags & (int32_t)(1U << 31);
        }
    }
    return (long)r->rax;
bad:
    log_info("task %d: bad signal frame at %#llx", t->tid, (unsigned long long)frame);
    task_fatal_signal(t, SIGSEGV);
    return 0;
}

void signal_exec_reset(struct task *t)
{
    /* the caller is the process's only thread (exec de-threads first) */
    for (int i = 0; i < GUEST_NSIG; i++) {
        struct guest_sigaction *a = &t->tg->actions[i];
        if (a->handler != (uint64_t)(uintptr_t)SIG_IGN)
            a->handler = (uint64_t)(uintptr_t)SIG_DFL;
        a->flags = 0;
        a->restorer = 0;
        a->mask = 0;
    }
    memset(&t->altstack, 0, sizeof(t->altstack));
    t->altstack.flags = SS_DISABLE;
}

void signal_set_wait_mask(struct task *t, uint64_t mask)
{
    pthread_mutex_lock(&t->mu);
    t->saved_sigmask = t->sigmask;
    t->restore_sigmask = 1;
    t->sigmask = mask & ~UNBLOCKABLE;
    pthread_mutex_unlock(&t->mu);
}

void signal_end_wait_mask(struct task *t, int interrupted)
{
    if (interrupted)
        return;   /* signal_deliver puts it back, after the handler if one runs */
    pthread_mutex_lock(&t->mu);
    if (t->restore_sigmask) {
        t->sigmask = t->saved_sigmask;
        t->restore_sigmask = 0;
    }
    pthread_mutex_unlock(&t->mu);
}
