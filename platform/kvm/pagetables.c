/* Guest page tables. See pagetables.h. */
#include "platform/kvm/pagetables.h"

#include <errno.h>
#include <sys/mman.h>

#define LEVEL_SHIFT(l) (12 + 9 * (l))          /* l = 0 (PT) .. 3 (PML4) */
#define INDEX(va, l)   (((va) >> LEVEL_SHIFT(l)) & 511)
#define TABLE_FLAGS    (PTE_P | PTE_W | PTE_U)  /* leaves decide the permissions */

/* set: stores val at entry i of the table at gpa, replaying it if the old entry was
 * present. */
static int set(struct pagetable *pt, uint64_t gpa, unsigned i, uint64_t val)
{
    uint64_t *e = pt->b->table(pt->b->cx, gpa) + i;
    uint64_t old = *e;
    if (old == val)
        return 0;
    *e = val;
    if (!(old & PTE_P))
        return 0;
    pt->replays++;
    return pt->b->replay(pt->b->cx, gpa + i * 8, val);
}

/* new_table: a zeroed table page (a recycled page is cleared entry by entry, so a
 * hypervisor that still shadows it sees the change). */
static uint64_t new_table(struct pagetable *pt, int root, int keep_index, uint64_t keep)
{
    uint64_t gpa = pt->b->alloc(pt->b->cx, root);
    if (!gpa)
        return 0;
    for (unsigned i = 0; i < 512; i++) {
        uint64_t want = root && (int)i == keep_index ? keep : 0;
        if (set(pt, gpa, i, want) < 0) {
            pt->b->release(pt->b->cx, gpa, root);
            return 0;
        }
    }
    return gpa;
}

int pt_init(struct pagetable *pt, const struct pt_backend *b, int keep_index,
            uint64_t keep_entry)
{
    pt->b = b;
    pt->replays = 0;
    pt->root = new_table(pt, 1, keep_index, keep_entry);
    return pt->root ? 0 : -ENOMEM;
}

static void release_level(struct pagetable *pt, uint64_t gpa, int level)
{
    if (level > 0) {
        uint64_t *t = pt->b->table(pt->b->cx, gpa);
        for (unsigned i = 0; i < 512; i++)
            if (t[i] & PTE_P)
                release_level(pt, t[i] & PTE_ADDR, level - 1);
    }
    pt->b->release(pt->b->cx, gpa, 0);
}

void pt_destroy(struct pagetable *pt, int keep_index)
{
    uint64_t *t = pt->b->table(pt->b->cx, pt->root);
    for (int i = 0; i < 512; i++)
        if (i != keep_index && (t[i] & PTE_P))
            release_level(pt, t[i] & PTE_ADDR, 2);
    pt->b->release(pt->b->cx, pt->root, 1);
    pt->root = 0;
}

uint64_t pt_prot_flags(int prot)
{
    if (!(prot & (PROT_READ | PROT_WRITE | PROT_EXEC)))
        return 0;
    /* accessed and dirty from the start: nothing reads them back, and KVM's shadow
     * MMU only maps the neighbours of a faulting page ahead (prefetch) when their
     * entries have the accessed bit */
    uint64_t f = PTE_P | PTE_U | PTE_A;
    if (prot & PROT_WRITE)
        f |= PTE_W | PTE_D;
    if (!(prot & PROT_EXEC))
        f |= PTE_NX;
    return f;
}

/* leaf_table: the PT covering va, created if create; 0 if absent. */
static uint64_t leaf_table(struct pagetable *pt, uint64_t va, int create)
{
    uint64_t gpa = pt->root;
    for (int l = 3; l > 0; l--) {
        uint64_t *t = pt->b->table(pt->b->cx, gpa);
        unsigned i = INDEX(va, l);
        if (!(t[i] & PTE_P)) {
            if (!create)
                return 0;
            uint64_t n = new_table(pt, 0, -1, 0);
            if (!n || set(pt, gpa, i, n | TABLE_FLAGS) < 0)
                return 0;
        }
        gpa = t[i] & PTE_ADDR;
    }
    return gpa;
}

/* next_table_boundary: the first address past the 2 MiB region of va. */
static uint64_t next_2m(uint64_t va) { return (va | ((1ULL << 21) - 1)) + 1; }

int pt_map(struct pagetable *pt, uint64_t va, uint64_t len, uint64_t gpa, uint64_t flags)
{
    if (!flags)
        return pt_unmap(pt, va, len);
    uint64_t end = va + len;
    while (va < end) {
        uint64_t t = leaf_table(pt, va, 1);
        if (!t)
            return -ENOMEM;
        uint64_t stop = next_2m(va) < end ? next_2m(va) : end;
        for (; va < stop; va += 4096, gpa += 4096) {
            int r = set(pt, t, INDEX(va, 0), gpa | flags);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

/* change: applies f to every present leaf of [va, va+len). */
static int change(struct pagetable *pt, uint64_t va, uint64_t len, int unmap, uint64_t flags)
{
    uint64_t end = va + len;
    while (va < end) {
        uint64_t stop = next_2m(va) < end ? next_2m(va) : end;
        uint64_t t = leaf_table(pt, va, 0);
        if (t) {
            uint64_t *e = pt->b->table(pt->b->cx, t);
            for (; va < stop; va += 4096) {
                unsigned i = INDEX(va, 0);
                if (!(e[i] & PTE_P))
                    continue;
                uint64_t val = unmap ? 0 : (e[i] & PTE_ADDR) | flags;
                int r = set(pt, t, i, flags || unmap ? val : 0);
                if (r < 0)
                    return r;
            }
        }
        va = stop;
    }
    return 0;
}

int pt_unmap(struct pagetable *pt, uint64_t va, uint64_t len)
{
    return change(pt, va, len, 1, 0);
}

int pt_protect(struct pagetable *pt, uint64_t va, uint64_t len, uint64_t flags)
{
    return change(pt, va, len, 0, flags);
}

uint64_t pt_lookup(struct pagetable *pt, uint64_t va)
{
    uint64_t t = leaf_table(pt, va, 0);
    return t ? pt->b->table(pt->b->cx, t)[INDEX(va, 0)] : 0;
}
