/* The ptrace platform. See README.md for how it works. */
#include "platform/platform.h"

#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/elf.h>

#include "lib/log.h"
#include "lib/util.h"

_Static_assert(sizeof(struct guest_regs) == sizeof(struct user_regs_struct),
               "guest_regs must mirror user_regs_struct");

#define TASK_SIZE 0x7ffffffff000ULL
#define STUB_SIZE PAGE_SIZE
/* The signal interrupt() sends to a running stub thread. Guests cannot send host
 * signals, and the CPU never raises this one, so it always means "interrupted". */
#define SIG_INTERRUPT SIGUSR2

extern const char stub_code_begin[], stub_code_end[];
extern const uint64_t stub_entry_off, stub_syscall_off, stub_clone_off;

static uint64_t g_stub_addr;     /* where the stub page is, in the Sentry and stubs */
static int g_memfd = -1;
static unsigned g_xsave_size;    /* bytes of XSAVE state for the enabled features */
static int g_ncpu = 1;
static int g_next_cpu;

/* A stub thread: one host thread of a stub process, traced by one Sentry thread. */
struct stub_thread {
    pid_t tid;
    pid_t tracer;                  /* the Sentry thread allowed to drive it */
    struct user_regs_struct init;  /* registers at its first stop (segments, flags) */
};

struct plat_as {
    pid_t pid;                     /* stub process; immutable */
    pthread_mutex_t mu;            /* protects threads, nthreads */
    struct stub_thread leader;     /* traced by the thread that created the as */
    struct stub_thread **threads;  /* the others, one per tracing Sentry thread */
    int nthreads;
};

struct plat_ctx {
    pid_t self;                    /* the Sentry thread owning the context */
    int cpu;                       /* where it and its stub threads run */
    pid_t running;                 /* stub thread in switch_to, or 0 (atomic) */
    pid_t running_pid;             /* its stub process, set before running (atomic) */
    int interrupted;               /* pending interrupt() (atomic) */
};

static pid_t gettid_(void) { return (pid_t)syscall(SYS_gettid); }

/* The CPU this Sentry thread is pinned to (set by ctx_create), for its stubs. */
static _Thread_local int tl_cpu = -1;

static int ptrace_init(int memfd, void *base, uint64_t max)
{
    (void)base; (void)max;
    g_memfd = memfd;
    unsigned a, b, c, d;
    /* XSAVE in use (CPUID.1:ECX OSXSAVE) gives the XSAVE regset; a CPU without it
     * (an old one, or QEMU's default model) has only the 512-byte FXSAVE image */
    int osxsave = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 27));
    if (osxsave && __get_cpuid_count(0xd, 0, &a, &b, &c, &d) && b > 512 &&
        b <= GUEST_FPU_MAX)
        g_xsave_size = b;
    else
        g_xsave_size = 512;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    g_ncpu = n > 0 ? (int)n : 1;

    /* the stub page must be at the same address here and in every stub process; a
     * few fixed candidates keep it out of the way of guest mappings, else any */
    static const uint64_t hints[] = { 0x7ff000000000ULL, 0x7fe000000000ULL,
                                      0x7fd000000000ULL };
    void *p = MAP_FAILED;
    for (size_t i = 0; i < ARRAY_SIZE(hints) && p == MAP_FAILED; i++)
        p = mmap((void *)hints[i], STUB_SIZE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED)
        p = mmap(NULL, STUB_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0);
    if (p == MAP_FAILED)
        return -errno;
    memcpy(p, stub_code_begin, (size_t)(stub_code_end - stub_code_begin));
    if (mprotect(p, STUB_SIZE, PROT_READ | PROT_EXEC) < 0)
        return -errno;
    g_stub_addr = (uint64_t)p;
    log_debug("ptrace: stub page at %#llx, xsave %u bytes, %d cpus",
              (unsigned long long)g_stub_addr, g_xsave_size, g_ncpu);
    return 0;
}

static int ptrace_reserved(uint64_t va, uint64_t len)
{
    return va < g_stub_addr + STUB_SIZE && g_stub_addr < va + len;
}

/* wait_stop: waits for tid to stop; returns the waitpid status or -errno. */
static int wait_stop(pid_t tid)
{
    int status;
    for (;;) {
        pid_t r = waitpid(tid, &status, __WALL);
        if (r == tid)
            return status;
        if (r < 0 && errno != EINTR)
            return -errno;
    }
}

static void pin_to(pid_t tid, int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(tid, sizeof(set), &set);
}

/* stub_child: runs in the new stub process, on a copy of the Sentry's memory. Only
 * raw system calls: it must not take any lock a Sentry thread may have held. */
static void __attribute__((noreturn)) stub_child(void)
{
    syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    syscall(SYS_setsid);  /* terminal signals go to the guest via the Sentry only */
    /* keep only the memory file, at the fd number the Sentry knows */
    if (g_memfd > 0)
        syscall(SYS_close_range, 0, g_memfd - 1, 0);
    syscall(SYS_close_range, g_memfd + 1, ~0U, 0);
    /* glibc registered rseq for the Sentry thread and fork kept it: once the area is
     * unmapped the kernel would fault on our way back to user mode */
    if (__rseq_size > 0)
        syscall(SYS_rseq, (char *)__builtin_thread_pointer() + __rseq_offset,
                __rseq_size < 32 ? 32 : __rseq_size, 1 /* RSEQ_FLAG_UNREGISTER */,
                0x53053053 /* RSEQ_SIG on x86 */);
    sigset_t all;
    sigfillset(&all);
    syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &all, NULL, 8);
    if (syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0) < 0)
        syscall(SYS_exit_group, 111);
    uint64_t entry = g_stub_addr + stub_entry_off;
    __asm__ volatile("jmp *%0" : : "r"(entry) : "memory");
    __builtin_unreachable();
}

/* spawn_stub: a new stub process traced by the calling thread, stopped and empty. */
static int spawn_stub(struct stub_thread *st)
{
    long pid = syscall(SYS_clone, 0 /* no exit signal: reaped with __WALL */, 0, 0, 0, 0);
    if (pid < 0)
        return -errno;
    if (pid == 0)
        stub_child();
    int status = wait_stop((pid_t)pid);
    if (status < 0 || !WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP) {
        log_err("ptrace: stub %ld did not start (status %#x)", pid, status);
        kill((pid_t)pid, SIGKILL);
        if (status >= 0 && WIFSTOPPED(status))
            wait_stop((pid_t)pid);
        return -ECHILD;
    }
    if (ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD) < 0 ||
        ptrace(PTRACE_GETREGS, pid, 0, &st->init) < 0) {
        int e = -errno;
        kill((pid_t)pid, SIGKILL);
        wait_stop((pid_t)pid);
        return e;
    }
    st->tid = (pid_t)pid;
    st->tracer = gettid_();
    return 0;
}

static struct plat_as *ptrace_as_create(int *err)
{
    struct plat_as *as = calloc(1, sizeof(*as));
    if (!as) {
        *err = -ENOMEM;
        return NULL;
    }
    int e = spawn_stub(&as->leader);
    if (e < 0) {
        free(as);
        *err = e;
        return NULL;
    }
    as->pid = as->leader.tid;
    pthread_mutex_init(&as->mu, NULL);
    return as;
}

static void ptrace_as_destroy(struct plat_as *as)
{
    kill(as->pid, SIGKILL);
    /* any thread of the Sentry may reap a child of another one (no __WNOTHREAD) */
    wait_stop(as->pid);
    for (int i = 0; i < as->nthreads; i++)
        free(as->threads[i]);
    free(as->threads);
    pthread_mutex_destroy(&as->mu);
    free(as);
}

/* stub_for: the stub thread of as that the calling thread may drive, or NULL. */
static struct stub_thread *stub_for(struct plat_as *as)
{
    pid_t self = gettid_();
    if (as->leader.tracer == self)
        return &as->leader;
    struct stub_thread *st = NULL;
    pthread_mutex_lock(&as->mu);
    for (int i = 0; i < as->nthreads; i++)
        if (as->threads[i]->tracer == self)
            st = as->threads[i];
    pthread_mutex_unlock(&as->mu);
    return st;
}

/* inject_at: runs one system call in the stub thread, entering the stub at offset
 * entry (a syscall instruction followed by int3); returns the call's result. */
static long inject_at(struct stub_thread *st, uint64_t entry, long nr, uint64_t a0,
                      uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
    struct user_regs_struct r = st->init;
    r.rip = g_stub_addr + entry;
    r.rax = (uint64_t)nr;
    r.orig_rax = (uint64_t)-1;
    r.rdi = a0; r.rsi = a1; r.rdx = a2; r.r10 = a3; r.r8 = a4; r.r9 = a5;
    if (ptrace(PTRACE_SETREGS, st->tid, 0, &r) < 0 ||
        ptrace(PTRACE_CONT, st->tid, 0, 0) < 0)
        return -errno;
    int status = wait_stop(st->tid);
    if (status < 0)
        return status;
    if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP) {
        /* an interrupt may arrive first: let it queue and wait for the trap again */
        if (WIFSTOPPED(status) && WSTOPSIG(status) == SIG_INTERRUPT) {
            if (ptrace(PTRACE_CONT, st->tid, 0, 0) < 0)
                return -errno;
            status = wait_stop(st->tid);
        }
        if (status < 0 || !WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP) {
            log_err("ptrace: stub %d failed an injected call %ld (status %#x)",
                    st->tid, nr, status);
            return -EIO;
        }
    }
    if (ptrace(PTRACE_GETREGS, st->tid, 0, &r) < 0)
        return -errno;
    return (long)r.rax;
}

/* inject: runs one system call in the stub thread; returns its result. */
static long inject(struct stub_thread *st, long nr, uint64_t a0, uint64_t a1,
                   uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
    return inject_at(st, stub_syscall_off, nr, a0, a1, a2, a3, a4, a5);
}

static long ptrace_thread_new(struct plat_as *as)
{
    struct stub_thread *st = stub_for(as);
    if (!st)
        return -EAGAIN;
    /* the new thread shares everything with the stub and waits in pause() */
    long tid = inject_at(st, stub_clone_off, SYS_clone,
                         CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
                         CLONE_THREAD | CLONE_SYSVSEM, 0, 0, 0, 0, 0);
    return tid;
}

static int ptrace_thread_adopt(struct plat_as *as, long handle)
{
    pid_t tid = (pid_t)handle;
    struct stub_thread *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    int err = 0;
    if (ptrace(PTRACE_SEIZE, tid, 0, PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD) < 0 ||
        ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0) {
        err = -errno;
        goto fail;
    }
    int status = wait_stop(tid);
    if (status < 0 || !WIFSTOPPED(status)) {
        err = status < 0 ? status : -ECHILD;
        goto fail;
    }
    if (ptrace(PTRACE_GETREGS, tid, 0, &st->init) < 0) {
        err = -errno;
        goto fail;
    }
    st->tid = tid;
    st->tracer = gettid_();
    if (tl_cpu >= 0)
        pin_to(tid, tl_cpu);
    pthread_mutex_lock(&as->mu);
    struct stub_thread **n = realloc(as->threads, (size_t)(as->nthreads + 1) * sizeof(*n));
    if (n) {
        as->threads = n;
        as->threads[as->nthreads++] = st;
    }
    pthread_mutex_unlock(&as->mu);
    if (!n) {
        err = -ENOMEM;
        goto fail;
    }
    return 0;
fail:
    syscall(SYS_tgkill, as->pid, tid, SIGKILL);
    free(st);
    return err;
}

static void ptrace_thread_leave(struct plat_as *as)
{
    pid_t self = gettid_();
    if (as->leader.tracer == self)
        return;  /* the leader stays stopped: the process lives until as_destroy */
    struct stub_thread *st = NULL;
    pthread_mutex_lock(&as->mu);
    for (int i = 0; i < as->nthreads; i++) {
        if (as->threads[i]->tracer == self) {
            st = as->threads[i];
            as->threads[i] = as->threads[--as->nthreads];
            break;
        }
    }
    pthread_mutex_unlock(&as->mu);
    if (!st)
        return;
    /* end the stub thread alone: without EXITKILL, our own exit cannot take the
     * whole stub process down with it */
    struct user_regs_struct r = st->init;
    r.rip = g_stub_addr + stub_syscall_off;
    r.rax = SYS_exit;
    r.orig_rax = (uint64_t)-1;
    r.rdi = 0;
    if (ptrace(PTRACE_SETOPTIONS, st->tid, 0, PTRACE_O_TRACESYSGOOD) == 0 &&
        ptrace(PTRACE_SETREGS, st->tid, 0, &r) == 0 &&
        ptrace(PTRACE_CONT, st->tid, 0, 0) == 0) {
        for (;;) {
            int status = wait_stop(st->tid);
            if (status < 0 || WIFEXITED(status) || WIFSIGNALED(status))
                break;
            ptrace(PTRACE_CONT, st->tid, 0, 0);  /* a late interrupt: let it go */
        }
    }
    free(st);
}

static int ptrace_map(struct plat_as *as, gva_t va, uint64_t len, int prot, uint64_t off)
{
    struct stub_thread *st = stub_for(as);
    if (!st)
        return -EAGAIN;
    if (ptrace_reserved(va.v, len))
        return -EINVAL;
    long r = inject(st, SYS_mmap, va.v, len, (uint64_t)prot,
                    MAP_SHARED | MAP_FIXED, (uint64_t)g_memfd, off);
    return r < 0 ? (int)r : 0;
}

static int ptrace_unmap(struct plat_as *as, gva_t va, uint64_t len)
{
    struct stub_thread *st = stub_for(as);
    if (!st)
        return -EAGAIN;
    if (ptrace_reserved(va.v, len))
        return -EINVAL;
    long r = inject(st, SYS_munmap, va.v, len, 0, 0, 0, 0);
    return r < 0 ? (int)r : 0;
}

static int ptrace_protect(struct plat_as *as, gva_t va, uint64_t len, int prot)
{
    struct stub_thread *st = stub_for(as);
    if (!st)
        return -EAGAIN;
    if (ptrace_reserved(va.v, len))
        return -EINVAL;
    long r = inject(st, SYS_mprotect, va.v, len, (uint64_t)prot, 0, 0, 0);
    /* ENOMEM: part of the range was never mapped in the stub, which is fine */
    return r < 0 && r != -ENOMEM ? (int)r : 0;
}

static struct plat_ctx *ptrace_ctx_create(int *err)
{
    struct plat_ctx *c = calloc(1, sizeof(*c));
    if (!c) {
        *err = -ENOMEM;
        return NULL;
    }
    c->self = gettid_();
    /* this thread and the stubs it traces share one CPU: a hand-off between them is
     * then a same-CPU switch instead of a cross-CPU wake-up */
    c->cpu = __atomic_fetch_add(&g_next_cpu, 1, __ATOMIC_RELAXED) % g_ncpu;
    pin_to(0, c->cpu);
    tl_cpu = c->cpu;
    return c;
}

static void ptrace_ctx_destroy(struct plat_ctx *c) { free(c); }

/* fill_fault: turns a signal-delivery stop of st into a trap. */
static void fill_trap(struct stub_thread *st, int sig, struct trap *trap)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    ptrace(PTRACE_GETSIGINFO, st->tid, 0, &si);
    trap->signo = sig;
    trap->code = si.si_code;
    trap->addr = gva((uint64_t)si.si_addr);
    trap->access = FAULT_UNKNOWN;
    trap->trapno = -1;
    trap->present = 0;
    if (sig == SIGSEGV && (si.si_code == SEGV_MAPERR || si.si_code == SEGV_ACCERR)) {
        trap->kind = TRAP_FAULT;
        trap->present = si.si_code == SEGV_ACCERR;
    } else {
        trap->kind = TRAP_SIGNAL;
    }
}

static int ptrace_switch(struct plat_ctx *c, struct plat_as *as, struct guest_regs *regs,
                         struct trap *trap)
{
    struct stub_thread *st = stub_for(as);
    if (!st)
        return -EAGAIN;
    memset(trap, 0, sizeof(*trap));
    __atomic_store_n(&c->running_pid, as->pid, __ATOMIC_SEQ_CST);
    __atomic_store_n(&c->running, st->tid, __ATOMIC_SEQ_CST);
    if (__atomic_exchange_n(&c->interrupted, 0, __ATOMIC_SEQ_CST)) {
        __atomic_store_n(&c->running, 0, __ATOMIC_SEQ_CST);
        trap->kind = TRAP_INTERRUPTED;
        return 0;
    }
    int ret = 0;
    if (ptrace(PTRACE_SETREGS, st->tid, 0, regs) < 0 ||
        ptrace(PTRACE_SYSEMU, st->tid, 0, 0) < 0) {
        ret = -errno;
        goto out;
    }
    int status = wait_stop(st->tid);
    if (status < 0) {
        ret = status;
        goto out;
    }
    if (!WIFSTOPPED(status)) {
        log_err("ptrace: stub %d died (status %#x)", st->tid, status);
        ret = -ECHILD;
        goto out;
    }
    if (ptrace(PTRACE_GETREGS, st->tid, 0, regs) < 0) {
        ret = -errno;
        goto out;
    }
    int sig = WSTOPSIG(status);
    if (status >> 16) {
        /* a ptrace event stop (PTRACE_INTERRUPT or group stop of a seized thread):
         * nothing happened in the guest */
        trap->kind = TRAP_INTERRUPTED;
    } else if (sig == (SIGTRAP | 0x80)) {
        trap->kind = TRAP_SYSCALL;
    } else if (sig == SIG_INTERRUPT) {
        __atomic_store_n(&c->interrupted, 0, __ATOMIC_SEQ_CST);
        trap->kind = TRAP_INTERRUPTED;
    } else {
        fill_trap(st, sig, trap);
    }
out:
    __atomic_store_n(&c->running, 0, __ATOMIC_SEQ_CST);
    return ret;
}

static void ptrace_interrupt(struct plat_ctx *c)
{
    __atomic_store_n(&c->interrupted, 1, __ATOMIC_SEQ_CST);
    pid_t tid = __atomic_load_n(&c->running, __ATOMIC_SEQ_CST);
    /* the stub thread of a guest thread other than the first is not its process's
     * leader: tgkill needs the stub process's pid, not the thread's own id */
    pid_t pid = __atomic_load_n(&c->running_pid, __ATOMIC_SEQ_CST);
    if (tid)
        syscall(SYS_tgkill, pid, tid, SIG_INTERRUPT);
}

/* fpu_regset: the XSAVE image when the CPU uses XSAVE, else the FXSAVE one. */
static int fpu_regset(void) { return g_xsave_size > 512 ? NT_X86_XSTATE : NT_PRFPREG; }

static int ptrace_fpu_get(struct plat_ctx *c, struct plat_as *as, struct guest_fpu *f)
{
    (void)c;
    struct stub_thread *st = stub_for(as);
    if (!st)
        return -EAGAIN;
    struct iovec iov = { f->xsave, g_xsave_size };
    if (ptrace(PTRACE_GETREGSET, st->tid, fpu_regset(), &iov) < 0)
        return -errno;
    return 0;
}

static int ptrace_fpu_set(struct plat_ctx *c, struct plat_as *as, const struct guest_fpu *f)
{
    (void)c;
    struct stub_thread *st = stub_for(as);
    if (!st)
        return -EAGAIN;
    struct iovec iov = { (void *)f->xsave, g_xsave_size };
    if (ptrace(PTRACE_SETREGSET, st->tid, fpu_regset(), &iov) < 0)
        return -errno;
    return 0;
}

static unsigned ptrace_fpu_size(void) { return g_xsave_size; }

const struct platform_ops g_platform_ptrace = {
    .name = "ptrace",
    .init = ptrace_init,
    .as_create = ptrace_as_create, .as_destroy = ptrace_as_destroy,
    .map = ptrace_map, .unmap = ptrace_unmap, .protect = ptrace_protect,
    .thread_new = ptrace_thread_new, .thread_adopt = ptrace_thread_adopt,
    .thread_leave = ptrace_thread_leave,
    .ctx_create = ptrace_ctx_create, .ctx_destroy = ptrace_ctx_destroy,
    .switch_to = ptrace_switch, .interrupt = ptrace_interrupt,
    .fpu_get = ptrace_fpu_get, .fpu_set = ptrace_fpu_set, .fpu_size = ptrace_fpu_size,
    .user_max = TASK_SIZE,
    .reserved = ptrace_reserved,
};
