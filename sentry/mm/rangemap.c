/* Ordered range sets. See rangemap.h. */
#include "sentry/mm/rangemap.h"

#include "sentry/mm/mm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

void rm_init(struct rangemap *m, enum rangemap_kind kind)
{
    memset(m, 0, sizeof(*m));
    m->kind = kind;
}

void rm_free(struct rangemap *m)
{
    free(m->r);
    m->r = NULL;
    m->n = m->cap = 0;
}

size_t rm_lower(const struct rangemap *m, uint64_t addr)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->r[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct range *rm_find(struct rangemap *m, uint64_t addr)
{
    size_t i = rm_lower(m, addr);
    if (i < m->n && m->r[i].start <= addr)
        return &m->r[i];
    return NULL;
}

int rm_overlaps(const struct rangemap *m, uint64_t start, uint64_t end)
{
    size_t i = rm_lower(m, start);
    return i < m->n && m->r[i].start < end;
}

int rm_reserve(struct rangemap *m, size_t extra)
{
    if (m->n + extra <= m->cap)
        return 0;
    size_t cap = m->cap ? m->cap : 16;
    while (cap < m->n + extra)
        cap *= 2;
    struct range *r = realloc(m->r, cap * sizeof(*r));
    if (!r)
        return -ENOMEM;
    m->r = r;
    m->cap = cap;
    return 0;
}

int rm_insert(struct rangemap *m, const struct range *r)
{
    if (r->start >= r->end)
        return -EINVAL;
    size_t i = rm_lower(m, r->start);
    if (i < m->n && m->r[i].start < r->end)
        return -EEXIST;
    if (rm_reserve(m, 1) < 0)
        return -ENOMEM;
    memmove(&m->r[i + 1], &m->r[i], (m->n - i) * sizeof(*r));
    m->r[i] = *r;
    m->n++;
    return 0;
}

int rm_split(struct rangemap *m, uint64_t addr)
{
    size_t i = rm_lower(m, addr);
    if (i >= m->n || m->r[i].start >= addr)
        return 0;
    if (rm_reserve(m, 1) < 0)
        return -ENOMEM;
    memmove(&m->r[i + 1], &m->r[i], (m->n - i) * sizeof(*m->r));
    m->n++;
    struct range *left = &m->r[i], *right = &m->r[i + 1];
    left->end = addr;
    if (m->kind == RM_PMA) {
        right->pma.off += addr - right->start;
    } else {
        right->vma.pgoff += (addr - right->start) >> PAGE_SHIFT;
        if (right->vma.obj)
            right->vma.obj->ops->hold(right->vma.obj);   /* each range holds one */
    }
    right->start = addr;
    return 0;
}

long rm_isolate(struct rangemap *m, uint64_t start, uint64_t end)
{
    if (rm_reserve(m, 2) < 0)
        return -ENOMEM;
    rm_split(m, start);   /* cannot fail: room reserved */
    rm_split(m, end);
    return (long)rm_lower(m, start);
}

void rm_remove_at(struct rangemap *m, size_t i, size_t j)
{
    if (i >= j)
        return;
    memmove(&m->r[i], &m->r[j], (m->n - j) * sizeof(*m->r));
    m->n -= j - i;
}

uint64_t rm_gap_down(const struct rangemap *m, uint64_t len, uint64_t lo, uint64_t hi,
                     int (*reserved)(uint64_t va, uint64_t len))
{
    if (hi < lo || hi - lo < len)
        return 0;
    /* walk the gaps from the top down */
    size_t i = rm_lower(m, hi);  /* first range ending above hi */
    uint64_t gap_end = hi;
    if (i < m->n && m->r[i].start < hi)
        gap_end = m->r[i].start;
    for (;;) {
        uint64_t gap_start = i > 0 ? m->r[i - 1].end : lo;
        if (gap_start < lo)
            gap_start = lo;
        while (gap_end >= gap_start + len && gap_end - len >= gap_start) {
            uint64_t s = gap_end - len;
            if (!reserved || !reserved(s, len))
                return s;
            /* step below the reservation one page at a time is slow; platforms
             * reserve only near user_max, so skipping one page down suffices */
            if (gap_end < PAGE_SIZE)
                break;
            gap_end -= PAGE_SIZE;
        }
        if (i == 0)
            return 0;
        i--;
        gap_end = m->r[i].start;
        if (gap_end <= lo)
            return 0;
    }
}

static int payload_joins(const struct rangemap *m, const struct range *a,
                         const struct range *b)
{
    if (a->end != b->start)
        return 0;
    if (m->kind == RM_VMA)
        return a->vma.prot == b->vma.prot && a->vma.maxprot == b->vma.maxprot &&
               a->vma.flags == b->vma.flags && a->vma.obj == b->vma.obj &&
               (!a->vma.obj ||
                a->vma.pgoff + ((a->end - a->start) >> PAGE_SHIFT) == b->vma.pgoff);
    return a->pma.cow == b->pma.cow && a->pma.off + (a->end - a->start) == b->pma.off;
}

/* drop_merged: the range r is folded into its neighbour: its object reference goes. */
static void drop_merged(const struct rangemap *m, struct range *r)
{
    if (m->kind == RM_VMA && r->vma.obj)
        r->vma.obj->ops->drop(r->vma.obj);
}

size_t rm_try_merge(struct rangemap *m, size_t i)
{
    if (i + 1 < m->n && payload_joins(m, &m->r[i], &m->r[i + 1])) {
        m->r[i].end = m->r[i + 1].end;
        drop_merged(m, &m->r[i + 1]);
        rm_remove_at(m, i + 1, i + 2);
    }
    if (i > 0 && payload_joins(m, &m->r[i - 1], &m->r[i])) {
        m->r[i - 1].end = m->r[i].end;
        drop_merged(m, &m->r[i]);
        rm_remove_at(m, i, i + 1);
        i--;
    }
    return i;
}
