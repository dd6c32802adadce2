/* prctl(2): the options the sandbox implements, with Linux's argument checks
 * (kernel/sys.c and security/commoncap.c's cap_task_prctl). Anything else is
 * EINVAL, as Linux answers an unknown option. Not implemented: PR_CAP_AMBIENT
 * (EINVAL: ambient capabilities stay empty), seccomp filters (PR_SET_SECCOMP is
 * EINVAL, as on a kernel built without them; PR_GET_SECCOMP reports mode 0). */
#include <errno.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <string.h>
#include <sys/prctl.h>

#include "sentry/kernel/cred.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"

/* Linux's SUID_DUMP_DISABLE / SUID_DUMP_USER: what PR_SET_DUMPABLE accepts. */
#define DUMP_DISABLE 0
#define DUMP_USER 1

/* The securebits Linux knows (SECURE_ALL_BITS) and their lock bits. */
#define SECBITS_ALL (SECBIT_NOROOT | SECBIT_NO_SETUID_FIXUP | SECBIT_KEEP_CAPS | \
                     SECBIT_NO_CAP_AMBIENT_RAISE)
#define SECBITS_LOCKS (SECBITS_ALL << 1)

static long set_name(struct task *t, uint64_t uname)
{
    char name[16];
    long n = mm_copy_string_in(t->mm, uname, name, sizeof(name));
    if (n == -ENAMETOOLONG) {
        /* Linux truncates silently */
        if (mm_copy_in(t->mm, name, uname, sizeof(name) - 1) < 0)
            return -EFAULT;
        name[15] = 0;
    } else if (n < 0) {
        return -EFAULT;
    }
    memcpy(t->comm, name, sizeof(name));
    return 0;
}

/* put_int: the int answer of a PR_GET_* option that stores it at uaddr. */
static long put_int(struct task *t, uint64_t uaddr, int v)
{
    return mm_copy_out(t->mm, uaddr, &v, sizeof(v), 0) < 0 ? -EFAULT : 0;
}

/* set_securebits: PR_SET_SECUREBITS: locked bits cannot change, locks cannot be
 * lifted, unknown bits cannot be set, and all of it needs CAP_SETPCAP. */
static long set_securebits(struct task *t, uint64_t bits)
{
    unsigned old = t->cred.securebits;
    if ((((old & SECBITS_LOCKS) >> 1) & (old ^ bits)) || (old & SECBITS_LOCKS & ~bits) ||
        (bits & ~(uint64_t)(SECBITS_LOCKS | SECBITS_ALL)) ||
        !cred_capable(&t->cred, CAP_SETPCAP))
        return -EPERM;
    struct creds c;
    cred_prepare(t, &c);
    c.securebits = (unsigned)bits;
    cred_commit(t, &c);
    return 0;
}

static long set_keepcaps(struct task *t, uint64_t on)
{
    if (on > 1)
        return -EINVAL;
    if (t->cred.securebits & SECBIT_KEEP_CAPS_LOCKED)
        return -EPERM;
    struct creds c;
    cred_prepare(t, &c);
    if (on)
        c.securebits |= SECBIT_KEEP_CAPS;
    else
        c.securebits &= ~(unsigned)SECBIT_KEEP_CAPS;
    cred_commit(t, &c);
    return 0;
}

static long capbset_drop(struct task *t, uint64_t cap)
{
    if (!cred_capable(&t->cred, CAP_SETPCAP))
        return -EPERM;
    if (cap > CRED_CAP_LAST)
        return -EINVAL;
    struct creds c;
    cred_prepare(t, &c);
    c.cap_bset &= ~CRED_CAP(cap);
    cred_commit(t, &c);
    return 0;
}

long sys_prctl(struct task *t, const struct syscall_args *a)
{
    int option = arg_int(a, 0);
    uint64_t arg2 = arg_u64(a, 1), arg3 = arg_u64(a, 2), arg4 = arg_u64(a, 3),
             arg5 = arg_u64(a, 4);
    switch (option) {
    case PR_SET_NAME:
        return set_name(t, arg2);
    case PR_GET_NAME:
        return mm_copy_out(t->mm, arg2, t->comm, sizeof(t->comm), 0);

    case PR_SET_PDEATHSIG:
        if (arg2 > GUEST_NSIG)
            return -EINVAL;
        __atomic_store_n(&t->pdeath_signal, (int)arg2, __ATOMIC_RELAXED);
        return 0;
    case PR_GET_PDEATHSIG:
        return put_int(t, arg2, __atomic_load_n(&t->pdeath_signal, __ATOMIC_RELAXED));

    case PR_SET_CHILD_SUBREAPER:
        pthread_mutex_lock(&g_kernel.mu);
        t->tg->is_child_subreaper = arg2 != 0;
        pthread_mutex_unlock(&g_kernel.mu);
        return 0;
    case PR_GET_CHILD_SUBREAPER: {
        pthread_mutex_lock(&g_kernel.mu);
        int on = t->tg->is_child_subreaper;
        pthread_mutex_unlock(&g_kernel.mu);
        return put_int(t, arg2, on);
    }

    case PR_SET_NO_NEW_PRIVS:
        if (arg2 != 1 || arg3 || arg4 || arg5)
            return -EINVAL;
        t->no_new_privs = 1;   /* for good: there is no way back */
        return 0;
    case PR_GET_NO_NEW_PRIVS:
        if (arg2 || arg3 || arg4 || arg5)
            return -EINVAL;
        return t->no_new_privs;

    case PR_GET_DUMPABLE:
        return __atomic_load_n(&t->tg->dumpable, __ATOMIC_RELAXED);
    case PR_SET_DUMPABLE:
        if (arg2 != DUMP_DISABLE && arg2 != DUMP_USER)
            return -EINVAL;
        __atomic_store_n(&t->tg->dumpable, (int)arg2, __ATOMIC_RELAXED);
        return 0;

    case PR_GET_KEEPCAPS:
        return (t->cred.securebits & SECBIT_KEEP_CAPS) != 0;
    case PR_SET_KEEPCAPS:
        return set_keepcaps(t, arg2);
    case PR_GET_SECUREBITS:
        return t->cred.securebits;
    case PR_SET_SECUREBITS:
        return set_securebits(t, arg2);
    case PR_CAPBSET_READ:
        if (arg2 > CRED_CAP_LAST)
            return -EINVAL;
        return (t->cred.cap_bset & CRED_CAP(arg2)) != 0;
    case PR_CAPBSET_DROP:
        return capbset_drop(t, arg2);

    case PR_GET_SECCOMP:
        return 0;         /* SECCOMP_MODE_DISABLED: the guest never enters seccomp */
    case PR_SET_SECCOMP:
        return -EINVAL;   /* seccomp is not implemented */

    case PR_GET_TID_ADDRESS:
        return mm_copy_out(t->mm, arg2, &t->clear_child_tid, sizeof(t->clear_child_tid),
                           0) < 0 ? -EFAULT : 0;
    default:
        return -EINVAL;
    }
}
