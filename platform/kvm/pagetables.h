/* x86-64 4-level page tables for one guest address space, as a data structure over a
 * backend that owns the table pages. 4 KiB leaves only (PVM has no 1 GiB pages, and
 * 2 MiB leaves are left for later).
 *
 * Every store goes to the table page through the backend's host pointer; a store
 * that replaces a present entry is also handed to backend->replay, which must redo
 * it in a way the hypervisor sees (see entry.S: under PVM's shadow paging a store
 * made through the Sentry's own mapping is invisible to KVM). A not-present entry
 * needs no replay: KVM reads it afresh on the fault it causes. */
#ifndef PLATFORM_KVM_PAGETABLES_H
#define PLATFORM_KVM_PAGETABLES_H

#include <stdint.h>

#define PTE_P    0x1ULL
#define PTE_W    0x2ULL
#define PTE_U    0x4ULL
#define PTE_A    0x20ULL
#define PTE_D    0x40ULL
#define PTE_PS   0x80ULL
#define PTE_NX   (1ULL << 63)
#define PTE_ADDR 0x000ffffffffff000ULL

struct pt_backend {
    /* table: host pointer to the table page at gpa. */
    uint64_t *(*table)(void *cx, uint64_t gpa);
    /* alloc: a table page (gpa > 0), contents arbitrary; root: it will be a PML4.
     * 0 when out of pages. */
    uint64_t (*alloc)(void *cx, int root);
    void (*release)(void *cx, uint64_t gpa, int root);
    /* replay: the store of val into the entry at gpa must reach the hypervisor's view;
     * 0 or -errno. */
    int (*replay)(void *cx, uint64_t entry_gpa, uint64_t val);
    void *cx;
};

struct pagetable {
    const struct pt_backend *b;
    uint64_t root;          /* GPA of the PML4 */
    uint64_t replays;       /* stores replayed so far (a TLB flush is due after them) */
};

/* pt_init: an empty table whose PML4 slot keep_index holds keep_entry (the
 * supervisor region); 0 or -ENOMEM. */
int pt_init(struct pagetable *pt, const struct pt_backend *b, int keep_index,
            uint64_t keep_entry);
/* pt_destroy: releases every table page; no vCPU may use the table any more. */
void pt_destroy(struct pagetable *pt, int keep_index);

/* leaf flags for PROT_* */
uint64_t pt_prot_flags(int prot);

/* pt_map: [va, va+len) -> [gpa, gpa+len) with leaf flags (0 = not present). */
int pt_map(struct pagetable *pt, uint64_t va, uint64_t len, uint64_t gpa, uint64_t flags);
int pt_unmap(struct pagetable *pt, uint64_t va, uint64_t len);
/* pt_protect: new leaf flags for the present pages of the range. */
int pt_protect(struct pagetable *pt, uint64_t va, uint64_t len, uint64_t flags);
/* pt_lookup: the leaf entry for va, 0 if none. */
uint64_t pt_lookup(struct pagetable *pt, uint64_t va);

#endif
