/* The KVM platform: the VM, guest memory, address spaces, and the platform_ops table.
 * See README.md. */
#include "platform/kvm/kvm.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

extern const char kvm_entry_begin[], kvm_entry_end[];

struct kvm_vm g_vm = { .kvm_fd = -1, .vm_fd = -1 };

/* ---- the page-table page pool, in the private area ---- */

static pthread_mutex_t g_pool_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t g_pool_next = PRIV_POOL + 4096;  /* PRIV_POOL: the kernel-only PML4 */
struct free_list { uint64_t *v; size_t n, cap; };
static struct free_list g_free_roots, g_free_tables;
static uint64_t g_as_ids;

static uint64_t *pool_table(void *cx, uint64_t gpa)
{
    (void)cx;
    return priv_ptr(gpa - PRIV_GPA);
}

static uint64_t pool_alloc(void *cx, int root)
{
    (void)cx;
    struct free_list *fl = root ? &g_free_roots : &g_free_tables;
    uint64_t gpa = 0;
    pthread_mutex_lock(&g_pool_mu);
    if (fl->n)
        gpa = fl->v[--fl->n];
    else if (g_pool_next < PRIV_SIZE) {
        gpa = priv_gpa(g_pool_next);
        g_pool_next += 4096;
    }
    pthread_mutex_unlock(&g_pool_mu);
    return gpa;
}

static void pool_release(void *cx, uint64_t gpa, int root)
{
    (void)cx;
    /* kept apart: a PML4's supervisor slot stays valid for a vCPU that still has it
     * in CR3, so a page once a PML4 is only ever a PML4 again */
    struct free_list *fl = root ? &g_free_roots : &g_free_tables;
    pthread_mutex_lock(&g_pool_mu);
    if (fl->n == fl->cap) {
        size_t cap = fl->cap ? fl->cap * 2 : 256;
        uint64_t *n = realloc(fl->v, cap * sizeof(*n));
        if (n) {
            fl->v = n;
            fl->cap = cap;
        }
    }
    if (fl->n < fl->cap)
        fl->v[fl->n++] = gpa;   /* else the page is lost to the pool, nothing worse */
    pthread_mutex_unlock(&g_pool_mu);
}

/* pool_replay: queues the store on the calling thread's vCPU batch. */
static int pool_replay(void *cx, uint64_t entry_gpa, uint64_t val)
{
    (void)cx;
    int err = 0;
    struct vcpu *v = vcpu_thread(&err);
    if (!v)
        return err;
    if (v->batch->n == BATCH_MAX && (err = vcpu_batch_flush(v)) < 0)
        return err;
    v->batch->e[v->batch->n].va = priv_va(entry_gpa - PRIV_GPA);
    v->batch->e[v->batch->n].val = val;
    v->batch->n++;
    return 0;
}

static const struct pt_backend g_backend = {
    .table = pool_table, .alloc = pool_alloc, .release = pool_release,
    .replay = pool_replay,
};

uint64_t kvm_sup_entry(void) { return priv_gpa(PRIV_PDPT) | PTE_P | PTE_W; }

/* ---- init ---- */

static void put_gate(uint8_t *idt, int v, uint64_t target, int dpl)
{
    uint64_t lo = (target & 0xffff) | ((uint64_t)SEL_KCODE << 16) |
                  ((uint64_t)(0x8e | dpl << 5) << 40) | (((target >> 16) & 0xffff) << 48);
    uint64_t hi = target >> 32;
    memcpy(idt + v * 16, &lo, 8);
    memcpy(idt + v * 16 + 8, &hi, 8);
}

static int build_private_area(void)
{
    uint64_t *pdpt = priv_ptr(PRIV_PDPT), *pd = priv_ptr(PRIV_PD);
    pdpt[0] = priv_gpa(PRIV_PD) | PTE_P | PTE_W;
    for (uint64_t i = 0; i < PRIV_SIZE >> 21; i++)
        pd[i] = (PRIV_GPA + (i << 21)) | PTE_P | PTE_W | PTE_PS;
    uint64_t *gdt = priv_ptr(PRIV_GDT);
    gdt[SEL_KCODE >> 3] = 0x00af9b000000ffffULL;
    gdt[SEL_KDATA >> 3] = 0x00cf93000000ffffULL;
    gdt[SEL_UCODE32 >> 3] = 0x00cffb000000ffffULL;
    gdt[SEL_UDATA >> 3] = 0x00cff3000000ffffULL;
    gdt[SEL_UCODE >> 3] = 0x00affb000000ffffULL;
    gdt[SEL_TSS >> 3] = 0x0000890000000067ULL;   /* TR is loaded with its base directly */
    size_t code = (size_t)(kvm_entry_end - kvm_entry_begin);
    if (code > 2 * 4096)
        return -E2BIG;
    memcpy(priv_ptr(PRIV_ENTRY), kvm_entry_begin, code);
    uint8_t *idt = priv_ptr(PRIV_IDT);
    for (int v = 0; v < 32; v++)   /* int3 and into are allowed from ring 3, as on Linux */
        put_gate(idt, v, priv_va(PRIV_ENTRY + ENTRY_STUBS + (uint64_t)v * ENTRY_STUB_SIZE),
                 v == 3 || v == 4 ? 3 : 0);
    /* the kernel-only PML4 new vCPUs start with */
    uint64_t *kpml4 = priv_ptr(PRIV_POOL);
    kpml4[SUP_PML4_INDEX] = kvm_sup_entry();
    return 0;
}

static int set_cpuid(void)
{
    int n = 256;
    g_vm.cpuid = calloc(1, sizeof(*g_vm.cpuid) + (size_t)n * sizeof(struct kvm_cpuid_entry2));
    if (!g_vm.cpuid)
        return -ENOMEM;
    g_vm.cpuid->nent = (uint32_t)n;
    if (ioctl(g_vm.kvm_fd, KVM_GET_SUPPORTED_CPUID, g_vm.cpuid) < 0)
        return -errno;
    /* what KVM can give, which is the host's CPU minus what it cannot virtualise;
     * the XSAVE features are those both KVM and the host's XCR0 enable */
    uint64_t supported = 0;
    unsigned size = 512 + 64;
    for (uint32_t i = 0; i < g_vm.cpuid->nent; i++) {
        struct kvm_cpuid_entry2 *e = &g_vm.cpuid->entries[i];
        if (e->function == 0xd && e->index == 0) {
            supported = e->eax | (uint64_t)e->edx << 32;
            size = e->ecx;
        }
    }
    /* the guest's FPU state moves as XSAVE images: a host CPU without XSAVE in use
     * (xgetbv would be #UD) is not one this platform supports */
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) {
        log_info("kvm: the host CPU does not use XSAVE");
        return -ENOTSUP;
    }
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    g_vm.xcr0 = (supported & ((uint64_t)hi << 32 | lo)) | 1;
    g_vm.xsave_size = size >= 576 && size <= 4096 ? size : 576;
    return 0;
}

static void kvm_close_all(void)
{
    if (g_vm.vm_fd >= 0)
        close(g_vm.vm_fd);
    if (g_vm.kvm_fd >= 0)
        close(g_vm.kvm_fd);
    g_vm.vm_fd = g_vm.kvm_fd = -1;
}

static int kvm_selftest(void);

static int kvm_init(int memfd, void *base, uint64_t max)
{
    (void)memfd;
    g_vm.pvm = pvm_detect();
    /* SANDBOX_KVM_PATCH=0 keeps every `syscall` trapping the slow way (for comparison) */
    const char *patch = getenv("SANDBOX_KVM_PATCH");
    g_vm.no_patch = patch && strcmp(patch, "0") == 0;
    g_vm.mem = base;
    g_vm.kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (g_vm.kvm_fd < 0) {
        int e = -errno;
        log_info("kvm: cannot open /dev/kvm: %s", strerror(errno));
        return e;
    }
    int r;
    if (ioctl(g_vm.kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION ||
        ioctl(g_vm.kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0 ||
        ioctl(g_vm.kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0) {
        log_info("kvm: /dev/kvm lacks the API this platform needs");
        kvm_close_all();
        return -ENOSYS;
    }
    if (max > PRIV_GPA) {
        kvm_close_all();
        return -E2BIG;
    }
    do
        g_vm.vm_fd = ioctl(g_vm.kvm_fd, KVM_CREATE_VM, 0);
    while (g_vm.vm_fd < 0 && errno == EINTR);
    if (g_vm.vm_fd < 0) {
        r = -errno;
        log_info("kvm: cannot create a VM: %s", strerror(errno));
        kvm_close_all();
        return r;
    }
    g_vm.run_size = ioctl(g_vm.kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    g_vm.priv = mmap(NULL, PRIV_SIZE, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (g_vm.priv == MAP_FAILED || g_vm.run_size <= 0) {
        kvm_close_all();
        return -ENOMEM;
    }
    g_vm.mem_max = max;
    struct kvm_userspace_memory_region priv = {
        .slot = 0, .guest_phys_addr = PRIV_GPA, .memory_size = PRIV_SIZE,
        .userspace_addr = (uint64_t)g_vm.priv,
    };
    if (ioctl(g_vm.vm_fd, KVM_SET_USER_MEMORY_REGION, &priv) < 0) {
        r = -errno;
        log_info("kvm: cannot give the VM its memory: %s", strerror(errno));
        kvm_close_all();
        return r;
    }
    if ((r = set_cpuid()) < 0 || (r = build_private_area()) < 0) {
        kvm_close_all();
        return r;
    }
    vcpu_kick_init();
    if ((r = kvm_selftest()) < 0) {
        log_info("kvm: self-test failed: %s", strerror(-r));
        kvm_close_all();
        return r;
    }
    log_info("kvm: %s, xsave %u bytes, xcr0 %#llx", g_vm.pvm ? "PVM" : "hardware KVM",
             g_vm.xsave_size, (unsigned long long)g_vm.xcr0);
    return 0;
}

/* ---- guest-physical memory: the memory file, slot by slot ---- */

/* The memory file's reservation is large (1 TiB) and KVM's shadow MMU keeps per-page
 * metadata for every slot (2 GiB of vmalloc for one slot that size), so the file is
 * given to the VM in MEM_CHUNK slots, as far as the pages mapped so far reach. GPA =
 * file offset. */
#define MEM_CHUNK (1ULL << 30)
static pthread_mutex_t g_slot_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t g_covered;   /* [0, g_covered) of the file is in slots (atomic) */

static int cover(uint64_t end)
{
    if (end <= __atomic_load_n(&g_covered, __ATOMIC_ACQUIRE))
        return 0;
    if (end > g_vm.mem_max)
        return -EINVAL;
    int r = 0;
    pthread_mutex_lock(&g_slot_mu);
    while (r == 0 && g_covered < end) {
        uint64_t size = MIN(MEM_CHUNK, g_vm.mem_max - g_covered);
        struct kvm_userspace_memory_region m = {
            .slot = (uint32_t)(1 + g_covered / MEM_CHUNK), .guest_phys_addr = g_covered,
            .memory_size = size, .userspace_addr = (uint64_t)(g_vm.mem + g_covered),
        };
        if (ioctl(g_vm.vm_fd, KVM_SET_USER_MEMORY_REGION, &m) < 0) {
            r = -errno;
            log_err("kvm: cannot add guest memory at %#llx: %s",
                    (unsigned long long)g_covered, strerror(errno));
        } else {
            __atomic_store_n(&g_covered, g_covered + size, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&g_slot_mu);
    return r;
}

/* ---- address spaces ---- */

static struct plat_as *kvm_as_create(int *err)
{
    struct plat_as *as = calloc(1, sizeof(*as));
    if (!as) {
        *err = -ENOMEM;
        return NULL;
    }
    int r = pt_init(&as->pt, &g_backend, SUP_PML4_INDEX, kvm_sup_entry());
    struct vcpu *v = r < 0 ? NULL : vcpu_thread(&r);
    if (v)
        r = vcpu_batch_flush(v);
    if (r < 0) {
        if (as->pt.root)
            pt_destroy(&as->pt, SUP_PML4_INDEX);
        free(as);
        *err = r;
        return NULL;
    }
    pthread_mutex_init(&as->mu, NULL);
    as->id = __atomic_add_fetch(&g_as_ids, 1, __ATOMIC_RELAXED);
    return as;
}

static void kvm_as_destroy(struct plat_as *as)
{
    /* the pages go back dirty: the next owner clears them through the guest */
    pt_destroy(&as->pt, SUP_PML4_INDEX);
    pthread_mutex_destroy(&as->mu);
    free(as);
}

/* finish: makes the queued stores and, if any entry lost rights, schedules a TLB
 * flush for every vCPU that runs as afterwards. */
static int finish(struct plat_as *as, uint64_t replays_before, int r)
{
    int err = 0;
    struct vcpu *v = vcpu_thread(&err);
    if (v) {
        int f = vcpu_batch_flush(v);
        if (r == 0)
            r = f;
    } else if (r == 0) {
        r = err;
    }
    if (as->pt.replays != replays_before)
        __atomic_add_fetch(&as->gen, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&as->mu);
    return r;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23   /* Linux 5.14; older kernels say EINVAL, which is harmless */
#endif
#define POPULATE_MIN (64ULL << 10)

static int kvm_map(struct plat_as *as, gva_t va, uint64_t len, int prot, uint64_t off)
{
    if (va.v >= KVM_USER_MAX || len > KVM_USER_MAX - va.v)
        return -EINVAL;
    /* the self-test maps a page of the private area, always in its slot */
    int r = off >= PRIV_GPA ? 0 : cover(off + len);
    if (r < 0)
        return r;
    /* Every first touch of a guest page costs a shadow-MMU fault from ring 3, several
     * times a ptrace round trip here; KVM maps up to 8 neighbours ahead on such a
     * fault, but only those whose host page exists. So writable runs (fresh anonymous
     * chunks, up to 2 MiB: what THP commits natively) get their host pages now. */
    if ((prot & PROT_WRITE) && len >= POPULATE_MIN && off < PRIV_GPA)
        madvise(g_vm.mem + off, len, MADV_POPULATE_WRITE);
    pthread_mutex_lock(&as->mu);
    uint64_t before = as->pt.replays;
    r = pt_map(&as->pt, va.v, len, off, pt_prot_flags(prot));
    return finish(as, before, r);
}

static int kvm_unmap(struct plat_as *as, gva_t va, uint64_t len)
{
    if (va.v >= KVM_USER_MAX)
        return 0;
    if (len > KVM_USER_MAX - va.v)
        len = KVM_USER_MAX - va.v;
    pthread_mutex_lock(&as->mu);
    uint64_t before = as->pt.replays;
    int r = pt_unmap(&as->pt, va.v, len);
    return finish(as, before, r);
}

static int kvm_protect(struct plat_as *as, gva_t va, uint64_t len, int prot)
{
    if (va.v >= KVM_USER_MAX)
        return 0;
    if (len > KVM_USER_MAX - va.v)
        len = KVM_USER_MAX - va.v;
    pthread_mutex_lock(&as->mu);
    uint64_t before = as->pt.replays;
    int r = pt_protect(&as->pt, va.v, len, pt_prot_flags(prot));
    return finish(as, before, r);
}

static long kvm_thread_new(struct plat_as *as) { (void)as; return 1; }
static int kvm_thread_adopt(struct plat_as *as, long h) { (void)as; (void)h; return 0; }
static void kvm_thread_leave(struct plat_as *as) { (void)as; }

/* ---- contexts ---- */

static struct plat_ctx *kvm_ctx_create(int *err)
{
    struct plat_ctx *c = calloc(1, sizeof(*c));
    if (!c) {
        *err = -ENOMEM;
        return NULL;
    }
    c->v = vcpu_thread(err);
    if (!c->v) {
        free(c);
        return NULL;
    }
    return c;
}

static void kvm_ctx_destroy(struct plat_ctx *c)
{
    vcpu_thread_drop(c->v);
    vcpu_put(c->v);
    free(c);
}

static int kvm_switch(struct plat_ctx *c, struct plat_as *as, struct guest_regs *regs,
                      struct trap *trap)
{
    return vcpu_switch(c, as, regs, trap);
}

static void kvm_interrupt(struct plat_ctx *c) { vcpu_interrupt(c); }

static int kvm_fpu_get(struct plat_ctx *c, struct plat_as *as, struct guest_fpu *f)
{
    (void)as;
    struct kvm_xsave x;
    if (ioctl(c->v->fd, KVM_GET_XSAVE, &x) < 0)
        return -errno;
    memcpy(f->xsave, x.region, g_vm.xsave_size);
    return 0;
}

static int kvm_fpu_set(struct plat_ctx *c, struct plat_as *as, const struct guest_fpu *f)
{
    (void)as;
    struct kvm_xsave x;
    if (ioctl(c->v->fd, KVM_GET_XSAVE, &x) < 0)
        return -errno;
    memcpy(x.region, f->xsave, g_vm.xsave_size);
    /* XSTATE_BV may only name features the guest's XCR0 enables */
    uint64_t bv;
    memcpy(&bv, (uint8_t *)x.region + 512, 8);
    bv &= g_vm.xcr0;
    memcpy((uint8_t *)x.region + 512, &bv, 8);
    if (ioctl(c->v->fd, KVM_SET_XSAVE, &x) < 0)
        return -errno;
    return 0;
}

static unsigned kvm_fpu_size(void) { return g_vm.xsave_size; }

static int kvm_reserved(uint64_t va, uint64_t len) { (void)va; (void)len; return 0; }

/* On PVM a `syscall` from ring 3 costs about ten times a port I/O exit from ring 3
 * (README.md): the Sentry patches `syscall` sites into `out %al, $PATCH_PORT`. */
static const uint8_t *kvm_syscall_patch(void)
{
    static const uint8_t insn[2] = { 0xe6, PATCH_PORT };
    return g_vm.pvm && !g_vm.no_patch ? insn : NULL;
}

/* ---- self-test: a guest page that makes a system call and faults ---- */

static int kvm_selftest(void)
{
    int err = 0;
    struct plat_as *as = kvm_as_create(&err);
    if (!as)
        return err;
    struct plat_ctx *c = kvm_ctx_create(&err);
    if (!c) {
        kvm_as_destroy(as);
        return err;
    }
    /* one private page as guest code at 0x10000 (user, read+exec):
     * mov $39,%eax; syscall; mov (0),%rax */
    uint64_t code = pool_alloc(NULL, 0);
    static const uint8_t prog[] = { 0xb8, 39, 0, 0, 0, 0x0f, 0x05,
                                    0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0 };
    memset(pool_table(NULL, code), 0, 4096);
    memcpy(pool_table(NULL, code), prog, sizeof(prog));
    int r = kvm_map(as, gva(0x10000), 4096, PROT_READ | PROT_EXEC, code);
    struct guest_regs regs;
    memset(&regs, 0, sizeof(regs));
    regs.rip = 0x10000;
    regs.rsp = 0x20000;
    regs.eflags = 0x202;
    struct trap t;
    if (!r)
        r = kvm_switch(c, as, &regs, &t);
    if (!r && (t.kind != TRAP_SYSCALL || regs.orig_rax != 39 || regs.rip != 0x10007))
        r = -EPROTO;
    if (!r)
        r = kvm_switch(c, as, &regs, &t);
    if (!r && (t.kind != TRAP_FAULT || t.addr.v != 0 || t.present || regs.rip != 0x10007))
        r = -EPROTO;
    kvm_ctx_destroy(c);
    kvm_as_destroy(as);
    pool_release(NULL, code, 0);
    return r;
}

const struct platform_ops g_platform_kvm = {
    .name = "kvm",
    .init = kvm_init,
    .as_create = kvm_as_create, .as_destroy = kvm_as_destroy,
    .map = kvm_map, .unmap = kvm_unmap, .protect = kvm_protect,
    .thread_new = kvm_thread_new, .thread_adopt = kvm_thread_adopt,
    .thread_leave = kvm_thread_leave,
    .ctx_create = kvm_ctx_create, .ctx_destroy = kvm_ctx_destroy,
    .switch_to = kvm_switch, .interrupt = kvm_interrupt,
    .fpu_get = kvm_fpu_get, .fpu_set = kvm_fpu_set, .fpu_size = kvm_fpu_size,
    .user_max = KVM_USER_MAX,
    .reserved = kvm_reserved,
    .syscall_patch = kvm_syscall_patch,
};
