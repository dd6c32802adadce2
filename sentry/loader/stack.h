/* The initial process stack: argv, envp, auxv and the strings they point to, laid out
 * as the Linux kernel does (fs/binfmt_elf.c create_elf_tables). stack_build is pure: it
 * writes into a host buffer that will be copied to the top of the guest stack. */
#ifndef SENTRY_LOADER_STACK_H
#define SENTRY_LOADER_STACK_H

#include <stddef.h>
#include <stdint.h>

struct auxv_pair { uint64_t type, val; };

#define STACK_MAX_AUXV 32

struct stack_spec {
    uint64_t top;                 /* guest address just above the stack (16-aligned) */
    char *const *argv;            /* NULL-terminated, host strings */
    char *const *envp;            /* NULL-terminated */
    const char *execfn;           /* AT_EXECFN string */
    const char *platform;         /* AT_PLATFORM string ("x86_64") */
    const uint8_t *random16;      /* 16 bytes for AT_RANDOM */
    const struct auxv_pair *auxv; /* without AT_EXECFN/AT_PLATFORM/AT_RANDOM/AT_NULL */
    int nauxv;
};

struct stack_image {
    uint8_t *buf;     /* bytes for [sp, top): malloc'd, owned by the caller (free) */
    size_t size;      /* top - sp */
    uint64_t sp;      /* initial rsp: points at argc, 16-byte aligned */
    uint64_t argv_addr, envp_addr, auxv_addr;  /* guest addresses, for tests */
};

/* stack_build: lays out the stack. argv and envp may be NULL (empty); random16 is
 * required; platform may be NULL (no AT_PLATFORM). Returns 0, -E2BIG if the image
 * (strings, pointers and auxv) would exceed max_size bytes or not fit below top,
 * -EINVAL for a missing random16 or nauxv outside 0..STACK_MAX_AUXV, or -ENOMEM. */
int stack_build(const struct stack_spec *spec, size_t max_size, struct stack_image *out);

#endif
