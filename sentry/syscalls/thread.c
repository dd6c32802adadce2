/* Task identity and lifetime: exit, ids, TLS and robust-list registration, affinity.
 * (Credential changes are cred.c's, prctl is prctl.c's.) */
#include <asm/prctl.h>
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"

long sys_set_tid_address(struct task *t, const struct syscall_args *a)
{
    t->clear_child_tid = arg_u64(a, 0);
    return t->tid;
}

long sys_set_robust_list(struct task *t, const struct syscall_args *a)
{
    /* the kernel's struct robust_list_head is three words */
    if (arg_size(a, 1) != 24)
        return -EINVAL;
    /* atomic: get_robust_list reads it from other threads */
    __atomic_store_n(&t->robust_list, arg_u64(a, 0), __ATOMIC_RELAXED);
    t->robust_len = arg_size(a, 1);
    return 0;
}

long sys_get_robust_list(struct task *t, const struct syscall_args *a)
{
    int pid = arg_int(a, 0);
    uint64_t head = t->robust_list, len = 24;
    if (pid != 0 && pid != t->tid) {
        /* another thread's: ptrace-read access to it (ESRCH, EPERM) */
        pthread_mutex_lock(&g_kernel.mu);
        struct task *x = kernel_find_task(pid);
        int err = x ? cred_may_inspect(t, x) : -ESRCH;
        if (err == 0)
            head = __atomic_load_n(&x->robust_list, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&g_kernel.mu);
        if (err < 0)
            return err;
    }
    if (mm_copy_out(t->mm, arg_u64(a, 2), &len, sizeof(len), 0) < 0 ||
        mm_copy_out(t->mm, arg_u64(a, 1), &head, sizeof(head), 0) < 0)
        return -EFAULT;
    return 0;
}

/* canonical: a user-space address the CPU accepts as a segment base. */
static int canonical(uint64_t v) { return v < 0x800000000000ULL; }

long sys_arch_prctl(struct task *t, const struct syscall_args *a)
{
    int code = arg_int(a, 0);
    uint64_t addr = arg_u64(a, 1);
    switch (code) {
    case ARCH_SET_FS:
        if (!canonical(addr))
            return -EPERM;
        t->regs.fs_base = addr;
        return 0;
    case ARCH_SET_GS:
        if (!canonical(addr))
            return -EPERM;
        t->regs.gs_base = addr;
        return 0;
    case ARCH_GET_FS:
        return mm_copy_out(t->mm, addr, &t->regs.fs_base, 8, 0);
    case ARCH_GET_GS:
        return mm_copy_out(t->mm, addr, &t->regs.gs_base, 8, 0);
    case ARCH_GET_CPUID:
        return 1;  /* cpuid is not faulting */
    case ARCH_SET_CPUID:
        return -ENODEV;
    default:
        return -EINVAL;
    }
}

long sys_getpid(struct task *t, const struct syscall_args *a) { (void)a; return t->tg->tgid; }
long sys_gettid(struct task *t, const struct syscall_args *a) { (void)a; return t->tid; }

long sys_getuid(struct task *t, const struct syscall_args *a) { (void)a; return t->cred.ruid; }
long sys_geteuid(struct task *t, const struct syscall_args *a) { (void)a; return t->cred.euid; }
long sys_getgid(struct task *t, const struct syscall_args *a) { (void)a; return t->cred.rgid; }
long sys_getegid(struct task *t, const struct syscall_args *a) { (void)a; return t->cred.egid; }

long sys_sched_yield(struct task *t, const struct syscall_args *a)
{
    (void)t; (void)a;
    /* the task's guest code and its Sentry thread share one CPU: giving up the
     * Sentry thread's slice is giving up the task's */
    sched_yield();
    return 0;
}

