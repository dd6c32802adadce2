/* The platform interface: how guest code runs. The Sentry never cares which platform it
 * has; it creates address spaces, maps ranges of the memory file into them, and runs
 * guest register state on a context until the guest traps.
 *
 * Threading contract: an address space may be used from any Sentry thread. A context is
 * owned by one Sentry thread (the task's) and only that thread calls switch_to on it;
 * interrupt() may be called from any thread at any time. */
#ifndef PLATFORM_PLATFORM_H
#define PLATFORM_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "lib/gva.h"

/* The guest's general-purpose register file. The field order is the kernel's
 * struct user_regs_struct, so the ptrace platform moves it in one call. */
struct guest_regs {
    uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
    uint64_t rax, rcx, rdx, rsi, rdi, orig_rax;
    uint64_t rip, cs, eflags, rsp, ss;
    uint64_t fs_base, gs_base;
    uint64_t ds, es, fs, gs;
};

/* The FPU/SSE/AVX state in XSAVE format. Large enough for every feature the host
 * enables (the platform reports the size in use in plat_fpu_size()). */
#define GUEST_FPU_MAX 8192
struct guest_fpu {
    uint8_t xsave[GUEST_FPU_MAX] __attribute__((aligned(64)));
};

enum trap_kind {
    TRAP_SYSCALL = 1,   /* guest executed syscall; number in orig_rax, rip after it */
    TRAP_FAULT,         /* memory access fault at trap.addr */
    TRAP_SIGNAL,        /* CPU exception other than a page fault: trap.signo/code */
    TRAP_INTERRUPTED,   /* interrupt() was called, or the platform needed to yield */
};

/* Access bits of a fault. FAULT_UNKNOWN: the platform cannot tell (ptrace). */
enum {
    FAULT_READ = 1, FAULT_WRITE = 2, FAULT_EXEC = 4,
    FAULT_UNKNOWN = 0,
};

struct trap {
    enum trap_kind kind;
    int signo;          /* TRAP_SIGNAL, TRAP_FAULT: the signal Linux would raise */
    int code;           /* si_code Linux would give (SEGV_MAPERR, FPE_INTDIV, ...) */
    gva_t addr;         /* TRAP_FAULT: faulting address; TRAP_SIGNAL: si_addr */
    unsigned access;    /* TRAP_FAULT: FAULT_* bits */
    int present;        /* TRAP_FAULT: 1 if the page was mapped (protection fault) */
    int trapno;         /* CPU exception vector when known, else -1 */
    int syscall_via;    /* TRAP_SYSCALL: SYSCALL_VIA_* */
};

/* How a TRAP_SYSCALL came in. */
enum {
    SYSCALL_VIA_INSN = 0,   /* `syscall` (or int $0x80): rip is after it */
    SYSCALL_VIA_PATCH,      /* the platform's syscall_patch instruction, which ends at
                               rip; the Sentry must check that it wrote it there, and
                               then sets rcx and r11 as `syscall` would have */
};

struct plat_as;   /* an address space: the guest's page mappings */
struct plat_ctx;  /* a context: where one guest thread's code executes */

struct platform_ops {
    const char *name;

    /* init: probes and sets the platform up for this process, given the memory file's
     * fd, the Sentry's mapping of it and its maximum size. 0 or -errno (unusable). */
    int (*init)(int memfd, void *mem_base, uint64_t mem_max);

    /* as_create: a new, empty address space; NULL with *err = -errno on failure. */
    struct plat_as *(*as_create)(int *err);
    /* as_destroy: releases the address space; no context may be running in it. Any
     * thread may call it. */
    void (*as_destroy)(struct plat_as *as);

    /* map: maps [va, va+len) to the memory file at file_off with PROT_* prot,
     * replacing whatever was there. va, len, file_off page aligned. 0 or -errno. */
    int (*map)(struct plat_as *as, gva_t va, uint64_t len, int prot, uint64_t file_off);
    /* unmap: removes any mapping in [va, va+len). Once it returns, no guest thread can
     * reach the old pages through this address space. 0 or -errno. */
    int (*unmap)(struct plat_as *as, gva_t va, uint64_t len);
    /* protect: changes the protection of mapped pages in [va, va+len). 0 or -errno. */
    int (*protect)(struct plat_as *as, gva_t va, uint64_t len, int prot);

    /* thread_new: on a thread that drives as (it created as, or adopted a thread of
     * it), prepares a way in for another Sentry thread: a handle (> 0) for
     * thread_adopt, or -errno. Used for guest threads (CLONE_VM). */
    long (*thread_new)(struct plat_as *as);
    /* thread_adopt: on the new task's thread: makes handle its way into as. 0 or
     * -errno. After it, map/unmap/protect/switch_to work from this thread. */
    int (*thread_adopt)(struct plat_as *as, long handle);
    /* thread_leave: the calling thread stops using as (its guest thread exits); the
     * address space lives on for the others. */
    void (*thread_leave)(struct plat_as *as);

    /* ctx_create: a context for the calling thread; NULL with *err = -errno. */
    struct plat_ctx *(*ctx_create)(int *err);
    /* ctx_destroy: releases it; called by the owning thread. */
    void (*ctx_destroy)(struct plat_ctx *ctx);

    /* switch_to: runs regs in as until the guest traps; fills *trap and updates regs.
     * Returns 0, or -errno if the platform failed (the task must die). */
    int (*switch_to)(struct plat_ctx *ctx, struct plat_as *as, struct guest_regs *regs,
                     struct trap *trap);
    /* interrupt: makes a running (or the next) switch_to on ctx return
     * TRAP_INTERRUPTED soon. Any thread, async-safe with respect to ctx. */
    void (*interrupt)(struct plat_ctx *ctx);

    /* fpu_get/fpu_set: read or replace the FPU/xsave state of the guest thread last run
     * on ctx in as (fpu_get before any run gives the initial state). 0 or -errno. */
    int (*fpu_get)(struct plat_ctx *ctx, struct plat_as *as, struct guest_fpu *fpu);
    int (*fpu_set)(struct plat_ctx *ctx, struct plat_as *as, const struct guest_fpu *fpu);
    /* fpu_size: bytes of XSAVE state in use (what a signal frame must hold); 512
     * means the CPU has no XSAVE and the state is a bare FXSAVE image. */
    unsigned (*fpu_size)(void);

    /* Guest addresses usable by this platform: [0, user_max), minus the ranges that
     * reserved() reports; the memory manager refuses mappings outside of them. */
    uint64_t user_max;
    /* reserved: true if [va, va+len) overlaps memory the platform keeps for itself. */
    int (*reserved)(uint64_t va, uint64_t len);
    /* syscall_patch: NULL, or a function giving NULL or a 2-byte instruction this
     * platform traps much faster than `syscall` (0f 05). The Sentry may write it over
     * `syscall` sites in the guest's code (sentry/mm/syscall_patch.h); running it
     * is then TRAP_SYSCALL with syscall_via = SYSCALL_VIA_PATCH. */
    const uint8_t *(*syscall_patch)(void);
};

/* plat_find: the platform registered under name, or NULL. */
const struct platform_ops *plat_find(const char *name);
/* plat_names: a comma-separated list of registered platform names, for --help. */
const char *plat_names(void);

/* plat_auto_order: the platforms --platform=auto tries, in order, NULL-terminated. */
const char *const *plat_auto_order(void);

/* g_plat: the platform this Sentry runs on, chosen at boot. */
extern const struct platform_ops *g_plat;

extern const struct platform_ops g_platform_ptrace;
extern const struct platform_ops g_platform_null;
extern const struct platform_ops g_platform_kvm;

#endif
