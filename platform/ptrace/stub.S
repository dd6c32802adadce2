/* The stub: the only code of our own inside a guest's stub process. It is copied to a
 * page of its own (stub_page_addr) in the Sentry before a stub process is cloned, so
 * the child can jump to it, unmap every other page it inherited, and stop for the
 * Sentry. Afterwards the Sentry only uses stub_syscall: it points rip there to inject a
 * system call (mmap of the memory file, munmap, mprotect), and int3 hands control back.
 * Position independent: all references are relative to the page. */
    .section .rodata
    .balign 4096
    .globl stub_code_begin, stub_code_end, stub_entry_off, stub_syscall_off
    .globl stub_clone_off
stub_code_begin:
stub_entry:
    /* munmap(0, stub page): everything below us */
    mov $11, %eax
    xor %edi, %edi
    lea stub_code_begin(%rip), %rsi
    syscall
    /* munmap(stub page + 4096, TASK_SIZE - that): everything above us */
    mov $11, %eax
    lea stub_code_begin(%rip), %rdi
    add $4096, %rdi
    mov $0x7ffffffff000, %rsi
    sub %rdi, %rsi
    syscall
    int3                      /* ready: the Sentry sees SIGTRAP */
stub_syscall:
    syscall
    int3
    jmp stub_syscall
/* A new stub thread: the Sentry injects clone() here. The parent (rax = tid) traps
 * back to its tracer; the child (rax = 0) waits in pause() until the Sentry thread
 * that will drive it attaches with PTRACE_SEIZE and stops it. */
stub_clone:
    syscall
    test %rax, %rax
    jz 1f
    int3
1:  mov $34, %eax          /* pause */
    syscall
    jmp 1b
stub_code_end:

    .balign 8
stub_entry_off:
    .quad stub_entry - stub_code_begin
stub_syscall_off:
    .quad stub_syscall - stub_code_begin
stub_clone_off:
    .quad stub_clone - stub_code_begin
    .section .note.GNU-stack,"",@progbits
