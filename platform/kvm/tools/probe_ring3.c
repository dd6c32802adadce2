/* Probe: what a way out of the guest costs from ring 0 and from ring 3 on this host.
 * Standalone (gcc -O2 probe_ring3.c); prints one line per measurement:
 *   ring-0 out:     `out` in guest ring 0, KVM_RUN again at it (one ioctl a trip)
 *   ring-3 out:     the same from ring 3 (the TSS's I/O bitmap allows the port)
 *   ring-3 syscall: `syscall` from ring 3, which on PVM arrives at LSTAR still in
 *                   ring 3, where an `out` exits (the unpatched way, minus ring 0)
 *   ring-3 #PF:     a fault from ring 3 delivered through the IDT to a ring-0 `hlt`
 *                   and back with `iretq`
 * Memory: 0x1000 PML4, 0x2000 PDPT, 0x3000 PD, 0x4000 PT (first 2 MiB, identity),
 * 0x5000 GDT, 0x5400 TSS, 0x5800 IDT, 0x6000 iretq, 0x6800 stubs (hlt), 0x8000 user
 * code, 0x9000 user stack, 0xa000 LSTAR page (user). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

static int vcpu;
static struct kvm_run *run;
static struct kvm_regs *q;
static uint8_t *mem;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static void set_msr(uint32_t i, uint64_t d)
{
    struct { struct kvm_msrs h; struct kvm_msr_entry e; } m = { { .nmsrs = 1 }, { .index = i, .data = d } };
    ioctl(vcpu, KVM_SET_MSRS, &m);
}

static void go(uint64_t rip, uint64_t rsp, uint64_t rflags)
{
    q->rip = rip;
    q->rsp = rsp;
    q->rflags = rflags;
    run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
    ioctl(vcpu, KVM_RUN, 0);
}

/* to_user: from ring 0, iretq to ring 3 at rip (returns at the next exit) */
static void to_user(uint64_t rip)
{
    uint64_t *f = (uint64_t *)(mem + 0x7f00);
    f[0] = rip; f[1] = 0x33; f[2] = 0x202; f[3] = 0x9ff0; f[4] = 0x2b;
    go(0x6000, 0x7f00, 2);
}

static void report(const char *what, double t0, int n, unsigned want)
{
    printf("%-16s %8.2f us   (exit %u, want %u)\n", what, (now() - t0) / n / 1000,
           run->exit_reason, want);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    int kvm = open("/dev/kvm", O_RDWR);
    int vm = kvm < 0 ? -1 : ioctl(kvm, KVM_CREATE_VM, 0);
    mem = mmap(0, 4 << 20, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct kvm_userspace_memory_region reg = { .slot = 0, .memory_size = 4 << 20, .userspace_addr = (uint64_t)mem };
    if (vm < 0 || ioctl(vm, KVM_SET_USER_MEMORY_REGION, &reg) < 0) {
        puts("no usable /dev/kvm");
        return 1;
    }
    vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 256 * sizeof(struct kvm_cpuid_entry2));
    c->nent = 256;
    ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c);
    ioctl(vcpu, KVM_SET_CPUID2, c);
    run = mmap(0, ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    q = &run->s.regs.regs;

    uint64_t *pml4 = (uint64_t *)(mem + 0x1000), *pdpt = (uint64_t *)(mem + 0x2000),
             *pd = (uint64_t *)(mem + 0x3000), *pt = (uint64_t *)(mem + 0x4000);
    pml4[0] = 0x2000 | 7; pdpt[0] = 0x3000 | 7; pd[0] = 0x4000 | 7;
    for (int i = 0; i < 512; i++)
        pt[i] = (uint64_t)i * 4096 | 0x63;            /* P W A D, supervisor */
    pt[8] |= 4; pt[9] |= 4; pt[0xa] |= 4;             /* user: code, stack, LSTAR page */
    uint64_t *gdt = (uint64_t *)(mem + 0x5000);
    gdt[2] = 0x00af9b000000ffffULL; gdt[3] = 0x00cf93000000ffffULL;
    gdt[4] = 0x00cffb000000ffffULL; gdt[5] = 0x00cff3000000ffffULL; gdt[6] = 0x00affb000000ffffULL;
    uint64_t tss = 0x5400;
    *(uint64_t *)(mem + tss + 4) = 0x7ff0;             /* rsp0 */
    *(uint16_t *)(mem + tss + 0x66) = 0x68;            /* I/O bitmap: port 0x80 only */
    memset(mem + tss + 0x68, 0xff, 18);
    mem[tss + 0x68 + 16] = 0xfe;
    for (int v = 0; v < 32; v++) {
        uint64_t h = 0x6800 + v * 8;
        uint64_t lo = (h & 0xffff) | (0x10ULL << 16) | (0x8eULL << 40) | ((h >> 16 & 0xffff) << 48);
        memcpy(mem + 0x5800 + v * 16, &lo, 8);
        mem[h] = 0xf4;                                 /* hlt */
    }
    mem[0x6000] = 0x48; mem[0x6001] = 0xcf;            /* iretq */
    uint8_t *u = mem + 0x8000;
    u[0x000] = 0xe6; u[0x001] = 0x80;                  /* out %al,$0x80 */
    u[0x100] = 0x0f; u[0x101] = 0x05;                  /* syscall */
    u[0x200] = 0x8b; u[0x201] = 0x04; u[0x202] = 0x25; /* mov 0x300000,%eax: beyond the PT */
    memcpy(u + 0x203, &(uint32_t){ 0x300000 }, 4);
    mem[0xa000] = 0xe6; mem[0xa001] = 0x80;            /* LSTAR: out */

    struct kvm_sregs s;
    ioctl(vcpu, KVM_GET_SREGS, &s);
    s.cr0 = 0x80050033; s.cr4 = 0x20 | 0x200 | 0x400 | 0x10000 | 0x40000; s.efer = 0xd01; s.cr3 = 0x1000;
    s.gdt.base = 0x5000; s.gdt.limit = 9 * 8 - 1; s.idt.base = 0x5800; s.idt.limit = 32 * 16 - 1;
    s.tr = (struct kvm_segment){ .base = tss, .limit = 0x68 + 17, .selector = 0x38, .type = 0xb, .present = 1 };
    struct kvm_segment cs = { .limit = 0xffffffff, .selector = 0x10, .type = 0xb, .present = 1, .s = 1, .l = 1, .g = 1 };
    struct kvm_segment ds = { .limit = 0xffffffff, .selector = 0x18, .type = 0x3, .present = 1, .db = 1, .s = 1, .g = 1 };
    s.cs = cs; s.ss = ds; s.ds = ds; s.es = ds; s.fs = ds; s.gs = ds;
    ioctl(vcpu, KVM_SET_SREGS, &s);
    set_msr(0xc0000081, (0x23ULL << 48) | (0x10ULL << 32));
    set_msr(0xc0000082, 0xa000);
    set_msr(0xc0000084, 0x47700);
    run->kvm_valid_regs = KVM_SYNC_X86_REGS;

    double t0 = now();
    for (int i = 0; i < n; i++)
        go(0x8000, 0x7f00, 2);                         /* ring 0 runs the user page's out */
    report("ring-0 out", t0, n, KVM_EXIT_IO);

    to_user(0x8000);                                   /* now in ring 3 */
    t0 = now();
    for (int i = 0; i < n; i++)
        go(0x8000, 0x9ff0, 0x202);
    report("ring-3 out", t0, n, KVM_EXIT_IO);

    t0 = now();
    for (int i = 0; i < n; i++)
        go(0x8100, 0x9ff0, 0x202);
    report("ring-3 syscall", t0, n, KVM_EXIT_IO);

    t0 = now();
    for (int i = 0; i < n; i++)
        to_user(0x8200);   /* iretq from the #PF stub's ring 0 (the out exits of the
                            * rounds above left it in ring 3: its first fetch faults) */
    report("ring-3 #PF", t0, n, KVM_EXIT_HLT);
    return 0;
}
