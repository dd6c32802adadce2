/* An ordered set of disjoint [start, end) ranges with a payload: the VMA set and the
 * PMA set of an address space. A sorted array searched by bisection: address spaces
 * hold tens to a few thousand ranges, and the array keeps lookups cache-friendly.
 * Not locked: the owner (struct mm) holds its mutex around every call. */
#ifndef SENTRY_MM_RANGEMAP_H
#define SENTRY_MM_RANGEMAP_H

#include <stddef.h>
#include <stdint.h>

struct mappable;

struct vma {
    int prot;        /* PROT_READ/WRITE/EXEC */
    int maxprot;     /* what mprotect may grant */
    int flags;       /* VMA_* (mm.h) */
    struct mappable *obj;  /* NULL: anonymous private memory. One reference per range */
    uint64_t pgoff;  /* obj's page at start */
};

struct pma {
    uint64_t off;    /* memory-file offset of the page at start */
    int cow;         /* pages may be shared with another mm: copy before writing */
};

struct range {
    uint64_t start, end;
    union {
        struct vma vma;
        struct pma pma;
    };
};

enum rangemap_kind { RM_VMA, RM_PMA };

struct rangemap {
    struct range *r;           /* sorted by start, disjoint */
    size_t n, cap;
    enum rangemap_kind kind;   /* how a split adjusts the payload */
};

/* rm_init/rm_free: an empty set of the given kind; free releases the array only. */
void rm_init(struct rangemap *m, enum rangemap_kind kind);
void rm_free(struct rangemap *m);
/* rm_lower: index of the first range with end > addr (m->n if none). */
size_t rm_lower(const struct rangemap *m, uint64_t addr);
/* rm_find: the range containing addr, or NULL. Valid until the next change. */
struct range *rm_find(struct rangemap *m, uint64_t addr);
/* rm_overlaps: true if any range intersects [start, end). */
int rm_overlaps(const struct rangemap *m, uint64_t start, uint64_t end);
/* rm_insert: adds r, which must not overlap any range. 0 or -ENOMEM/-EEXIST. */
int rm_insert(struct rangemap *m, const struct range *r);
/* rm_split: makes addr a boundary if a range strictly contains it. 0 or -ENOMEM. */
int rm_split(struct rangemap *m, uint64_t addr);
/* rm_isolate: splits at start and end so [start, end) is covered by whole ranges.
 * Returns the index of the first range inside (or where it would be). -ENOMEM. */
long rm_isolate(struct rangemap *m, uint64_t start, uint64_t end);
/* rm_remove_at: deletes ranges [i, j) of the array. */
void rm_remove_at(struct rangemap *m, size_t i, size_t j);
/* rm_reserve: makes room for extra more ranges so later splits cannot fail. */
int rm_reserve(struct rangemap *m, size_t extra);
/* rm_gap_down: the highest start s with [s, s+len) inside [lo, hi) free of ranges and
 * of platform-reserved memory (reserved may be NULL); 0 if none. */
uint64_t rm_gap_down(const struct rangemap *m, uint64_t len, uint64_t lo, uint64_t hi,
                     int (*reserved)(uint64_t va, uint64_t len));
/* rm_try_merge: merges range i with its neighbours where they touch and have equal
 * payloads (for PMAs: consecutive file offsets). Returns i's new index. */
size_t rm_try_merge(struct rangemap *m, size_t i);

#endif
