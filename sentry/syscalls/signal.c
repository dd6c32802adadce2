/* Signal dispositions and masks. The state is kept as Linux keeps it; delivery to
 * handlers comes with the processes issue. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "lib/err.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/posix_timer.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"

/* Signals that can be neither caught nor blocked. */
#define UNBLOCKABLE (SIGBIT(SIGKILL) | SIGBIT(SIGSTOP))

long sys_rt_sigaction(struct task *t, const struct syscall_args *a)
{
    int sig = arg_int(a, 0);
    uint64_t act = arg_u64(a, 1), oact = arg_u64(a, 2);
    if (arg_size(a, 3) != 8)
        return -EINVAL;
    if (sig < 1 || sig > GUEST_NSIG)
        return -EINVAL;
    struct guest_sigaction n;
    if (act && mm_copy_in(t->mm, &n, act, sizeof(n)) < 0)
        return -EFAULT;
    if (act && (sig == SIGKILL || sig == SIGSTOP))
        return -EINVAL;
    struct guest_sigaction old = t->tg->actions[sig - 1];
    if (oact && mm_copy_out(t->mm, oact, &old, sizeof(old), 0) < 0)
        return -EFAULT;
    if (act) {
        n.mask &= ~UNBLOCKABLE;
        t->tg->actions[sig - 1] = n;
    }
    return 0;
}

long sys_rt_sigprocmask(struct task *t, const struct syscall_args *a)
{
    int how = arg_int(a, 0);
    uint64_t set = arg_u64(a, 1), oset = arg_u64(a, 2);
    if (arg_size(a, 3) != 8)
        return -EINVAL;
    uint64_t old = t->sigmask, n = 0;
    if (set) {
        if (mm_copy_in(t->mm, &n, set, 8) < 0)
            return -EFAULT;
        switch (how) {
        case SIG_BLOCK: t->sigmask |= n; break;
        case SIG_UNBLOCK: t->sigmask &= ~n; break;
        case SIG_SETMASK: t->sigmask = n; break;
        default: return -EINVAL;
        }
        t->sigmask &= ~UNBLOCKABLE;
    }
    if (oset && mm_copy_out(t->mm, oset, &old, 8, 0) < 0)
        return -EFAULT;
    return 0;
}

#define SS_AUTODISARM_ (1U << 31)   /* not in every libc's headers */
/* Linux's MINSIGSTKSZ on x86-64. */
#define GUEST_MINSIGSTKSZ 2048ULL

long sys_sigaltstack(struct task *t, const struct syscall_args *a)
{
    uint64_t ss = arg_u64(a, 0), oss = arg_u64(a, 1);
    typeof(t->altstack) n;
    if (ss) {
        if (mm_copy_in(t->mm, &n, ss, sizeof(n)) < 0)
            return -EFAULT;
        if (n.flags & ~(SS_DISABLE | (int32_t)SS_AUTODISARM_))
            return -EINVAL;
        if (!(n.flags & SS_DISABLE) && n.size < GUEST_MINSIGSTKSZ)
            return -ENOMEM;
    }
    if (oss && mm_copy_out(t->mm, oss, &t->altstack, sizeof(t->altstack), 0) < 0)
        return -EFAULT;
    if (ss) {
        if (n.flags & SS_DISABLE)
            memset(&n, 0, sizeof(n)), n.flags = SS_DISABLE;
        t->altstack = n;
    }
    return 0;
}

long sys_rt_sigreturn(struct task *t, const struct syscall_args *a)
{
    (void)a;
    return signal_return(t);
}

long sys_rt_sigpending(struct task *t, const struct syscall_args *a)
{
    if (arg_size(a, 1) > 8)
        return -EINVAL;
    /* its own and the process's (Linux: pending | shared_pending), the blocked ones */
    uint64_t set = signal_pending_set(t) & __atomic_load_n(&t->sigmask, __ATOMIC_RELAXED);
    return mm_copy_out(t->mm, arg_u64(a, 0), &set, arg_size(a, 1), 0);
}

long sys_rt_sigsuspend(struct task *t, const struct syscall_args *a)
{
    uint64_t mask;
    if (arg_size(a, 1) != 8)
        return -EINVAL;
    if (mm_copy_in(t->mm, &mask, arg_u64(a, 0), 8) < 0)
        return -EFAULT;
    pthread_mutex_lock(&t->mu);
    t->saved_sigmask = t->sigmask;
    t->restore_sigmask = 1;
    t->sigmask = mask & ~UNBLOCKABLE;
    pthread_mutex_unlock(&t->mu);
    task_sleep_until(t, CLOCK_MONOTONIC, NULL);
    /* the handler runs with the suspend mask; the old one comes back after it */
    return -ERESTARTNOHAND;
}

long sys_pause(struct task *t, const struct syscall_args *a)
{
    (void)a;
    task_sleep_until(t, CLOCK_MONOTONIC, NULL);
    return -ERESTARTNOHAND;
}

long sys_rt_sigtimedwait(struct task *t, const struct syscall_args *a)
{
    uint64_t set;
    if (arg_size(a, 3) != 8)
        return -EINVAL;
    if (mm_copy_in(t->mm, &set, arg_u64(a, 0), 8) < 0)
        return -EFAULT;
    set &= ~UNBLOCKABLE;
    struct timespec deadline, *dl = NULL;
    if (arg_u64(a, 2)) {
        struct { int64_t sec, nsec; } g;
        if (mm_copy_in(t->mm, &g, arg_u64(a, 2), sizeof(g)) < 0)
            return -EFAULT;
        if (g.sec < 0 || g.nsec < 0 || g.nsec >= 1000000000)
            return -EINVAL;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += g.sec;
        deadline.tv_nsec += g.nsec;
        if (deadline.tv_nsec >= 1000000000) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000;
        }
        dl = &deadline;
    }
    /* while waiting, the signals in set are unblocked so that they wake us */
    pthread_mutex_lock(&t->mu);
    uint64_t old = t->sigmask;
    t->sigmask &= ~set;
    t->sigwait_set = set;
    pthread_mutex_unlock(&t->mu);
    long ret;
    for (;;) {
        /* its own signals first, then the process's pending on another thread */
        siginfo_t info;
        int sig = signal_dequeue_any(t, set, &info);
        if (sig) {
            pthread_mutex_lock(&t->mu);
            t->sigmask = old;
            t->sigwait_set = 0;
            pthread_mutex_unlock(&t->mu);
            if (arg_u64(a, 1) &&
                mm_copy_out(t->mm, arg_u64(a, 1), &info, sizeof(info), 0) < 0)
                return -EFAULT;
            return sig;
        }
        if (dl && dl->tv_sec == 0 && dl->tv_nsec == 0) {
            ret = -EAGAIN;
            break;
        }
        int r = task_sleep_until(t, CLOCK_MONOTONIC, dl);
        if (signal_pending_any(t, set))
            continue;
        ret = r == 0 ? -EAGAIN : -EINTR;
        break;
    }
    pthread_mutex_lock(&t->mu);
    t->sigmask = old;
    t->sigwait_set = 0;
    pthread_mutex_unlock(&t->mu);
    return ret;
}

/* sender_info: the siginfo of a signal sent by t with kill-like calls. */
static siginfo_t sender_info(struct task *t, int sig, int code)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    si.si_signo = sig;
    si.si_code = code;
    si.si_pid = t->tg->tgid;
    si.si_uid = t->cred.ruid;
    return si;
}

/* valid_sig: 0..64, where 0 only checks that the target exists. */
static int valid_sig(int sig) { return sig >= 0 && sig <= GUEST_NSIG; }

long sys_kill(struct task *t, const struct syscall_args *a)
{
    int pid = arg_int(a, 0), sig = arg_int(a, 1);
    if (!valid_sig(sig))
        return -EINVAL;
    if (pid == INT32_MIN)
        return -ESRCH;  /* -pid would overflow; Linux refuses it the same way */
    siginfo_t si = sender_info(t, sig, SI_USER);
    long ret = -ESRCH;
    pthread_mutex_lock(&g_kernel.mu);
    if (pid > 0) {
        struct task *x = kernel_find_task(pid);
        if (x && !x->tg->zombie) {
            ret = cred_may_signal(t, x, sig);
            if (ret == 0 && sig)
                signal_send_group(x->tg, sig, &si);
        }
    } else if (pid == -1) {
        /* every process but init and the caller */
        for (int i = 1; i < PID_MAX; i++) {
            struct task *x = g_kernel.tasks[i];
            if (!x || x->tg->leader != x || x->tg->zombie)
                continue;
            if (x->tg->tgid == 1 || x->tg == t->tg)
                continue;
            /* a process the caller may not signal is skipped, not an error */
            if (sig && cred_may_signal(t, x, sig) == 0)
                signal_send_group(x->tg, sig, &si);
            ret = 0;
        }
    } else {
        /* 0: the caller's group; < -1: the group -pid */
        if (signal_send_pgrp(pid == 0 ? t->tg->pgid : -pid, sig, &si) > 0)
            ret = 0;
    }
    pthread_mutex_unlock(&g_kernel.mu);
    return ret;
}

/* thread_kill: tkill and tgkill. */
static long thread_kill(struct task *t, int tgid, int tid, int sig)
{
    if (tid <= 0 || (tgid != -1 && tgid <= 0) || !valid_sig(sig))
        return -EINVAL;
    pthread_mutex_lock(&g_kernel.mu);
    struct task *target = kernel_find_task(tid);
    long ret = 0;
    if (!target || target->exiting || (tgid != -1 && target->tg->tgid != tgid)) {
        ret = -ESRCH;
    } else if ((ret = cred_may_signal(t, target, sig)) < 0) {
        /* not the caller's to signal */
    } else if (sig) {
        siginfo_t si = sender_info(t, sig, SI_TKILL);
        /* a real-time signal finds its queue full: EAGAIN (tkill(2)) */
        if (signal_send(target, sig, &si) == -EAGAIN)
            ret = -EAGAIN;
    }
    pthread_mutex_unlock(&g_kernel.mu);
    return ret;
}

long sys_tkill(struct task *t, const struct syscall_args *a)
{
    return thread_kill(t, -1, arg_int(a, 0), arg_int(a, 1));
}

long sys_tgkill(struct task *t, const struct syscall_args *a)
{
    return thread_kill(t, arg_int(a, 0), arg_int(a, 1), arg_int(a, 2));
}

/* queue_info: rt_sigqueueinfo and rt_tgsigqueueinfo. */
static long queue_info(struct task *t, int tgid, int tid, int sig, uint64_t uinfo)
{
    siginfo_t si;
    if (!valid_sig(sig) || sig == 0)
        return -EINVAL;
    if (mm_copy_in(t->mm, &si, uinfo, sizeof(si)) < 0)
        return -EFAULT;
    ptimer_siginfo_from_user(&si);
    pthread_mutex_lock(&g_kernel.mu);
    long ret = 0;
    struct task *target = tid > 0 ? kernel_find_task(tid) : NULL;
    if (!target || target->exiting || (tgid > 0 && target->tg->tgid != tgid)) {
        ret = -ESRCH;
    } else if ((si.si_code >= 0 || si.si_code == SI_TKILL) && target->tg != t->tg) {
        /* only the kernel may claim kernel codes, except towards oneself */
        ret = -EPERM;
    } else if ((ret = cred_may_signal(t, target, sig)) < 0) {
        /* not the caller's to signal */
    } else {
        si.si_signo = sig;
        int r = tgid == -1 ? signal_send_group(target->tg, sig, &si)  /* the process */
                           : signal_send(target, sig, &si);
        if (r == -EAGAIN)
            ret = -EAGAIN;   /* a real-time signal's queue is full (sigqueue(3)) */
    }
    pthread_mutex_unlock(&g_kernel.mu);
    return ret;
}

long sys_rt_sigqueueinfo(struct task *t, const struct syscall_args *a)
{
    return queue_info(t, -1, arg_int(a, 0), arg_int(a, 1), arg_u64(a, 2));
}

long sys_rt_tgsigqueueinfo(struct task *t, const struct syscall_args *a)
{
    return queue_info(t, arg_int(a, 0), arg_int(a, 1), arg_int(a, 2), arg_u64(a, 3));
}
