/* vCPUs: the pool, entering and leaving the guest, and turning exits into traps.
 * See README.md for the protocol with entry.S. */
#include "platform/kvm/kvm.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"

extern const char kvm_entry_begin[], kvm_resume[], kvm_batch[], kvm_exit_hlt[];

/* The signal interrupt() sends to a thread in KVM_RUN: unblocked only inside KVM_RUN
 * (KVM_SET_SIGNAL_MASK), so it never disturbs the Sentry's own system calls. */
#define SIG_KICK (SIGRTMIN + 3)
/* Runs in ring 0 (a batch, the way back from ring 3) ended early by kicks, in a row;
 * more than this many is a broken VM, not a busy guest. */
#define MAX_RING0_TRIES 64

static pthread_mutex_t g_pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct vcpu *g_free;
static int g_nvcpus;
static struct kvm_xsave *g_init_xsave;   /* a new vCPU's FPU state, for reuse */
static _Thread_local struct vcpu *tl_vcpu;

static uint64_t entry_va(const char *sym) { return priv_va(PRIV_ENTRY) + (uint64_t)(sym - kvm_entry_begin); }

static void kick_handler(int sig) { (void)sig; }

void vcpu_kick_init(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kick_handler;
    sigaction(SIG_KICK, &sa, NULL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIG_KICK);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
}

static int set_msrs(int fd, const uint32_t *idx, const uint64_t *val, int n)
{
    struct {
        struct kvm_msrs h;
        struct kvm_msr_entry e[8];
    } m;
    memset(&m, 0, sizeof(m));
    m.h.nmsrs = (uint32_t)n;
    for (int i = 0; i < n; i++) {
        m.e[i].index = idx[i];
        m.e[i].data = val[i];
    }
    return ioctl(fd, KVM_SET_MSRS, &m) == n ? 0 : -EINVAL;
}

static void seg(struct kvm_segment *s, uint16_t sel, int code, int dpl)
{
    memset(s, 0, sizeof(*s));
    s->selector = sel;
    s->limit = 0xffffffff;
    s->type = code ? 0xb : 0x3;
    s->present = 1;
    s->dpl = (uint8_t)dpl;
    s->s = 1;
    s->l = code ? 1 : 0;
    s->db = code ? 0 : 1;
    s->g = 1;
}

static int vcpu_setup(struct vcpu *v)
{
    uint64_t area = PRIV_VCPUS + (uint64_t)v->id * VCPU_AREA;
    uint8_t *stack = priv_ptr(area);
    v->stack_top = (uint64_t *)(stack + 4096);
    v->batch = priv_ptr(area + 4096);
    /* the TSS at the bottom of the stack page: rsp0 = the top. Its I/O bitmap denies
     * every port, but on PVM lets ring 3 reach PATCH_PORT (syscall patching; hardware
     * KVM's `syscall` is fast and needs none). The CPU reads two bitmap bytes per
     * check, so the limit covers the byte after the port's. */
    memset(stack, 0, TSS_IOMAP);
    uint64_t top = priv_va(area + 4096);
    memcpy(stack + 4, &top, 8);
    uint16_t iomap = TSS_IOMAP;
    memcpy(stack + 0x66, &iomap, 2);
    uint32_t tss_limit = TSS_IOMAP - 1;
    if (g_vm.pvm) {
        memset(stack + TSS_IOMAP, 0xff, PATCH_PORT / 8 + 2);
        stack[TSS_IOMAP + PATCH_PORT / 8] &= (uint8_t)~(1u << (PATCH_PORT % 8));
        tss_limit = TSS_IOMAP + PATCH_PORT / 8 + 1;
    }

    if (ioctl(v->fd, KVM_SET_CPUID2, g_vm.cpuid) < 0)
        return -errno;
    struct kvm_sregs s;
    if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
        return -errno;
    s.cr0 = 0x80050033;                      /* PG WP AM NE ET MP PE */
    s.cr4 = 0x20 | 0x200 | 0x400 | 0x10000 | 0x40000; /* PAE OSFXSR OSXMMEXCPT FSGSBASE OSXSAVE */
    s.efer = 0xd01;                          /* SCE LME LMA NXE */
    s.cr3 = priv_gpa(PRIV_POOL);             /* the kernel-only PML4 (kvm.c) */
    s.gdt.base = priv_va(PRIV_GDT);
    s.gdt.limit = 10 * 8 - 1;
    s.idt.base = priv_va(PRIV_IDT);
    s.idt.limit = 32 * 16 - 1;               /* int $0x80 and friends: #GP */
    memset(&s.tr, 0, sizeof(s.tr));
    s.tr.base = priv_va(area);
    s.tr.limit = tss_limit;
    s.tr.selector = SEL_TSS;
    s.tr.type = 0xb;
    s.tr.present = 1;
    seg(&s.cs, SEL_KCODE, 1, 0);
    seg(&s.ss, SEL_KDATA, 0, 0);
    memset(&s.ds, 0, sizeof(s.ds));
    s.ds.unusable = 1;
    s.es = s.fs = s.gs = s.ds;
    if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
        return -errno;
    static const uint32_t msr_idx[] = { 0xc0000081, 0xc0000082, 0xc0000084 };
    uint64_t msr_val[] = { ((uint64_t)SEL_UCODE32 << 48) | ((uint64_t)SEL_KCODE << 32),
                           priv_va(PRIV_ENTRY + ENTRY_LSTAR), 0x47700 };
    int r = set_msrs(v->fd, msr_idx, msr_val, 3);
    if (r < 0)
        return r;
    struct kvm_xcrs x;
    memset(&x, 0, sizeof(x));
    x.nr_xcrs = 1;
    x.xcrs[0].xcr = 0;
    x.xcrs[0].value = g_vm.xcr0;
    if (ioctl(v->fd, KVM_SET_XCRS, &x) < 0)
        return -errno;
    struct {
        struct kvm_signal_mask h;
        uint8_t set[8];
    } sm;
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, SIG_KICK);
    sm.h.len = 8;
    memcpy(sm.set, &all, 8);
    if (ioctl(v->fd, KVM_SET_SIGNAL_MASK, &sm) < 0)
        return -errno;
    struct kvm_regs regs;
    memset(&regs, 0, sizeof(regs));
    regs.rip = entry_va(kvm_exit_hlt);
    regs.rsp = top;
    regs.rflags = 2;
    if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
        return -errno;
    return 0;
}

static struct vcpu *vcpu_create(int *err)
{
    if (g_nvcpus >= MAX_VCPUS) {
        *err = -EAGAIN;
        return NULL;
    }
    struct vcpu *v = calloc(1, sizeof(*v));
    if (!v) {
        *err = -ENOMEM;
        return NULL;
    }
    v->id = g_nvcpus;
    v->fd = ioctl(g_vm.vm_fd, KVM_CREATE_VCPU, v->id);
    if (v->fd < 0) {
        *err = -errno;
        log_err("kvm: cannot create vCPU %d: %s", v->id, strerror(errno));
        free(v);
        return NULL;
    }
    v->run = mmap(NULL, (size_t)g_vm.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
    int r = v->run == MAP_FAILED ? -errno : vcpu_setup(v);
    if (r < 0) {
        log_err("kvm: cannot set vCPU %d up: %s", v->id, strerror(-r));
        if (v->run != MAP_FAILED)
            munmap(v->run, (size_t)g_vm.run_size);
        close(v->fd);   /* KVM keeps the vCPU until the VM goes; the id is not reused */
        g_nvcpus++;
        free(v);
        *err = r;
        return NULL;
    }
    g_nvcpus++;
    if (!g_init_xsave) {
        g_init_xsave = malloc(sizeof(*g_init_xsave));
        if (g_init_xsave && ioctl(v->fd, KVM_GET_XSAVE, g_init_xsave) < 0) {
            free(g_init_xsave);
            g_init_xsave = NULL;
        }
    }
    return v;
}

struct vcpu *vcpu_get(int *err)
{
    pthread_mutex_lock(&g_pool_mu);
    struct vcpu *v = g_free;
    if (v) {
        g_free = v->next_free;
        /* the previous owner's FPU state must not leak into the next guest thread */
        if (g_init_xsave)
            ioctl(v->fd, KVM_SET_XSAVE, g_init_xsave);
    } else {
        v = vcpu_create(err);
    }
    pthread_mutex_unlock(&g_pool_mu);
    return v;
}

void vcpu_put(struct vcpu *v)
{
    pthread_mutex_lock(&g_pool_mu);
    v->next_free = g_free;
    g_free = v;
    pthread_mutex_unlock(&g_pool_mu);
}

struct vcpu *vcpu_thread(int *err)
{
    if (!tl_vcpu)
        tl_vcpu = vcpu_get(err);
    return tl_vcpu;
}

void vcpu_thread_drop(struct vcpu *v)
{
    if (tl_vcpu == v)
        tl_vcpu = NULL;
}

/* regs: the vCPU's general registers, shared with KVM through kvm_run (KVM_CAP_SYNC_REGS):
 * valid after a run, loaded by the next one once marked with set_regs. Every vCPU
 * ioctl costs a trip through the host's vcpu_load, which on a nested PVM host reads
 * MSRs the outer hypervisor traps: one ioctl per round trip instead of three. */
static struct kvm_regs *regs_of(struct vcpu *v) { return &v->run->s.regs.regs; }
static void set_regs(struct vcpu *v) { v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS; }

/* drain_kick: a kick that arrived outside KVM_RUN stays pending (it is blocked there)
 * and would end every later KVM_RUN at once; take it. */
static void drain_kick(void)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIG_KICK);
    struct timespec zero = { 0, 0 };
    while (sigtimedwait(&s, NULL, &zero) == SIG_KICK)
        ;
}

/* run: one KVM_RUN; 0 with the exit in v->run, -EINTR, or -errno. */
static int run(struct vcpu *v)
{
    __atomic_store_n(&v->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
    v->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
    int r = ioctl(v->fd, KVM_RUN, 0);
    int e = errno;
    __atomic_store_n(&v->tid, 0, __ATOMIC_SEQ_CST);
    v->run->immediate_exit = 0;
    if (r < 0) {
        if (e != EINTR && e != EAGAIN)
            return -e;
        drain_kick();
        /* KVM may have stopped half-way through something it emulates: a run with
         * immediate_exit completes it without entering the guest, so that changing
         * the registers cannot leave it finishing the wrong instruction later */
        v->run->immediate_exit = 1;
        ioctl(v->fd, KVM_RUN, 0);
        v->run->immediate_exit = 0;
        drain_kick();
        /* the registers were not synced back: read them */
        if (ioctl(v->fd, KVM_GET_REGS, regs_of(v)) < 0)
            return -errno;
        return -EINTR;
    }
    v->run->kvm_dirty_regs = 0;
    return 0;
}

static void log_bad_exit(struct vcpu *v, const char *what)
{
    log_err("kvm: vCPU %d: unexpected exit %u during %s (rip %#llx)", v->id,
            v->run->exit_reason, what, (unsigned long long)regs_of(v)->rip);
}

/* to_ring0: a vCPU interrupted in ring 3 is made to fault into the stubs, so that
 * it can be given a new CR3 or run a batch. Its guest registers were saved already. */
static int to_ring0(struct vcpu *v)
{
    for (int i = 0; v->user_mode && i < MAX_RING0_TRIES; i++) {
        struct kvm_regs *r = regs_of(v);
        memset(r, 0, sizeof(*r));
        r->rip = entry_va(kvm_exit_hlt);   /* supervisor-only: a user fetch faults */
        r->rflags = 0x202;
        set_regs(v);
        int e = run(v);
        if (e == -EINTR)
            continue;
        if (e < 0)
            return e;
        /* normally the #PF stub; kvm_exit_hlt itself if it was in ring 0 after all */
        uint64_t pf_stub = priv_va(PRIV_ENTRY + ENTRY_STUBS + 14 * ENTRY_STUB_SIZE);
        uint64_t rip = regs_of(v)->rip;
        if (v->run->exit_reason != KVM_EXIT_HLT ||
            ((rip <= pf_stub || rip > pf_stub + ENTRY_STUB_SIZE) &&
             rip != entry_va(kvm_exit_hlt) + 1)) {
            log_bad_exit(v, "the way back to ring 0");
            return -EIO;
        }
        v->user_mode = USER_NO;
    }
    return v->user_mode ? -EIO : 0;
}

int vcpu_batch_flush(struct vcpu *v)
{
    if (v->batch->n == 0)
        return 0;
    int err = to_ring0(v);
    for (int i = 0; !err && i < MAX_RING0_TRIES; i++) {
        struct kvm_regs *r = regs_of(v);
        memset(r, 0, sizeof(*r));
        r->rip = entry_va(kvm_batch);
        r->rsp = priv_va(PRIV_VCPUS + (uint64_t)v->id * VCPU_AREA + 4096);
        r->rsi = priv_va(PRIV_VCPUS + (uint64_t)v->id * VCPU_AREA + 4096) + 16;
        r->rcx = v->batch->n;
        r->rflags = 2;
        set_regs(v);
        int e = run(v);
        if (e == -EINTR)
            continue;   /* a kick meant for the task: the stores are idempotent */
        if (e < 0)
            return e;
        if (v->run->exit_reason != KVM_EXIT_HLT) {
            log_bad_exit(v, "a page-table batch");
            return -EIO;
        }
        v->batch->n = 0;
        return 0;
    }
    return err ? err : -EIO;
}

/* ---- switch_to ---- */

#define USER_FLAGS 0x254dd5ULL   /* CF PF AF ZF SF TF DF OF AC ID */

static void to_kvm_regs(const struct guest_regs *g, struct kvm_regs *k)
{
    k->rax = g->rax; k->rbx = g->rbx; k->rcx = g->rcx; k->rdx = g->rdx;
    k->rsi = g->rsi; k->rdi = g->rdi; k->rsp = g->rsp; k->rbp = g->rbp;
    k->r8 = g->r8; k->r9 = g->r9; k->r10 = g->r10; k->r11 = g->r11;
    k->r12 = g->r12; k->r13 = g->r13; k->r14 = g->r14; k->r15 = g->r15;
    k->rip = g->rip;
    k->rflags = (g->eflags & USER_FLAGS) | 0x202;
}

static void from_kvm_regs(const struct kvm_regs *k, struct guest_regs *g)
{
    g->rax = k->rax; g->rbx = k->rbx; g->rcx = k->rcx; g->rdx = k->rdx;
    g->rsi = k->rsi; g->rdi = k->rdi; g->rsp = k->rsp; g->rbp = k->rbp;
    g->r8 = k->r8; g->r9 = k->r9; g->r10 = k->r10; g->r11 = k->r11;
    g->r12 = k->r12; g->r13 = k->r13; g->r14 = k->r14; g->r15 = k->r15;
    g->rip = k->rip;
    g->eflags = k->rflags;
    g->orig_rax = (uint64_t)-1;
    g->cs = SEL_UCODE;
    g->ss = SEL_UDATA;
    g->ds = g->es = g->fs = g->gs = 0;
}

/* enter: loads regs into v for a run in as. A new CR3 or FS/GS base goes in through
 * KVM_SET_SREGS rather than guest instructions: kvm_pvm emulates `mov %cr3` and
 * wrfsbase, and an emulated instruction starts a batch of emulated ones that runs on
 * through the iretq into the guest program, where the emulator gives up on the first
 * SSE instruction (KVM_EXIT_INTERNAL_ERROR). */
static int enter(struct vcpu *v, struct plat_as *as, const struct guest_regs *g)
{
    uint64_t gen = __atomic_load_n(&as->gen, __ATOMIC_ACQUIRE);
    /* under PVM the shadow MMU already dropped what a replayed store changed, so only
     * another address space needs a CR3 load */
    int same_as = v->as_id == as->id && (g_vm.pvm || v->as_gen == gen);
    int same_fs = v->fs == g->fs_base && v->gs == g->gs_base;
    struct kvm_regs *k = regs_of(v);
    /* A vCPU stopped in ring 3 is not resumed there with new registers: kvm_pvm may
     * have been emulating the guest program when the kick came, and would go on
     * emulating at the new rip, up to the first SSE instruction, which it cannot
     * (KVM_EXIT_INTERNAL_ERROR). Through ring 0 and iretq it runs natively again.
     * A KVM_SET_SREGS in ring 3 keeps it there (CS stays the user's). */
    if (v->user_mode == USER_KICKED) {
        int err = to_ring0(v);
        if (err < 0)
            return err;
    }
    if (!same_as || !same_fs) {
        struct kvm_sregs s;
        if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
            return -errno;
        s.cr3 = as->pt.root;
        s.fs.base = g->fs_base;
        s.gs.base = g->gs_base;
        if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
            return -errno;
        v->as_id = as->id;
        v->as_gen = gen;
        v->fs = g->fs_base;
        v->gs = g->gs_base;
    }
    if (v->user_mode == USER_CLEAN) {
        /* stopped in ring 3 by port I/O: it goes on from there, no iretq needed */
        to_kvm_regs(g, k);
        set_regs(v);
        return 0;
    }
    to_kvm_regs(g, k);
    /* the iret frame, ending at the stack top */
    uint64_t *f = v->stack_top - 5;
    f[0] = g->rip;
    f[1] = SEL_UCODE;
    f[2] = k->rflags;
    f[3] = g->rsp;
    f[4] = SEL_UDATA;
    k->rip = entry_va(kvm_resume);
    k->rsp = priv_va(PRIV_VCPUS + (uint64_t)v->id * VCPU_AREA + 4096) - 5 * 8;
    k->rflags = 2;
    set_regs(v);
    return 0;
}

static int fpe_code(struct vcpu *v, int vec)
{
    struct kvm_fpu f;
    if (ioctl(v->fd, KVM_GET_FPU, &f) < 0)
        return FPE_FLTINV;
    unsigned err;
    if (vec == 19) {
        err = ~(f.mxcsr >> 7) & f.mxcsr;
    } else {
        err = f.fsw & ~f.fcw & 0x3f;
    }
    if (err & 0x001) return FPE_FLTINV;
    if (err & 0x004) return FPE_FLTDIV;
    if (err & 0x008) return FPE_FLTOVF;
    if (err & 0x012) return FPE_FLTUND;
    if (err & 0x020) return FPE_FLTRES;
    return 0;
}

/* guest_read: n bytes of guest memory at va through as's page tables; the number
 * read before the first unmapped page. */
static size_t guest_read(struct plat_as *as, uint64_t va, uint8_t *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        uint64_t a = va + done;
        uint64_t pte = a < KVM_USER_MAX ? pt_lookup(&as->pt, a) : 0;
        /* the memory file only: the self-test's page lives in the private area */
        if (!(pte & PTE_P) || !(pte & PTE_U) || (pte & PTE_ADDR) >= g_vm.mem_max)
            break;
        size_t chunk = 4096 - (a & 4095);
        if (chunk > n - done)
            chunk = n - done;
        memcpy(buf + done, g_vm.mem + (pte & PTE_ADDR) + (a & 4095), chunk);
        done += chunk;
    }
    return done;
}

/* int_insn: n if the guest instruction at rip is `int n`, else -1. */
static int int_insn(struct plat_as *as, uint64_t rip)
{
    uint8_t b[2];
    return guest_read(as, rip, b, 2) == 2 && b[0] == 0xcd ? b[1] : -1;
}

/* decode: an exit through stub vec, as a trap; g gets the guest's registers. The
 * frame the CPU pushed ends at the stack top: [error code if the vector has one]
 * [rip][cs][rflags][rsp][ss]. */
static int decode(struct vcpu *v, struct plat_as *as, int vec, const struct kvm_regs *k,
                  struct guest_regs *g, struct trap *trap)
{
    static const uint32_t has_err = 1u << 8 | 1u << 10 | 1u << 11 | 1u << 12 | 1u << 13 |
                                    1u << 14 | 1u << 17 | 1u << 21 | 1u << 29 | 1u << 30;
    const uint64_t *fr = v->stack_top - 5;
    uint64_t err = has_err >> vec & 1 ? fr[-1] : 0;
    uint64_t cr2 = 0;
    if (vec == 14) {
        if (fr[0] == priv_va(PRIV_ENTRY + ENTRY_LSTAR) && (err & 0x10)) {
            cr2 = fr[0];   /* a fetch fault at rip: CR2 is rip, no need to ask */
        } else {
            struct kvm_sregs s;
            if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
                return -errno;
            cr2 = s.cr2;
        }
    }
    if ((fr[1] & 3) != 3) {
        log_err("kvm: vCPU %d: exception %d in ring 0 at %#llx (error %#llx, cr2 %#llx)",
                v->id, vec, (unsigned long long)fr[0], (unsigned long long)err,
                (unsigned long long)cr2);
        return -EFAULT;
    }
    from_kvm_regs(k, g);
    g->rip = fr[0];
    g->eflags = fr[2];
    g->rsp = fr[3];
    g->fs_base = v->fs;   /* the stubs leave them as the guest had them */
    g->gs_base = v->gs;
    trap->trapno = vec;
    trap->addr = gva(0);
    if (vec == 6 || (vec == 13 && (err & 2))) {
        /* `int n` without a gate: PVM raises #UD, hardware #GP(n*8+2). Linux runs
         * int $0x80 as a 32-bit system call (the task loop decides what to do with
         * it) and answers any other with SIGSEGV */
        int n = int_insn(as, g->rip);
        if (n == 0x80) {
            trap->kind = TRAP_SYSCALL;
            trap->trapno = -1;
            g->orig_rax = g->rax;
            g->rip += 2;
            return 0;
        }
        if (n >= 0)
            vec = 13;
    }
    trap->trapno = vec;
    trap->addr = gva(0);
    switch (vec) {
    case 14:
        if (cr2 == priv_va(PRIV_ENTRY + ENTRY_LSTAR) && g->rip == cr2 && (err & 0x10)) {
            /* PVM: `syscall` from ring 3 lands at LSTAR still in ring 3 */
            trap->kind = TRAP_SYSCALL;
            trap->trapno = -1;
            g->orig_rax = g->rax;
            g->rip = g->rcx;
            g->eflags = g->r11;
            return 0;
        }
        trap->kind = TRAP_FAULT;
        trap->signo = SIGSEGV;
        trap->code = err & 1 ? SEGV_ACCERR : SEGV_MAPERR;
        trap->addr = gva(cr2);
        trap->present = (int)(err & 1);
        trap->access = err & 0x10 ? FAULT_EXEC : err & 2 ? FAULT_WRITE : FAULT_READ;
        return 0;
    case 13:
        trap->kind = TRAP_SIGNAL;
        trap->signo = SIGSEGV;
        trap->code = SI_KERNEL;
        return 0;
    default:
        break;
    }
    trap->kind = TRAP_SIGNAL;
    switch (vec) {
    case 0: trap->signo = SIGFPE; trap->code = FPE_INTDIV; trap->addr = gva(g->rip); break;
    case 1: trap->signo = SIGTRAP; trap->code = TRAP_TRACE; break;
    case 3: trap->signo = SIGTRAP; trap->code = SI_KERNEL; break;
    case 6: trap->signo = SIGILL; trap->code = ILL_ILLOPN; trap->addr = gva(g->rip); break;
    case 11: case 12: trap->signo = SIGBUS; trap->code = SI_KERNEL; break;
    case 16: case 19:
        trap->signo = SIGFPE; trap->code = fpe_code(v, vec); trap->addr = gva(g->rip); break;
    case 17: trap->signo = SIGBUS; trap->code = BUS_ADRALN; break;
    default: trap->signo = SIGSEGV; trap->code = SI_KERNEL; break;
    }
    return 0;
}

/* io_insn_len: the length of the port I/O instruction (in, out, ins, outs) at b, or
 * 0 if it is not one; *rep says whether it has a rep prefix. */
static int io_insn_len(const uint8_t *b, size_t n, int *rep)
{
    size_t i = 0;
    *rep = 0;
    for (; i < n && i < 15; i++) {
        uint8_t p = b[i];
        if (p == 0xf2 || p == 0xf3)
            *rep = 1;
        else if (!(p == 0x66 || p == 0x67 || p == 0x26 || p == 0x2e || p == 0x36 ||
                   p == 0x3e || p == 0x64 || p == 0x65 || (p & 0xf0) == 0x40))
            break;
    }
    if (i >= n)
        return 0;
    if (b[i] >= 0xe4 && b[i] <= 0xe7)
        return i + 2 <= n ? (int)i + 2 : 0;
    if ((b[i] >= 0xec && b[i] <= 0xef) || (b[i] >= 0x6c && b[i] <= 0x6f))
        return (int)i + 1;
    return 0;
}

/* io_start: where the I/O instruction that made this exit begins. kvm_pvm stops
 * before an `in` or a `rep outs` (it completes them on the next run) and after any
 * other `out`. */
static uint64_t io_start(struct plat_as *as, const struct kvm_run *run, uint64_t rip)
{
    uint8_t b[32];
    int rep;
    size_t n = guest_read(as, rip, b + 16, 16);
    if (run->io.direction == KVM_EXIT_IO_IN || (io_insn_len(b + 16, n, &rep) && rep))
        return rip;
    if (rip < 16 || guest_read(as, rip - 16, b, 16) != 16)
        return rip;
    for (int len = 1; len <= 15; len++)
        if (io_insn_len(b + 16 - len, (size_t)len, &rep) == len)
            return rip - (uint64_t)len;
    return rip;
}

/* io_exit: port I/O from ring 3, which the TSS lets through for PATCH_PORT only (on
 * PVM): the patched syscall instruction (`out %al, $PATCH_PORT` where a `syscall`
 * was), or the guest's own I/O there, a #GP natively. */
static int io_exit(struct vcpu *v, struct plat_as *as, struct guest_regs *g, struct trap *trap)
{
    static const uint8_t patch[2] = { 0xe6, PATCH_PORT };
    const struct kvm_run *run = v->run;
    struct kvm_regs k = *regs_of(v);
    v->user_mode = USER_CLEAN;
    from_kvm_regs(&k, g);
    g->fs_base = v->fs;
    g->gs_base = v->gs;
    uint8_t b[4];
    if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == PATCH_PORT &&
        run->io.size == 1 && run->io.count == 1 && k.rip >= 2 &&
        guest_read(as, k.rip - 2, b, 4) >= 2) {
        uint64_t end = 0;
        if (memcmp(b, patch, 2) == 0)
            end = k.rip;                 /* kvm_pvm: stopped after the out */
        else if (memcmp(b + 2, patch, 2) == 0)
            end = k.rip + 2;             /* stopped before it, as hardware KVM does */
        if (end) {
            trap->kind = TRAP_SYSCALL;
            trap->syscall_via = SYSCALL_VIA_PATCH;
            g->orig_rax = k.rax;
            g->rip = end;                /* rcx and r11: the Sentry, once it knows */
            return 0;
        }
    }
    /* KVM would finish the instruction on the next run, over whatever registers the
     * signal delivery sets: finish it now, without entering the guest, and forget it */
    v->run->immediate_exit = 1;
    ioctl(v->fd, KVM_RUN, 0);
    v->run->immediate_exit = 0;
    drain_kick();
    g->rip = io_start(as, run, k.rip);
    trap->kind = TRAP_SIGNAL;
    trap->signo = SIGSEGV;
    trap->code = SI_KERNEL;
    trap->trapno = 13;
    trap->addr = gva(0);
    return 0;
}

int vcpu_switch(struct plat_ctx *c, struct plat_as *as, struct guest_regs *regs,
                struct trap *trap)
{
    struct vcpu *v = c->v;
    memset(trap, 0, sizeof(*trap));
    trap->trapno = -1;
    if (__atomic_exchange_n(&c->interrupted, 0, __ATOMIC_SEQ_CST)) {
        trap->kind = TRAP_INTERRUPTED;
        return 0;
    }
    int err = enter(v, as, regs);
    if (err < 0)
        return err;
    err = run(v);
    if (err == -EINTR) {
        __atomic_store_n(&c->interrupted, 0, __ATOMIC_SEQ_CST);
        trap->kind = TRAP_INTERRUPTED;
        struct kvm_sregs s;
        if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
            return -errno;
        if ((s.cs.selector & 3) == 3) {
            /* stopped in the guest program: its registers are the vCPU's */
            from_kvm_regs(regs_of(v), regs);
            regs->fs_base = v->fs = s.fs.base;
            regs->gs_base = v->gs = s.gs.base;
            v->user_mode = USER_KICKED;
            return 0;
        }
        uint64_t rip = regs_of(v)->rip;
        if (rip >= entry_va(kvm_resume) && rip < entry_va(kvm_batch))
            return 0;   /* still on its way in: regs are what we loaded */
        /* stopped inside a stub, half-way through an exit: let it reach the hlt (the
         * interrupt stays pending for the next switch_to) */
        __atomic_store_n(&c->interrupted, 1, __ATOMIC_SEQ_CST);
        for (int i = 0; err == -EINTR && i < MAX_RING0_TRIES; i++)
            err = run(v);
        if (err < 0)
            return err == -EINTR ? -EIO : err;
        trap->kind = 0;
    }
    if (err < 0)
        return err;
    if (v->run->exit_reason == KVM_EXIT_IO)
        return io_exit(v, as, regs, trap);
    if (v->run->exit_reason == KVM_EXIT_HLT)
        v->user_mode = USER_NO;
    struct kvm_regs k = *regs_of(v);
    uint64_t stubs = priv_va(PRIV_ENTRY + ENTRY_STUBS);
    if (v->run->exit_reason == KVM_EXIT_HLT && k.rip > stubs &&
        k.rip <= stubs + 32 * ENTRY_STUB_SIZE)
        return decode(v, as, (int)((k.rip - 1 - stubs) / ENTRY_STUB_SIZE), &k, regs, trap);
    if (v->run->exit_reason == KVM_EXIT_HLT &&
        k.rip == priv_va(PRIV_ENTRY + ENTRY_LSTAR) + 1) {
        /* hardware KVM: `syscall` arrived in ring 0 */
        struct kvm_sregs s;
        if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
            return -errno;
        from_kvm_regs(&k, regs);
        regs->orig_rax = k.rax;
        regs->rip = k.rcx;
        regs->eflags = k.r11;
        regs->fs_base = v->fs = s.fs.base;
        regs->gs_base = v->gs = s.gs.base;
        trap->kind = TRAP_SYSCALL;
        return 0;
    }
    log_bad_exit(v, "a guest run");
    if (v->run->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
        log_err("kvm: internal error, suberror %u, %u words of data", v->run->internal.suberror,
                v->run->internal.ndata);
        for (unsigned i = 0; i < v->run->internal.ndata && i < 16; i++)
            log_err("kvm:   data[%u] = %#llx", i, (unsigned long long)v->run->internal.data[i]);
        uint64_t pte = pt_lookup(&as->pt, k.rsp);
        log_err("kvm:   rsp %#llx pte %#llx", (unsigned long long)k.rsp, (unsigned long long)pte);
    }
    return -EIO;
}

void vcpu_interrupt(struct plat_ctx *c)
{
    __atomic_store_n(&c->interrupted, 1, __ATOMIC_SEQ_CST);
    struct vcpu *v = c->v;
    __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    pid_t tid = __atomic_load_n(&v->tid, __ATOMIC_SEQ_CST);
    if (tid)
        syscall(SYS_tgkill, getpid(), tid, SIG_KICK);
}
