/* The KVM platform's page tables as a data structure, over a backend of plain memory
 * that records which stores would be replayed through the guest. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "platform/kvm/pagetables.h"

#define NPAGES 64
static uint64_t g_mem[NPAGES][512] __attribute__((aligned(4096)));
static int g_next, g_replays;
static uint64_t g_last_replay_gpa, g_last_replay_val;

/* GPA of page i is (i + 1) * 4096: never 0 */
static uint64_t *table(void *cx, uint64_t gpa) { (void)cx; return g_mem[gpa / 4096 - 1]; }
static uint64_t alloc(void *cx, int root)
{
    (void)cx; (void)root;
    if (g_next == NPAGES)
        return 0;
    /* dirty on purpose: the table code must clear what it gets */
    memset(g_mem[g_next], 0, sizeof(g_mem[0]));
    return (uint64_t)(++g_next) * 4096;
}
static void release(void *cx, uint64_t gpa, int root) { (void)cx; (void)gpa; (void)root; }
static int replay(void *cx, uint64_t gpa, uint64_t val)
{
    (void)cx;
    g_replays++;
    g_last_replay_gpa = gpa;
    g_last_replay_val = val;
    return 0;
}
static const struct pt_backend g_b = { table, alloc, release, replay, NULL };

static struct pagetable fresh(void)
{
    g_next = g_replays = 0;
    struct pagetable pt;
    cr_assert_eq(pt_init(&pt, &g_b, 255, 0x1234003), 0);
    return pt;
}

Test(kvm_pagetables, map_then_lookup)
{
    struct pagetable pt = fresh();
    uint64_t f = pt_prot_flags(PROT_READ | PROT_WRITE);
    cr_assert_eq(pt_map(&pt, 0x400000, 3 * 4096, 0x10000, f), 0);
    cr_assert_eq(pt_lookup(&pt, 0x401000), 0x11000 | f);
    cr_assert_eq(pt_lookup(&pt, 0x403000), 0);
    cr_assert_eq(table(NULL, pt.root)[255], 0x1234003, "the kept PML4 slot");
    cr_assert_eq(g_replays, 0, "filling not-present entries needs no replay");
    cr_assert(f & PTE_NX);
    cr_assert(!(pt_prot_flags(PROT_READ | PROT_EXEC) & PTE_NX));
    cr_assert_eq(pt_prot_flags(PROT_NONE), 0);
}

Test(kvm_pagetables, downgrades_are_replayed)
{
    struct pagetable pt = fresh();
    uint64_t rw = pt_prot_flags(PROT_READ | PROT_WRITE);
    uint64_t ro = pt_prot_flags(PROT_READ);
    cr_assert_eq(pt_map(&pt, 0x400000, 2 * 4096, 0x10000, rw), 0);
    cr_assert_eq(pt_protect(&pt, 0x400000, 4096, ro), 0);
    cr_assert_eq(g_replays, 1);
    cr_assert_eq(g_last_replay_val, 0x10000 | ro);
    cr_assert_eq(pt_unmap(&pt, 0x400000, 2 * 4096), 0);
    cr_assert_eq(g_replays, 3);
    cr_assert_eq(g_last_replay_val, 0);
    cr_assert_eq(pt_lookup(&pt, 0x401000), 0);
    /* remapping a present page elsewhere (copy-on-write) is a replayed store too */
    cr_assert_eq(pt_map(&pt, 0x400000, 4096, 0x20000, ro), 0);
    cr_assert_eq(g_replays, 3);
    cr_assert_eq(pt_map(&pt, 0x400000, 4096, 0x30000, rw), 0);
    cr_assert_eq(g_replays, 4);
    cr_assert_eq(pt.replays, 4);
}

Test(kvm_pagetables, sparse_ranges_and_empty_unmap)
{
    struct pagetable pt = fresh();
    uint64_t f = pt_prot_flags(PROT_READ);
    /* a range across a 2 MiB and a 1 GiB boundary */
    cr_assert_eq(pt_map(&pt, 0x3ffff000, 2 * 4096, 0x5000, f), 0);
    cr_assert_eq(pt_lookup(&pt, 0x3ffff000), 0x5000 | f);
    cr_assert_eq(pt_lookup(&pt, 0x40000000), 0x6000 | f);
    int used = g_next;
    /* a huge unmap over nothing allocates nothing and replays nothing */
    cr_assert_eq(pt_unmap(&pt, 0x100000000000, 1ULL << 40), 0);
    cr_assert_eq(g_next, used);
    cr_assert_eq(g_replays, 0);
    /* protect touches only present pages */
    cr_assert_eq(pt_protect(&pt, 0x3ff00000, 0x200000, pt_prot_flags(PROT_READ | PROT_WRITE)), 0);
    cr_assert_eq(g_replays, 2);
}
