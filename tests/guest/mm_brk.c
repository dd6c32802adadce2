/* The program break through the raw brk system call: grow, use, shrink, grow again
 * (re-grown pages are zero), and refused moves. libc's own sbrk is not used (musl's
 * only supports sbrk(0)), and nothing here may allocate between brk calls, so output
 * goes through say(), which does not. */
#include "guest.h"

#include <stdint.h>

#define PG GUEST_PAGE_SIZE

static uintptr_t brk_to(uintptr_t addr) { return (uintptr_t)syscall(SYS_brk, addr); }

static uintptr_t page_up(uintptr_t a) { return (a + PG - 1) & ~(PG - 1); }

int main(void)
{
    /* The break may sit mid-page (libc may have used it already); all above it is ours. */
    uintptr_t b0 = brk_to(0);
    CHECK(b0 != 0 && brk_to(0) == b0);

    uintptr_t top = b0 + 8 * PG;
    CHECK(brk_to(top) == top);
    CHECK(brk_to(0) == top);
    unsigned char *heap = (unsigned char *)b0;
    for (uintptr_t a = b0; a < top; a++)
        CHECK(a < page_up(b0) || *(unsigned char *)a == 0); /* fresh pages are zero */
    memset(heap, 0xab, top - b0);
    CHECK(heap[0] == 0xab && heap[top - b0 - 1] == 0xab);
    say("ok grow by 8 pages, zero-filled, writable\n");

    /* Shrink: what stays below the break keeps its contents; the rest is gone. */
    uintptr_t low = b0 + 2 * PG;
    CHECK(brk_to(low) == low);
    CHECK(brk_to(0) == low);
    CHECK(heap[0] == 0xab && heap[low - b0 - 1] == 0xab);
    CHECK(!can_read((void *)page_up(low)) && !can_read((void *)(top - 8)));
    say("ok shrink keeps the low part, unmaps the rest\n");

    /* Grow again: the pages given back come back zeroed. */
    CHECK(brk_to(top) == top);
    for (uintptr_t a = page_up(low); a < top; a++)
        CHECK(*(unsigned char *)a == 0);
    CHECK(heap[0] == 0xab);
    say("ok grow again, re-grown pages are zero\n");

    /* Refused moves leave the break where it was and return it. */
    CHECK(brk_to(1) == top);                    /* below the start of the heap */
    CHECK(brk_to((uintptr_t)1 << 63) == top);   /* beyond user space */
    CHECK(brk_to(0) == top);
    say("ok refused moves return the current break\n");

    CHECK(brk_to(b0) == b0);
    CHECK(brk_to(0) == b0);
    say("ok back to the start\n");
    return 0;
}
