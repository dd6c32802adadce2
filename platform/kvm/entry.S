/* The supervisor code of the KVM platform's guest, copied to the entry page of the
 * private area (layout.h). It never decides anything: every way in ends in `hlt`,
 * which is an exit to the Sentry, and the Sentry decides where the vCPU goes next by
 * setting its registers.
 *
 * Ways in from the guest program:
 * - an exception or interrupt: the IDT gate for vector v points at stub v. The CPU
 *   has switched to the vCPU's stack (TSS.rsp0) and pushed the iret frame (and an
 *   error code for some vectors); the stub halts. No
 *   register is touched, so the guest's registers are the vCPU's.
 * - `syscall`: LSTAR points at ENTRY_LSTAR in a supervisor-only page. On hardware
 *   KVM the CPU arrives there in ring 0 and halts at once (rcx, r11 and every other
 *   register are the guest's). On PVM the guest stays in ring 3 (see README.md),
 *   so fetching there is a page fault at exactly ENTRY_LSTAR: stub 14 makes the exit.
 *
 * Ways out, entered by the Sentry with rsp at a frame it wrote on the vCPU stack:
 * - kvm_resume: [iret frame] -> the guest program, registers loaded by KVM;
 * - kvm_batch: rsi = array of (VA of a page-table entry, value), rcx = count: stores
 *   them and halts. Page tables are written by the guest because PVM shadows them:
 *   a store the Sentry makes through its own mapping is invisible to KVM. */
#include "platform/kvm/layout.h"

    .section .rodata.kvm_entry, "a"
    .balign 4096
    .globl kvm_entry_begin, kvm_entry_end
    .globl kvm_resume, kvm_batch, kvm_exit_hlt
kvm_entry_begin:

/* The stubs. kvm_pvm emulates every instruction the guest runs in ring 0 right after
 * an event (about 1.5 µs each, measured with the kvm_emulate_insn tracepoint), so a
 * stub is as short as it can be: `hlt` at once, the vector told by where it halted.
 * Not even CR2 is read here: an emulated `mov %cr2` starts a batch of emulated
 * instructions that runs on into the guest program after the resume, where the
 * emulator fails on the first SSE instruction; the Sentry reads CR2 with
 * KVM_GET_SREGS instead. */
.macro STUB v
    .balign ENTRY_STUB_SIZE
    hlt
    jmp kvm_exit_hlt
.endm

    STUB 0;  STUB 1;  STUB 2;  STUB 3;  STUB 4;  STUB 5;  STUB 6;  STUB 7
    STUB 8;  STUB 9;  STUB 10; STUB 11; STUB 12; STUB 13; STUB 14; STUB 15
    STUB 16; STUB 17; STUB 18; STUB 19; STUB 20; STUB 21; STUB 22; STUB 23
    STUB 24; STUB 25; STUB 26; STUB 27; STUB 28; STUB 29; STUB 30; STUB 31

    .balign 16
kvm_exit_hlt:
    hlt
    jmp kvm_exit_hlt

/* resume: rsp at the iret frame; every general register is the guest's already (CR3
 * and the FS/GS bases are set through KVM, see vcpu.c enter) */
kvm_resume:
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
