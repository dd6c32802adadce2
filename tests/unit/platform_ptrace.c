/* The ptrace platform, driven directly: guest machine code (byte arrays below, with
 * the assembly in comments) runs in a stub process and must come back as the right
 * trap with the right registers, without the host ever acting on it.
 *
 * The platform only lets the thread that created an address space drive it, so every
 * test sets everything up itself, on the thread that runs the test body. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"
#include "platform/platform.h"
#include "sentry/mm/memfile.h"

#define CODE_VA  0x400000ULL    /* one page of guest code, r-x */
#define STACK_VA 0x600000ULL    /* one page of guest stack, rw- */
#define DATA_VA  0x10000000ULL  /* a data page, mapped (or not) per test */

#define SI_KERNEL_ 0x80         /* si_code of a kernel-generated signal */

struct env {
    struct plat_ctx *ctx;
    struct plat_as *as;
    uint64_t code_off, stack_off, data_off;  /* memory-file offsets */
};

static void setup(struct env *e)
{
    /* Criterion runs every test in a fresh worker process; once per process anyway */
    static int memfile_ready;
    if (!memfile_ready) {
        cr_assert_eq(memfile_init(1ULL << 30), 0);
        memfile_ready = 1;
    }
    g_plat = &g_platform_ptrace;
    cr_assert_eq(g_plat->init(memfile_fd(), memfile_base(), memfile_max()), 0);
    int err = 0;
    e->ctx = g_plat->ctx_create(&err);
    cr_assert(e->ctx, "ctx_create: %d", err);
    e->as = g_plat->as_create(&err);
    cr_assert(e->as, "as_create: %d", err);

    int64_t off = memfile_alloc(PAGE_SIZE);
    cr_assert_geq(off, 0);
    e->code_off = (uint64_t)off;
    memset(memfile_ptr(e->code_off), 0xcc, PAGE_SIZE);  /* int3 everywhere else */
    cr_assert_eq(g_plat->map(e->as, gva(CODE_VA), PAGE_SIZE, PROT_READ | PROT_EXEC,
                             e->code_off), 0);
    off = memfile_alloc(PAGE_SIZE);
    cr_assert_geq(off, 0);
    e->stack_off = (uint64_t)off;
    cr_assert_eq(g_plat->map(e->as, gva(STACK_VA), PAGE_SIZE, PROT_READ | PROT_WRITE,
                             e->stack_off), 0);
    off = memfile_alloc(PAGE_SIZE);
    cr_assert_geq(off, 0);
    e->data_off = (uint64_t)off;  /* not mapped yet */
}

static void teardown(struct env *e)
{
    g_plat->as_destroy(e->as);
    g_plat->ctx_destroy(e->ctx);
}

/* code: copies n bytes of machine code to offset at of the code page; its guest va. */
static uint64_t code(struct env *e, uint64_t at, const uint8_t *bytes, size_t n)
{
    cr_assert_leq(at + n, PAGE_SIZE);
    memcpy((char *)memfile_ptr(e->code_off) + at, bytes, n);
    return CODE_VA + at;
}

static struct guest_regs regs_at(uint64_t rip)
{
    struct guest_regs r;
    memset(&r, 0, sizeof(r));
    r.rip = rip;
    r.rsp = STACK_VA + PAGE_SIZE - 64;
    r.cs = 0x33;
    r.ss = 0x2b;
    r.eflags = 0x202;
    return r;
}

static struct trap run(struct env *e, struct guest_regs *r)
{
    struct trap t;
    int ret = g_plat->switch_to(e->ctx, e->as, r, &t);
    cr_assert_eq(ret, 0, "switch_to: %d", ret);
    return t;
}

/* expect_syscall: runs r until a system call nr, which leaves rip past the syscall.
 * At the stop ptrace reports rax = -ENOSYS and the guest's rax (the number) in
 * orig_rax, so a value the code loads into rax before its syscall is checked as nr. */
static void expect_syscall(struct env *e, struct guest_regs *r, uint64_t nr, uint64_t rip)
{
    struct trap t = run(e, r);
    cr_assert_eq(t.kind, TRAP_SYSCALL, "kind %d signo %d code %#x addr %#lx rip %#lx",
                 t.kind, t.signo, t.code, t.addr.v, r->rip);
    cr_assert_eq(r->orig_rax, nr, "orig_rax %lu", r->orig_rax);
    cr_assert_eq(r->rip, rip, "rip %#lx, want %#lx", r->rip, rip);
}

static uint64_t data_qword(struct env *e, uint64_t at)
{
    uint64_t v;
    memcpy(&v, (char *)memfile_ptr(e->data_off) + at, 8);
    return v;
}

static void set_data_qword(struct env *e, uint64_t at, uint64_t v)
{
    memcpy((char *)memfile_ptr(e->data_off) + at, &v, 8);
}

/* --- 1. system calls trap to us and are never executed by the host --------------- */

Test(platform_ptrace, syscall_trap, .timeout = 20)
{
    struct env e;
    setup(&e);
    static const uint8_t prog[] = {
        0xb8, 0x27, 0x00, 0x00, 0x00,        /* 0x00 mov $39,%eax   (getpid)     */
        0x0f, 0x05,                          /* 0x05 syscall                      */
        0x48, 0x89, 0xc7,                    /* 0x07 mov %rax,%rdi                */
        0xb8, 0x3c, 0x00, 0x00, 0x00,        /* 0x0a mov $60,%eax   (exit)       */
        0x0f, 0x05,                          /* 0x0f syscall                      */
        0xb8, 0xe7, 0x00, 0x00, 0x00,        /* 0x11 mov $231,%eax  (exit_group) */
        0x0f, 0x05,                          /* 0x16 syscall                      */
        0x48, 0x89, 0xc6,                    /* 0x18 mov %rax,%rsi                */
        0xb8, 0x27, 0x00, 0x00, 0x00,        /* 0x1b mov $39,%eax                 */
        0x0f, 0x05,                          /* 0x20 syscall                      */
    };
    uint64_t va = code(&e, 0, prog, sizeof(prog));
    struct guest_regs r = regs_at(va);
    r.rbx = 0x1111222233334444ULL;           /* untouched by the code */
    r.r15 = 0x5555666677778888ULL;

    expect_syscall(&e, &r, 39, va + 0x07);
    cr_assert_eq(r.rbx, 0x1111222233334444ULL);
    cr_assert_eq(r.r15, 0x5555666677778888ULL);
    cr_assert_eq(r.cs, 0x33);
    cr_assert_eq(r.ss, 0x2b);

    /* our result in rax must be what the guest sees next */
    r.rax = 0x123456789abcdef0ULL;
    expect_syscall(&e, &r, 60, va + 0x11);
    cr_assert_eq(r.rdi, 0x123456789abcdef0ULL, "rdi %#lx", r.rdi);

    /* exit did not run: the stub is alive; neither does exit_group */
    r.rax = 7;
    expect_syscall(&e, &r, 231, va + 0x18);
    r.rax = 0xfeed;
    expect_syscall(&e, &r, 39, va + 0x22);
    cr_assert_eq(r.rsi, 0xfeed);
    cr_assert_eq(r.rdi, 0x123456789abcdef0ULL);
    teardown(&e);
}

/* --- 2. memory faults -------------------------------------------------------------- */

static const uint8_t rw_prog[] = {
    0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x10,  /* 0x00 mov 0x10000000,%rax */
    0x0f, 0x05,                                      /* 0x08 syscall              */
    0x48, 0x89, 0x04, 0x25, 0x00, 0x00, 0x00, 0x10,  /* 0x0a mov %rax,0x10000000 */
    0x0f, 0x05,                                      /* 0x12 syscall              */
};
#define RW_READ  0x00
#define RW_WRITE 0x0a

static void expect_fault(struct env *e, struct guest_regs *r, uint64_t addr, int present)
{
    uint64_t rip = r->rip;
    struct trap t = run(e, r);
    cr_assert_eq(t.kind, TRAP_FAULT, "kind %d signo %d code %#x", t.kind, t.signo, t.code);
    cr_assert_eq(t.signo, SIGSEGV);
    cr_assert_eq(t.addr.v, addr, "addr %#lx", t.addr.v);
    cr_assert_eq(t.present, present);
    cr_assert_eq(t.code, present ? SEGV_ACCERR : SEGV_MAPERR);
    cr_assert_eq(r->rip, rip, "a fault leaves rip at the instruction");
}

Test(platform_ptrace, faults, .timeout = 20)
{
    struct env e;
    setup(&e);
    uint64_t va = code(&e, 0, rw_prog, sizeof(rw_prog));
    struct guest_regs r = regs_at(va + RW_READ);

    /* nothing mapped there */
    expect_fault(&e, &r, DATA_VA, 0);
    /* a fault does not kill the stub: it happens again */
    expect_fault(&e, &r, DATA_VA, 0);

    /* mapped read-only: the read now succeeds */
    set_data_qword(&e, 0, 0x0badc0ffee0ddf00ULL);
    cr_assert_eq(g_plat->map(e.as, gva(DATA_VA), PAGE_SIZE, PROT_READ, e.data_off), 0);
    /* the value read is in rax at the syscall, so it is the number: orig_rax */
    expect_syscall(&e, &r, 0x0badc0ffee0ddf00ULL, va + RW_READ + 10);

    /* the write is a protection fault */
    r.rip = va + RW_WRITE;
    r.rax = 0x55;
    expect_fault(&e, &r, DATA_VA, 1);
    cr_assert_eq(data_qword(&e, 0), 0x0badc0ffee0ddf00ULL);

    /* until the page is writable */
    cr_assert_eq(g_plat->map(e.as, gva(DATA_VA), PAGE_SIZE, PROT_READ | PROT_WRITE,
                             e.data_off), 0);
    expect_syscall(&e, &r, 0x55, va + RW_WRITE + 10);
    cr_assert_eq(data_qword(&e, 0), 0x55);

    /* executing an unmapped address faults at that address */
    r = regs_at(0x20000000);
    expect_fault(&e, &r, 0x20000000, 0);
    /* executing a non-executable page is a protection fault */
    r = regs_at(DATA_VA + 8);
    expect_fault(&e, &r, DATA_VA + 8, 1);
    teardown(&e);
}

/* --- 3. CPU exceptions --------------------------------------------------------------- */

static void expect_signal(struct env *e, struct guest_regs *r, int signo, int si_code,
                          uint64_t rip)
{
    struct trap t = run(e, r);
    cr_assert_eq(t.kind, TRAP_SIGNAL, "kind %d signo %d code %#x", t.kind, t.signo, t.code);
    cr_assert_eq(t.signo, signo, "signo %d, want %d", t.signo, signo);
    cr_assert_eq(t.code, si_code, "si_code %#x, want %#x", t.code, si_code);
    cr_assert_eq(r->rip, rip, "rip %#lx, want %#lx", r->rip, rip);
}

Test(platform_ptrace, cpu_signals, .timeout = 20)
{
    struct env e;
    setup(&e);
    static const uint8_t ud2[] = { 0x0f, 0x0b };              /* ud2              */
    static const uint8_t int3[] = { 0xcc };                   /* int3             */
    static const uint8_t div0[] = {
        0x31, 0xc9,                                           /* xor %ecx,%ecx    */
        0x31, 0xd2,                                           /* xor %edx,%edx    */
        0xf7, 0xf1,                                           /* div %ecx         */
    };
    static const uint8_t hlt[] = { 0xf4 };                    /* hlt (ring 0)     */
    static const uint8_t cli[] = { 0xfa };                    /* cli (IOPL 0)     */
    static const uint8_t sys[] = { 0xb8, 0x27, 0, 0, 0,       /* mov $39,%eax     */
                                   0x0f, 0x05 };              /* syscall          */
    uint64_t a_ud2 = code(&e, 0x000, ud2, sizeof(ud2));
    uint64_t a_int3 = code(&e, 0x100, int3, sizeof(int3));
    uint64_t a_div = code(&e, 0x200, div0, sizeof(div0));
    uint64_t a_hlt = code(&e, 0x300, hlt, sizeof(hlt));
    uint64_t a_cli = code(&e, 0x400, cli, sizeof(cli));
    uint64_t a_sys = code(&e, 0x500, sys, sizeof(sys));

    struct guest_regs r = regs_at(a_ud2);
    expect_signal(&e, &r, SIGILL, ILL_ILLOPN, a_ud2);
    r = regs_at(a_int3);
    expect_signal(&e, &r, SIGTRAP, SI_KERNEL_, a_int3 + 1);
    r = regs_at(a_div);
    expect_signal(&e, &r, SIGFPE, FPE_INTDIV, a_div + 4);
    r = regs_at(a_hlt);
    expect_signal(&e, &r, SIGSEGV, SI_KERNEL_, a_hlt);
    r = regs_at(a_cli);
    expect_signal(&e, &r, SIGSEGV, SI_KERNEL_, a_cli);

    /* none of them reached the host or killed the stub */
    r = regs_at(a_sys);
    expect_syscall(&e, &r, 39, a_sys + 7);
    teardown(&e);
}

/* --- 4. interrupt() ----------------------------------------------------------------- */

struct interrupter {
    struct plat_ctx *ctx;
    long delay_ns;
};

static void *interrupter_main(void *arg)
{
    struct interrupter *in = arg;
    struct timespec ts = { in->delay_ns / 1000000000L, in->delay_ns % 1000000000L };
    nanosleep(&ts, NULL);
    g_plat->interrupt(in->ctx);
    return NULL;
}

/* expect_syscall_after_interrupts: an interrupt that raced with a trap may be reported once more
 * (the contract allows spurious TRAP_INTERRUPTED); anything else must be the syscall. */
static void expect_syscall_after_interrupts(struct env *e, struct guest_regs *r,
                                            uint64_t nr, uint64_t rip)
{
    struct trap t;
    for (int i = 0; i < 3; i++) {
        uint64_t before = r->rip;
        t = run(e, r);
        if (t.kind != TRAP_INTERRUPTED)
            break;
        cr_assert_eq(r->rip, before, "an interrupt before any guest code moved rip");
    }
    cr_assert_eq(t.kind, TRAP_SYSCALL, "kind %d", t.kind);
    cr_assert_eq(r->orig_rax, nr);
    cr_assert_eq(r->rip, rip);
}

Test(platform_ptrace, interrupt, .timeout = 30)
{
    struct env e;
    setup(&e);
    static const uint8_t loop[] = { 0xeb, 0xfe };             /* 1: jmp 1b        */
    static const uint8_t sys[] = { 0xb8, 0x27, 0, 0, 0,       /* mov $39,%eax     */
                                   0x0f, 0x05 };              /* syscall          */
    uint64_t a_loop = code(&e, 0, loop, sizeof(loop));
    uint64_t a_sys = code(&e, 0x100, sys, sizeof(sys));

    /* a guest spinning forever comes back when another thread interrupts it */
    struct interrupter in = { e.ctx, 50 * 1000000L };
    pthread_t th;
    struct guest_regs r = regs_at(a_loop);
    cr_assert_eq(pthread_create(&th, NULL, interrupter_main, &in), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct trap t = run(&e, &r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(th, NULL);
    cr_assert_eq(t.kind, TRAP_INTERRUPTED, "kind %d signo %d", t.kind, t.signo);
    cr_assert_eq(r.rip, a_loop, "rip %#lx", r.rip);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    cr_assert_geq(ms, 40.0, "returned after %.1f ms, before the interrupt", ms);

    /* an interrupt with no switch_to running is pending for the next one */
    g_plat->interrupt(e.ctx);
    r = regs_at(a_sys);
    t = run(&e, &r);
    cr_assert_eq(t.kind, TRAP_INTERRUPTED);
    cr_assert_eq(r.rip, a_sys, "the guest did not run");
    /* and consumed by it */
    expect_syscall(&e, &r, 39, a_sys + 7);

    /* many interrupts at every moment: each run of the loop ends, none hangs */
    for (int i = 0; i < 40; i++) {
        in.delay_ns = (i % 8) * 250000L;  /* 0 .. 1.75 ms */
        r = regs_at(a_loop);
        cr_assert_eq(pthread_create(&th, NULL, interrupter_main, &in), 0);
        t = run(&e, &r);
        pthread_join(th, NULL);
        cr_assert_eq(t.kind, TRAP_INTERRUPTED, "iteration %d: kind %d", i, t.kind);
        cr_assert_eq(r.rip, a_loop);
    }
    /* whatever raced has been reported; the guest runs normally again */
    r = regs_at(a_sys);
    expect_syscall_after_interrupts(&e, &r, 39, a_sys + 7);
    r.rip = a_sys;
    expect_syscall(&e, &r, 39, a_sys + 7);
    teardown(&e);
}

/* --- 5. FS and GS base -------------------------------------------------------------- */

Test(platform_ptrace, fs_gs_base, .timeout = 20)
{
    struct env e;
    setup(&e);
    static const uint8_t prog[] = {
        0x64, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x00, /* mov %fs:0,%rax  */
        0x65, 0x48, 0x8b, 0x1c, 0x25, 0x08, 0x00, 0x00, 0x00, /* mov %gs:8,%rbx  */
        0x0f, 0x05,                                           /* syscall         */
    };
    uint64_t va = code(&e, 0, prog, sizeof(prog));
    set_data_qword(&e, 0x100, 0x1122334455667788ULL);
    set_data_qword(&e, 0x208, 0x99aabbccddeeff00ULL);
    cr_assert_eq(g_plat->map(e.as, gva(DATA_VA), PAGE_SIZE, PROT_READ, e.data_off), 0);

    struct guest_regs r = regs_at(va);
    r.fs_base = DATA_VA + 0x100;
    r.gs_base = DATA_VA + 0x200;
    /* the value loaded into rax is the syscall number */
    expect_syscall(&e, &r, 0x1122334455667788ULL, va + sizeof(prog));
    cr_assert_eq(r.rbx, 0x99aabbccddeeff00ULL, "rbx %#lx", r.rbx);
    cr_assert_eq(r.fs_base, DATA_VA + 0x100);
    cr_assert_eq(r.gs_base, DATA_VA + 0x200);

    /* changed between runs, the new bases apply */
    set_data_qword(&e, 0x300, 42);
    set_data_qword(&e, 0x408, 43);
    r.rip = va;
    r.fs_base = DATA_VA + 0x300;
    r.gs_base = DATA_VA + 0x400;
    expect_syscall(&e, &r, 42, va + sizeof(prog));
    cr_assert_eq(r.rbx, 43);
    teardown(&e);
}

/* --- 6. FPU state ------------------------------------------------------------------- */

#define XMM_OFF(n) (160 + 16 * (n))   /* legacy area: xmm registers */
#define XSTATE_BV_OFF 512             /* xsave header: components in use */

Test(platform_ptrace, fpu, .timeout = 20)
{
    struct env e;
    setup(&e);
    static const uint8_t get_xmm0[] = {
        0x66, 0x48, 0x0f, 0x7e, 0xc0,                         /* movq %xmm0,%rax */
        0x0f, 0x05,                                           /* syscall         */
    };
    static const uint8_t set_xmm1[] = {
        0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
                                                 /* movabs $0x1122334455667788,%rax */
        0x66, 0x48, 0x0f, 0x6e, 0xc8,                         /* movq %rax,%xmm1 */
        0x0f, 0x05,                                           /* syscall         */
    };
    uint64_t a_get = code(&e, 0, get_xmm0, sizeof(get_xmm0));
    uint64_t a_set = code(&e, 0x100, set_xmm1, sizeof(set_xmm1));

    static struct guest_fpu fpu;
    memset(&fpu, 0xa5, sizeof(fpu));
    cr_assert_eq(g_plat->fpu_get(e.ctx, e.as, &fpu), 0);
    uint32_t mxcsr;
    memcpy(&mxcsr, fpu.xsave + 24, 4);
    cr_assert_eq(mxcsr & 0xffff0000u, 0, "mxcsr %#x", mxcsr);

    /* xmm0 = pattern; XSTATE_BV must say SSE state is present or it is ignored */
    static const uint8_t pat[16] = { 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01,
                                     0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe };
    memcpy(fpu.xsave + XMM_OFF(0), pat, 16);
    uint64_t bv;
    memcpy(&bv, fpu.xsave + XSTATE_BV_OFF, 8);
    bv |= 2;
    memcpy(fpu.xsave + XSTATE_BV_OFF, &bv, 8);
    cr_assert_eq(g_plat->fpu_set(e.ctx, e.as, &fpu), 0);
    /* it reads back */
    static struct guest_fpu back;
    cr_assert_eq(g_plat->fpu_get(e.ctx, e.as, &back), 0);
    cr_assert_arr_eq(back.xsave + XMM_OFF(0), pat, 16);

    struct guest_regs r = regs_at(a_get);
    /* rax = xmm0's low half, which the syscall stop reports as the number */
    expect_syscall(&e, &r, 0x0123456789abcdefULL, a_get + sizeof(get_xmm0));

    /* the guest's own FPU changes show in fpu_get after the trap */
    r = regs_at(a_set);
    expect_syscall(&e, &r, 0x1122334455667788ULL, a_set + sizeof(set_xmm1));
    memset(&back, 0, sizeof(back));
    cr_assert_eq(g_plat->fpu_get(e.ctx, e.as, &back), 0);
    uint64_t x1[2];
    memcpy(x1, back.xsave + XMM_OFF(1), 16);
    cr_assert_eq(x1[0], 0x1122334455667788ULL, "xmm1 lo %#lx", x1[0]);
    cr_assert_eq(x1[1], 0, "movq zeroes the high half");
    /* and xmm0 kept our pattern */
    cr_assert_arr_eq(back.xsave + XMM_OFF(0), pat, 16);
    teardown(&e);
}

/* --- 7. unmap and protect take effect ----------------------------------------------- */

Test(platform_ptrace, unmap_protect, .timeout = 20)
{
    struct env e;
    setup(&e);
    uint64_t va = code(&e, 0, rw_prog, sizeof(rw_prog));
    set_data_qword(&e, 0, 77);
    cr_assert_eq(g_plat->map(e.as, gva(DATA_VA), PAGE_SIZE, PROT_READ | PROT_WRITE,
                             e.data_off), 0);
    struct guest_regs r = regs_at(va + RW_READ);
    expect_syscall(&e, &r, 77, va + RW_READ + 10);  /* the value read is the nr */

    cr_assert_eq(g_plat->unmap(e.as, gva(DATA_VA), PAGE_SIZE), 0);
    r = regs_at(va + RW_READ);
    expect_fault(&e, &r, DATA_VA, 0);
    /* unmapping nothing is fine */
    cr_assert_eq(g_plat->unmap(e.as, gva(DATA_VA), PAGE_SIZE), 0);

    /* map again RW: the write works */
    cr_assert_eq(g_plat->map(e.as, gva(DATA_VA), PAGE_SIZE, PROT_READ | PROT_WRITE,
                             e.data_off), 0);
    r = regs_at(va + RW_WRITE);
    r.rax = 88;
    expect_syscall(&e, &r, 88, va + RW_WRITE + 10);
    cr_assert_eq(data_qword(&e, 0), 88);

    /* RW -> R: the write is a protection fault, the read still works */
    cr_assert_eq(g_plat->protect(e.as, gva(DATA_VA), PAGE_SIZE, PROT_READ), 0);
    r = regs_at(va + RW_WRITE);
    r.rax = 99;
    expect_fault(&e, &r, DATA_VA, 1);
    cr_assert_eq(data_qword(&e, 0), 88);
    r = regs_at(va + RW_READ);
    expect_syscall(&e, &r, 88, va + RW_READ + 10);

    /* R -> none: even the read faults, as a protection fault */
    cr_assert_eq(g_plat->protect(e.as, gva(DATA_VA), PAGE_SIZE, PROT_NONE), 0);
    r = regs_at(va + RW_READ);
    expect_fault(&e, &r, DATA_VA, 1);

    /* back to RW */
    cr_assert_eq(g_plat->protect(e.as, gva(DATA_VA), PAGE_SIZE, PROT_READ | PROT_WRITE), 0);
    r = regs_at(va + RW_WRITE);
    r.rax = 99;
    expect_syscall(&e, &r, 99, va + RW_WRITE + 10);
    cr_assert_eq(data_qword(&e, 0), 99);

    /* the code page itself can be unmapped under the guest */
    cr_assert_eq(g_plat->unmap(e.as, gva(CODE_VA), PAGE_SIZE), 0);
    r = regs_at(va + RW_READ);
    expect_fault(&e, &r, va + RW_READ, 0);
    teardown(&e);
}

/* --- 8. the stub keeps one page, and the platform protects it ----------------------- */

/* stub_pid: the stub process of the only address space this thread created, found as
 * this thread's child in /proc (the platform keeps it private). 0 if unavailable. */
static pid_t stub_pid(void)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%ld/children", (long)syscall(SYS_gettid));
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long pid = 0;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = 0;
    fclose(f);
    return (pid_t)pid;
}

Test(platform_ptrace, reserved_stub_page, .timeout = 20)
{
    struct env e;
    setup(&e);
    const uint64_t top = g_plat->user_max;

    /* find the reserved range: reserved(0, len) turns true once len passes its start */
    cr_assert(g_plat->reserved(0, top), "nothing is reserved");
    uint64_t lo = 1, hi = top;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (g_plat->reserved(0, mid))
            hi = mid;
        else
            lo = mid + 1;
    }
    uint64_t stub = lo - 1;
    cr_assert(page_aligned(stub), "stub at %#lx", stub);
    cr_assert(g_plat->reserved(stub, PAGE_SIZE));
    cr_assert(g_plat->reserved(stub + PAGE_SIZE - 1, 1));
    cr_assert(!g_plat->reserved(stub - PAGE_SIZE, PAGE_SIZE));
    cr_assert(!g_plat->reserved(stub + PAGE_SIZE, PAGE_SIZE));
    cr_assert(!g_plat->reserved(stub + PAGE_SIZE, top - stub - PAGE_SIZE),
              "only one page is reserved");

    /* the Sentry holds the stub code there, read-only and executable */
    FILE *f = fopen("/proc/self/maps", "r");
    cr_assert(f);
    char line[512];
    int found = 0;
    while (fgets(line, sizeof(line), f)) {
        unsigned long s, en;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &s, &en, perms) == 3 && s <= stub && stub < en) {
            cr_assert_str_eq(perms, "r-xp", "%s", line);
            found = 1;
        }
    }
    fclose(f);
    cr_assert(found, "stub page not mapped in the Sentry");

    /* no guest mapping may touch it */
    cr_assert_eq(g_plat->map(e.as, gva(stub), PAGE_SIZE, PROT_READ | PROT_WRITE,
                             e.data_off), -EINVAL);
    cr_assert_eq(g_plat->map(e.as, gva(stub - PAGE_SIZE), 2 * PAGE_SIZE, PROT_READ,
                             e.data_off), -EINVAL);
    cr_assert_eq(g_plat->unmap(e.as, gva(stub), PAGE_SIZE), -EINVAL);
    cr_assert_eq(g_plat->protect(e.as, gva(stub), PAGE_SIZE, PROT_READ | PROT_WRITE),
                 -EINVAL);
    /* right next to it is fine */
    cr_assert_eq(g_plat->map(e.as, gva(stub - PAGE_SIZE), PAGE_SIZE, PROT_READ,
                             e.data_off), 0);

    /* the stub process itself: only the stub page, our guest pages and the memory file */
    pid_t pid = stub_pid();
    if (pid > 0) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/maps", pid);
        f = fopen(path, "r");
        cr_assert(f, "%s: %s", path, strerror(errno));
        int n = 0, saw_stub = 0;
        while (fgets(line, sizeof(line), f)) {
            unsigned long s, en;
            cr_assert_eq(sscanf(line, "%lx-%lx", &s, &en), 2, "%s", line);
            if (strstr(line, "[vsyscall]"))
                continue;  /* above TASK_SIZE: not part of the address space proper */
            n++;
            if (s == stub) {
                cr_assert_eq(en, stub + PAGE_SIZE, "%s", line);
                saw_stub = 1;
                continue;
            }
            cr_assert(strstr(line, "sandbox-memory"), "foreign mapping in stub: %s", line);
            cr_assert(s == CODE_VA || s == STACK_VA || s == stub - PAGE_SIZE,
                      "unexpected guest mapping: %s", line);
        }
        fclose(f);
        cr_assert(saw_stub);
        cr_assert_eq(n, 4, "stub page + 3 guest pages");

        /* and one file descriptor: the memory file */
        snprintf(path, sizeof(path), "/proc/%d/fd", pid);
        DIR *d = opendir(path);
        cr_assert(d);
        struct dirent *de;
        int nfd = 0;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            nfd++;
            cr_assert_eq(atoi(de->d_name), memfile_fd(), "fd %s", de->d_name);
        }
        closedir(d);
        cr_assert_eq(nfd, 1);
    } else {
        cr_log_warn("no /proc/<tid>/children: stub process contents not checked");
    }
    teardown(&e);
}

/* --- 9. stubs die with their Sentry -------------------------------------------------- */

/* proc_gone: pid no longer runs (gone, or a zombie nobody reaped yet). */
static int proc_gone(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');
    return p && (p[2] == 'Z' || p[2] == 'X');
}

Test(platform_ptrace, stub_dies_with_tracer, .timeout = 20)
{
    /* this process adopts the orphaned stub, so it can see how it ended */
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t child = fork();
    cr_assert_geq(child, 0);
    if (child == 0) {
        close(fds[0]);
        pid_t pid = -1;
        if (memfile_init(1ULL << 30) == 0 &&
            g_platform_ptrace.init(memfile_fd(), memfile_base(), memfile_max()) == 0) {
            int err;
            struct plat_ctx *ctx = g_platform_ptrace.ctx_create(&err);
            struct plat_as *as = ctx ? g_platform_ptrace.as_create(&err) : NULL;
            pid = as ? stub_pid() : -1;
        }
        if (write(fds[1], &pid, sizeof(pid)) != sizeof(pid))
            _exit(2);
        _exit(0);  /* no cleanup */
    }
    close(fds[1]);
    pid_t pid = -1;
    cr_assert_eq(read(fds[0], &pid, sizeof(pid)), (ssize_t)sizeof(pid));
    close(fds[0]);
    int status;
    cr_assert_eq(waitpid(child, &status, 0), child);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (pid == 0)
        cr_skip_test("no /proc/<tid>/children: cannot find the stub");
    cr_assert_gt(pid, 0, "the child could not create an address space");

    /* it is killed, then reparented to us: reap it within a few seconds */
    int reaped = 0;
    for (int i = 0; i < 500 && !reaped; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG | __WALL);
        if (r == pid) {
            reaped = 1;
            cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                      "stub status %#x", status);
        } else if (r < 0) {
            /* reaped elsewhere (we are not its reaper after all): it must be gone */
            cr_assert(proc_gone(pid), "waitpid %d: %s", pid, strerror(errno));
            reaped = 1;
        } else {
            usleep(10000);
        }
    }
    cr_assert(reaped || proc_gone(pid), "stub %d still alive after its tracer exited", pid);
}
