/* --strace formatting. strace_print (syscall.h) builds one line per call from the
 * table's argument formats; the helpers here need no task, so unit tests call them. */
#ifndef SENTRY_SYSCALLS_STRACE_H
#define SENTRY_SYSCALLS_STRACE_H

#include <stddef.h>
#include <stdint.h>

#include "sentry/syscalls/syscall.h"

/* A bounded output buffer: appends past the end are dropped, p[len] is always NUL. */
struct strace_buf {
    char *p;        /* caller-owned storage of size bytes */
    size_t size;    /* > 0 */
    size_t len;     /* < size */
};

/* STRACE_BUF: a strace_buf over a char array. */
#define STRACE_BUF(arr) ((struct strace_buf){ .p = (arr), .size = sizeof(arr), .len = 0 })

/* Strings and buffers print at most this many bytes, then "...". */
#define STRACE_STR_MAX 32

/* strace_buf_printf: appends formatted text, truncating at the end of the buffer. */
void strace_buf_printf(struct strace_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* strace_fmt_value: appends v as fmt prints it without guest memory: AF_INT, AF_UINT,
 * AF_HEX, AF_PTR, AF_OCT, AF_SIG, AF_PROT, AF_MMAPF, AF_OPENF (others print as hex). */
void strace_fmt_value(struct strace_buf *b, enum arg_fmt fmt, uint64_t v);

/* strace_fmt_bytes: appends s[0..n) quoted and escaped like strace, with "..." after
 * it when more: bytes were left out. */
void strace_fmt_bytes(struct strace_buf *b, const char *s, size_t n, int more);

/* strace_fmt_ret: appends the result part: "0", "0x7f..." (hex), "-1 ENOENT (No such
 * file or directory)", or "? ERESTARTSYS (...)" for restart codes. */
void strace_fmt_ret(struct strace_buf *b, long ret, int hex);

/* strace_call_replacing_memory: for execve and execveat, whose arguments point into
 * memory the call replaces: formats the arguments first, makes the call, then prints
 * the line with its result. */
long strace_call_replacing_memory(struct task *t, const struct syscall_args *a,
                                  long (*call)(struct task *, const struct syscall_args *));

/* strace_print_noreturn: prints "name(args) = ?" before a call that does not come
 * back (exit, exit_group). */
void strace_print_noreturn(struct task *t, const struct syscall_args *a);

#endif
