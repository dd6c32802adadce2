/* Signal dispositions and masks. The state is kept as Linux keeps it; delivery to
 * handlers comes with the processes issue. */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"

#define SIGBIT(n) (1ULL << ((n) - 1))
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
