/*
 * bare_kvm N [ring3] — the floor of the KVM platform: N exits of a minimal guest that
 * does nothing but `hlt` in ring 0 (or, with "ring3", `out` to a port the TSS's I/O
 * bitmap opens, in ring 3: the cheapest way out of guest user mode), each followed by
 * KVM_RUN again; prints the mean round trip in nanoseconds as a single number. No
 * page tables beyond one identity-mapped 2 MiB page, no registers moved. Exit status
 * 1 (and "n/a") without a usable /dev/kvm.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 20000;
    int ring3 = argc > 2 && strcmp(argv[2], "ring3") == 0;
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    int vm = kvm < 0 ? -1 : ioctl(kvm, KVM_CREATE_VM, 0);
    uint8_t *mem = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (vm < 0 || mem == MAP_FAILED) {
        puts("n/a");
        return 1;
    }
    struct kvm_userspace_memory_region r = { .slot = 0, .memory_size = 1 << 20,
                                             .userspace_addr = (uint64_t)mem };
    int cpu = ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -1 : ioctl(vm, KVM_CREATE_VCPU, 0);
    if (cpu < 0) {
        puts("n/a");
        return 1;
    }
    struct kvm_run *run = mmap(NULL, (size_t)ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0),
                               PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
    /* identity map of the first 2 MiB: PML4 0x1000, PDPT 0x2000, PD 0x3000 */
    uint64_t *pml4 = (uint64_t *)(mem + 0x1000), *pdpt = (uint64_t *)(mem + 0x2000),
             *pd = (uint64_t *)(mem + 0x3000);
    pml4[0] = 0x2000 | (ring3 ? 7 : 3);
    pdpt[0] = 0x3000 | (ring3 ? 7 : 3);
    pd[0] = ring3 ? 0x87 : 0x83;
    mem[0x8000] = 0xf4;   /* hlt */
    mem[0x8001] = 0xeb;   /* jmp to the hlt */
    mem[0x8002] = 0xfd;
    struct kvm_sregs s;
    ioctl(cpu, KVM_GET_SREGS, &s);
    s.cr0 = 0x80050033;
    s.cr4 = 0x20;
    s.efer = 0x500;
    s.cr3 = 0x1000;
    struct kvm_segment cs = { .limit = 0xffffffff, .selector = 0x10, .type = 0xb,
                              .present = 1, .s = 1, .l = 1, .g = 1 };
    struct kvm_segment ds = { .limit = 0xffffffff, .selector = 0x18, .type = 0x3,
                              .present = 1, .s = 1, .db = 1, .g = 1 };
    unsigned exit = KVM_EXIT_HLT;
    if (ring3) {
        /* GDT at 0x5000 (user code 0x33, data 0x2b), TSS at 0x5400 whose I/O bitmap
         * opens port 0x80 alone; the page at 0x8000 holds `out %al,$0x80; jmp .-2` */
        uint64_t *gdt = (uint64_t *)(mem + 0x5000);
        gdt[5] = 0x00cff3000000ffffULL;
        gdt[6] = 0x00affb000000ffffULL;
        *(uint16_t *)(mem + 0x5400 + 0x66) = 0x68;
        memset(mem + 0x5400 + 0x68, 0xff, 18);
        mem[0x5400 + 0x68 + 16] = 0xfe;
        s.gdt.base = 0x5000;
        s.gdt.limit = 8 * 8 - 1;
        s.tr = (struct kvm_segment){ .base = 0x5400, .limit = 0x68 + 17, .selector = 0x38,
                                     .type = 0xb, .present = 1 };
        cs.selector = 0x33;
        cs.dpl = 3;
        ds.selector = 0x2b;
        ds.dpl = 3;
        mem[0x8000] = 0xe6;
        mem[0x8001] = 0x80;
        mem[0x8002] = 0xeb;
        mem[0x8003] = 0xfc;
        exit = KVM_EXIT_IO;
    }
    s.cs = cs;
    s.ss = s.ds = s.es = s.fs = s.gs = ds;
    struct kvm_regs regs = { .rip = 0x8000, .rsp = 0x7000, .rflags = ring3 ? 0x202 : 2 };
    if (ioctl(cpu, KVM_SET_SREGS, &s) < 0 || ioctl(cpu, KVM_SET_REGS, &regs) < 0 ||
        ioctl(cpu, KVM_RUN, 0) < 0 || run->exit_reason != exit) {
        puts("n/a");
        return 1;
    }
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++)
        if (ioctl(cpu, KVM_RUN, 0) < 0 || run->exit_reason != exit) {
            puts("n/a");
            return 1;
        }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)n);
    return 0;
}
