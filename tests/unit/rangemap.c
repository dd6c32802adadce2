/* rangemap: the ordered disjoint range set behind VMAs and PMAs. Basic operations one by
 * one, then a randomized comparison against a per-page reference model. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "sentry/mm/rangemap.h"

#define P(n) ((uint64_t)(n) * PAGE_SIZE)

static struct range vma(uint64_t start, uint64_t end, int prot)
{
    struct range r = { .start = start, .end = end };
    r.vma.prot = prot;
    r.vma.maxprot = 7;
    r.vma.flags = 0;
    return r;
}

static struct range pma(uint64_t start, uint64_t end, uint64_t off)
{
    struct range r = { .start = start, .end = end };
    r.pma.off = off;
    r.pma.cow = 0;
    return r;
}

/* check_sorted: ranges are non-empty, sorted and disjoint. */
static void check_sorted(const struct rangemap *m)
{
    for (size_t i = 0; i < m->n; i++) {
        cr_assert_lt(m->r[i].start, m->r[i].end, "range %zu empty", i);
        if (i > 0)
            cr_assert_leq(m->r[i - 1].end, m->r[i].start, "ranges %zu/%zu overlap", i - 1, i);
    }
    cr_assert_leq(m->n, m->cap);
}

Test(rangemap, empty)
{
    struct rangemap m;
    rm_init(&m, RM_VMA);
    cr_assert_eq(m.n, 0);
    cr_assert_eq(rm_lower(&m, 0), 0);
    cr_assert_null(rm_find(&m, P(1)));
    cr_assert_not(rm_overlaps(&m, 0, UINT64_MAX));
    rm_free(&m);
    rm_free(&m);  /* idempotent */
}

Test(rangemap, insert_find_lower_overlaps)
{
    struct rangemap m;
    rm_init(&m, RM_VMA);
    struct range a = vma(P(10), P(20), 1), b = vma(P(30), P(40), 2), c = vma(P(0), P(5), 3);
    cr_assert_eq(rm_insert(&m, &b), 0);
    cr_assert_eq(rm_insert(&m, &a), 0);
    cr_assert_eq(rm_insert(&m, &c), 0);
    cr_assert_eq(m.n, 3);
    check_sorted(&m);
    cr_assert_eq(m.r[0].start, P(0));
    cr_assert_eq(m.r[1].start, P(10));
    cr_assert_eq(m.r[2].start, P(30));

    cr_assert_eq(rm_find(&m, P(10))->vma.prot, 1);
    cr_assert_eq(rm_find(&m, P(20) - 1)->vma.prot, 1);
    cr_assert_null(rm_find(&m, P(20)));
    cr_assert_null(rm_find(&m, P(5)));
    cr_assert_eq(rm_find(&m, 0)->vma.prot, 3);
    cr_assert_eq(rm_find(&m, P(35))->vma.prot, 2);
    cr_assert_null(rm_find(&m, P(40)));
    cr_assert_null(rm_find(&m, P(1000)));

    cr_assert_eq(rm_lower(&m, 0), 0);
    cr_assert_eq(rm_lower(&m, P(5) - 1), 0);
    cr_assert_eq(rm_lower(&m, P(5)), 1);
    cr_assert_eq(rm_lower(&m, P(15)), 1);
    cr_assert_eq(rm_lower(&m, P(20)), 2);
    cr_assert_eq(rm_lower(&m, P(39)), 2);
    cr_assert_eq(rm_lower(&m, P(40)), 3);

    cr_assert(rm_overlaps(&m, P(19), P(21)));
    cr_assert(rm_overlaps(&m, P(5), P(11)));
    cr_assert(rm_overlaps(&m, 0, UINT64_MAX));
    cr_assert_not(rm_overlaps(&m, P(5), P(10)));
    cr_assert_not(rm_overlaps(&m, P(20), P(30)));
    cr_assert_not(rm_overlaps(&m, P(40), P(100)));
    cr_assert(rm_overlaps(&m, P(12), P(13)));   /* strictly inside */
    rm_free(&m);
}

Test(rangemap, insert_rejects_overlap_and_empty)
{
    struct rangemap m;
    rm_init(&m, RM_VMA);
    struct range a = vma(P(10), P(20), 1);
    cr_assert_eq(rm_insert(&m, &a), 0);
    struct range bad[] = {
        vma(P(10), P(20), 1), vma(P(5), P(11), 1), vma(P(19), P(25), 1),
        vma(P(12), P(13), 1), vma(P(0), P(100), 1),
    };
    for (size_t k = 0; k < ARRAY_SIZE(bad); k++)
        cr_assert_eq(rm_insert(&m, &bad[k]), -EEXIST, "case %zu", k);
    struct range empty = vma(P(30), P(30), 1), inverted = vma(P(40), P(30), 1);
    cr_assert_lt(rm_insert(&m, &empty), 0);
    cr_assert_lt(rm_insert(&m, &inverted), 0);
    cr_assert_eq(m.n, 1);
    /* touching neighbours are fine and are not merged by insert */
    struct range l = vma(P(5), P(10), 1), r = vma(P(20), P(25), 1);
    cr_assert_eq(rm_insert(&m, &l), 0);
    cr_assert_eq(rm_insert(&m, &r), 0);
    cr_assert_eq(m.n, 3);
    check_sorted(&m);
    rm_free(&m);
}

Test(rangemap, many_inserts_grow)
{
    struct rangemap m;
    rm_init(&m, RM_PMA);
    /* descending order: every insert shifts the whole array */
    for (int k = 999; k >= 0; k--) {
        struct range r = pma(P(2 * k), P(2 * k + 1), (uint64_t)k);
        cr_assert_eq(rm_insert(&m, &r), 0);
    }
    cr_assert_eq(m.n, 1000);
    check_sorted(&m);
    for (int k = 0; k < 1000; k++) {
        cr_assert_eq(rm_find(&m, P(2 * k))->pma.off, (uint64_t)k);
        cr_assert_null(rm_find(&m, P(2 * k + 1)));
    }
    rm_free(&m);
}

Test(rangemap, split_pma_adjusts_offset)
{
    struct rangemap m;
    rm_init(&m, RM_PMA);
    struct range a = pma(P(10), P(20), P(100));
    a.pma.cow = 1;
    cr_assert_eq(rm_insert(&m, &a), 0);
    cr_assert_eq(rm_split(&m, P(14)), 0);
    cr_assert_eq(m.n, 2);
    check_sorted(&m);
    cr_assert_eq(m.r[0].start, P(10));
    cr_assert_eq(m.r[0].end, P(14));
    cr_assert_eq(m.r[0].pma.off, P(100));
    cr_assert_eq(m.r[1].start, P(14));
    cr_assert_eq(m.r[1].end, P(20));
    cr_assert_eq(m.r[1].pma.off, P(104));
    cr_assert_eq(m.r[0].pma.cow, 1);
    cr_assert_eq(m.r[1].pma.cow, 1);

    /* splitting at an existing boundary, in a gap, or outside is a no-op */
    cr_assert_eq(rm_split(&m, P(14)), 0);
    cr_assert_eq(rm_split(&m, P(10)), 0);
    cr_assert_eq(rm_split(&m, P(20)), 0);
    cr_assert_eq(rm_split(&m, P(5)), 0);
    cr_assert_eq(rm_split(&m, P(50)), 0);
    cr_assert_eq(m.n, 2);

    cr_assert_eq(rm_split(&m, P(19)), 0);
    cr_assert_eq(m.n, 3);
    cr_assert_eq(m.r[2].start, P(19));
    cr_assert_eq(m.r[2].pma.off, P(109));
    cr_assert_eq(m.r[1].pma.off, P(104));
    check_sorted(&m);
    rm_free(&m);
}

Test(rangemap, split_vma_copies_payload)
{
    struct rangemap m;
    rm_init(&m, RM_VMA);
    struct range a = vma(P(10), P(20), 5);
    a.vma.flags = 9;
    a.vma.maxprot = 3;
    cr_assert_eq(rm_insert(&m, &a), 0);
    cr_assert_eq(rm_split(&m, P(13)), 0);
    cr_assert_eq(m.n, 2);
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(m.r[k].vma.prot, 5);
        cr_assert_eq(m.r[k].vma.maxprot, 3);
        cr_assert_eq(m.r[k].vma.flags, 9);
    }
    cr_assert_eq(m.r[0].end, P(13));
    cr_assert_eq(m.r[1].start, P(13));
    cr_assert_eq(m.r[1].end, P(20));
    rm_free(&m);
}

Test(rangemap, isolate)
{
    struct rangemap m;
    rm_init(&m, RM_PMA);
    struct range a = pma(P(10), P(20), 0), b = pma(P(30), P(40), P(10));
    rm_insert(&m, &a);
    rm_insert(&m, &b);

    /* a range strictly inside one range: three pieces */
    long i = rm_isolate(&m, P(12), P(15));
    cr_assert_eq(i, 1);
    cr_assert_eq(m.n, 4);
    cr_assert_eq(m.r[1].start, P(12));
    cr_assert_eq(m.r[1].end, P(15));
    cr_assert_eq(m.r[1].pma.off, P(2));
    cr_assert_eq(m.r[2].pma.off, P(5));
    check_sorted(&m);

    /* spanning a gap: splits both ends */
    i = rm_isolate(&m, P(17), P(35));
    cr_assert_eq(i, 3);
    cr_assert_eq(m.n, 6);
    cr_assert_eq(m.r[3].start, P(17));
    cr_assert_eq(m.r[3].end, P(20));
    cr_assert_eq(m.r[4].start, P(30));
    cr_assert_eq(m.r[4].end, P(35));
    cr_assert_eq(m.r[4].pma.off, P(10));
    cr_assert_eq(m.r[5].pma.off, P(15));
    check_sorted(&m);

    /* a range in a gap: nothing changes, index of the next range */
    i = rm_isolate(&m, P(22), P(25));
    cr_assert_eq(i, 4);
    cr_assert_eq(m.n, 6);
    /* past everything */
    i = rm_isolate(&m, P(100), P(200));
    cr_assert_eq(i, 6);
    cr_assert_eq(m.n, 6);
    rm_free(&m);
}

Test(rangemap, remove_at)
{
    struct rangemap m;
    rm_init(&m, RM_VMA);
    for (int k = 0; k < 5; k++) {
        struct range r = vma(P(10 * k), P(10 * k + 5), k);
        rm_insert(&m, &r);
    }
    rm_remove_at(&m, 1, 3);   /* drops prot 1 and 2 */
    cr_assert_eq(m.n, 3);
    cr_assert_eq(m.r[0].vma.prot, 0);
    cr_assert_eq(m.r[1].vma.prot, 3);
    cr_assert_eq(m.r[2].vma.prot, 4);
    rm_remove_at(&m, 2, 2);   /* empty: no-op */
    rm_remove_at(&m, 2, 1);   /* inverted: no-op */
    cr_assert_eq(m.n, 3);
    rm_remove_at(&m, 2, 3);   /* last */
    cr_assert_eq(m.n, 2);
    rm_remove_at(&m, 0, 2);   /* all */
    cr_assert_eq(m.n, 0);
    cr_assert_null(rm_find(&m, 0));
    rm_free(&m);
}

static uint64_t res_lo, res_hi;
static int fake_reserved(uint64_t va, uint64_t len)
{
    return va < res_hi && res_lo < va + len;
}

Test(rangemap, gap_down)
{
    struct rangemap m;
    rm_init(&m, RM_VMA);
    /* empty map: the top of [lo, hi) */
    cr_assert_eq(rm_gap_down(&m, P(4), P(10), P(100), NULL), P(96));
    cr_assert_eq(rm_gap_down(&m, P(90), P(10), P(100), NULL), P(10));
    cr_assert_eq(rm_gap_down(&m, P(91), P(10), P(100), NULL), 0);
    cr_assert_eq(rm_gap_down(&m, P(1), P(100), P(10), NULL), 0);

    struct range a = vma(P(20), P(30), 0), b = vma(P(50), P(60), 0), c = vma(P(90), P(95), 0);
    rm_insert(&m, &a);
    rm_insert(&m, &b);
    rm_insert(&m, &c);
    /* gaps: [10,20) [30,50) [60,90) [95,100) within lo=10, hi=100 */
    cr_assert_eq(rm_gap_down(&m, P(5), P(10), P(100), NULL), P(95));
    cr_assert_eq(rm_gap_down(&m, P(6), P(10), P(100), NULL), P(84));
    cr_assert_eq(rm_gap_down(&m, P(30), P(10), P(100), NULL), P(60));
    cr_assert_eq(rm_gap_down(&m, P(31), P(10), P(100), NULL), 0);
    cr_assert_eq(rm_gap_down(&m, P(20), P(10), P(100), NULL), P(70));
    cr_assert_eq(rm_gap_down(&m, P(20), P(10), P(89), NULL), P(69));
    cr_assert_eq(rm_gap_down(&m, P(29), P(10), P(89), NULL), P(60));
    cr_assert_eq(rm_gap_down(&m, P(30), P(10), P(89), NULL), 0);
    /* hi inside a range: the gap below that range */
    cr_assert_eq(rm_gap_down(&m, P(5), P(10), P(55), NULL), P(45));
    /* hi exactly at a range's end */
    cr_assert_eq(rm_gap_down(&m, P(5), P(10), P(60), NULL), P(45));
    /* lo clips the lowest gap */
    cr_assert_eq(rm_gap_down(&m, P(5), P(15), P(20), NULL), P(15));
    cr_assert_eq(rm_gap_down(&m, P(6), P(15), P(20), NULL), 0);
    cr_assert_eq(rm_gap_down(&m, P(10), P(10), P(50), NULL), P(40));
    cr_assert_eq(rm_gap_down(&m, P(10), P(0), P(20), NULL), P(10));
    cr_assert_eq(rm_gap_down(&m, P(21), P(0), P(50), NULL), 0);
    /* lo inside a range */
    cr_assert_eq(rm_gap_down(&m, P(5), P(25), P(50), NULL), P(45));
    cr_assert_eq(rm_gap_down(&m, P(21), P(25), P(50), NULL), 0);
    cr_assert_eq(rm_gap_down(&m, P(5), P(25), P(30), NULL), 0);

    /* a reservation in the highest gap: the result moves below it */
    res_lo = P(85);
    res_hi = P(86);
    cr_assert_eq(rm_gap_down(&m, P(5), P(10), P(90), fake_reserved), P(80));
    cr_assert_eq(rm_gap_down(&m, P(25), P(10), P(90), fake_reserved), P(60));
    cr_assert_eq(rm_gap_down(&m, P(20), P(10), P(90), fake_reserved), P(65));
    cr_assert_eq(rm_gap_down(&m, P(26), P(10), P(90), fake_reserved), 0);
    /* reservation covering the whole gap */
    res_lo = P(60);
    res_hi = P(90);
    cr_assert_eq(rm_gap_down(&m, P(1), P(10), P(90), fake_reserved), P(49));
    /* nothing fits anywhere */
    res_lo = 0;
    res_hi = P(1000);
    cr_assert_eq(rm_gap_down(&m, P(1), P(10), P(100), fake_reserved), 0);
    rm_free(&m);
}

Test(rangemap, try_merge_vma)
{
    struct rangemap m;
    rm_init(&m, RM_VMA);
    struct range a = vma(P(0), P(10), 3), b = vma(P(10), P(20), 3), c = vma(P(20), P(30), 3),
                 d = vma(P(30), P(40), 1), e = vma(P(41), P(50), 1);
    rm_insert(&m, &a);
    rm_insert(&m, &b);
    rm_insert(&m, &c);
    rm_insert(&m, &d);
    rm_insert(&m, &e);
    size_t i = rm_try_merge(&m, 1);   /* merges with both neighbours */
    cr_assert_eq(i, 0);
    cr_assert_eq(m.n, 3);
    cr_assert_eq(m.r[0].start, P(0));
    cr_assert_eq(m.r[0].end, P(30));
    /* different prot, not touching: no merge */
    cr_assert_eq(rm_try_merge(&m, 1), 1);
    cr_assert_eq(m.n, 3);
    /* flags and maxprot matter too */
    m.r[1].vma.prot = 3;
    m.r[1].vma.flags = 4;
    cr_assert_eq(rm_try_merge(&m, 1), 1);
    cr_assert_eq(m.n, 3);
    m.r[1].vma.flags = 0;
    m.r[1].vma.maxprot = 3;
    cr_assert_eq(rm_try_merge(&m, 1), 1);
    cr_assert_eq(m.n, 3);
    m.r[1].vma.maxprot = 7;
    cr_assert_eq(rm_try_merge(&m, 1), 0);
    cr_assert_eq(m.n, 2);
    cr_assert_eq(m.r[0].end, P(40));
    check_sorted(&m);
    rm_free(&m);
}

Test(rangemap, try_merge_pma)
{
    struct rangemap m;
    rm_init(&m, RM_PMA);
    struct range a = pma(P(0), P(10), P(100)), b = pma(P(10), P(20), P(110)),
                 c = pma(P(20), P(30), P(500)), d = pma(P(30), P(40), P(510));
    d.pma.cow = 1;
    rm_insert(&m, &a);
    rm_insert(&m, &b);
    rm_insert(&m, &c);
    rm_insert(&m, &d);
    cr_assert_eq(rm_try_merge(&m, 1), 0);   /* a+b consecutive; b,c not */
    cr_assert_eq(m.n, 3);
    cr_assert_eq(m.r[0].end, P(20));
    cr_assert_eq(m.r[0].pma.off, P(100));
    cr_assert_eq(rm_try_merge(&m, 1), 1);   /* c,d consecutive but cow differs */
    cr_assert_eq(m.n, 3);
    m.r[2].pma.cow = 0;
    cr_assert_eq(rm_try_merge(&m, 2), 1);
    cr_assert_eq(m.n, 2);
    cr_assert_eq(m.r[1].start, P(20));
    cr_assert_eq(m.r[1].end, P(40));
    cr_assert_eq(m.r[1].pma.off, P(500));

    /* split then merge restores the original */
    cr_assert_eq(rm_split(&m, P(5)), 0);
    cr_assert_eq(m.n, 3);
    cr_assert_eq(rm_try_merge(&m, 1), 0);
    cr_assert_eq(m.n, 2);
    cr_assert_eq(m.r[0].end, P(20));
    cr_assert_eq(m.r[0].pma.off, P(100));
    rm_free(&m);
}

/* Randomized: a per-page model of a small address space. model[p] is 0 for a free page,
 * else the id of the range holding it plus 1 (VMA payload prot = id). */
#define NPAGES 256
static int model[NPAGES];

Test(rangemap, randomized_vs_model)
{
    struct rangemap m;
    rm_init(&m, RM_PMA);
    memset(model, 0, sizeof(model));
    srand(12345);
    int next_id = 1;
    for (int op = 0; op < 2000; op++) {
        int a = rand() % NPAGES, len = 1 + rand() % 24;
        int b = MIN(a + len, NPAGES);
        int kind = rand() % 4;
        if (kind <= 1) {
            /* insert: must succeed iff free in the model */
            int free_ = 1;
            for (int p = a; p < b; p++)
                free_ &= model[p] == 0;
            struct range r = pma(P(a), P(b), P(a) + (uint64_t)next_id * P(1000));
            int e = rm_insert(&m, &r);
            cr_assert_eq(e, free_ ? 0 : -EEXIST, "op %d insert [%d,%d)", op, a, b);
            cr_assert_eq(rm_overlaps(&m, P(a), P(b)), 1);
            if (e == 0) {
                for (int p = a; p < b; p++)
                    model[p] = next_id;
                next_id++;
            }
        } else if (kind == 2) {
            /* remove [a, b) the way mm does: isolate then remove_at */
            int any = 0;
            for (int p = a; p < b; p++)
                any |= model[p] != 0;
            cr_assert_eq(rm_overlaps(&m, P(a), P(b)), any, "op %d overlaps", op);
            long i = rm_isolate(&m, P(a), P(b));
            cr_assert_geq(i, 0);
            size_t j = (size_t)i;
            while (j < m.n && m.r[j].start < P(b))
                j++;
            for (size_t k = (size_t)i; k < j; k++) {
                cr_assert_geq(m.r[k].start, P(a));
                cr_assert_leq(m.r[k].end, P(b));
            }
            rm_remove_at(&m, (size_t)i, j);
            for (int p = a; p < b; p++)
                model[p] = 0;
        } else {
            /* split at a random page, then try to merge around it */
            cr_assert_eq(rm_split(&m, P(a)), 0);
            struct range *r = rm_find(&m, P(a));
            if (r) {
                size_t i = (size_t)(r - m.r);
                rm_try_merge(&m, i);
            }
        }
        /* check every range: offsets track the start (one id per inserted range) */
        check_sorted(&m);
        for (size_t i = 0; i < m.n; i++) {
            struct range *r = &m.r[i];
            int id = model[r->start / PAGE_SIZE];
            cr_assert_neq(id, 0, "op %d: range at unmapped page", op);
            cr_assert_eq(r->pma.off, r->start + (uint64_t)id * P(1000), "op %d: offset", op);
            for (uint64_t p = r->start / PAGE_SIZE; p < r->end / PAGE_SIZE; p++)
                cr_assert_eq(model[p], id, "op %d: page %llu", op, (unsigned long long)p);
        }
        for (int p = 0; p < NPAGES; p++) {
            struct range *r = rm_find(&m, P(p) + 7);
            cr_assert_eq(r != NULL, model[p] != 0, "op %d: page %d", op, p);
            size_t lo = rm_lower(&m, P(p));
            cr_assert(lo == m.n || m.r[lo].end > P(p));
            cr_assert(lo == 0 || m.r[lo - 1].end <= P(p));
        }
        /* gap_down agrees with a brute-force search of the model */
        uint64_t want = (uint64_t)(1 + rand() % 16);
        uint64_t expect = 0;
        for (int s = NPAGES - (int)want; s >= 1; s--) {
            int ok = 1;
            for (int p = s; p < s + (int)want; p++)
                ok &= model[p] == 0;
            if (ok) {
                expect = P(s);
                break;
            }
        }
        cr_assert_eq(rm_gap_down(&m, P(want), P(1), P(NPAGES), NULL), expect,
                     "op %d: gap_down(%llu)", op, (unsigned long long)want);
    }
    rm_free(&m);
}

/* The same with VMA payloads: merges only join equal payloads, so ids survive. */
Test(rangemap, randomized_vma_merge)
{
    struct rangemap m;
    rm_init(&m, RM_VMA);
    memset(model, 0, sizeof(model));
    srand(777);
    for (int op = 0; op < 2000; op++) {
        int a = rand() % NPAGES, len = 1 + rand() % 24;
        int b = MIN(a + len, NPAGES);
        int prot = 1 + rand() % 3;
        if (rand() % 2) {
            /* "mmap fixed": remove then insert with a prot, then merge */
            long i = rm_isolate(&m, P(a), P(b));
            size_t j = (size_t)i;
            while (j < m.n && m.r[j].start < P(b))
                j++;
            rm_remove_at(&m, (size_t)i, j);
            struct range r = vma(P(a), P(b), prot);
            cr_assert_eq(rm_insert(&m, &r), 0);
            rm_try_merge(&m, rm_lower(&m, P(a)));
            for (int p = a; p < b; p++)
                model[p] = prot;
        } else {
            long i = rm_isolate(&m, P(a), P(b));
            size_t j = (size_t)i;
            while (j < m.n && m.r[j].start < P(b))
                j++;
            rm_remove_at(&m, (size_t)i, j);
            for (int p = a; p < b; p++)
                model[p] = 0;
        }
        check_sorted(&m);
        for (int p = 0; p < NPAGES; p++) {
            struct range *r = rm_find(&m, P(p));
            if (model[p] == 0)
                cr_assert_null(r, "op %d page %d", op, p);
            else
                cr_assert(r && r->vma.prot == model[p], "op %d page %d", op, p);
        }
    }
    rm_free(&m);
}
