/* System call dispatch: one table (table.c) indexed by x86-64 number drives dispatch,
 * --strace, the log of unimplemented calls and `sandbox syscalls`. Every handler has
 * the same signature and lives in its family file (sentry/syscalls/<family>.c). */
#ifndef SENTRY_SYSCALLS_SYSCALL_H
#define SENTRY_SYSCALLS_SYSCALL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/gva.h"

struct task;

struct syscall_args {
    uint64_t nr;
    uint64_t arg[6];
};

/* Typed accessors: decode argument i into a named local at the top of a handler. */
static inline int arg_int(const struct syscall_args *a, int i) { return (int)a->arg[i]; }
static inline unsigned arg_uint(const struct syscall_args *a, int i) { return (unsigned)a->arg[i]; }
static inline long arg_long(const struct syscall_args *a, int i) { return (long)a->arg[i]; }
static inline uint64_t arg_u64(const struct syscall_args *a, int i) { return a->arg[i]; }
static inline size_t arg_size(const struct syscall_args *a, int i) { return (size_t)a->arg[i]; }
static inline gva_t arg_gva(const struct syscall_args *a, int i) { return gva(a->arg[i]); }

typedef long (*syscall_fn)(struct task *t, const struct syscall_args *a);

/* How --strace prints an argument. */
enum arg_fmt {
    AF_NONE = 0,  /* no such argument */
    AF_INT,       /* signed decimal (fds, counts, pids) */
    AF_UINT,      /* unsigned decimal */
    AF_HEX,       /* 0x... (flags, addresses when not a pointer) */
    AF_PTR,       /* guest pointer: 0x... or NULL */
    AF_STR,       /* NUL-terminated guest string: "..." (paths, names) */
    AF_BUF,       /* guest buffer, length in the next argument: "..." (write, input) */
    AF_OBUF,      /* guest buffer written by the call, length = result (read) */
    AF_OCT,       /* octal (modes) */
    AF_SIG,       /* signal number: SIGxxx */
    AF_PROT,      /* PROT_* bits */
    AF_MMAPF,     /* MAP_* flags */
    AF_OPENF,     /* O_* flags */
    AF_SOCKFAM,   /* address family: AF_UNIX, AF_INET ... */
    AF_SOCKTYPE,  /* socket type with SOCK_NONBLOCK/SOCK_CLOEXEC */
    AF_SOCKADDR,  /* guest struct sockaddr, length in the next argument */
};

/* How complete the implementation is, for `sandbox syscalls`. */
enum syscall_support {
    SUP_NONE = 0,    /* -ENOSYS, logged once */
    SUP_PARTIAL,     /* common uses work; see note */
    SUP_FULL,
};

struct syscall_entry {
    const char *name;
    syscall_fn fn;                 /* NULL: -ENOSYS */
    enum syscall_support support;
    enum arg_fmt args[6];
    int ret_hex;                   /* print the result in hex (mmap, brk) */
    const char *note;
};

#define SYSCALL_MAX 512
/* g_syscalls: the table, indexed by number; entries with name == NULL do not exist. */
extern const struct syscall_entry g_syscalls[SYSCALL_MAX];

/* syscall_dispatch: runs call a for t, with --strace output when enabled; returns the
 * value for rax (a value or -errno, or an internal restart code). */
long syscall_dispatch(struct task *t, const struct syscall_args *a);

/* syscall_name: the call's name, or NULL if the number is unknown. */
const char *syscall_name(uint64_t nr);

/* strace_print: prints one completed call: name(args) = result. */
void strace_print(struct task *t, const struct syscall_args *a, long ret);

/* g_strace: nonzero when --strace is on. */
extern int g_strace;

#endif
