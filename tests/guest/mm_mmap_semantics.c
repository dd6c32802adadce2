/* mmap, munmap, mprotect, mremap, madvise and mincore on anonymous memory: results,
 * errno values and contents, as Linux gives them. Guests get no signals, so nothing
 * here faults: protections are probed through system calls (can_read/can_write) and
 * whether a page is mapped through mincore (ENOMEM on a hole). */
#include "guest.h"

#include <stdint.h>
#include <sys/mman.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PG GUEST_PAGE_SIZE
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

/* Raw system calls: libc wrappers differ (musl's mprotect rounds the address down and
 * its mmap rejects huge lengths itself), and it is the kernel's answer under test. */
static void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, long off)
{
    return (void *)syscall(SYS_mmap, addr, len, (long)prot, (long)flags, (long)fd, off);
}
static int sys_munmap(void *addr, size_t len) { return (int)syscall(SYS_munmap, addr, len); }
static int sys_mprotect(void *addr, size_t len, int prot)
{
    return (int)syscall(SYS_mprotect, addr, len, (long)prot);
}
static int sys_madvise(void *addr, size_t len, int advice)
{
    return (int)syscall(SYS_madvise, addr, len, (long)advice);
}
static int sys_mincore(void *addr, size_t len, unsigned char *vec)
{
    return (int)syscall(SYS_mincore, addr, len, vec);
}
static void *sys_mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    void *new_addr = (flags & MREMAP_FIXED) ? va_arg(ap, void *) : NULL;
    va_end(ap);
    return (void *)syscall(SYS_mremap, old, old_len, new_len, (long)flags, new_addr);
}

static unsigned char *map(size_t pages, int prot)
{
    unsigned char *p = sys_mmap(NULL, pages * PG, prot, ANON, -1, 0);
    CHECK(p != MAP_FAILED);
    return p;
}

/* mapped: 1 if every page of [p, p+pages*PG) is mapped, 0 if none is. */
static int mapped(const void *p, size_t pages)
{
    unsigned char vec[64];
    CHECK(pages <= sizeof(vec));
    if (sys_mincore((void *)p, pages * PG, vec) == 0)
        return 1;
    CHECK(errno == ENOMEM);
    return 0;
}

/* resident: mincore's bit for the page at p. */
static int resident(const void *p)
{
    unsigned char vec = 0xff;
    CHECK(sys_mincore((void *)p, PG, &vec) == 0);
    return vec & 1;
}

static int all_equal(const unsigned char *p, size_t size, unsigned char c)
{
    for (size_t i = 0; i < size; i++)
        if (p[i] != c)
            return 0;
    return 1;
}

static void test_bad_arguments(void)
{
    unsigned char *p = map(2, RW);

    CHECK_ERR(sys_mmap(NULL, 0, RW, ANON, -1, 0), EINVAL);
    CHECK_ERR(sys_mmap(NULL, PG, RW, MAP_ANONYMOUS, -1, 0), EINVAL); /* no PRIVATE/SHARED */
    CHECK_ERR(sys_mmap(p + 1, PG, RW, ANON | MAP_FIXED, -1, 0), EINVAL);
    CHECK_ERR(sys_mmap(NULL, PG, RW, ANON, -1, 1), EINVAL);          /* unaligned offset */
    CHECK_ERR(sys_mmap(NULL, SIZE_MAX, RW, ANON, -1, 0), ENOMEM);    /* rounds up to 0 */
    CHECK_ERR(sys_mmap(NULL, 1UL << 60, RW, ANON, -1, 0), ENOMEM);
    say("ok mmap EINVAL/ENOMEM\n");

    CHECK_ERR(sys_munmap(p + 1, PG), EINVAL);
    CHECK_ERR(sys_munmap(p, 0), EINVAL);
    CHECK_ERR(sys_mprotect(p + 1, PG, PROT_READ), EINVAL);
    CHECK_ERR(sys_madvise(p + 1, PG, MADV_DONTNEED), EINVAL);
    unsigned char vec[2];
    CHECK_ERR(sys_mincore(p + 1, PG, vec), EINVAL);
    CHECK_ERR(sys_mremap(p + 1, PG, 2 * PG, MREMAP_MAYMOVE), EINVAL);
    CHECK_ERR(sys_mremap(p, PG, 0, MREMAP_MAYMOVE), EINVAL);
    CHECK_ERR(sys_mremap(p, PG, PG, MREMAP_FIXED, p + PG), EINVAL); /* FIXED needs MAYMOVE */
    CHECK_ERR(sys_mremap(p, PG, PG, 0x80), EINVAL);                 /* unknown flag */
    say("ok munmap/mprotect/madvise/mincore/mremap EINVAL\n");

    CHECK(sys_munmap(p, 2 * PG) == 0);
    CHECK(sys_munmap(p, 2 * PG) == 0); /* unmapping a hole is not an error */
    CHECK(!mapped(p, 2));
    CHECK_ERR(sys_mprotect(p, PG, PROT_READ), ENOMEM);
    CHECK_ERR(sys_madvise(p, PG, MADV_DONTNEED), ENOMEM);
    CHECK_ERR(sys_mincore(p, PG, vec), ENOMEM);
    CHECK_ERR(sys_mremap(p, PG, 2 * PG, MREMAP_MAYMOVE), EFAULT);
    say("ok munmap of a hole succeeds; others ENOMEM/EFAULT on it\n");
}

static void test_fixed(void)
{
    unsigned char *p = map(4, RW);
    memset(p, 'A', 4 * PG);

    /* MAP_FIXED replaces the page in place with a fresh zero page. */
    CHECK(sys_mmap(p + PG, PG, RW, ANON | MAP_FIXED, -1, 0) == p + PG);
    CHECK(all_equal(p + PG, PG, 0));
    CHECK(all_equal(p, PG, 'A') && all_equal(p + 2 * PG, 2 * PG, 'A'));
    say("ok MAP_FIXED replaces\n");

    CHECK_ERR(sys_mmap(p + PG, PG, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0), EEXIST);
    CHECK_ERR(sys_mmap(p + 3 * PG, 2 * PG, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0), EEXIST);
    CHECK(all_equal(p + 3 * PG, PG, 'A'));
    say("ok MAP_FIXED_NOREPLACE EEXIST\n");

    /* Unmapping the middle leaves both neighbours intact. */
    CHECK(sys_munmap(p + 2 * PG, PG) == 0);
    CHECK(!mapped(p + 2 * PG, 1) && mapped(p, 2) && mapped(p + 3 * PG, 1));
    CHECK(all_equal(p, PG, 'A') && all_equal(p + 3 * PG, PG, 'A'));
    p[PG] = 'x';
    p[4 * PG - 1] = 'y';
    CHECK(p[PG] == 'x' && p[4 * PG - 1] == 'y');
    say("ok munmap of the middle keeps neighbours\n");

    /* The hole takes a NOREPLACE mapping at exactly that address. */
    CHECK(sys_mmap(p + 2 * PG, PG, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0) == p + 2 * PG);
    CHECK(all_equal(p + 2 * PG, PG, 0));
    say("ok MAP_FIXED_NOREPLACE fills a hole\n");
    CHECK(sys_munmap(p, 4 * PG) == 0);
    CHECK(!mapped(p, 4));
}

static void test_mprotect(void)
{
    unsigned char *p = map(3, RW);
    memset(p, 'B', 3 * PG);

    CHECK(sys_mprotect(p + PG, PG, PROT_READ) == 0);
    CHECK(can_read(p + PG) && !can_write(p + PG));
    CHECK(can_write(p) && can_write(p + 2 * PG));
    CHECK(p[PG] == 'B' && p[2 * PG - 1] == 'B');
    say("ok mprotect PROT_READ: readable, not writable\n");

    CHECK(sys_mprotect(p + PG, PG, PROT_NONE) == 0);
    CHECK(!can_read(p + PG) && !can_write(p + PG) && mapped(p + PG, 1));
    CHECK(sys_mprotect(p + PG, PG, RW) == 0);
    CHECK(all_equal(p + PG, PG, 'B'));
    CHECK(can_write(p + PG));
    say("ok PROT_NONE and back keeps contents\n");

    CHECK(sys_munmap(p + 2 * PG, PG) == 0);
    CHECK_ERR(sys_mprotect(p, 3 * PG, PROT_READ), ENOMEM); /* range runs into a hole */
    CHECK(sys_munmap(p, 2 * PG) == 0);
    say("ok mprotect over a hole ENOMEM\n");

    unsigned char *q = map(2, PROT_NONE);
    CHECK(!can_read(q) && !can_read(q + PG));
    CHECK(sys_mprotect(q, 2 * PG, RW) == 0);
    CHECK(all_equal(q, 2 * PG, 0));
    q[0] = 1;
    q[2 * PG - 1] = 2;
    CHECK(q[0] == 1 && q[2 * PG - 1] == 2);
    CHECK(sys_munmap(q, 2 * PG) == 0);
    say("ok PROT_NONE mapping made RW and used\n");

    q = map(1, PROT_READ);
    CHECK(all_equal(q, PG, 0) && !can_write(q));
    CHECK(sys_munmap(q, PG) == 0);
    say("ok PROT_READ mapping reads zeros, not writable\n");
}

static void test_mremap(void)
{
    /* Grow in place: the pages after the mapping are free. */
    unsigned char *p = map(4, RW);
    CHECK(sys_munmap(p + 2 * PG, 2 * PG) == 0);
    memset(p, 'C', 2 * PG);
    CHECK(sys_mremap(p, 2 * PG, 4 * PG, 0) == p);
    CHECK(all_equal(p, 2 * PG, 'C') && all_equal(p + 2 * PG, 2 * PG, 0));
    say("ok mremap grows in place\n");

    /* Without MAYMOVE, growing into the rest of the mapping fails. */
    CHECK_ERR(sys_mremap(p, PG, 2 * PG, 0), ENOMEM);
    CHECK(all_equal(p, 2 * PG, 'C'));
    say("ok mremap cannot grow in place: ENOMEM\n");

    /* With MAYMOVE it moves, taking the contents along and leaving a hole. */
    unsigned char *q = sys_mremap(p, 2 * PG, 16 * PG, MREMAP_MAYMOVE);
    CHECK(q != MAP_FAILED && q != p);
    CHECK(all_equal(q, 2 * PG, 'C') && all_equal(q + 2 * PG, 14 * PG, 0));
    CHECK(!mapped(p, 2) && mapped(p + 2 * PG, 2));
    q[16 * PG - 1] = 1;
    CHECK(sys_munmap(q, 16 * PG) == 0 && sys_munmap(p + 2 * PG, 2 * PG) == 0);
    say("ok mremap MAYMOVE moves and keeps contents\n");

    /* Shrinking stays in place and unmaps the tail. */
    p = map(4, RW);
    memset(p, 'D', 4 * PG);
    CHECK(sys_mremap(p, 4 * PG, PG, 0) == p);
    CHECK(all_equal(p, PG, 'D') && !mapped(p + PG, 3));
    CHECK(sys_munmap(p, PG) == 0);
    say("ok mremap shrinks\n");

    /* MREMAP_FIXED moves onto a given address, replacing what was there. */
    unsigned char *src = map(2, RW);
    memset(src, 'E', 2 * PG);
    unsigned char *t = map(4, PROT_NONE);
    CHECK(sys_mremap(src, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, t + PG) == t + PG);
    CHECK(all_equal(t + PG, 2 * PG, 'E') && can_write(t + PG));
    CHECK(!can_read(t) && !can_read(t + 3 * PG) && mapped(t, 4));
    CHECK(!mapped(src, 2));
    CHECK(sys_munmap(t, 4 * PG) == 0);
    say("ok mremap MREMAP_FIXED\n");
}

static void test_madvise_mincore(void)
{
    /* Small mappings, so transparent huge pages cannot populate neighbours. */
    unsigned char *p = map(4, RW);
    CHECK(!resident(p) && !resident(p + PG)); /* never touched */
    p[0] = 1;
    p[2 * PG + 7] = 2;
    CHECK(resident(p) && resident(p + 2 * PG));
    CHECK(!resident(p + PG) && !resident(p + 3 * PG));
    say("ok mincore: touched pages resident, untouched not\n");

    memset(p, 'F', 4 * PG);
    CHECK(sys_madvise(p + PG, 2 * PG, MADV_DONTNEED) == 0);
    CHECK(resident(p) && !resident(p + PG) && !resident(p + 2 * PG) && resident(p + 3 * PG));
    CHECK(all_equal(p + PG, 2 * PG, 0));
    CHECK(all_equal(p, PG, 'F') && all_equal(p + 3 * PG, PG, 'F'));
    say("ok MADV_DONTNEED drops pages, which read back as zeros\n");

    /* A range with a hole: the mapped part is still dropped, the call says ENOMEM. */
    CHECK(sys_munmap(p + 3 * PG, PG) == 0);
    CHECK_ERR(sys_madvise(p, 4 * PG, MADV_DONTNEED), ENOMEM);
    CHECK(all_equal(p, 3 * PG, 0));
    CHECK(sys_munmap(p, 3 * PG) == 0);
    say("ok MADV_DONTNEED over a hole ENOMEM\n");
}

int main(void)
{
    test_bad_arguments();
    test_fixed();
    test_mprotect();
    test_mremap();
    test_madvise_mincore();
    return 0;
}
