/* The task loop: run guest code until it traps, handle the trap, repeat. */
#include "sentry/kernel/task.h"

#include <errno.h>
#include <signal.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/util.h"
#include "sentry/kernel/jobctl.h"
#include "sentry/mm/mm.h"
#include "sentry/mm/syscall_patch.h"

/* A fault the memory manager resolved but the guest keeps taking at the same address
 * means our mappings disagree with the platform's: stop instead of spinning. */
#define MAX_REPEATED_FAULTS 64

void task_fatal_signal(struct task *t, int sig)
{
    /* no core files are written, so the status never has the core-dump bit */
    log_info("task %d killed by signal %d", t->tid, sig);
    task_exit_group(t, sig & 0x7f);
}

/* handle_syscall: the instruction that trapped is read back (cheap next to the trap
 * itself): `int $0x80` and 32-bit code segments use the i386 ABI, which the Sentry
 * does not implement; a `syscall` may be patched into the platform's faster
 * instruction (syscall_patch.h); that instruction where the Sentry did not write it
 * is the guest's own, a #GP natively. */
static int handle_syscall(struct task *t, const struct trap *trap)
{
    struct guest_regs *r = &t->regs;
    uint8_t insn[2] = { 0, 0 };
    uint64_t site = r->rip - 2;
    int have = mm_copy_in(t->mm, insn, site, 2) == 0;
    if (trap->syscall_via == SYSCALL_VIA_PATCH) {
        if (unlikely(!syscall_site_patched(t->mm, site))) {
            r->rip = site;
            r->orig_rax = (uint64_t)-1;
            signal_force(t, SIGSEGV, SI_KERNEL, 0);
            return 0;
        }
        r->rcx = r->rip;   /* what `syscall` leaves there */
        r->r11 = r->eflags;
    } else if (have && insn[0] == 0x0f && insn[1] == 0x05 && g_plat->syscall_patch) {
        syscall_patch_site(t->mm, site);
    }
    if (unlikely(r->cs != 0x33 || (have && insn[0] == 0xcd && insn[1] == 0x80))) {
        log_warn("task %d: 32-bit system call (int $0x80) %llu refused", t->tid,
                 (unsigned long long)r->orig_rax);
        r->rax = (uint64_t)-ENOSYS;
        return 1;
    }
    t->cur.nr = r->orig_rax;
    t->cur.arg[0] = r->rdi;
    t->cur.arg[1] = r->rsi;
    t->cur.arg[2] = r->rdx;
    t->cur.arg[3] = r->r10;
    t->cur.arg[4] = r->r8;
    t->cur.arg[5] = r->r9;
    long ret = syscall_dispatch(t, &t->cur);
    /* restart codes stay in rax until signal_deliver resolves them */
    r->rax = (uint64_t)ret;
    return 1;
}

_Thread_local struct task *current_task;

int task_run(struct task *t)
{
    current_task = t;
    uint64_t last_fault = 0;
    int repeats = 0;
    /* a thread created while its process stops does not run guest code first */
    jobctl_check(t);
    cputime_start(t);
    while (!t->exiting) {
        struct trap trap;
        /* user time is the time inside the switch, system time the rest (cputime.h) */
        cputime_switch(t, CPU_GUEST);
        int err = g_plat->switch_to(t->ctx, t->mm->as, &t->regs, &trap);
        cputime_switch(t, CPU_SENTRY);
        if (err < 0) {
            log_err("platform failed to run task %d: %d", t->tid, err);
            task_fatal_signal(t, SIGKILL);
            break;
        }
        int in_syscall = 0;
        switch (trap.kind) {
        case TRAP_SYSCALL:
            repeats = 0;
            in_syscall = handle_syscall(t, &trap);
            break;
        case TRAP_FAULT: {
            int code;
            if (trap.addr.v == last_fault && ++repeats > MAX_REPEATED_FAULTS) {
                log_warn("task %d: fault at %#llx keeps recurring", t->tid,
                         (unsigned long long)trap.addr.v);
                task_fatal_signal(t, SIGSEGV);
                break;
            }
            if (trap.addr.v != last_fault)
                repeats = 0;
            last_fault = trap.addr.v;
            __atomic_store_n(&t->cpu.min_flt, t->cpu.min_flt + 1, __ATOMIC_RELAXED);
            int r = mm_handle_fault(t->mm, trap.addr.v, trap.access, trap.present, &code);
            if (r == -ENXIO) {
                log_info("task %d: SIGBUS at %#llx (beyond the mapped file)", t->tid,
                         (unsigned long long)trap.addr.v);
                signal_force(t, SIGBUS, BUS_ADRERR, trap.addr.v);
            } else if (r < 0) {
                log_info("task %d: SIGSEGV at %#llx (code %d, rip %#llx)", t->tid,
                         (unsigned long long)trap.addr.v, code,
                         (unsigned long long)t->regs.rip);
                signal_force(t, SIGSEGV, code, trap.addr.v);
            }
            break;
        }
        case TRAP_SIGNAL:
            log_info("task %d: signal %d (code %d, addr %#llx) from the CPU at rip %#llx",
                     t->tid, trap.signo, trap.code, (unsigned long long)trap.addr.v,
                     (unsigned long long)t->regs.rip);
            signal_force(t, trap.signo, trap.code, trap.addr.v);
            break;
        case TRAP_INTERRUPTED:
            break;
        }
        if (!t->exiting)
            signal_deliver(t, in_syscall);
    }
    cputime_switch(t, CPU_IDLE);
    return t->exit_status;
}

void task_wake(struct task *t)
{
    pthread_mutex_lock(&t->mu);
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->mu);
    /* NULL before a new task's thread has made its context (task_main looks at its
     * pending signals once it has) and after the context is gone */
    struct plat_ctx *ctx = __atomic_load_n(&t->ctx, __ATOMIC_SEQ_CST);
    if (ctx)
        g_plat->interrupt(ctx);
}
