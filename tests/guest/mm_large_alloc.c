/* Large anonymous memory: a 1 GiB mapping and a 256 MiB malloc, touched sparsely so
 * only a few MiB are ever populated. */
#include "guest.h"

#include <stdint.h>
#include <sys/mman.h>

#define MiB (1UL << 20)
#define GiB (1UL << 30)

/* map_gib: 1 GiB of fresh anonymous memory. Where transparent huge pages are always on,
 * each touch would populate 2 MiB, so ask for small pages; the answer does not matter
 * (the sandbox need not implement MADV_NOHUGEPAGE). */
static unsigned char *map_gib(void)
{
    unsigned char *p = mmap(NULL, GiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                            -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK((uintptr_t)p % GUEST_PAGE_SIZE == 0);
    (void)madvise(p, GiB, MADV_NOHUGEPAGE);
    return p;
}

/* touch: writes a distinct byte every MiB of [p, p+size), then reads all of them back,
 * along with the never-written byte just before each (which must still be zero when
 * zero_rest is set). */
static void touch(unsigned char *p, size_t size, int zero_rest)
{
    for (size_t off = 0; off < size; off += MiB)
        p[off + 123] = (unsigned char)(1 + off / MiB % 251);
    for (size_t off = 0; off < size; off += MiB) {
        CHECK(p[off + 123] == (unsigned char)(1 + off / MiB % 251));
        if (zero_rest)
            CHECK(p[off + 122] == 0 && p[off + MiB - 1] == 0);
    }
}

int main(void)
{
    unsigned char *p = map_gib();
    touch(p, GiB, 1);
    /* The last byte of the mapping is usable too. */
    p[GiB - 1] = 0x5a;
    CHECK(p[GiB - 1] == 0x5a);
    CHECK(munmap(p, GiB) == 0);
    say("ok mmap 1 GiB, touched every MiB\n");

    unsigned char *m = malloc(256 * MiB);
    CHECK(m != NULL);
    touch(m, 256 * MiB, 0);
    free(m);
    say("ok malloc 256 MiB, touched every MiB\n");

    /* Twice more, so unmapped memory is really given back and reusable. */
    for (int i = 0; i < 2; i++) {
        p = map_gib();
        touch(p, GiB, 1);
        CHECK(munmap(p, GiB) == 0);
    }
    say("ok mmap 1 GiB twice more\n");
    return 0;
}
