/* memfile: the memfd page allocator. Allocation, zeroing, reference counts, reuse of
 * freed (punched) pages, accounting, limits and growth of the file. memfile_init may
 * run once per process: Criterion forks a process per test, and the guard also covers
 * --no-fork runs (tests only look at deltas of the accounting). */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "sentry/mm/memfile.h"

#define MAX_SIZE (1ULL << 30)
#define STEP (64ULL << 20)

static void setup(void)
{
    static int done;
    if (done)
        return;
    cr_assert_eq(memfile_init(MAX_SIZE), 0);
    done = 1;
}

TestSuite(memfile, .init = setup);

static int all_zero(const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i])
            return 0;
    return 1;
}

Test(memfile, init_state)
{
    cr_assert_geq(memfile_fd(), 0);
    cr_assert_not_null(memfile_base());
    cr_assert_eq(memfile_max(), MAX_SIZE);
    cr_assert_eq((char *)memfile_ptr(0), (char *)memfile_base());
    cr_assert_eq((char *)memfile_ptr(PAGE_SIZE), (char *)memfile_base() + PAGE_SIZE);
}

Test(memfile, alloc_distinct_zeroed_refcounted)
{
    uint64_t used0 = memfile_used();
    int64_t offs[16];
    for (int i = 0; i < 16; i++) {
        uint64_t len = (uint64_t)(1 + i % 3) * PAGE_SIZE;
        offs[i] = memfile_alloc(len);
        cr_assert_geq(offs[i], 0, "alloc %d: %ld", i, (long)offs[i]);
        cr_assert(page_aligned((uint64_t)offs[i]));
        cr_assert_leq((uint64_t)offs[i] + len, memfile_size());
        for (uint64_t p = 0; p < len; p += PAGE_SIZE)
            cr_assert_eq(memfile_refs((uint64_t)offs[i] + p), 1);
        cr_assert(all_zero(memfile_ptr((uint64_t)offs[i]), len));
        /* no overlap with anything allocated before */
        for (int j = 0; j < i; j++) {
            uint64_t lj = (uint64_t)(1 + j % 3) * PAGE_SIZE;
            cr_assert((uint64_t)offs[i] + len <= (uint64_t)offs[j] ||
                          (uint64_t)offs[j] + lj <= (uint64_t)offs[i],
                      "allocs %d and %d overlap", i, j);
        }
        memset(memfile_ptr((uint64_t)offs[i]), 0xa0 + i, len);
    }
    uint64_t total = 0;
    for (int i = 0; i < 16; i++)
        total += (uint64_t)(1 + i % 3) * PAGE_SIZE;
    cr_assert_eq(memfile_used() - used0, total);
    /* every allocation still holds its own data */
    for (int i = 0; i < 16; i++) {
        unsigned char *c = memfile_ptr((uint64_t)offs[i]);
        uint64_t len = (uint64_t)(1 + i % 3) * PAGE_SIZE;
        cr_assert_eq(c[0], 0xa0 + i);
        cr_assert_eq(c[len - 1], 0xa0 + i);
    }
    for (int i = 0; i < 16; i++)
        memfile_decref((uint64_t)offs[i], (uint64_t)(1 + i % 3) * PAGE_SIZE);
    cr_assert_eq(memfile_used(), used0);
}

Test(memfile, data_visible_through_fd)
{
    int64_t off = memfile_alloc(2 * PAGE_SIZE);
    cr_assert_geq(off, 0);
    char *p = memfile_ptr((uint64_t)off);
    memcpy(p + PAGE_SIZE - 3, "hello!", 6);   /* straddles the page boundary */
    char buf[6];
    cr_assert_eq(pread(memfile_fd(), buf, 6, off + (off_t)PAGE_SIZE - 3), 6);
    cr_assert_eq(memcmp(buf, "hello!", 6), 0);
    /* and the other way round */
    cr_assert_eq(pwrite(memfile_fd(), "xyz", 3, off + 100), 3);
    cr_assert_eq(memcmp(p + 100, "xyz", 3), 0);
    memfile_decref((uint64_t)off, 2 * PAGE_SIZE);
}

Test(memfile, incref_decref)
{
    uint64_t used0 = memfile_used();
    int64_t off = memfile_alloc(4 * PAGE_SIZE);
    cr_assert_geq(off, 0);
    uint64_t o = (uint64_t)off;
    memfile_incref(o, 4 * PAGE_SIZE);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(memfile_refs(o + (uint64_t)i * PAGE_SIZE), 2);
    memfile_incref(o + PAGE_SIZE, PAGE_SIZE);
    cr_assert_eq(memfile_refs(o + PAGE_SIZE), 3);
    memset(memfile_ptr(o), 0x55, 4 * PAGE_SIZE);

    memfile_decref(o, 4 * PAGE_SIZE);
    cr_assert_eq(memfile_refs(o), 1);
    cr_assert_eq(memfile_refs(o + PAGE_SIZE), 2);
    cr_assert_eq(memfile_used() - used0, 4 * PAGE_SIZE, "nothing freed yet");
    cr_assert_eq(*(unsigned char *)memfile_ptr(o), 0x55);

    /* dropping the last reference of pages 0, 2, 3 frees them (two runs); page 1 stays */
    memfile_decref(o, 4 * PAGE_SIZE);
    cr_assert_eq(memfile_refs(o), 0);
    cr_assert_eq(memfile_refs(o + PAGE_SIZE), 1);
    cr_assert_eq(memfile_refs(o + 2 * PAGE_SIZE), 0);
    cr_assert_eq(memfile_refs(o + 3 * PAGE_SIZE), 0);
    cr_assert_eq(memfile_used() - used0, PAGE_SIZE);
    /* the surviving page kept its data; the freed ones were punched */
    cr_assert_eq(*(unsigned char *)memfile_ptr(o + PAGE_SIZE), 0x55);
    cr_assert(all_zero(memfile_ptr(o), PAGE_SIZE));
    cr_assert(all_zero(memfile_ptr(o + 2 * PAGE_SIZE), 2 * PAGE_SIZE));

    memfile_decref(o + PAGE_SIZE, PAGE_SIZE);
    cr_assert_eq(memfile_used(), used0);
}

Test(memfile, freed_pages_reused_and_zero)
{
    uint64_t used0 = memfile_used();
    int64_t a = memfile_alloc(PAGE_SIZE), b = memfile_alloc(2 * PAGE_SIZE),
            c = memfile_alloc(PAGE_SIZE);
    cr_assert(a >= 0 && b >= 0 && c >= 0);
    memset(memfile_ptr((uint64_t)a), 0x11, PAGE_SIZE);
    memset(memfile_ptr((uint64_t)b), 0x22, 2 * PAGE_SIZE);
    memset(memfile_ptr((uint64_t)c), 0x33, PAGE_SIZE);

    /* a hole in the middle is reused by an allocation that fits */
    memfile_decref((uint64_t)b, 2 * PAGE_SIZE);
    cr_assert_eq(memfile_used() - used0, 2 * PAGE_SIZE);
    int64_t b2 = memfile_alloc(2 * PAGE_SIZE);
    cr_assert_eq(b2, b);
    cr_assert(all_zero(memfile_ptr((uint64_t)b2), 2 * PAGE_SIZE), "reused pages not zero");
    cr_assert_eq(memfile_refs((uint64_t)b2), 1);
    memset(memfile_ptr((uint64_t)b2), 0x44, 2 * PAGE_SIZE);

    /* partial reuse of a freed run */
    memfile_decref((uint64_t)b2, 2 * PAGE_SIZE);
    int64_t d = memfile_alloc(PAGE_SIZE);
    cr_assert_eq(d, b);
    cr_assert(all_zero(memfile_ptr((uint64_t)d), PAGE_SIZE));
    int64_t e = memfile_alloc(PAGE_SIZE);
    cr_assert_eq(e, b + (int64_t)PAGE_SIZE);
    cr_assert(all_zero(memfile_ptr((uint64_t)e), PAGE_SIZE));

    /* freed neighbours coalesce into one run that a bigger allocation can use */
    memfile_decref((uint64_t)a, PAGE_SIZE);
    memfile_decref((uint64_t)d, PAGE_SIZE);
    memfile_decref((uint64_t)e, PAGE_SIZE);
    if (a + (int64_t)PAGE_SIZE == b) {
        int64_t f = memfile_alloc(3 * PAGE_SIZE);
        cr_assert_eq(f, a);
        cr_assert(all_zero(memfile_ptr((uint64_t)f), 3 * PAGE_SIZE));
        memfile_decref((uint64_t)f, 3 * PAGE_SIZE);
    }
    /* the untouched neighbour kept its data through all of it */
    cr_assert_eq(*(unsigned char *)memfile_ptr((uint64_t)c), 0x33);
    memfile_decref((uint64_t)c, PAGE_SIZE);
    cr_assert_eq(memfile_used(), used0);

    /* freeing everything at the top lets the same offsets be handed out again */
    int64_t g = memfile_alloc(PAGE_SIZE);
    cr_assert_geq(g, 0);
    memset(memfile_ptr((uint64_t)g), 0x77, PAGE_SIZE);
    memfile_decref((uint64_t)g, PAGE_SIZE);
    int64_t h = memfile_alloc(PAGE_SIZE);
    cr_assert_eq(h, g);
    cr_assert(all_zero(memfile_ptr((uint64_t)h), PAGE_SIZE));
    memfile_decref((uint64_t)h, PAGE_SIZE);
}

Test(memfile, bad_sizes)
{
    uint64_t used0 = memfile_used();
    cr_assert_eq(memfile_alloc(0), -ENOMEM);
    cr_assert_eq(memfile_alloc(1), -ENOMEM);
    cr_assert_eq(memfile_alloc(PAGE_SIZE + 1), -ENOMEM);
    cr_assert_eq(memfile_alloc(PAGE_SIZE - 1), -ENOMEM);
    cr_assert_eq(memfile_alloc(MAX_SIZE + PAGE_SIZE), -ENOMEM);
    cr_assert_eq(memfile_alloc(UINT64_MAX & PAGE_MASK), -ENOMEM);
    cr_assert_eq(memfile_used(), used0);
}

Test(memfile, growth_and_full)
{
    uint64_t used0 = memfile_used();
    int64_t a = memfile_alloc(PAGE_SIZE);
    cr_assert_geq(a, 0);
    cr_assert_geq(memfile_size(), STEP);
    cr_assert_eq(memfile_size() % STEP, 0);
    /* a run that cannot fit below the first step grows the file past it */
    int64_t big = memfile_alloc(STEP + 16 * PAGE_SIZE);
    cr_assert_geq(big, 0);
    cr_assert_geq(memfile_size(), (uint64_t)big + STEP + 16 * PAGE_SIZE);
    cr_assert_geq(memfile_size(), 2 * STEP);
    cr_assert_leq(memfile_size(), MAX_SIZE);
    struct stat st;
    cr_assert_eq(fstat(memfile_fd(), &st), 0);
    cr_assert_eq((uint64_t)st.st_size, memfile_size());
    /* its last page is usable */
    char *last = memfile_ptr((uint64_t)big + STEP + 15 * PAGE_SIZE);
    cr_assert(all_zero(last, PAGE_SIZE));
    memset(last, 0x9c, PAGE_SIZE);
    cr_assert_eq(last[PAGE_SIZE - 1], (char)0x9c);

    /* fill the rest of the file: exactly what is left fits, one more page does not */
    uint64_t left = MAX_SIZE - memfile_used();
    int64_t rest = memfile_alloc(left);
    cr_assert_geq(rest, 0, "filling %llu bytes: %ld", (unsigned long long)left, (long)rest);
    cr_assert_eq(memfile_size(), MAX_SIZE);
    cr_assert_eq(memfile_used(), MAX_SIZE);
    cr_assert_eq(memfile_alloc(PAGE_SIZE), -ENOMEM);
    /* freeing a page makes exactly that page available */
    memfile_decref((uint64_t)a, PAGE_SIZE);
    cr_assert_eq(memfile_alloc(2 * PAGE_SIZE), -ENOMEM);
    int64_t again = memfile_alloc(PAGE_SIZE);
    cr_assert_eq(again, a);
    memfile_decref((uint64_t)again, PAGE_SIZE);
    memfile_decref((uint64_t)rest, left);
    memfile_decref((uint64_t)big, STEP + 16 * PAGE_SIZE);
    cr_assert_eq(memfile_used(), used0);
    /* after everything is freed a large run fits again */
    int64_t all = memfile_alloc(MAX_SIZE - used0);
    cr_assert_geq(all, 0);
    memfile_decref((uint64_t)all, MAX_SIZE - used0);
    cr_assert_eq(memfile_used(), used0);
}

/* Threads allocate, write, check and free concurrently; no two live runs overlap. */
#define NTHREADS 4
#define ROUNDS 2000

static void *churn(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    int64_t held[8] = { -1, -1, -1, -1, -1, -1, -1, -1 };
    unsigned seed = (unsigned)id * 7919u + 1;
    for (int r = 0; r < ROUNDS; r++) {
        int k = (int)(rand_r(&seed) % 8);
        uint64_t len = (uint64_t)(1 + k % 4) * PAGE_SIZE;
        if (held[k] >= 0) {
            unsigned char *p = memfile_ptr((uint64_t)held[k]);
            for (uint64_t i = 0; i < len; i += PAGE_SIZE)
                if (p[i] != (unsigned char)(id * 8 + (uintptr_t)k))
                    return (void *)1;
            memfile_decref((uint64_t)held[k], len);
            held[k] = -1;
        } else {
            held[k] = memfile_alloc(len);
            if (held[k] < 0)
                return (void *)2;
            unsigned char *p = memfile_ptr((uint64_t)held[k]);
            for (uint64_t i = 0; i < len; i++)
                if (p[i])
                    return (void *)3;
            memset(p, (int)(id * 8 + (uintptr_t)k), len);
        }
    }
    for (int k = 0; k < 8; k++)
        if (held[k] >= 0)
            memfile_decref((uint64_t)held[k], (uint64_t)(1 + k % 4) * PAGE_SIZE);
    return NULL;
}

Test(memfile, concurrent)
{
    uint64_t used0 = memfile_used();
    pthread_t t[NTHREADS];
    for (uintptr_t i = 0; i < NTHREADS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, churn, (void *)i), 0);
    for (int i = 0; i < NTHREADS; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        cr_assert_null(ret, "thread %d failed: %p", i, ret);
    }
    cr_assert_eq(memfile_used(), used0);
}
