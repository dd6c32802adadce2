/* pipe_buf: the slot ring behind pipes. Linux's numbers (merging, slot capacity,
 * PIPE_BUF atomicity, packets, resize) on host memory, then a randomized stream check
 * against a byte-count model. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "sentry/fs/pipe_buf.h"

static char src[1 << 16], dst[1 << 16];

static void fill_pattern(void)
{
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (char)(i * 7 + 3);
}

Test(pipe_buf, small_writes_merge_into_pages)
{
    struct pipe_buf b;
    cr_assert_eq(pipe_buf_init(&b, PIPE_DEF_SLOTS), 0);
    int writes = 0;
    while (pipe_buf_write(&b, src, 1000, 0) == 1000)
        writes++;
    /* four 1000-byte writes per page, 16 pages: as Linux */
    cr_assert_eq(writes, 64);
    cr_assert_eq(b.bytes, 64000);
    cr_assert(pipe_buf_full(&b));
    pipe_buf_destroy(&b);
}

Test(pipe_buf, atomic_write_all_or_nothing)
{
    struct pipe_buf b;
    cr_assert_eq(pipe_buf_init(&b, 2), 0);
    cr_assert_eq(pipe_buf_write(&b, src, 3000, 0), 3000);
    cr_assert_eq(pipe_buf_write(&b, src, 3000, 0), 3000);   /* a second page */
    /* 1096 would still fit in the first page's bytes but not in the last slot */
    cr_assert_eq(pipe_buf_write(&b, src, 1096, 0), 1096);   /* merges into page 2 */
    cr_assert_eq(pipe_buf_write(&b, src, 1, 0), 0);
    cr_assert_eq(pipe_buf_read(&b, dst, 3000), 3000);       /* frees page 1 */
    cr_assert_eq(pipe_buf_write(&b, src, 4096, 0), 4096);   /* whole new page */
    cr_assert_eq(b.bytes, 3000 + 1096 + 4096);
    pipe_buf_destroy(&b);
}

Test(pipe_buf, large_write_takes_what_fits)
{
    struct pipe_buf b;
    cr_assert_eq(pipe_buf_init(&b, 4), 0);
    fill_pattern();
    cr_assert_eq(pipe_buf_write(&b, src, 10, 0), 10);
    /* 20000 % 4096 = 3616 merges into the first page, then three whole pages */
    cr_assert_eq(pipe_buf_write(&b, src + 10, 20000, 0), 3616 + 3 * 4096);
    size_t n = pipe_buf_read(&b, dst, sizeof(dst));
    cr_assert_eq(n, 10 + 3616 + 3 * 4096);
    cr_assert_eq(memcmp(dst, src, n), 0);
    cr_assert(pipe_buf_empty(&b));
    pipe_buf_destroy(&b);
}

Test(pipe_buf, wraparound_keeps_order)
{
    struct pipe_buf b;
    cr_assert_eq(pipe_buf_init(&b, 3), 0);
    fill_pattern();
    size_t w = 0, r = 0;
    for (int round = 0; round < 50; round++) {
        w += pipe_buf_write(&b, src + w % 30000, 4096, 0);
        w += pipe_buf_write(&b, src + w % 30000, 4096, 0);
        size_t n = pipe_buf_read(&b, dst, 4096);
        cr_assert_eq(memcmp(dst, src + r % 30000, n), 0, "round %d", round);
        r += n;
        n = pipe_buf_read(&b, dst, 4096);
        cr_assert_eq(memcmp(dst, src + r % 30000, n), 0, "round %d", round);
        r += n;
    }
    cr_assert_eq(w, r);
    pipe_buf_destroy(&b);
}

Test(pipe_buf, packets)
{
    struct pipe_buf b;
    cr_assert_eq(pipe_buf_init(&b, 4), 0);
    cr_assert_eq(pipe_buf_write(&b, "abc", 3, 1), 3);
    cr_assert_eq(pipe_buf_write(&b, "defgh", 5, 1), 5);
    cr_assert_eq(b.used, 2);                   /* never merged */
    cr_assert_eq(pipe_buf_read(&b, dst, 100), 3);
    cr_assert_eq(pipe_buf_read(&b, dst, 2), 2);  /* the rest of "defgh" is gone */
    cr_assert(pipe_buf_empty(&b));
    cr_assert_eq(b.bytes, 0);
    /* a packet write bigger than a page is split into page messages */
    cr_assert_eq(pipe_buf_write(&b, src, 5000, 1), 5000);
    cr_assert_eq(b.used, 2);
    cr_assert_eq(pipe_buf_read(&b, dst, 8192), 4096);
    pipe_buf_destroy(&b);
}

Test(pipe_buf, resize)
{
    struct pipe_buf b;
    cr_assert_eq(pipe_buf_init(&b, 4), 0);
    fill_pattern();
    /* move tail off zero so the ring is wrapped when resized */
    cr_assert_eq(pipe_buf_write(&b, src, 3 * 4096, 0), 3 * 4096);
    cr_assert_eq(pipe_buf_read(&b, dst, 2 * 4096), 2 * 4096);
    cr_assert_eq(pipe_buf_write(&b, src + 3 * 4096, 2 * 4096, 0), 2 * 4096);
    cr_assert_eq(b.used, 3);
    cr_assert_eq(pipe_buf_resize(&b, 2), -EBUSY);
    cr_assert_eq(pipe_buf_resize(&b, 8), 0);
    cr_assert_eq(pipe_buf_write(&b, src + 5 * 4096, 4096, 0), 4096);
    size_t n = pipe_buf_read(&b, dst, sizeof(dst));
    cr_assert_eq(n, 4 * 4096);
    cr_assert_eq(memcmp(dst, src + 2 * 4096, n), 0);
    cr_assert_eq(pipe_buf_resize(&b, 1), 0);
    cr_assert_eq(b.nslots, 1);
    pipe_buf_destroy(&b);
}

/* a fault in the middle of a copy keeps nothing */
static ssize_t short_copy(void *ctx, size_t skip, void *p, size_t n)
{
    (void)ctx;
    (void)skip;
    (void)p;
    return n > 10 ? 10 : -EFAULT;
}

Test(pipe_buf, faults)
{
    struct pipe_buf b;
    cr_assert_eq(pipe_buf_init(&b, 2), 0);
    cr_assert_eq(pipe_buf_push(&b, 100, 0, short_copy, NULL, 0), -EFAULT);
    cr_assert(pipe_buf_empty(&b));
    cr_assert_eq(pipe_buf_write(&b, src, 100, 0), 100);
    cr_assert_eq(pipe_buf_merge(&b, 50, short_copy, NULL), -EFAULT);
    int end;
    cr_assert_eq(pipe_buf_pop(&b, 100, short_copy, NULL, 0, &end), -EFAULT);
    cr_assert_eq(b.bytes, 100);
    pipe_buf_destroy(&b);
}

/* The pattern repeats every 256 bytes, so src + (pos % 32768) is the stream from
 * position pos on for any pos. */
Test(pipe_buf, peek_consume)
{
    struct pipe_buf b;
    cr_assert_eq(pipe_buf_init(&b, 4), 0);
    fill_pattern();
    cr_assert_eq(pipe_buf_write(&b, src, 5000, 0), 5000);
    cr_assert_eq(pipe_buf_peek(&b, dst, 6000), 5000);
    cr_assert_eq(memcmp(dst, src, 5000), 0);
    cr_assert_eq(b.bytes, 5000);             /* nothing consumed */
    pipe_buf_consume(&b, 4500);              /* across the slot boundary */
    cr_assert_eq(b.used, 1);
    cr_assert_eq(pipe_buf_read(&b, dst, sizeof(dst)), 500);
    cr_assert_eq(memcmp(dst, src + 4500, 500), 0);
    pipe_buf_destroy(&b);
}

Test(pipe_buf, move_and_dup)
{
    struct pipe_buf a, b;
    cr_assert_eq(pipe_buf_init(&a, 4), 0);
    cr_assert_eq(pipe_buf_init(&b, 2), 0);
    fill_pattern();
    cr_assert_eq(pipe_buf_write(&a, src, 3 * 4096, 0), 3 * 4096);
    /* tee: copies, nothing consumed, stops when b is full */
    cr_assert_eq(pipe_buf_dup(&b, &a, 100000), 2 * 4096);
    cr_assert_eq(a.bytes, 3 * 4096);
    cr_assert_eq(pipe_buf_read(&b, dst, sizeof(dst)), 2 * 4096);
    cr_assert_eq(memcmp(dst, src, 2 * 4096), 0);
    /* a whole slot moves, then a part is copied */
    cr_assert_eq(pipe_buf_move(&b, &a, 4096 + 10), 4096 + 10);
    cr_assert_eq(a.bytes, 2 * 4096 - 10);
    cr_assert_eq(b.used, 2);
    /* b is full now: its two slots */
    cr_assert_eq(pipe_buf_write(&b, src, 1, 0), 0);
    cr_assert_eq(pipe_buf_read(&b, dst, sizeof(dst)), 4096 + 10);
    cr_assert_eq(memcmp(dst, src, 4096 + 10), 0);
    cr_assert_eq(pipe_buf_read(&a, dst, sizeof(dst)), 2 * 4096 - 10);
    cr_assert_eq(memcmp(dst, src + 4096 + 10, 2 * 4096 - 10), 0);
    pipe_buf_destroy(&a);
    pipe_buf_destroy(&b);
}

Test(pipe_buf, random_stream)
{
    struct pipe_buf b;
    cr_assert_eq(pipe_buf_init(&b, 5), 0);
    fill_pattern();
    srand(1);
    size_t w = 0, r = 0;
    for (int i = 0; i < 20000; i++) {
        size_t n = (size_t)rand() % 20000 + 1;
        if (rand() & 1) {
            size_t got = pipe_buf_write(&b, src + w % 32768, n, 0);
            if (n <= PAGE_SIZE)
                cr_assert(got == 0 || got == n, "atomic write split: %zu of %zu", got, n);
            w += got;
        } else {
            size_t got = pipe_buf_read(&b, dst, n);
            cr_assert_eq(memcmp(dst, src + r % 32768, got), 0, "step %d", i);
            r += got;
        }
        cr_assert_eq(w - r, b.bytes);
        cr_assert_leq(b.used, b.nslots);
    }
    cr_assert_gt(r, 100000);
    pipe_buf_destroy(&b);
}
