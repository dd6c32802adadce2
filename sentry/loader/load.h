/* Loading a program into a fresh address space: segments, stack, registers. */
#ifndef SENTRY_LOADER_LOAD_H
#define SENTRY_LOADER_LOAD_H

#include <stddef.h>

struct task;

/* Where ET_DYN programs go (Linux's ELF_ET_DYN_BASE without randomization). */
#define ELF_ET_DYN_BASE 0x555555554000ULL
/* The main stack's size (RLIMIT_STACK's default). */
#define STACK_SIZE (8ULL << 20)

struct file;

/* loader_load: maps the ELF program exe (and, for a dynamically linked one, its
 * interpreter interp, opened by the caller from PT_INTERP) into t's empty address
 * space, builds its stack from argv/envp and sets t's registers to start it. execfn
 * is the path as the user gave it. Returns 0, or -errno with a message in err. */
int loader_load(struct task *t, struct file *exe, struct file *interp,
                const char *execfn, char *const argv[], char *const envp[], char *err,
                size_t errlen);
/* loader_interp_path: the PT_INTERP path of exe into buf (empty when static), or
 * -errno with a message in err for a file that is not a loadable ELF. */
int loader_interp_path(struct file *exe, char *buf, size_t size, char *err, size_t errlen);

#endif
