/* stack_build: the image is decoded the way a C runtime's start code reads it, with
 * guest addresses translated back into buf offsets (addr - sp). */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/loader/stack.h"

#define TOP 0x7ffffffde000ULL

static const uint8_t random16[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                      16 };
static char *const argv[] = { "prog", "a", "bc", NULL };
static char *const envp[] = { "X=1", NULL };
static const struct auxv_pair auxv[] = {
    { AT_PAGESZ, 4096 }, { AT_ENTRY, 0x401000 }, { AT_UID, 1000 },
};

static struct stack_spec spec(void)
{
    return (struct stack_spec){
        .top = TOP, .argv = argv, .envp = envp, .execfn = "/usr/bin/prog",
        .platform = "x86_64", .random16 = random16, .auxv = auxv,
        .nauxv = (int)(sizeof(auxv) / sizeof(auxv[0])),
    };
}

/* The decoder's view of the image: every access is bounds-checked against [sp, top). */
static const struct stack_image *g;

static uint64_t word(uint64_t addr)
{
    cr_assert(addr >= g->sp && addr + 8 <= g->sp + g->size, "word at %#lx outside", addr);
    uint64_t v;
    memcpy(&v, g->buf + (addr - g->sp), 8);
    return v;
}

static const char *str(uint64_t addr)
{
    cr_assert(addr >= g->sp && addr < g->sp + g->size, "string at %#lx outside", addr);
    const char *s = (const char *)g->buf + (addr - g->sp);
    cr_assert(memchr(s, 0, g->sp + g->size - addr), "string at %#lx unterminated", addr);
    return s;
}

static uint64_t auxv_get(uint64_t auxv_addr, uint64_t type, int *found)
{
    for (uint64_t a = auxv_addr; word(a) != AT_NULL; a += 16)
        if (word(a) == type) {
            *found = 1;
            return word(a + 8);
        }
    *found = 0;
    return 0;
}

Test(stack, layout)
{
    struct stack_spec s = spec();
    struct stack_image img;
    cr_assert_eq(stack_build(&s, 1 << 20, &img), 0);
    g = &img;

    cr_assert_eq(img.sp % 16, 0);
    cr_assert_eq(img.sp + img.size, TOP);

    /* argc, argv, NULL */
    uint64_t p = img.sp;
    cr_assert_eq(word(p), 3);
    p += 8;
    cr_assert_eq(p, img.argv_addr);
    for (int i = 0; i < 3; i++, p += 8)
        cr_assert_str_eq(str(word(p)), argv[i]);
    cr_assert_eq(word(p), 0);
    p += 8;

    /* envp, NULL */
    cr_assert_eq(p, img.envp_addr);
    cr_assert_str_eq(str(word(p)), "X=1");
    p += 8;
    cr_assert_eq(word(p), 0);
    p += 8;

    /* auxv: ours in order, then AT_PLATFORM, AT_RANDOM, AT_EXECFN, AT_NULL */
    cr_assert_eq(p, img.auxv_addr);
    for (size_t i = 0; i < sizeof(auxv) / sizeof(auxv[0]); i++, p += 16) {
        cr_assert_eq(word(p), auxv[i].type);
        cr_assert_eq(word(p + 8), auxv[i].val);
    }
    cr_assert_eq(word(p), AT_PLATFORM);
    cr_assert_str_eq(str(word(p + 8)), "x86_64");
    p += 16;
    cr_assert_eq(word(p), AT_RANDOM);
    uint64_t rand_addr = word(p + 8);
    cr_assert(rand_addr >= img.sp && rand_addr + 16 <= TOP);
    cr_assert_arr_eq(img.buf + (rand_addr - img.sp), random16, 16);
    p += 16;
    cr_assert_eq(word(p), AT_EXECFN);
    uint64_t execfn_addr = word(p + 8);
    cr_assert_str_eq(str(execfn_addr), "/usr/bin/prog");
    p += 16;
    cr_assert_eq(word(p), AT_NULL);
    cr_assert_eq(word(p + 8), 0);

    /* Linux's order: argv strings lowest, then envp strings, then execfn, then the
     * 8-byte zero end marker at the top. The random bytes sit below the strings. */
    uint64_t a0 = word(img.argv_addr), e0 = word(img.envp_addr);
    cr_assert_lt(a0, e0);
    cr_assert_eq(word(img.argv_addr + 8), a0 + sizeof("prog"));
    cr_assert_lt(e0, execfn_addr);
    cr_assert_eq(execfn_addr + sizeof("/usr/bin/prog"), TOP - 8);
    cr_assert_eq(word(TOP - 8), 0);
    cr_assert_lt(rand_addr, a0);
    cr_assert_gt(rand_addr, p + 8, "random bytes above the vectors");

    int found;
    cr_assert_eq(auxv_get(img.auxv_addr, AT_PAGESZ, &found), 4096);
    cr_assert(found);
    free(img.buf);
}

Test(stack, empty_vectors_and_no_platform)
{
    struct stack_spec s = spec();
    s.argv = NULL;
    s.envp = NULL;
    s.platform = NULL;
    s.nauxv = 0;
    struct stack_image img;
    cr_assert_eq(stack_build(&s, 1 << 20, &img), 0);
    g = &img;
    cr_assert_eq(img.sp % 16, 0);
    cr_assert_eq(word(img.sp), 0);
    cr_assert_eq(word(img.argv_addr), 0);
    cr_assert_eq(word(img.envp_addr), 0);
    cr_assert_eq(word(img.auxv_addr), AT_RANDOM);
    cr_assert_eq(word(img.auxv_addr + 16), AT_EXECFN);
    cr_assert_eq(word(img.auxv_addr + 32), AT_NULL);
    free(img.buf);
}

Test(stack, alignment_for_every_argc)
{
    /* sp stays 16-aligned whatever the parity of the vector words and string sizes. */
    static char *const many[] = { "a", "bb", "ccc", "dddd", "eeeee", "f", "gg", NULL };
    for (int n = 0; n <= 7; n++) {
        char *v[8];
        memcpy(v, many, n * sizeof(char *));
        v[n] = NULL;
        struct stack_spec s = spec();
        s.argv = v;
        struct stack_image img;
        cr_assert_eq(stack_build(&s, 1 << 20, &img), 0);
        g = &img;
        cr_assert_eq(img.sp % 16, 0, "argc %d", n);
        cr_assert_eq(word(img.sp), (uint64_t)n);
        free(img.buf);
    }
}

Test(stack, e2big)
{
    enum { N = 10000 };
    char *big = malloc(1000);
    cr_assert(big);
    memset(big, 'x', 999);
    big[999] = 0;
    char **v = malloc((N + 1) * sizeof(char *));
    cr_assert(v);
    for (int i = 0; i < N; i++)
        v[i] = big;
    v[N] = NULL;

    struct stack_spec s = spec();
    s.argv = v;
    struct stack_image img;
    cr_assert_eq(stack_build(&s, 128 * 1024, &img), -E2BIG);
    cr_assert_null(img.buf);
    /* It fits when the limit allows it. */
    cr_assert_eq(stack_build(&s, 16 << 20, &img), 0);
    g = &img;
    cr_assert_eq(word(img.sp), N);
    cr_assert_str_eq(str(word(img.argv_addr + 8 * (N - 1))), big);
    free(img.buf);
    free(v);
    free(big);
}

Test(stack, too_close_to_zero)
{
    struct stack_spec s = spec();
    s.top = 256;
    struct stack_image img;
    cr_assert_eq(stack_build(&s, 1 << 20, &img), -E2BIG);
}

Test(stack, invalid_spec)
{
    struct stack_spec s = spec();
    struct stack_image img;
    s.random16 = NULL;
    cr_assert_eq(stack_build(&s, 1 << 20, &img), -EINVAL);
    s = spec();
    s.nauxv = STACK_MAX_AUXV + 1;
    cr_assert_eq(stack_build(&s, 1 << 20, &img), -EINVAL);
}
