/* The supervisor code of the KVM platform's guest, copied to the entry page of the
 * private area (layout.h). It never decides anything: every way in ends in `hlt`,
 * which is an exit to the Sentry, and the Sentry decides where the vCPU goes next by
 * setting its registers.
 *
 * Ways in from the guest program:
 * - an exception or interrupt: the IDT gate for vector v points at stub v. The CPU
 *   has switched to the vCPU's stack (TSS.rsp0) and pushed the iret frame (and an
 *   error code for some vectors); the stub completes the exit record of layout.h
 *   (error code, vector, CR2 for #PF, rax, FS and GS base) and halts. No other
 *   register is touched, so the rest of the guest's registers are in the vCPU.
 * - `syscall`: LSTAR points at ENTRY_LSTAR in a supervisor-only page. On hardware
 *   KVM the CPU arrives there in ring 0 and halts at once (rcx, r11 and every other
 *   register are the guest's). On PVM the guest stays in ring 3 (see README.md),
 *   so fetching there is a page fault at exactly ENTRY_LSTAR: stub 14 makes the exit.
 *
 * Ways out, entered by the Sentry with rsp at a frame it wrote on the vCPU stack:
 * - kvm_resume: [fs base][gs base][rax][iret frame] -> the guest program;
 * - kvm_resume_cr3: [cr3][fs base][gs base][rax][iret frame], the same after a CR3
 *   load (another address space, or a TLB flush);
 * - kvm_batch: rsi = array of (VA of a page-table entry, value), rcx = count: stores
 *   them and halts. Page tables are written by the guest because PVM shadows them:
 *   a store the Sentry makes through its own mapping is invisible to KVM. */
#include "platform/kvm/layout.h"

    .section .rodata.kvm_entry, "a"
    .balign 4096
    .globl kvm_entry_begin, kvm_entry_end
    .globl kvm_resume, kvm_resume_cr3, kvm_resume_end, kvm_batch, kvm_exit_hlt
kvm_entry_begin:

/* STUB v, has_error_code */
.macro STUB v, err
    .balign ENTRY_STUB_SIZE
    .if \err == 0
    pushq $0
    .endif
    pushq $\v
    .if \v == 14
    jmp stub_pf
    .else
    jmp stub_common
    .endif
.endm

    STUB 0,0;  STUB 1,0;  STUB 2,0;  STUB 3,0;  STUB 4,0;  STUB 5,0;  STUB 6,0;  STUB 7,0
    STUB 8,1;  STUB 9,0;  STUB 10,1; STUB 11,1; STUB 12,1; STUB 13,1; STUB 14,1; STUB 15,0
    STUB 16,0; STUB 17,1; STUB 18,0; STUB 19,0; STUB 20,0; STUB 21,1; STUB 22,0; STUB 23,0
    STUB 24,0; STUB 25,0; STUB 26,0; STUB 27,0; STUB 28,0; STUB 29,1; STUB 30,1; STUB 31,0

    .balign 16
stub_pf:
    push %rax                   /* the aux word, CR2 once swapped */
    mov %cr2, %rax
    xchg %rax, (%rsp)
    jmp 1f
stub_common:
    pushq $0
1:  push %rax
    rdfsbase %rax
    push %rax
    rdgsbase %rax
    push %rax
kvm_exit_hlt:
    hlt
    jmp kvm_exit_hlt

kvm_resume_cr3:
    pop %rax
    mov %rax, %cr3
kvm_resume:
    pop %rax
    wrfsbase %rax
    pop %rax
    wrgsbase %rax
    pop %rax
kvm_resume_end:
    iretq

kvm_batch:
    test %rcx, %rcx
    jz 2f
    mov (%rsi), %rdi
    mov 8(%rsi), %rax
    mov %rax, (%rdi)
    add $16, %rsi
    dec %rcx
    jmp kvm_batch
2:  hlt
    jmp 2b

    .org ENTRY_LSTAR
kvm_lstar:
    hlt
    jmp kvm_lstar

    .balign 4096
kvm_entry_end:
    .section .note.GNU-stack, "", @progbits
