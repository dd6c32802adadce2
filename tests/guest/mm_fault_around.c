/* File mappings whose neighbouring pages are mapped ahead of use (fault-around): every
 * page must still behave as if it were faulted in alone. Private pages stay private
 * copies, shared pages stay the file's pages (writes reach the file, and the file's
 * later changes show), the page past the end of the file still raises SIGBUS, and a
 * read-only shared mapping made writable with mprotect still writes through. */
#include "guest.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

#define NPAGES 40              /* more than one fault-around window */
#define FILE_BYTES (NPAGES * GUEST_PAGE_SIZE - 100)

static sigjmp_buf g_jump;

static void on_bus(int sig)
{
    (void)sig;
    siglongjmp(g_jump, 1);
}

/* page_tag: what make_file writes at the start of page i. */
static unsigned char page_tag(int i) { return (unsigned char)(0x40 + i); }

static int make_file(void)
{
    char path[] = "/tmp/fault_around_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    static char buf[NPAGES * GUEST_PAGE_SIZE];
    for (int i = 0; i < NPAGES; i++)
        memset(buf + i * GUEST_PAGE_SIZE, page_tag(i), GUEST_PAGE_SIZE);
    CHECK(write(fd, buf, FILE_BYTES) == (ssize_t)FILE_BYTES);
    return fd;
}

/* all_pages_ok: each page of m shows its tag, read from the middle of the page, in a
 * scattered order so that most reads land on pages mapped around an earlier fault. */
static int all_pages_ok(const unsigned char *m)
{
    for (int k = 0; k < NPAGES; k++) {
        int i = (k * 7) % NPAGES;
        if (m[i * GUEST_PAGE_SIZE + 17] != page_tag(i))
            return 0;
    }
    return 1;
}

static void private_mapping(int fd)
{
    unsigned char *m = mmap(NULL, NPAGES * GUEST_PAGE_SIZE, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE, fd, 0);
    CHECK(m != MAP_FAILED);
    say("private: first read page 0 tag ok: %d\n", m[5] == page_tag(0));
    say("private: every page ok: %d\n", all_pages_ok(m));
    m[3 * GUEST_PAGE_SIZE] = 0xee;   /* a neighbour mapped ahead, now written */
    unsigned char c;
    CHECK(pread(fd, &c, 1, 3 * GUEST_PAGE_SIZE) == 1);
    say("private: write stays private: %d\n", c == page_tag(3));
    say("private: write visible in mapping: %d\n", m[3 * GUEST_PAGE_SIZE] == 0xee);
    /* the file changes after the mapping read a page: an untouched private page shows
     * the file's data (Linux maps the page cache until the first write) */
    unsigned char z = 0x11;
    CHECK(pwrite(fd, &z, 1, 6 * GUEST_PAGE_SIZE + 1) == 1);
    say("private: file change shows in unwritten page: %d\n", m[6 * GUEST_PAGE_SIZE + 1] == 0x11);
    z = page_tag(6);
    CHECK(pwrite(fd, &z, 1, 6 * GUEST_PAGE_SIZE + 1) == 1);
    CHECK(munmap(m, NPAGES * GUEST_PAGE_SIZE) == 0);
}

static void shared_mapping(int fd)
{
    unsigned char *m = mmap(NULL, NPAGES * GUEST_PAGE_SIZE, PROT_READ | PROT_WRITE,
                            MAP_SHARED, fd, 0);
    CHECK(m != MAP_FAILED);
    say("shared: every page ok: %d\n", all_pages_ok(m));
    m[9 * GUEST_PAGE_SIZE + 2] = 0x22;
    unsigned char c;
    CHECK(pread(fd, &c, 1, 9 * GUEST_PAGE_SIZE + 2) == 1);
    say("shared: write reaches the file: %d\n", c == 0x22);
    m[9 * GUEST_PAGE_SIZE + 2] = page_tag(9);
    CHECK(munmap(m, NPAGES * GUEST_PAGE_SIZE) == 0);

    /* read-only shared, read (pages mapped around), then made writable */
    m = mmap(NULL, NPAGES * GUEST_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(m != MAP_FAILED);
    say("shared ro: every page ok: %d\n", all_pages_ok(m));
    CHECK(mprotect(m, NPAGES * GUEST_PAGE_SIZE, PROT_READ | PROT_WRITE) == 0);
    m[12 * GUEST_PAGE_SIZE + 4] = 0x33;
    CHECK(msync(m, NPAGES * GUEST_PAGE_SIZE, MS_SYNC) == 0);
    CHECK(pread(fd, &c, 1, 12 * GUEST_PAGE_SIZE + 4) == 1);
    say("shared ro->rw: write reaches the file: %d\n", c == 0x33);
    CHECK(munmap(m, NPAGES * GUEST_PAGE_SIZE) == 0);
}

static void past_end(int fd)
{
    /* two pages more than the file: the last file page reads zeros after the end,
     * the page after it raises SIGBUS even though its neighbours were mapped */
    size_t len = (NPAGES + 2) * GUEST_PAGE_SIZE;
    unsigned char *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(m != MAP_FAILED);
    say("end: last page tag ok: %d\n", m[(NPAGES - 1) * GUEST_PAGE_SIZE] == page_tag(NPAGES - 1));
    say("end: zero after end of file: %d\n", m[FILE_BYTES + 50] == 0);
    struct sigaction sa = { .sa_handler = on_bus };
    CHECK(sigaction(SIGBUS, &sa, NULL) == 0);
    volatile int got_bus = 0;
    if (sigsetjmp(g_jump, 1) == 0)
        (void)*(volatile unsigned char *)(m + NPAGES * GUEST_PAGE_SIZE);
    else
        got_bus = 1;
    say("end: page past the file raises SIGBUS: %d\n", got_bus);
    CHECK(munmap(m, len) == 0);
}

static void offset_mapping(int fd)
{
    /* a mapping that starts in the middle of the file: pages keep their file index */
    unsigned char *m = mmap(NULL, 5 * GUEST_PAGE_SIZE, PROT_READ, MAP_PRIVATE, fd,
                            21 * GUEST_PAGE_SIZE);
    CHECK(m != MAP_FAILED);
    int ok = 1;
    for (int i = 4; i >= 0; i--)
        ok &= m[i * GUEST_PAGE_SIZE + 1] == page_tag(21 + i);
    say("offset: pages keep their file index: %d\n", ok);
    CHECK(munmap(m, 5 * GUEST_PAGE_SIZE) == 0);
}

int main(void)
{
    int fd = make_file();
    private_mapping(fd);
    shared_mapping(fd);
    past_end(fd);
    offset_mapping(fd);
    close(fd);
    return 0;
}
