/* The initial stack, laid out as Linux does (fs/exec.c copies the strings, then
 * fs/binfmt_elf.c create_elf_tables adds the rest). From top down:
 *
 *   top        8 zero bytes (end marker)
 *              execfn string                  <- AT_EXECFN
 *              envp strings, then below them argv strings (argv[0] lowest)
 *              (align down to 16)
 *              platform string                <- AT_PLATFORM
 *              16 random bytes                <- AT_RANDOM
 *              (padding so that sp is 16-byte aligned)
 *              auxv pairs, ending with AT_NULL
 *              envp pointers, NULL
 *              argv pointers, NULL
 *   sp ->      argc
 *
 * Unlike Linux we do not randomize the string area's alignment offset. */
#include "sentry/loader/stack.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

/* measure: counts a NULL-terminated string vector and adds the bytes of its strings and
 * pointers to *need. Stops with -E2BIG as soon as *need passes max_size, so neither the
 * count nor the sum can overflow. */
static int measure(char *const *v, size_t *count, size_t *strings_size, size_t *need,
                   size_t max_size)
{
    *count = 0;
    *strings_size = 0;
    for (size_t i = 0; v && v[i]; i++) {
        size_t n = strlen(v[i]) + 1;
        if (__builtin_add_overflow(*need, n + sizeof(uint64_t), need) || *need > max_size)
            return -E2BIG;
        *strings_size += n;
        (*count)++;
    }
    return 0;
}

/* The builder writes guest addresses in [sp, top) through buf. */
struct writer {
    uint8_t *buf;
    uint64_t sp;
};

static void put_u64(const struct writer *w, uint64_t addr, uint64_t val)
{
    memcpy(w->buf + (addr - w->sp), &val, sizeof(val));
}

static void put_bytes(const struct writer *w, uint64_t addr, const void *p, size_t n)
{
    memcpy(w->buf + (addr - w->sp), p, n);
}

/* put_vector: copies the strings of v upward from *str and writes their addresses
 * upward from ptrs, then the NULL that ends the vector. */
static void put_vector(const struct writer *w, char *const *v, size_t count,
                       uint64_t *str, uint64_t ptrs)
{
    for (size_t i = 0; i < count; i++) {
        size_t n = strlen(v[i]) + 1;
        put_bytes(w, *str, v[i], n);
        put_u64(w, ptrs + i * 8, *str);
        *str += n;
    }
    put_u64(w, ptrs + count * 8, 0);
}

int stack_build(const struct stack_spec *spec, size_t max_size, struct stack_image *out)
{
    const char *execfn = spec->execfn ? spec->execfn : "";
    size_t argc, envc, argv_strings, envp_strings;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!spec->random16 || spec->nauxv < 0 || spec->nauxv > STACK_MAX_AUXV ||
        (spec->nauxv > 0 && !spec->auxv))
        return -EINVAL;

    /* The auxv we add: AT_PLATFORM (if any), AT_RANDOM, AT_EXECFN, AT_NULL. */
    size_t nauxv = (size_t)spec->nauxv + (spec->platform ? 1 : 0) + 3;
    size_t execfn_size = strlen(execfn) + 1;
    size_t platform_size = spec->platform ? strlen(spec->platform) + 1 : 0;
    /* An upper bound on the image: the fixed parts, both alignment paddings, then
     * argv and envp as measure() adds them. */
    size_t need = 8 + execfn_size + platform_size + 16 + 15 + 15 +
                  8 * (1 + 1 + 1 + 2 * nauxv);
    if (need > max_size)
        return -E2BIG;
    if ((rc = measure(spec->argv, &argc, &argv_strings, &need, max_size)) < 0 ||
        (rc = measure(spec->envp, &envc, &envp_strings, &need, max_size)) < 0)
        return rc;
    if (need > spec->top)
        return -E2BIG;

    /* Addresses, from the top down. need > top was ruled out, so nothing wraps. */
    uint64_t p = spec->top - 8;
    uint64_t execfn_addr = (p -= execfn_size);
    uint64_t envp_str = (p -= envp_strings);
    uint64_t argv_str = (p -= argv_strings);
    p &= ~15ULL;
    uint64_t platform_addr = (p -= platform_size);
    uint64_t random_addr = (p -= 16);
    size_t nwords = 1 + (argc + 1) + (envc + 1) + 2 * nauxv;
    uint64_t sp = (p - nwords * 8) & ~15ULL;

    struct writer w = { .buf = calloc(1, spec->top - sp), .sp = sp };
    if (!w.buf)
        return -ENOMEM;

    out->sp = sp;
    out->size = spec->top - sp;
    out->argv_addr = sp + 8;
    out->envp_addr = out->argv_addr + (argc + 1) * 8;
    out->auxv_addr = out->envp_addr + (envc + 1) * 8;

    /* The end marker and the padding are already zero. */
    put_bytes(&w, execfn_addr, execfn, execfn_size);
    if (spec->platform)
        put_bytes(&w, platform_addr, spec->platform, platform_size);
    put_bytes(&w, random_addr, spec->random16, 16);

    put_u64(&w, sp, argc);
    put_vector(&w, spec->argv, argc, &argv_str, out->argv_addr);
    put_vector(&w, spec->envp, envc, &envp_str, out->envp_addr);

    uint64_t a = out->auxv_addr;
    for (int i = 0; i < spec->nauxv; i++, a += 16) {
        put_u64(&w, a, spec->auxv[i].type);
        put_u64(&w, a + 8, spec->auxv[i].val);
    }
    const struct auxv_pair tail[] = {
        { AT_PLATFORM, platform_addr },
        { AT_RANDOM, random_addr },
        { AT_EXECFN, execfn_addr },
        { AT_NULL, 0 },
    };
    for (size_t i = spec->platform ? 0 : 1; i < ARRAY_SIZE(tail); i++, a += 16) {
        put_u64(&w, a, tail[i].type);
        put_u64(&w, a + 8, tail[i].val);
    }

    out->buf = w.buf;
    return 0;
}
