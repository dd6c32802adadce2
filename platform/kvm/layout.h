/* Where things are in the KVM platform's guest: shared by the C code and entry.S.
 *
 * Guest-physical memory: the Sentry's memory file at GPA = file offset, given to KVM
 * in 1 GiB slots (1, 2, ...) as far as mapped pages reach (kvm.c cover); slot 0 is
 * the platform's private area at PRIV_GPA: page tables, descriptor tables, the entry
 * code, one stack page and one batch page per vCPU.
 *
 * Guest-virtual memory: the guest owns [0, USER_MAX). PML4 slot 255 (the top 512 GiB
 * of the lower half) is the supervisor region, the same in every address space and
 * mapped supervisor-only: the private area appears at SUP_VA with 2 MiB pages, so
 * private offset o is at GPA PRIV_GPA + o and at VA SUP_VA + o. */
#ifndef PLATFORM_KVM_LAYOUT_H
#define PLATFORM_KVM_LAYOUT_H

#define KVM_USER_MAX     0x7f8000000000
#define SUP_VA           0x7f8000000000
#define SUP_PML4_INDEX   255
#define PRIV_GPA         0x10000000000   /* 1 TiB: above the memory file's reservation */
#define PRIV_SIZE        0x40000000      /* 1 GiB, one page directory of 2 MiB pages */

/* Offsets in the private area. */
#define PRIV_PDPT        0x0000    /* the supervisor region's PDPT ... */
#define PRIV_PD          0x1000    /* ... and page directory */
#define PRIV_GDT         0x2000
#define PRIV_IDT         0x3000
#define PRIV_ENTRY       0x4000    /* entry.S, copied here; two pages */
#define PRIV_VCPUS       0x10000   /* per vCPU: stack page (TSS at its start), batch page */
#define VCPU_AREA        0x2000
#define MAX_VCPUS        512
#define PRIV_POOL        (PRIV_VCPUS + MAX_VCPUS * VCPU_AREA)  /* page-table pages */

/* Selectors: PVM requires the host's user selectors (__USER_CS 0x33, __USER_DS 0x2b). */
#define SEL_KCODE        0x10
#define SEL_KDATA        0x18
#define SEL_UCODE32      0x23
#define SEL_UDATA        0x2b
#define SEL_UCODE        0x33
#define SEL_TSS          0x38

/* Offsets of the entry points in the entry code (checked against entry.S at init). */
#define ENTRY_STUBS      0x000     /* 32 vector stubs of 16 bytes */
#define ENTRY_STUB_SIZE  16
#define ENTRY_LSTAR      0x800     /* the syscall target: see entry.S */

/* Syscall patching on PVM (vcpu.c): `out %al, $PATCH_PORT` (e6 80) replaces `syscall`
 * (0f 05) in guest code; the TSS's I/O bitmap lets ring 3 reach that one port, so it
 * is a port I/O exit straight from ring 3. */
#define PATCH_PORT       0x80
#define TSS_IOMAP        0x68      /* the I/O bitmap, right after the 64-bit TSS */

#endif
