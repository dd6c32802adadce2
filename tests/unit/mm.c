/* mm: address spaces on a fake platform that records map/unmap/protect calls. The
 * memory file is real (one per test process: Criterion forks per test; the init guard
 * also covers --no-fork runs, where tests only look at deltas of the accounting). */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/util.h"
#include "platform/platform.h"
#include "sentry/mm/memfile.h"
#include "sentry/mm/mm.h"

#define P(n) ((uint64_t)(n) * PAGE_SIZE)
#define MB (1ULL << 20)
#define CHUNK (2 * MB)
#define RES_LO 0x7ff000000000ULL
#define RES_LEN 4096ULL
#define USER_MAX 0x7ffffffff000ULL
#define RW (PROT_READ | PROT_WRITE)
#define PRIV (MAP_PRIVATE | MAP_ANONYMOUS)

/* ---- the fake platform ---- */

struct call {
    char op;          /* 'm'ap, 'u'nmap, 'p'rotect */
    uint64_t va, len;
    int prot;
    uint64_t off;
};
#define MAXCALLS 1024
static struct call calls[MAXCALLS];
static int ncalls;
static int as_live;
static char dummy_as[16];

static void record(char op, uint64_t va, uint64_t len, int prot, uint64_t off)
{
    if (ncalls < MAXCALLS)
        calls[ncalls] = (struct call){ op, va, len, prot, off };
    ncalls++;
}

static struct plat_as *fake_as_create(int *err)
{
    (void)err;
    as_live++;
    return (struct plat_as *)dummy_as;
}
static void fake_as_destroy(struct plat_as *as)
{
    cr_assert_eq((void *)as, (void *)dummy_as);
    as_live--;
}
static int fake_map(struct plat_as *as, gva_t va, uint64_t len, int prot, uint64_t off)
{
    cr_assert_eq((void *)as, (void *)dummy_as);
    cr_assert(page_aligned(va.v) && page_aligned(len) && page_aligned(off) && len > 0,
              "map %llx+%llx off %llx", (unsigned long long)va.v,
              (unsigned long long)len, (unsigned long long)off);
    record('m', va.v, len, prot, off);
    return 0;
}
static int fake_unmap(struct plat_as *as, gva_t va, uint64_t len)
{
    cr_assert_eq((void *)as, (void *)dummy_as);
    cr_assert(page_aligned(va.v) && page_aligned(len));
    record('u', va.v, len, 0, 0);
    return 0;
}
static int fake_protect(struct plat_as *as, gva_t va, uint64_t len, int prot)
{
    cr_assert_eq((void *)as, (void *)dummy_as);
    cr_assert(page_aligned(va.v) && page_aligned(len));
    record('p', va.v, len, prot, 0);
    return 0;
}
static int fake_reserved(uint64_t va, uint64_t len)
{
    return va < RES_LO + RES_LEN && RES_LO < va + len;
}

static const struct platform_ops fake = {
    .name = "fake",
    .as_create = fake_as_create,
    .as_destroy = fake_as_destroy,
    .map = fake_map,
    .unmap = fake_unmap,
    .protect = fake_protect,
    .user_max = USER_MAX,
    .reserved = fake_reserved,
};

static void setup(void)
{
    static int done;
    g_plat = &fake;
    ncalls = 0;
    if (done)
        return;
    cr_assert_eq(memfile_init(1ULL << 30), 0);
    done = 1;
}

TestSuite(mm, .init = setup);

/* ---- helpers ---- */

static struct mm *new_mm(void)
{
    int err = 0;
    struct mm *mm = mm_create(&err);
    cr_assert_not_null(mm, "mm_create: %d", err);
    return mm;
}

static void fill(void *buf, size_t n, unsigned seed)
{
    unsigned char *b = buf;
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)((i * 31 + seed * 7 + (i >> 12)) ^ seed);
}

static int is_zero(const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i])
            return 0;
    return 1;
}

/* check_invariants: VMAs and PMAs sorted and disjoint, every PMA inside VMAs, every
 * PMA page holding a reference. */
static void check_invariants(struct mm *mm)
{
    for (size_t i = 0; i < mm->vmas.n; i++) {
        cr_assert_lt(mm->vmas.r[i].start, mm->vmas.r[i].end);
        if (i)
            cr_assert_leq(mm->vmas.r[i - 1].end, mm->vmas.r[i].start);
    }
    for (size_t i = 0; i < mm->pmas.n; i++) {
        struct range *p = &mm->pmas.r[i];
        cr_assert_lt(p->start, p->end);
        if (i)
            cr_assert_leq(mm->pmas.r[i - 1].end, p->start);
        for (uint64_t a = p->start; a < p->end; a += PAGE_SIZE) {
            cr_assert_not_null(rm_find(&mm->vmas, a), "PMA page %llx outside VMAs",
                               (unsigned long long)a);
            cr_assert_geq(memfile_refs(p->pma.off + (a - p->start)), 1);
        }
    }
}

static int count_calls(char op)
{
    int n = 0;
    for (int i = 0; i < ncalls && i < MAXCALLS; i++)
        n += calls[i].op == op;
    return n;
}

/* unmapped_in: true if some recorded unmap call covers [va, va+len). */
static int unmapped_in(uint64_t va, uint64_t len)
{
    for (int i = 0; i < ncalls && i < MAXCALLS; i++)
        if (calls[i].op == 'u' && calls[i].va <= va && va + len <= calls[i].va + calls[i].len)
            return 1;
    return 0;
}

static uint64_t mmap_fixed(struct mm *mm, uint64_t addr, uint64_t len, int prot)
{
    int64_t r = mm_mmap(mm, addr, len, prot, PRIV | MAP_FIXED);
    cr_assert_eq(r, (int64_t)addr, "mmap fixed %llx: %lld", (unsigned long long)addr,
                 (long long)r);
    return addr;
}

/* ---- mmap ---- */

Test(mm, create_and_put)
{
    uint64_t used0 = memfile_used();
    struct mm *mm = new_mm();
    cr_assert_eq(as_live, 1);
    cr_assert_eq(mm->vmas.n, 0);
    cr_assert_eq(mm->pmas.n, 0);
    cr_assert_lt(mm->mmap_base, USER_MAX);
    cr_assert_lt(mm->stack_top, USER_MAX);
    cr_assert_lt(mm->mmap_base, mm->stack_top);
    mm_get(mm);
    mm_put(mm);
    cr_assert_eq(as_live, 1, "still referenced");
    mm_put(mm);
    cr_assert_eq(as_live, 0);
    cr_assert_eq(memfile_used(), used0);
}

Test(mm, mmap_hint_and_topdown)
{
    struct mm *mm = new_mm();
    /* hint honored when free */
    int64_t a = mm_mmap(mm, 0x10000000, P(4), RW, PRIV);
    cr_assert_eq(a, 0x10000000);
    /* unaligned hint is rounded down */
    int64_t b = mm_mmap(mm, 0x20000123, P(1), RW, PRIV);
    cr_assert(b == 0x20000000 || b == 0x20001000, "unaligned hint: %llx", (long long)b);
    /* hint taken: top-down below mmap_base */
    int64_t c = mm_mmap(mm, 0x10001000, P(4), RW, PRIV);
    cr_assert_eq((uint64_t)c, mm->mmap_base - P(4));
    int64_t d = mm_mmap(mm, 0, P(2), RW, PRIV);
    cr_assert_eq((uint64_t)d, mm->mmap_base - P(6));
    /* length rounds up to pages */
    int64_t e = mm_mmap(mm, 0, 5, RW, PRIV);
    cr_assert_eq((uint64_t)e, mm->mmap_base - P(7));
    cr_assert_eq(rm_find(&mm->vmas, (uint64_t)e)->end, (uint64_t)e + P(1));
    /* hints below mmap_min_addr, past user_max, or on the reservation are ignored */
    int64_t f = mm_mmap(mm, 0x1000, P(1), RW, PRIV);
    cr_assert_eq((uint64_t)f, mm->mmap_base - P(8));
    int64_t g = mm_mmap(mm, USER_MAX - P(1), P(2), RW, PRIV);
    cr_assert_eq((uint64_t)g, mm->mmap_base - P(10));
    int64_t h = mm_mmap(mm, RES_LO, P(1), RW, PRIV);
    cr_assert_eq((uint64_t)h, mm->mmap_base - P(11));
    /* a freed gap near the top is reused first */
    cr_assert_eq(mm_munmap(mm, (uint64_t)d, P(2)), 0);
    int64_t i = mm_mmap(mm, 0, P(1), RW, PRIV);
    cr_assert_eq(i, d + (int64_t)P(1));
    /* no backing, no platform calls for mmap alone */
    cr_assert_eq(mm->pmas.n, 0);
    cr_assert_eq(count_calls('m'), 0);
    /* the VMA records the protection and flags */
    struct range *v = rm_find(&mm->vmas, 0x10000000);
    cr_assert_eq(v->vma.prot, RW);
    cr_assert_eq(v->vma.flags & VMA_SHARED, 0);
    int64_t s = mm_mmap(mm, 0, P(1), PROT_READ, MAP_SHARED | MAP_ANONYMOUS);
    cr_assert_gt(s, 0);
    v = rm_find(&mm->vmas, (uint64_t)s);
    cr_assert_eq(v->vma.prot, PROT_READ);
    cr_assert(v->vma.flags & VMA_SHARED);
    check_invariants(mm);
    mm_put(mm);
}

Test(mm, mmap_topdown_skips_reserved)
{
    struct mm *mm = new_mm();
    cr_assert_gt(mm->mmap_base, RES_LO + RES_LEN);
    /* occupy everything from just above the reservation up to mmap_base */
    uint64_t lo = RES_LO + RES_LEN;
    mmap_fixed(mm, lo, mm->mmap_base - lo, RW);
    int64_t a = mm_mmap(mm, 0, P(2), RW, PRIV);
    cr_assert_gt(a, 0);
    cr_assert_not(fake_reserved((uint64_t)a, P(2)), "placed on the reservation: %llx",
                  (unsigned long long)a);
    cr_assert_eq((uint64_t)a, RES_LO - P(2));
    check_invariants(mm);
    mm_put(mm);
}

Test(mm, mmap_fixed_replaces)
{
    uint64_t used0 = memfile_used();
    struct mm *mm = new_mm();
    uint64_t x = mmap_fixed(mm, 0x10000000, P(4), RW);
    char buf[P(4)], out[P(4)];
    fill(buf, sizeof(buf), 1);
    cr_assert_eq(mm_copy_out(mm, x, buf, sizeof(buf), 0), 0);
    cr_assert_eq(memfile_used() - used0, P(4));
    ncalls = 0;
    /* replace the middle two pages with a read-only mapping */
    cr_assert_eq(mm_mmap(mm, x + P(1), P(2), PROT_READ, PRIV | MAP_FIXED), (int64_t)(x + P(1)));
    cr_assert_eq(mm->vmas.n, 3);
    cr_assert_eq(rm_find(&mm->vmas, x + P(1))->vma.prot, PROT_READ);
    cr_assert_eq(rm_find(&mm->vmas, x)->vma.prot, RW);
    cr_assert_eq(rm_find(&mm->vmas, x + P(3))->vma.prot, RW);
    cr_assert_eq(memfile_used() - used0, P(2), "replaced pages' backing dropped");
    cr_assert(unmapped_in(x + P(1), P(2)));
    cr_assert_eq(mm_copy_in(mm, out, x, sizeof(out)), 0);
    cr_assert_eq(memcmp(out, buf, P(1)), 0);
    cr_assert(is_zero(out + P(1), P(2)));
    cr_assert_eq(memcmp(out + P(3), buf + P(3), P(1)), 0);
    check_invariants(mm);

    /* MAP_FIXED_NOREPLACE refuses any overlap, works on free space */
    cr_assert_eq(mm_mmap(mm, x + P(3), P(2), RW, PRIV | MAP_FIXED_NOREPLACE), -EEXIST);
    cr_assert_eq(mm_mmap(mm, x - P(1), P(1), RW, PRIV | MAP_FIXED_NOREPLACE),
                 (int64_t)(x - P(1)));
    cr_assert_eq(mm_mmap(mm, x + P(4), P(1), RW, PRIV | MAP_FIXED_NOREPLACE),
                 (int64_t)(x + P(4)));
    cr_assert_eq(memcmp(out + P(3), buf + P(3), P(1)), 0);
    check_invariants(mm);
    mm_put(mm);
    cr_assert_eq(memfile_used(), used0);
}

Test(mm, mmap_errors)
{
    struct mm *mm = new_mm();
    cr_assert_eq(mm_mmap(mm, 0, 0, RW, PRIV), -EINVAL);
    cr_assert_eq(mm_mmap(mm, 0, P(1), RW, MAP_ANONYMOUS), -EINVAL);
    cr_assert_eq(mm_mmap(mm, 0x10000800, P(1), RW, PRIV | MAP_FIXED), -EINVAL);
    cr_assert_eq(mm_mmap(mm, 0x10000800, P(1), RW, PRIV | MAP_FIXED_NOREPLACE), -EINVAL);
    cr_assert_eq(mm_mmap(mm, 0, P(1), 0x100, PRIV), -EINVAL);
    /* fixed mappings outside the usable range */
    cr_assert_eq(mm_mmap(mm, RES_LO, P(1), RW, PRIV | MAP_FIXED), -ENOMEM);
    cr_assert_eq(mm_mmap(mm, RES_LO - P(1), P(2), RW, PRIV | MAP_FIXED), -ENOMEM);
    cr_assert_eq(mm_mmap(mm, RES_LO - P(16), P(32), RW, PRIV | MAP_FIXED), -ENOMEM);
    cr_assert_lt(mm_mmap(mm, 0, P(1), RW, PRIV | MAP_FIXED), 0);
    cr_assert_lt(mm_mmap(mm, 0x1000, P(1), RW, PRIV | MAP_FIXED), 0);
    cr_assert_eq(mm_mmap(mm, USER_MAX - P(1), P(2), RW, PRIV | MAP_FIXED), -ENOMEM);
    cr_assert_eq(mm_mmap(mm, 0, USER_MAX + P(1), RW, PRIV), -ENOMEM);
    cr_assert_eq(mm_mmap(mm, 0, UINT64_MAX - 10, RW, PRIV), -ENOMEM);
    /* right below and right above the reservation is fine */
    cr_assert_eq(mm_mmap(mm, RES_LO - P(1), P(1), RW, PRIV | MAP_FIXED),
                 (int64_t)(RES_LO - P(1)));
    cr_assert_eq(mm_mmap(mm, RES_LO + RES_LEN, P(1), RW, PRIV | MAP_FIXED),
                 (int64_t)(RES_LO + RES_LEN));
    cr_assert_eq(mm_mmap(mm, USER_MAX - P(1), P(1), RW, PRIV | MAP_FIXED),
                 (int64_t)(USER_MAX - P(1)));
    cr_assert_eq(mm->vmas.n, 3);
    mm_put(mm);
}

/* ---- munmap / mprotect ---- */

Test(mm, munmap_splits_and_drops_backing)
{
    uint64_t used0 = memfile_used();
    struct mm *mm = new_mm();
    uint64_t x = mmap_fixed(mm, 0x10000000, P(8), RW);
    char buf[P(8)], out[P(8)];
    fill(buf, sizeof(buf), 2);
    cr_assert_eq(mm_copy_out(mm, x, buf, sizeof(buf), 0), 0);
    cr_assert_eq(memfile_used() - used0, P(8));
    ncalls = 0;
    cr_assert_eq(mm_munmap(mm, x + P(2), P(3)), 0);
    cr_assert_eq(mm->vmas.n, 2);
    cr_assert_eq(mm->vmas.r[0].start, x);
    cr_assert_eq(mm->vmas.r[0].end, x + P(2));
    cr_assert_eq(mm->vmas.r[1].start, x + P(5));
    cr_assert_eq(mm->vmas.r[1].end, x + P(8));
    cr_assert_eq(memfile_used() - used0, P(5));
    cr_assert(unmapped_in(x + P(2), P(3)));
    check_invariants(mm);
    /* what remains keeps its data; the hole faults */
    cr_assert_eq(mm_copy_in(mm, out, x, P(2)), 0);
    cr_assert_eq(memcmp(out, buf, P(2)), 0);
    cr_assert_eq(mm_copy_in(mm, out, x + P(5), P(3)), 0);
    cr_assert_eq(memcmp(out, buf + P(5), P(3)), 0);
    cr_assert_eq(mm_copy_in(mm, out, x + P(2), 1), -EFAULT);
    cr_assert_eq(mm_copy_in(mm, out, x + P(1), P(2)), -EFAULT);

    /* unaligned length rounds up; unmapping nothing succeeds */
    cr_assert_eq(mm_munmap(mm, x + P(7), 1), 0);
    cr_assert_eq(mm->vmas.r[1].end, x + P(7));
    cr_assert_eq(mm_munmap(mm, 0x30000000, P(10)), 0);
    cr_assert_eq(mm_munmap(mm, x + 1, P(1)), -EINVAL);
    cr_assert_eq(mm_munmap(mm, x, 0), -EINVAL);
    cr_assert_eq(mm_munmap(mm, USER_MAX - P(1), P(2)), -EINVAL);
    /* spanning both pieces and the hole */
    cr_assert_eq(mm_munmap(mm, x, P(8)), 0);
    cr_assert_eq(mm->vmas.n, 0);
    cr_assert_eq(mm->pmas.n, 0);
    cr_assert_eq(memfile_used(), used0);
    mm_put(mm);
}

Test(mm, mprotect_split_merge)
{
    struct mm *mm = new_mm();
    uint64_t x = mmap_fixed(mm, 0x10000000, P(8), RW);
    char buf[P(8)];
    fill(buf, sizeof(buf), 3);
    cr_assert_eq(mm_copy_out(mm, x, buf, sizeof(buf), 0), 0);
    ncalls = 0;
    cr_assert_eq(mm_mprotect(mm, x + P(2), P(2), PROT_READ), 0);
    cr_assert_eq(mm->vmas.n, 3);
    cr_assert_eq(rm_find(&mm->vmas, x + P(2))->vma.prot, PROT_READ);
    cr_assert_eq(rm_find(&mm->vmas, x + P(3))->end, x + P(4));
    cr_assert_eq(rm_find(&mm->vmas, x + P(4))->vma.prot, RW);
    /* backed pages got a platform protect with the new protection */
    int found = 0;
    for (int i = 0; i < ncalls; i++)
        if (calls[i].op == 'p' && calls[i].va == x + P(2) && calls[i].len == P(2) &&
            calls[i].prot == PROT_READ)
            found = 1;
    cr_assert(found, "no protect call for the changed range");
    /* the read-only part refuses writes but still reads */
    cr_assert_eq(mm_copy_out(mm, x + P(3), "x", 1, 0), -EFAULT);
    cr_assert_eq(mm_copy_out(mm, x + P(1), buf + P(1), P(2), 0), -EFAULT);
    char out[P(8)];
    cr_assert_eq(mm_copy_in(mm, out, x, P(8)), 0);
    cr_assert_eq(memcmp(out, buf, P(8)), 0);
    check_invariants(mm);

    /* changing it back merges everything into one VMA again */
    cr_assert_eq(mm_mprotect(mm, x + P(2), P(2), RW), 0);
    cr_assert_eq(mm->vmas.n, 1);
    cr_assert_eq(mm->vmas.r[0].start, x);
    cr_assert_eq(mm->vmas.r[0].end, x + P(8));
    /* repeated page-by-page mprotects to the same value do not fragment */
    for (int i = 0; i < 8; i++)
        cr_assert_eq(mm_mprotect(mm, x + P(i), P(1), PROT_READ), 0);
    cr_assert_eq(mm->vmas.n, 1);
    cr_assert_eq(mm->vmas.r[0].vma.prot, PROT_READ);
    /* at the edges */
    cr_assert_eq(mm_mprotect(mm, x, P(1), PROT_NONE), 0);
    cr_assert_eq(mm_mprotect(mm, x + P(7), P(1), PROT_NONE), 0);
    cr_assert_eq(mm->vmas.n, 3);
    cr_assert_eq(mm_mprotect(mm, x, P(8), RW), 0);
    cr_assert_eq(mm->vmas.n, 1);

    /* holes: -ENOMEM and nothing changes */
    uint64_t y = mmap_fixed(mm, x + P(10), P(2), RW);
    cr_assert_eq(mm_mprotect(mm, x, P(12), PROT_READ), -ENOMEM);
    cr_assert_eq(mm_mprotect(mm, x + P(8), P(1), PROT_READ), -ENOMEM);
    cr_assert_eq(mm_mprotect(mm, 0x50000000, P(1), PROT_READ), -ENOMEM);
    cr_assert_eq(rm_find(&mm->vmas, x)->vma.prot, RW);
    cr_assert_eq(rm_find(&mm->vmas, y)->vma.prot, RW);
    cr_assert_eq(mm_mprotect(mm, x + 1, P(1), PROT_READ), -EINVAL);
    cr_assert_eq(mm_mprotect(mm, x, 0, PROT_READ), 0);
    /* across two adjacent VMAs with different protections */
    uint64_t z = mmap_fixed(mm, x + P(8), P(2), PROT_READ);
    (void)z;
    cr_assert_eq(mm_mprotect(mm, x, P(12), PROT_READ | PROT_EXEC), 0);
    cr_assert_eq(mm->vmas.n, 1);
    cr_assert_eq(mm->vmas.r[0].end, x + P(12));
    check_invariants(mm);
    mm_put(mm);
}

/* ---- copy_in / copy_out ---- */

Test(mm, copy_round_trip_across_boundaries)
{
    uint64_t used0 = memfile_used();
    struct mm *mm = new_mm();
    /* 6 MiB in three VMAs (different prot/flags), crossing 2 MiB chunk boundaries */
    uint64_t x = 0x40000000;
    mmap_fixed(mm, x, 2 * MB + P(3), RW);
    mmap_fixed(mm, x + 2 * MB + P(3), MB, RW | PROT_EXEC);
    mmap_fixed(mm, x + 3 * MB + P(3), 3 * MB - P(3), RW);
    cr_assert_eq(mm->vmas.n, 3);
    size_t n = 6 * MB - 200;
    char *buf = malloc(n), *out = malloc(n);
    fill(buf, n, 4);
    cr_assert_eq(mm_copy_out(mm, x + 100, buf, n, 0), 0);
    cr_assert_geq(mm->pmas.n, 3, "backing in several chunks");
    check_invariants(mm);
    memset(out, 0, n);
    cr_assert_eq(mm_copy_in(mm, out, x + 100, n), 0);
    cr_assert_eq(memcmp(out, buf, n), 0);
    /* unaligned pieces that straddle each boundary */
    uint64_t edges[] = { 2 * MB, 2 * MB + P(3), 3 * MB + P(3), 4 * MB };
    for (size_t i = 0; i < ARRAY_SIZE(edges); i++) {
        char small[64];
        cr_assert_eq(mm_copy_in(mm, small, x + edges[i] - 13, sizeof(small)), 0);
        cr_assert_eq(memcmp(small, buf + edges[i] - 13 - 100, sizeof(small)), 0);
        char w[40];
        fill(w, sizeof(w), 40 + (unsigned)i);
        cr_assert_eq(mm_copy_out(mm, x + edges[i] - 7, w, sizeof(w), 0), 0);
        cr_assert_eq(mm_copy_in(mm, small, x + edges[i] - 7, sizeof(w)), 0);
        cr_assert_eq(memcmp(small, w, sizeof(w)), 0);
    }
    /* the memory file holds what the guest sees */
    struct range *p = rm_find(&mm->pmas, x + 100);
    cr_assert_eq(memcmp(memfile_ptr(p->pma.off + 100), buf, 16), 0);
    /* zero-length copies succeed anywhere */
    cr_assert_eq(mm_copy_in(mm, out, 0x1234, 0), 0);
    cr_assert_eq(mm_copy_out(mm, 0x1234, buf, 0, 0), 0);
    /* backing stays within the VMAs: 6 MiB at most */
    cr_assert_leq(memfile_used() - used0, 6 * MB);
    free(buf);
    free(out);
    mm_put(mm);
    cr_assert_eq(memfile_used(), used0);
}

Test(mm, copy_faults)
{
    struct mm *mm = new_mm();
    uint64_t x = mmap_fixed(mm, 0x10000000, P(2), RW);
    uint64_t none = mmap_fixed(mm, x + P(2), P(1), PROT_NONE);
    uint64_t ro = mmap_fixed(mm, x + P(4), P(1), PROT_READ);
    uint64_t wo = mmap_fixed(mm, x + P(5), P(1), PROT_WRITE);
    char b[P(3)] = { 0 };
    /* unmapped */
    cr_assert_eq(mm_copy_in(mm, b, 0x30000000, 1), -EFAULT);
    cr_assert_eq(mm_copy_out(mm, 0x30000000, b, 1, 0), -EFAULT);
    cr_assert_eq(mm_copy_out(mm, 0x30000000, b, 1, 1), -EFAULT, "force cannot create memory");
    cr_assert_eq(mm_copy_in(mm, b, 0, 8), -EFAULT);
    cr_assert_eq(mm_copy_in(mm, b, UINT64_MAX - 3, 8), -EFAULT);
    /* PROT_NONE */
    cr_assert_eq(mm_copy_in(mm, b, none, 1), -EFAULT);
    cr_assert_eq(mm_copy_out(mm, none, b, 1, 0), -EFAULT);
    /* running from good memory into bad */
    cr_assert_eq(mm_copy_in(mm, b, x + P(1), P(2)), -EFAULT);
    cr_assert_eq(mm_copy_in(mm, b, x + P(2) - 1, 2), -EFAULT);
    cr_assert_eq(mm_copy_in(mm, b, ro, P(2)), 0, "ro then wo");
    cr_assert_eq(mm_copy_in(mm, b, ro, P(2) + 1), -EFAULT, "ro then wo then hole");
    /* read-only: reads, refuses writes unless forced */
    cr_assert_eq(mm_copy_out(mm, ro, "data", 5, 0), -EFAULT);
    cr_assert_eq(mm_copy_out(mm, ro, "data", 5, 1), 0);
    cr_assert_eq(mm_copy_in(mm, b, ro, 5), 0);
    cr_assert_str_eq(b, "data");
    /* force also reaches PROT_NONE memory (ptrace peeks) */
    cr_assert_eq(mm_copy_out(mm, none, "nn", 3, 1), 0);
    cr_assert_eq(mm_copy_in(mm, b, none, 3), -EFAULT);
    /* write-only: x86 lets it be read */
    cr_assert_eq(mm_copy_out(mm, wo, "wo", 3, 0), 0);
    cr_assert_eq(mm_copy_in(mm, b, wo, 3), 0);
    cr_assert_str_eq(b, "wo");
    /* a partial copy_out into read-only memory fails */
    cr_assert_eq(mm_copy_out(mm, ro - 2, "abcd", 4, 0), -EFAULT);
    check_invariants(mm);
    mm_put(mm);
}

Test(mm, copy_string_in)
{
    struct mm *mm = new_mm();
    uint64_t x = mmap_fixed(mm, 0x10000000, P(2), RW);
    char buf[64];
    cr_assert_eq(mm_copy_out(mm, x + 10, "hello", 6, 0), 0);
    cr_assert_eq(mm_copy_string_in(mm, x + 10, buf, sizeof(buf)), 5);
    cr_assert_str_eq(buf, "hello");
    /* the limit counts the NUL */
    cr_assert_eq(mm_copy_string_in(mm, x + 10, buf, 6), 5);
    cr_assert_str_eq(buf, "hello");
    cr_assert_eq(mm_copy_string_in(mm, x + 10, buf, 5), -ENAMETOOLONG);
    cr_assert_eq(mm_copy_string_in(mm, x + 10, buf, 0), -ENAMETOOLONG);
    /* empty string */
    cr_assert_eq(mm_copy_string_in(mm, x + 15, buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "");
    /* a string across the page boundary */
    cr_assert_eq(mm_copy_out(mm, x + P(1) - 3, "abcdef", 7, 0), 0);
    cr_assert_eq(mm_copy_string_in(mm, x + P(1) - 3, buf, sizeof(buf)), 6);
    cr_assert_str_eq(buf, "abcdef");
    /* a string ending right before an unmapped page */
    cr_assert_eq(mm_copy_out(mm, x + P(2) - 4, "xyz", 4, 0), 0);
    cr_assert_eq(mm_copy_string_in(mm, x + P(2) - 4, buf, sizeof(buf)), 3);
    cr_assert_str_eq(buf, "xyz");
    cr_assert_eq(mm_copy_string_in(mm, x + P(2) - 1, buf, sizeof(buf)), 0);
    /* ... and one running into it */
    cr_assert_eq(mm_copy_out(mm, x + P(2) - 4, "wxyz", 4, 0), 0);
    cr_assert_eq(mm_copy_string_in(mm, x + P(2) - 4, buf, sizeof(buf)), -EFAULT);
    /* exactly the limit before the hole: too long wins */
    cr_assert_eq(mm_copy_string_in(mm, x + P(2) - 4, buf, 4), -ENAMETOOLONG);
    /* unmapped / PROT_NONE */
    cr_assert_eq(mm_copy_string_in(mm, 0x30000000, buf, sizeof(buf)), -EFAULT);
    mmap_fixed(mm, x + P(2), P(1), PROT_NONE);
    cr_assert_eq(mm_copy_string_in(mm, x + P(2) - 4, buf, sizeof(buf)), -EFAULT);
    cr_assert_eq(mm_copy_string_in(mm, x + P(2), buf, sizeof(buf)), -EFAULT);
    /* a long string spanning several pages and a VMA boundary */
    mm_mprotect(mm, x + P(2), P(1), RW);
    mmap_fixed(mm, x + P(3), P(2), PROT_READ);
    char *lng = malloc(P(4));
    memset(lng, 'q', P(4));
    lng[P(4) - 100] = 0;
    cr_assert_eq(mm_copy_out(mm, x + 50, lng, P(4) - 50, 1), 0);
    char *back = malloc(P(5));
    cr_assert_eq(mm_copy_string_in(mm, x + 50, back, P(5)), (long)(P(4) - 100));
    cr_assert_eq(strlen(back), P(4) - 100);
    cr_assert_eq(mm_copy_string_in(mm, x + 50, back, P(4) - 100), -ENAMETOOLONG);
    cr_assert_eq(mm_copy_string_in(mm, x + 50, back, P(4) - 99), (long)(P(4) - 100));
    free(lng);
    free(back);
    mm_put(mm);
}

/* ---- faults ---- */

Test(mm, handle_fault)
{
    struct mm *mm = new_mm();
    int code = 0;
    cr_assert_eq(mm_handle_fault(mm, 0x30000000, FAULT_READ, 0, &code), -EFAULT);
    cr_assert_eq(code, SEGV_MAPERR);

    uint64_t none = mmap_fixed(mm, 0x20000000, P(1), PROT_NONE);
    code = 0;
    cr_assert_eq(mm_handle_fault(mm, none + 5, FAULT_READ, 0, &code), -EFAULT);
    cr_assert_eq(code, SEGV_ACCERR);
    code = 0;
    cr_assert_eq(mm_handle_fault(mm, none, FAULT_UNKNOWN, 0, &code), -EFAULT);
    cr_assert_eq(code, SEGV_ACCERR);

    uint64_t ro = mmap_fixed(mm, 0x21000000, P(1), PROT_READ);
    cr_assert_eq(mm_handle_fault(mm, ro, FAULT_WRITE, 0, &code), -EFAULT);
    cr_assert_eq(code, SEGV_ACCERR);
    cr_assert_eq(mm_handle_fault(mm, ro, FAULT_EXEC, 0, &code), -EFAULT);
    cr_assert_eq(code, SEGV_ACCERR);
    cr_assert_eq(mm->pmas.n, 0, "refused faults allocate nothing");
    cr_assert_eq(count_calls('m'), 0);

    /* a fresh page in a 4 MiB RW mapping: one map call covering its 2 MiB chunk */
    uint64_t x = mmap_fixed(mm, 0x40000000, 4 * MB, RW);
    ncalls = 0;
    uint64_t used0 = memfile_used();
    cr_assert_eq(mm_handle_fault(mm, x + 2 * MB + 0x3123, FAULT_WRITE, 0, &code), 0);
    cr_assert_eq(ncalls, 1);
    cr_assert_eq(calls[0].op, 'm');
    cr_assert_eq(calls[0].va, x + 2 * MB);
    cr_assert_eq(calls[0].len, 2 * MB);
    cr_assert_eq(calls[0].prot, RW);
    struct range *p = rm_find(&mm->pmas, x + 2 * MB);
    cr_assert_not_null(p);
    cr_assert_eq(calls[0].off, p->pma.off + (x + 2 * MB - p->start));
    cr_assert_eq(p->start, x + 2 * MB);
    cr_assert_eq(p->end, x + 4 * MB);
    cr_assert_eq(memfile_used() - used0, 2 * MB);
    cr_assert_eq(memfile_refs(p->pma.off), 1);
    /* the page content is what the guest sees through copy_in */
    memcpy(memfile_ptr(p->pma.off + 0x3123), "fault", 6);
    char b[8];
    cr_assert_eq(mm_copy_in(mm, b, x + 2 * MB + 0x3123, 6), 0);
    cr_assert_str_eq(b, "fault");

    /* a not-present fault on backed memory (e.g. after a move) maps again, no alloc */
    ncalls = 0;
    cr_assert_eq(mm_handle_fault(mm, x + 3 * MB, FAULT_READ, 0, &code), 0);
    cr_assert_eq(ncalls, 1);
    cr_assert_eq(calls[0].va, x + 2 * MB);
    cr_assert_eq(memfile_used() - used0, 2 * MB);
    /* a present fault on a mapped writable private page is a protection violation */
    code = 0;
    cr_assert_eq(mm_handle_fault(mm, x + 3 * MB, FAULT_WRITE, 1, &code), -EFAULT);
    cr_assert_eq(code, SEGV_ACCERR);

    /* the chunk is clipped to the VMA, and to existing backing */
    uint64_t s = mmap_fixed(mm, 0x50001000, P(3), PROT_READ | PROT_EXEC);
    ncalls = 0;
    cr_assert_eq(mm_handle_fault(mm, s + P(2), FAULT_EXEC, 0, &code), 0);
    cr_assert_eq(ncalls, 1);
    cr_assert_eq(calls[0].va, s);
    cr_assert_eq(calls[0].len, P(3));
    cr_assert_eq(calls[0].prot, PROT_READ | PROT_EXEC);
    cr_assert_eq(mm_copy_out(mm, x + 2 * MB - 1, "ab", 2, 0), 0);  /* backs chunk 0 */
    struct range *p0 = rm_find(&mm->pmas, x);
    cr_assert_not_null(p0);
    cr_assert_eq(p0->start, x);
    cr_assert_eq(p0->end, x + 2 * MB);

    /* a write-only VMA is readable on x86 */
    uint64_t wo = mmap_fixed(mm, 0x60000000, P(1), PROT_WRITE);
    cr_assert_eq(mm_handle_fault(mm, wo, FAULT_READ, 0, &code), 0);
    check_invariants(mm);
    mm_put(mm);
}

/* Copy-on-write: a second mm shares the first one's pages the way fork would set them up
 * (both PMAs marked cow, one extra reference per page). */
Test(mm, copy_on_write)
{
    uint64_t used0 = memfile_used();
    struct mm *a = new_mm(), *b = new_mm();
    uint64_t x = mmap_fixed(a, 0x10000000, P(2), RW);
    cr_assert_eq(mm_copy_out(a, x, "parent0", 8, 0), 0);
    cr_assert_eq(mm_copy_out(a, x + P(1), "parent1", 8, 0), 0);
    cr_assert_eq(a->pmas.n, 1);
    /* share */
    for (size_t i = 0; i < a->vmas.n; i++)
        cr_assert_eq(rm_insert(&b->vmas, &a->vmas.r[i]), 0);
    for (size_t i = 0; i < a->pmas.n; i++) {
        struct range *p = &a->pmas.r[i];
        p->pma.cow = 1;
        memfile_incref(p->pma.off, p->end - p->start);
        cr_assert_eq(rm_insert(&b->pmas, p), 0);
    }
    uint64_t off0 = a->pmas.r[0].pma.off;
    cr_assert_eq(memfile_refs(off0), 2);
    uint64_t used_shared = memfile_used();

    /* the child writes page 0: it gets a copy, the parent keeps its data */
    ncalls = 0;
    cr_assert_eq(mm_copy_out(b, x + 1, "CHILD", 5, 0), 0);
    cr_assert_eq(memfile_used() - used_shared, P(1));
    cr_assert_eq(memfile_refs(off0), 1);
    cr_assert(unmapped_in(x, P(1)), "the stale read-only mapping must go");
    char buf[16];
    cr_assert_eq(mm_copy_in(b, buf, x, 8), 0);
    cr_assert_str_eq(buf, "pCHILD0");
    cr_assert_eq(mm_copy_in(a, buf, x, 8), 0);
    cr_assert_str_eq(buf, "parent0");
    cr_assert_eq(mm_copy_in(b, buf, x + P(1), 8), 0);
    cr_assert_str_eq(buf, "parent1");
    struct range *bp = rm_find(&b->pmas, x);
    cr_assert_eq(bp->pma.cow, 0);
    cr_assert_eq(bp->end, x + P(1));
    cr_assert_eq(rm_find(&b->pmas, x + P(1))->pma.cow, 1);
    check_invariants(b);

    /* the parent is now the last user of page 0: a write fault just takes it */
    int code;
    ncalls = 0;
    cr_assert_eq(mm_handle_fault(a, x, FAULT_WRITE, 1, &code), 0);
    cr_assert_eq(memfile_used() - used_shared, P(1), "no copy for the last user");
    cr_assert_eq(ncalls, 1);
    cr_assert_eq(calls[0].op, 'm');
    cr_assert_eq(calls[0].va, x);
    cr_assert_eq(calls[0].len, P(1));
    cr_assert_eq(calls[0].prot, RW);
    cr_assert_eq(calls[0].off, off0);
    cr_assert_eq(rm_find(&a->pmas, x)->pma.cow, 0);

    /* re-applying protections keeps the still-shared page read-only */
    ncalls = 0;
    cr_assert_eq(mm_mprotect(a, x, P(2), RW), 0);
    int saw0 = 0, saw1 = 0;
    for (int i = 0; i < ncalls; i++) {
        cr_assert_eq(calls[i].op, 'p');
        if (calls[i].va <= x && x < calls[i].va + calls[i].len) {
            saw0 = 1;
            cr_assert_eq(calls[i].prot, RW);
        }
        if (calls[i].va <= x + P(1) && x + P(1) < calls[i].va + calls[i].len) {
            saw1 = 1;
            cr_assert_eq(calls[i].prot, PROT_READ, "COW page made writable");
        }
    }
    cr_assert(saw0 && saw1);

    /* page 1 is still shared: a not-present fault maps it read-only... */
    ncalls = 0;
    cr_assert_eq(mm_handle_fault(a, x + P(1), FAULT_WRITE, 0, &code), 0);
    cr_assert_eq(ncalls, 1);
    cr_assert_eq(calls[0].prot, PROT_READ);
    /* ...and the write fault that follows copies it */
    ncalls = 0;
    cr_assert_eq(mm_handle_fault(a, x + P(1), FAULT_WRITE, 1, &code), 0);
    cr_assert_eq(ncalls, 1);
    cr_assert_eq(calls[0].prot, RW);
    cr_assert_eq(calls[0].va, x + P(1));
    cr_assert_eq(calls[0].len, P(1));
    cr_assert_neq(calls[0].off, off0 + P(1));
    cr_assert_eq(memfile_used() - used_shared, P(2));
    cr_assert_eq(mm_copy_in(a, buf, x + P(1), 8), 0);
    cr_assert_str_eq(buf, "parent1");
    cr_assert_eq(memfile_refs(off0 + P(1)), 1);
    check_invariants(a);
    check_invariants(b);

    mm_put(b);
    mm_put(a);
    cr_assert_eq(memfile_used(), used0);
}

/* ---- mremap ---- */

Test(mm, mremap_grow_shrink_in_place)
{
    uint64_t used0 = memfile_used();
    struct mm *mm = new_mm();
    uint64_t x = mmap_fixed(mm, 0x10000000, P(2), RW);
    cr_assert_eq(mm_copy_out(mm, x, "keep", 5, 0), 0);
    cr_assert_eq(mm_mremap(mm, x, P(2), P(4), 0, 0), (int64_t)x);
    cr_assert_eq(mm->vmas.n, 1, "grown part merges");
    cr_assert_eq(mm->vmas.r[0].end, x + P(4));
    char buf[P(2)];
    cr_assert_eq(mm_copy_in(mm, buf, x, 5), 0);
    cr_assert_str_eq(buf, "keep");
    cr_assert_eq(mm_copy_in(mm, buf, x + P(2), P(2)), 0);
    cr_assert(is_zero(buf, P(2)));
    check_invariants(mm);

    /* blocked by a neighbour and not allowed to move */
    mmap_fixed(mm, x + P(5), P(1), RW);
    cr_assert_eq(mm_mremap(mm, x, P(4), P(6), 0, 0), -ENOMEM);
    cr_assert_eq(mm_mremap(mm, x, P(4), P(5), 0, 0), (int64_t)x);

    /* shrink drops the tail and its backing */
    uint64_t used1 = memfile_used();
    cr_assert_eq(mm_mremap(mm, x, P(5), P(1), 0, 0), (int64_t)x);
    cr_assert_eq(rm_find(&mm->vmas, x)->end, x + P(1));
    cr_assert_null(rm_find(&mm->vmas, x + P(1)));
    cr_assert_lt(memfile_used(), used1);
    cr_assert_eq(mm_copy_in(mm, buf, x, 5), 0);
    cr_assert_str_eq(buf, "keep");
    /* same size is a no-op */
    cr_assert_eq(mm_mremap(mm, x, P(1), P(1), 0, 0), (int64_t)x);
    check_invariants(mm);
    mm_put(mm);
    cr_assert_eq(memfile_used(), used0);
}

Test(mm, mremap_move)
{
    uint64_t used0 = memfile_used();
    struct mm *mm = new_mm();
    uint64_t x = mmap_fixed(mm, 0x10000000, P(3), RW);
    mmap_fixed(mm, x + P(3), P(1), PROT_READ);    /* blocks growing in place */
    char data[P(3)], out[P(8)];
    fill(data, sizeof(data), 9);
    cr_assert_eq(mm_copy_out(mm, x, data, sizeof(data), 0), 0);
    uint64_t used1 = memfile_used();
    ncalls = 0;
    int64_t y = mm_mremap(mm, x, P(3), P(8), MREMAP_MAYMOVE, 0);
    cr_assert_gt(y, 0);
    cr_assert_neq((uint64_t)y, x);
    cr_assert_eq(memfile_used(), used1, "pages move, not copied");
    cr_assert(unmapped_in(x, P(3)));
    cr_assert_eq(mm_copy_in(mm, out, (uint64_t)y, P(8)), 0);
    cr_assert_eq(memcmp(out, data, P(3)), 0);
    cr_assert(is_zero(out + P(3), P(5)));
    cr_assert_eq(mm_copy_in(mm, out, x, 1), -EFAULT);
    cr_assert_null(rm_find(&mm->vmas, x));
    struct range *v = rm_find(&mm->vmas, (uint64_t)y);
    cr_assert_eq(v->vma.prot, RW);
    /* the read-only neighbour stays */
    cr_assert_not_null(rm_find(&mm->vmas, x + P(3)));
    /* a fault at the new place maps the moved backing */
    int code;
    ncalls = 0;
    cr_assert_eq(mm_handle_fault(mm, (uint64_t)y, FAULT_READ, 0, &code), 0);
    cr_assert_eq(ncalls, 1);
    struct range *p = rm_find(&mm->pmas, (uint64_t)y);
    cr_assert_not_null(p);
    cr_assert_eq(memcmp(memfile_ptr(p->pma.off + ((uint64_t)y - p->start)), data, 64), 0);
    check_invariants(mm);

    /* MREMAP_FIXED onto an existing mapping replaces it */
    uint64_t z = mmap_fixed(mm, 0x30000000, P(4), PROT_READ);
    int64_t r = mm_mremap(mm, (uint64_t)y, P(8), P(2), MREMAP_MAYMOVE | MREMAP_FIXED, z);
    cr_assert_eq(r, (int64_t)z);
    cr_assert_eq(mm_copy_in(mm, out, z, P(2)), 0);
    cr_assert_eq(memcmp(out, data, P(2)), 0);
    cr_assert_eq(rm_find(&mm->vmas, z)->vma.prot, RW);
    cr_assert_eq(rm_find(&mm->vmas, z + P(2))->vma.prot, PROT_READ, "rest of old z stays");
    cr_assert_null(rm_find(&mm->vmas, (uint64_t)y));
    check_invariants(mm);
    /* MREMAP_FIXED growing */
    uint64_t w = 0x31000000;
    cr_assert_eq(mm_mremap(mm, z, P(2), P(5), MREMAP_MAYMOVE | MREMAP_FIXED, w), (int64_t)w);
    cr_assert_eq(mm_copy_in(mm, out, w, P(5)), 0);
    cr_assert_eq(memcmp(out, data, P(2)), 0);
    cr_assert(is_zero(out + P(2), P(3)));
    cr_assert_eq(rm_find(&mm->vmas, w + P(4))->vma.prot, RW);
    check_invariants(mm);

    /* errors */
    cr_assert_eq(mm_mremap(mm, 0x50000000, P(1), P(2), MREMAP_MAYMOVE, 0), -EFAULT);
    cr_assert_eq(mm_mremap(mm, w, P(6), P(7), MREMAP_MAYMOVE, 0), -EFAULT, "past the VMA");
    cr_assert_eq(mm_mremap(mm, w + 1, P(1), P(2), MREMAP_MAYMOVE, 0), -EINVAL);
    cr_assert_eq(mm_mremap(mm, w, P(1), 0, MREMAP_MAYMOVE, 0), -EINVAL);
    cr_assert_eq(mm_mremap(mm, w, P(1), P(2), MREMAP_FIXED, 0x32000000), -EINVAL);
    cr_assert_eq(mm_mremap(mm, w, P(2), P(2), MREMAP_MAYMOVE | MREMAP_FIXED, w + P(1)),
                 -EINVAL, "overlapping old and new");
    cr_assert_eq(mm_mremap(mm, w, P(2), P(2), MREMAP_MAYMOVE | MREMAP_FIXED, RES_LO),
                 -EINVAL);
    cr_assert_eq(mm_copy_in(mm, out, w, P(2)), 0);
    cr_assert_eq(memcmp(out, data, P(2)), 0);
    mm_put(mm);
    cr_assert_eq(memfile_used(), used0);
}

/* ---- madvise / mincore ---- */

Test(mm, madvise_dontneed)
{
    uint64_t used0 = memfile_used();
    struct mm *mm = new_mm();
    uint64_t x = mmap_fixed(mm, 0x10000000, P(4), RW);
    uint64_t s = (uint64_t)mm_mmap(mm, x + P(4), P(2), RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED);
    cr_assert_eq(s, x + P(4));
    char data[P(6)], out[P(6)];
    fill(data, sizeof(data), 11);
    cr_assert_eq(mm_copy_out(mm, x, data, sizeof(data), 0), 0);
    uint64_t used1 = memfile_used();
    ncalls = 0;
    cr_assert_eq(mm_madvise(mm, x + P(1), P(5), MADV_DONTNEED), 0);
    cr_assert(unmapped_in(x + P(1), P(3)));
    cr_assert_eq(used1 - memfile_used(), P(3));
    cr_assert_eq(mm_copy_in(mm, out, x, sizeof(out)), 0);
    cr_assert_eq(memcmp(out, data, P(1)), 0);
    cr_assert(is_zero(out + P(1), P(3)), "private pages read back zero");
    cr_assert_eq(memcmp(out + P(4), data + P(4), P(2)), 0, "shared pages keep contents");
    check_invariants(mm);
    /* other advice is accepted and harmless */
    cr_assert_eq(mm_madvise(mm, x, P(6), MADV_WILLNEED), 0);
    cr_assert_eq(mm_madvise(mm, x, P(6), MADV_NORMAL), 0);
    cr_assert_eq(mm_madvise(mm, x, P(6), 12345), -EINVAL);
    cr_assert_eq(mm_madvise(mm, x + 1, P(1), MADV_DONTNEED), -EINVAL);
    cr_assert_eq(mm_madvise(mm, x, 0, MADV_DONTNEED), 0);
    cr_assert_eq(mm_madvise(mm, x, P(8), MADV_DONTNEED), -ENOMEM, "hole");
    mm_put(mm);
    cr_assert_eq(memfile_used(), used0);
}

Test(mm, mincore)
{
    struct mm *mm = new_mm();
    uint64_t x = mmap_fixed(mm, 0x10000000, P(4), RW);
    unsigned char vec[8];
    memset(vec, 0xff, sizeof(vec));
    cr_assert_eq(mm_mincore(mm, x, P(4), vec), 0);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(vec[i], 0, "unbacked page %d", i);
    cr_assert_eq(vec[4], 0xff, "wrote past the vector");
    cr_assert_eq(mm_copy_out(mm, x + P(1) + 5, "x", 1, 0), 0);
    cr_assert_eq(mm_copy_out(mm, x + P(3), "y", 1, 0), 0);
    cr_assert_eq(mm_mincore(mm, x, P(4), vec), 0);
    cr_assert_eq(vec[0], 0);
    cr_assert_eq(vec[1], 1);
    cr_assert_eq(vec[2], 0);
    cr_assert_eq(vec[3], 1);
    cr_assert_eq(mm_mincore(mm, x + P(3), 1, vec), 0);
    cr_assert_eq(vec[0], 1);
    /* dropped pages are no longer resident */
    cr_assert_eq(mm_madvise(mm, x, P(4), MADV_DONTNEED), 0);
    cr_assert_eq(mm_mincore(mm, x, P(4), vec), 0);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(vec[i], 0);
    cr_assert_eq(mm_mincore(mm, x, P(5), vec), -ENOMEM);
    cr_assert_eq(mm_mincore(mm, 0x30000000, P(1), vec), -ENOMEM);
    cr_assert_eq(mm_mincore(mm, x + 1, P(1), vec), -EINVAL);
    mm_put(mm);
}

/* ---- brk ---- */

Test(mm, brk)
{
    uint64_t used0 = memfile_used();
    struct mm *mm = new_mm();
    uint64_t base = 0x600000;
    mm_set_brk_start(mm, base);
    cr_assert_eq(mm_brk(mm, 0), base);
    cr_assert_eq(mm_brk(mm, base - 1), base);
    cr_assert_eq(mm_brk(mm, base), base);
    cr_assert_eq(mm->vmas.n, 0);
    /* grow */
    cr_assert_eq(mm_brk(mm, base + P(3) + 5), base + P(3) + 5);
    struct range *v = rm_find(&mm->vmas, base);
    cr_assert_not_null(v);
    cr_assert_eq(v->start, base);
    cr_assert_eq(v->end, base + P(4));
    cr_assert_eq(v->vma.prot, RW);
    cr_assert(v->vma.flags & VMA_HEAP);
    char data[P(4)], out[P(4)];
    fill(data, sizeof(data), 5);
    cr_assert_eq(mm_copy_out(mm, base, data, sizeof(data), 0), 0);
    /* growing within the same page adds nothing; growing further merges */
    cr_assert_eq(mm_brk(mm, base + P(4)), base + P(4));
    cr_assert_eq(mm_brk(mm, base + P(6)), base + P(6));
    cr_assert_eq(mm->vmas.n, 1);
    cr_assert_eq(mm->vmas.r[0].end, base + P(6));
    /* shrink: the tail is unmapped and its backing dropped */
    uint64_t used1 = memfile_used();
    cr_assert_eq(mm_brk(mm, base + P(1) + 10), base + P(1) + 10);
    cr_assert_eq(rm_find(&mm->vmas, base)->end, base + P(2));
    cr_assert_null(rm_find(&mm->vmas, base + P(2)));
    cr_assert_eq(used1 - memfile_used(), P(2));
    cr_assert_eq(mm_copy_in(mm, out, base + P(2), 1), -EFAULT);
    /* regrow: new pages read zero, old ones keep their data */
    cr_assert_eq(mm_brk(mm, base + P(4)), base + P(4));
    cr_assert_eq(mm_copy_in(mm, out, base, P(4)), 0);
    cr_assert_eq(memcmp(out, data, P(2)), 0);
    cr_assert(is_zero(out + P(2), P(2)));
    /* a mapping in the way stops growth; the break stays */
    mmap_fixed(mm, base + P(8), P(1), RW);
    cr_assert_eq(mm_brk(mm, base + P(10)), base + P(4));
    cr_assert_eq(mm_brk(mm, base + P(8)), base + P(8));
    cr_assert_eq(mm_brk(mm, USER_MAX + P(1)), base + P(8));
    /* back to the start */
    cr_assert_eq(mm_brk(mm, base), base);
    cr_assert_null(rm_find(&mm->vmas, base));
    check_invariants(mm);
    mm_put(mm);
    cr_assert_eq(memfile_used(), used0);
}

/* ---- io windows ---- */

Test(mm, io_acquire_release)
{
    uint64_t used0 = memfile_used();
    struct mm *mm = new_mm();
    uint64_t x = 0x40000000;
    mmap_fixed(mm, x, 2 * MB + P(1), RW);
    mmap_fixed(mm, x + 2 * MB + P(1), P(3), PROT_READ);
    size_t n = 2 * MB + P(4) - 300;
    char *data = malloc(n);
    fill(data, n, 13);
    cr_assert_eq(mm_copy_out(mm, x + 100, data, n, 1), 0);
    uint32_t refs_before[3];
    uint64_t offs[3] = { rm_find(&mm->pmas, x)->pma.off,
                         rm_find(&mm->pmas, x + 2 * MB - 1)->pma.off + 2 * MB - P(1),
                         0 };
    struct range *p2 = rm_find(&mm->pmas, x + 2 * MB + P(2));
    offs[2] = p2->pma.off + (x + 2 * MB + P(2) - p2->start);
    for (int i = 0; i < 3; i++)
        refs_before[i] = memfile_refs(offs[i]);

    struct mm_io io;
    long r = mm_io_acquire(mm, x + 100, n, FAULT_READ, &io);
    cr_assert_eq(r, (long)n);
    cr_assert_eq(io.size, n);
    cr_assert_geq(io.n, 1);
    cr_assert_leq(io.n, MM_IO_MAXIOV);
    size_t at = 0;
    for (int i = 0; i < io.n; i++) {
        cr_assert_eq(memcmp(io.iov[i].iov_base, data + at, io.iov[i].iov_len), 0,
                     "iovec %d", i);
        cr_assert_eq((char *)io.iov[i].iov_base, (char *)memfile_ptr(io.offs[i]));
        at += io.iov[i].iov_len;
    }
    cr_assert_eq(at, n);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(memfile_refs(offs[i]), refs_before[i] + 1, "page %d pinned", i);
    /* pinned pages survive an munmap until release */
    uint64_t used1 = memfile_used();
    cr_assert_eq(mm_munmap(mm, x, 2 * MB + P(4)), 0);
    cr_assert_eq(memfile_used(), used1);
    cr_assert_eq(memcmp(io.iov[0].iov_base, data, 64), 0);
    mm_io_release(&io);
    cr_assert_eq(io.n, 0);
    cr_assert_eq(memfile_used(), used0);
    check_invariants(mm);

    /* writes through an io window land in guest memory; access is checked */
    uint64_t y = mmap_fixed(mm, x, P(2), RW);
    uint64_t ro = mmap_fixed(mm, x + P(2), P(1), PROT_READ);
    r = mm_io_acquire(mm, y + 10, 20, FAULT_WRITE, &io);
    cr_assert_eq(r, 20);
    cr_assert_eq(io.n, 1);
    uint64_t off = io.offs[0];
    cr_assert_eq(memfile_refs(page_down(off)), 2);
    memcpy(io.iov[0].iov_base, "through the window!!", 20);
    mm_io_release(&io);
    cr_assert_eq(memfile_refs(page_down(off)), 1);
    char buf[21] = { 0 };
    cr_assert_eq(mm_copy_in(mm, buf, y + 10, 20), 0);
    cr_assert_str_eq(buf, "through the window!!");
    /* a write window stops at read-only memory; none at all when it starts there */
    r = mm_io_acquire(mm, y + P(2) - 8, 100, FAULT_WRITE, &io);
    cr_assert_eq(r, 8);
    cr_assert_eq(io.size, 8);
    mm_io_release(&io);
    cr_assert_eq(mm_io_acquire(mm, ro, 10, FAULT_WRITE, &io), -EFAULT);
    cr_assert_eq(mm_io_acquire(mm, 0x70000000, 10, FAULT_READ, &io), -EFAULT);
    cr_assert_eq(mm_io_acquire(mm, ro, 10, FAULT_READ, &io), 10);
    mm_io_release(&io);
    cr_assert_eq(mm_io_acquire(mm, ro, 0, FAULT_READ, &io), 0);
    cr_assert_eq(io.n, 0);
    free(data);
    mm_put(mm);
    cr_assert_eq(memfile_used(), used0);
}

Test(mm, io_acquire_many_runs)
{
    uint64_t used0 = memfile_used();
    struct mm *mm = new_mm();
    uint64_t x = 0x40000000;
    /* 100 one-page VMAs of alternating protection: one run each */
    for (int i = 0; i < 100; i++)
        mmap_fixed(mm, x + P(i), P(1), (i & 1) ? RW | PROT_EXEC : RW);
    cr_assert_eq(mm->vmas.n, 100);
    struct mm_io io;
    long r = mm_io_acquire(mm, x, P(100), FAULT_WRITE, &io);
    cr_assert_gt(r, 0);
    cr_assert_leq(r, (long)P(100));
    cr_assert_eq((size_t)r, io.size);
    cr_assert_leq(io.n, MM_IO_MAXIOV);
    size_t sum = 0;
    for (int i = 0; i < io.n; i++)
        sum += io.iov[i].iov_len;
    cr_assert_eq(sum, (size_t)r);
    struct range *p = rm_find(&mm->pmas, x);
    cr_assert_eq(memfile_refs(p->pma.off), 2);
    mm_io_release(&io);
    cr_assert_eq(memfile_refs(p->pma.off), 1);
    mm_put(mm);
    cr_assert_eq(memfile_used(), used0);
}

Test(mm, dump_maps)
{
    struct mm *mm = new_mm();
    mmap_fixed(mm, 0x10000000, P(2), RW);
    cr_assert_eq(mm_mmap(mm, 0x10002000, P(1), PROT_READ | PROT_EXEC,
                         MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED), 0x10002000);
    char buf[256];
    size_t n = mm_dump_maps(mm, buf, sizeof(buf));
    cr_assert_eq(n, strlen(buf));
    cr_assert_str_eq(buf, "000010000000-000010002000 rw-p\n"
                          "000010002000-000010003000 r-xs\n");
    /* a short buffer is filled, never overrun */
    char small[10];
    memset(small, 'Z', sizeof(small));
    cr_assert_leq(mm_dump_maps(mm, small, 8), 8);
    cr_assert_eq(small[8], 'Z');
    mm_put(mm);
}

/* ---- fork ---- */

Test(mm, fork_cow_and_shared)
{
    uint64_t used0 = memfile_used();
    struct mm *par = new_mm();
    uint64_t x = mmap_fixed(par, 0x10000000, P(2), RW);
    uint64_t sh = (uint64_t)mm_mmap(par, 0x20000000, P(1), RW,
                                    MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED);
    cr_assert_eq(sh, 0x20000000);
    uint64_t ro = mmap_fixed(par, 0x30000000, P(1), PROT_READ);
    cr_assert_eq(mm_copy_out(par, x, "private", 8, 0), 0);
    cr_assert_eq(mm_copy_out(par, sh, "shared", 7, 0), 0);
    cr_assert_eq(mm_copy_out(par, ro, "ro", 3, 1), 0);
    mm_set_brk_start(par, 0x800000);
    cr_assert_eq(mm_brk(par, 0x800000 + P(1)), 0x800000 + P(1));
    uint64_t used1 = memfile_used();

    ncalls = 0;
    int err = 0;
    struct mm *ch = mm_fork(par, &err);
    cr_assert_not_null(ch, "mm_fork: %d", err);
    cr_assert_eq(memfile_used(), used1, "fork copies nothing");
    /* the parent's writable private memory became read-only on the platform */
    int prot_x = -1;
    for (int i = 0; i < ncalls; i++) {
        cr_assert_neq(calls[i].op, 'm');
        if (calls[i].op == 'p' && calls[i].va <= x && x < calls[i].va + calls[i].len)
            prot_x = calls[i].prot;
        if (calls[i].op == 'p' && calls[i].va <= sh && sh < calls[i].va + calls[i].len)
            cr_assert(calls[i].prot & PROT_WRITE, "shared memory stays writable");
    }
    cr_assert_eq(prot_x, PROT_READ);
    /* same layout */
    cr_assert_eq(ch->vmas.n, par->vmas.n);
    for (size_t i = 0; i < par->vmas.n; i++) {
        cr_assert_eq(ch->vmas.r[i].start, par->vmas.r[i].start);
        cr_assert_eq(ch->vmas.r[i].end, par->vmas.r[i].end);
        cr_assert_eq(ch->vmas.r[i].vma.prot, par->vmas.r[i].vma.prot);
        cr_assert_eq(ch->vmas.r[i].vma.flags, par->vmas.r[i].vma.flags);
    }
    cr_assert_eq(ch->brk_start, par->brk_start);
    cr_assert_eq(ch->brk_cur, par->brk_cur);
    cr_assert_eq(ch->mmap_base, par->mmap_base);
    struct range *pp = rm_find(&par->pmas, x);
    cr_assert_eq(pp->pma.cow, 1);
    cr_assert_eq(rm_find(&ch->pmas, x)->pma.cow, 1);
    cr_assert_eq(rm_find(&par->pmas, sh)->pma.cow, 0);
    cr_assert_eq(rm_find(&ch->pmas, sh)->pma.cow, 0);
    cr_assert_eq(memfile_refs(pp->pma.off), 2);
    check_invariants(par);
    check_invariants(ch);

    /* the child reads everything before it has an address space */
    char buf[16];
    cr_assert_eq(mm_copy_in(ch, buf, x, 8), 0);
    cr_assert_str_eq(buf, "private");
    cr_assert_eq(mm_copy_in(ch, buf, sh, 7), 0);
    cr_assert_str_eq(buf, "shared");
    cr_assert_eq(mm_copy_in(ch, buf, ro, 3), 0);
    cr_assert_str_eq(buf, "ro");
    cr_assert_eq(as_live, 1);
    cr_assert_eq(mm_activate(ch), 0);
    cr_assert_eq(as_live, 2);
    cr_assert_eq(mm_activate(ch), 0, "activating twice is harmless");
    cr_assert_eq(as_live, 2);

    /* private writes are private; shared ones are seen by both */
    cr_assert_eq(mm_copy_out(par, x, "PARENT", 7, 0), 0);
    cr_assert_eq(mm_copy_out(ch, x + P(1), "child1", 7, 0), 0);
    cr_assert_eq(mm_copy_out(ch, sh, "SHARED", 7, 0), 0);
    cr_assert_eq(mm_copy_in(ch, buf, x, 8), 0);
    cr_assert_str_eq(buf, "private");
    cr_assert_eq(mm_copy_in(par, buf, x, 7), 0);
    cr_assert_str_eq(buf, "PARENT");
    cr_assert_eq(mm_copy_in(par, buf, x + P(1), 7), 0);
    cr_assert(is_zero(buf, 7), "the child's write leaked into the parent");
    cr_assert_eq(mm_copy_in(par, buf, sh, 7), 0);
    cr_assert_str_eq(buf, "SHARED");
    /* a write fault in the child on its (still shared) heap page copies it */
    int code;
    cr_assert_eq(mm_handle_fault(ch, 0x800000, FAULT_WRITE, 1, &code), 0);
    check_invariants(par);
    check_invariants(ch);

    /* the child's exit leaves the parent intact */
    mm_put(ch);
    cr_assert_eq(as_live, 1);
    cr_assert_eq(mm_copy_in(par, buf, x, 7), 0);
    cr_assert_str_eq(buf, "PARENT");
    cr_assert_eq(mm_copy_in(par, buf, sh, 7), 0);
    cr_assert_str_eq(buf, "SHARED");
    /* the parent is the only user of its private pages again: taking them copies nothing */
    uint64_t used2 = memfile_used();
    cr_assert_eq(mm_copy_out(par, x + P(1), "again", 6, 0), 0);
    cr_assert_eq(memfile_used(), used2);
    mm_put(par);
    cr_assert_eq(memfile_used(), used0);
    cr_assert_eq(as_live, 0);
}

Test(mm, fork_empty_and_unactivated)
{
    uint64_t used0 = memfile_used();
    struct mm *par = new_mm();
    int err = 0;
    struct mm *ch = mm_fork(par, &err);
    cr_assert_not_null(ch, "mm_fork: %d", err);
    cr_assert_eq(ch->vmas.n, 0);
    cr_assert_eq(ch->pmas.n, 0);
    /* a child that never runs is released without an address space */
    mm_put(ch);
    cr_assert_eq(as_live, 1);
    uint64_t x = mmap_fixed(par, 0x10000000, P(4), RW);
    cr_assert_eq(mm_copy_out(par, x, "abc", 4, 0), 0);
    ch = mm_fork(par, &err);
    cr_assert_not_null(ch);
    mm_put(ch);
    cr_assert_eq(as_live, 1);
    mm_put(par);
    cr_assert_eq(memfile_used(), used0);
}

Test(mm, futex_key)
{
    struct mm *mm = new_mm();
    uint64_t x = mmap_fixed(mm, 0x10000000, P(1), RW);
    uint64_t sh = (uint64_t)mm_mmap(mm, 0x20000000, P(1), RW,
                                    MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED);
    uint64_t k[2], k2[2];
    cr_assert_eq(mm_futex_key(mm, x + 8, k), 0);
    cr_assert_eq(k[0], (uint64_t)(uintptr_t)mm);
    cr_assert_eq(k[1], x + 8);
    cr_assert_eq(mm_futex_key(mm, sh + 8, k), 0);
    cr_assert_eq(k[0], 0);
    struct range *p = rm_find(&mm->pmas, sh);
    cr_assert_not_null(p, "a shared futex word is backed");
    cr_assert_eq(k[1], p->pma.off + 8);
    cr_assert_eq(mm_futex_key(mm, 0x50000000, k), -EFAULT);
    /* a forked child shares the shared key, not the private one */
    int err;
    struct mm *ch = mm_fork(mm, &err);
    cr_assert_not_null(ch);
    cr_assert_eq(mm_futex_key(ch, sh + 8, k2), 0);
    cr_assert_eq(k2[0], 0);
    cr_assert_eq(k2[1], k[1]);
    cr_assert_eq(mm_futex_key(ch, x + 8, k2), 0);
    cr_assert_eq(k2[0], (uint64_t)(uintptr_t)ch);
    mm_put(ch);
    mm_put(mm);
}

/* ---- teardown ---- */

Test(mm, put_releases_everything)
{
    uint64_t used0 = memfile_used();
    struct mm *mm = new_mm();
    /* a bit of everything */
    int64_t a = mm_mmap(mm, 0, 5 * MB, RW, PRIV);
    cr_assert_gt(a, 0);
    char *buf = malloc(5 * MB);
    fill(buf, 5 * MB, 17);
    cr_assert_eq(mm_copy_out(mm, (uint64_t)a, buf, 5 * MB, 0), 0);
    cr_assert_eq(mm_mprotect(mm, (uint64_t)a + MB, MB, PROT_READ), 0);
    int64_t b = mm_mremap(mm, (uint64_t)a + 3 * MB, MB, 2 * MB, MREMAP_MAYMOVE, 0);
    cr_assert_gt(b, 0);
    mm_set_brk_start(mm, 0x800000);
    cr_assert_eq(mm_brk(mm, 0x800000 + 3 * MB), 0x800000 + 3 * MB);
    cr_assert_eq(mm_copy_out(mm, 0x800000, buf, 3 * MB, 0), 0);
    int code;
    cr_assert_eq(mm_handle_fault(mm, (uint64_t)b + MB + 5, FAULT_WRITE, 0, &code), 0);
    cr_assert_gt(memfile_used(), used0);
    check_invariants(mm);
    free(buf);
    mm_put(mm);
    cr_assert_eq(memfile_used(), used0);
    cr_assert_eq(as_live, 0);
}

/* Randomized: mmap/munmap/mprotect/mremap/madvise against a byte model of a small window,
 * with copy_in checks and the invariants after every step. */
#define WIN_PAGES 64
#define WIN 0x10000000ULL
static unsigned char model_mem[WIN_PAGES * 4096];
static int model_prot[WIN_PAGES];   /* -1: unmapped */

static uint64_t rnd(unsigned *s, uint64_t n) { return (uint64_t)rand_r(s) % n; }

Test(mm, randomized_vs_model)
{
    uint64_t used0 = memfile_used();
    struct mm *mm = new_mm();
    for (int i = 0; i < WIN_PAGES; i++)
        model_prot[i] = -1;
    memset(model_mem, 0, sizeof(model_mem));
    unsigned seed = 4242;
    static unsigned char tmp[WIN_PAGES * 4096];
    for (int op = 0; op < 1500; op++) {
        uint64_t pg = rnd(&seed, WIN_PAGES), np = 1 + rnd(&seed, 8);
        if (pg + np > WIN_PAGES)
            np = WIN_PAGES - pg;
        uint64_t a = WIN + P(pg), len = P(np);
        int prots[] = { PROT_NONE, PROT_READ, RW, RW | PROT_EXEC };
        int prot = prots[rnd(&seed, 4)];
        switch (rnd(&seed, 6)) {
        case 0: /* mmap fixed */
            cr_assert_eq(mm_mmap(mm, a, len, prot, PRIV | MAP_FIXED), (int64_t)a);
            for (uint64_t i = pg; i < pg + np; i++)
                model_prot[i] = prot;
            memset(model_mem + P(pg), 0, len);
            break;
        case 1: /* munmap */
            cr_assert_eq(mm_munmap(mm, a, len), 0);
            for (uint64_t i = pg; i < pg + np; i++)
                model_prot[i] = -1;
            break;
        case 2: { /* mprotect */
            int ok = 1;
            for (uint64_t i = pg; i < pg + np; i++)
                ok &= model_prot[i] >= 0;
            cr_assert_eq(mm_mprotect(mm, a, len, prot), ok ? 0 : -ENOMEM, "op %d", op);
            if (ok)
                for (uint64_t i = pg; i < pg + np; i++)
                    model_prot[i] = prot;
            break;
        }
        case 3: { /* write (forced, so any mapped page takes it) */
            uint64_t off = rnd(&seed, len), n = 1 + rnd(&seed, len - off);
            unsigned char w[8 * 4096];
            for (uint64_t i = 0; i < n; i++)
                w[i] = (unsigned char)rand_r(&seed);
            int ok = 1;
            for (uint64_t i = pg; i < pg + np; i++)
                ok &= model_prot[i] >= 0;
            int e = mm_copy_out(mm, a + off, w, n, 1);
            if (ok) {
                cr_assert_eq(e, 0, "op %d", op);
                memcpy(model_mem + P(pg) + off, w, n);
            } else {
                /* partial writes are allowed: copy what is mapped into the model */
                uint64_t end = a + off + n;
                for (uint64_t q = a + off; q < end; q++) {
                    uint64_t page = (q - WIN) / 4096;
                    if (model_prot[page] < 0)
                        break;
                    model_mem[q - WIN] = w[q - a - off];
                }
            }
            break;
        }
        case 4: { /* madvise dontneed over mapped pages only */
            int ok = 1;
            for (uint64_t i = pg; i < pg + np; i++)
                ok &= model_prot[i] >= 0;
            if (ok) {
                cr_assert_eq(mm_madvise(mm, a, len, MADV_DONTNEED), 0);
                memset(model_mem + P(pg), 0, len);
            }
            break;
        }
        case 5: { /* mremap a whole single VMA within the window via MREMAP_FIXED */
            struct range *v = rm_find(&mm->vmas, a);
            if (!v || v->start < WIN || v->end > WIN + P(WIN_PAGES))
                break;
            uint64_t vs = v->start, vl = v->end - v->start;
            uint64_t to = WIN + P(rnd(&seed, WIN_PAGES));
            uint64_t nl = P(1 + rnd(&seed, 8));
            if (to + nl > WIN + P(WIN_PAGES) || (to < vs + vl && vs < to + nl))
                break;
            int vp = v->vma.prot;
            cr_assert_eq(mm_mremap(mm, vs, vl, nl, MREMAP_MAYMOVE | MREMAP_FIXED, to),
                         (int64_t)to, "op %d", op);
            uint64_t keep = MIN(vl, nl);
            memcpy(tmp, model_mem + (vs - WIN), keep);
            for (uint64_t i = (vs - WIN) / 4096; i < (vs - WIN + vl) / 4096; i++)
                model_prot[i] = -1;
            for (uint64_t i = (to - WIN) / 4096; i < (to - WIN + nl) / 4096; i++)
                model_prot[i] = vp;
            memset(model_mem + (to - WIN), 0, nl);
            memcpy(model_mem + (to - WIN), tmp, keep);
            break;
        }
        }
        check_invariants(mm);
        /* compare every mapped page with the model; unmapped ones fault */
        for (int i = 0; i < WIN_PAGES; i++) {
            struct range *v = rm_find(&mm->vmas, WIN + P(i));
            if (model_prot[i] < 0) {
                cr_assert_null(v, "op %d: page %d should be unmapped", op, i);
                continue;
            }
            cr_assert_not_null(v, "op %d: page %d should be mapped", op, i);
            cr_assert_eq(v->vma.prot, model_prot[i], "op %d: page %d prot", op, i);
            if (model_prot[i] == PROT_NONE) {
                cr_assert_eq(mm_copy_in(mm, tmp, WIN + P(i), 1), -EFAULT);
                continue;
            }
            cr_assert_eq(mm_copy_in(mm, tmp, WIN + P(i), P(1)), 0, "op %d page %d", op, i);
            cr_assert_eq(memcmp(tmp, model_mem + P(i), P(1)), 0, "op %d: page %d data", op, i);
        }
        /* VMAs that touch with equal payloads should have been merged by mprotect, but
         * mmap/munmap do not promise it: only check the count stays bounded */
        cr_assert_leq(mm->vmas.n, WIN_PAGES);
    }
    mm_put(mm);
    cr_assert_eq(memfile_used(), used0);
}
