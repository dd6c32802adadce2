/* The memory file. See memfile.h for the contract.
 *
 * Layout: the memfd is mapped once, MAP_SHARED, over a reservation of max_size bytes;
 * the file itself grows in GROW_STEP steps (mapping past the end of a file is allowed,
 * and we only touch pages below it). Free space is a sorted list of extents below
 * `top`, the high-water mark; above it the file is fresh. Reference counts are one
 * uint32_t per page in a lazily committed array. */
#include "sentry/mm/memfile.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

#define GROW_STEP (64ULL << 20)

struct extent { uint64_t off, len; };

char *g_memfile_base;
static int g_memfd = -1;
static uint64_t g_max, g_size, g_top, g_used;
static uint32_t *g_refs;                 /* one count per page; atomics */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER; /* guards the fields below */
static struct extent *g_free;            /* sorted by off, coalesced */
static size_t g_nfree, g_capfree;

int memfile_init(uint64_t max_size)
{
    max_size = page_down(max_size);
    int fd = memfd_create("sandbox-memory", MFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    void *base = mmap(NULL, max_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                      fd, 0);
    if (base == MAP_FAILED) {
        int e = -errno;
        close(fd);
        return e;
    }
    void *refs = mmap(NULL, (max_size >> PAGE_SHIFT) * sizeof(uint32_t),
                      PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                      -1, 0);
    if (refs == MAP_FAILED) {
        int e = -errno;
        munmap(base, max_size);
        close(fd);
        return e;
    }
    g_memfd = fd;
    g_memfile_base = base;
    g_refs = refs;
    g_max = max_size;
    return 0;
}

int memfile_fd(void) { return g_memfd; }
void *memfile_base(void) { return g_memfile_base; }
uint64_t memfile_max(void) { return g_max; }
uint64_t memfile_size(void) { return g_size; }
uint64_t memfile_used(void) { return __atomic_load_n(&g_used, __ATOMIC_RELAXED); }

static uint32_t *ref_of(uint64_t off) { return &g_refs[off >> PAGE_SHIFT]; }

/* free_insert: returns [off, off+len) to the free list, coalescing. g_mu held. */
static int free_insert(uint64_t off, uint64_t len)
{
    size_t lo = 0, hi = g_nfree;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (g_free[mid].off < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    int join_prev = lo > 0 && g_free[lo - 1].off + g_free[lo - 1].len == off;
    int join_next = lo < g_nfree && off + len == g_free[lo].off;
    if (join_prev && join_next) {
        g_free[lo - 1].len += len + g_free[lo].len;
        memmove(&g_free[lo], &g_free[lo + 1], (g_nfree - lo - 1) * sizeof(*g_free));
        g_nfree--;
    } else if (join_prev) {
        g_free[lo - 1].len += len;
    } else if (join_next) {
        g_free[lo].off = off;
        g_free[lo].len += len;
    } else {
        if (g_nfree == g_capfree) {
            size_t cap = g_capfree ? g_capfree * 2 : 64;
            struct extent *n = realloc(g_free, cap * sizeof(*n));
            if (!n)
                return -ENOMEM;  /* the pages leak from the file, nothing worse */
            g_free = n;
            g_capfree = cap;
        }
        memmove(&g_free[lo + 1], &g_free[lo], (g_nfree - lo) * sizeof(*g_free));
        g_free[lo] = (struct extent){ off, len };
        g_nfree++;
    }
    /* the extent that reaches the high-water mark gives its space back to it */
    if (g_nfree && g_free[g_nfree - 1].off + g_free[g_nfree - 1].len == g_top) {
        g_top = g_free[g_nfree - 1].off;
        g_nfree--;
    }
    return 0;
}

int64_t memfile_alloc(uint64_t len)
{
    if (len == 0 || !page_aligned(len) || len > g_max)
        return -ENOMEM;
    pthread_mutex_lock(&g_mu);
    int64_t off = -1;
    for (size_t i = 0; i < g_nfree; i++) {
        if (g_free[i].len >= len) {
            off = (int64_t)g_free[i].off;
            g_free[i].off += len;
            g_free[i].len -= len;
            if (g_free[i].len == 0) {
                memmove(&g_free[i], &g_free[i + 1], (g_nfree - i - 1) * sizeof(*g_free));
                g_nfree--;
            }
            break;
        }
    }
    if (off < 0) {
        if (g_max - g_top < len) {
            pthread_mutex_unlock(&g_mu);
            log_warn("memory file full: %llu bytes wanted", (unsigned long long)len);
            return -ENOMEM;
        }
        if (g_top + len > g_size) {
            uint64_t want = MIN(g_max, (g_top + len + GROW_STEP - 1) / GROW_STEP * GROW_STEP);
            if (ftruncate(g_memfd, (off_t)want) < 0) {
                int e = -errno;
                pthread_mutex_unlock(&g_mu);
                return e;
            }
            g_size = want;
        }
        off = (int64_t)g_top;
        g_top += len;
    }
    g_used += len;
    pthread_mutex_unlock(&g_mu);
    for (uint64_t p = 0; p < len; p += PAGE_SIZE)
        __atomic_store_n(ref_of((uint64_t)off + p), 1, __ATOMIC_RELAXED);
    return off;
}

void memfile_incref(uint64_t off, uint64_t len)
{
    for (uint64_t p = 0; p < len; p += PAGE_SIZE)
        __atomic_add_fetch(ref_of(off + p), 1, __ATOMIC_RELAXED);
}

/* release_run: punches [off, off+len) out of the file and frees it. */
static void release_run(uint64_t off, uint64_t len)
{
    /* the hole reads back as zeroes, which is what the next owner must see */
    if (fallocate(g_memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
                  (off_t)len) < 0)
        memset(memfile_ptr(off), 0, len);
    pthread_mutex_lock(&g_mu);
    g_used -= len;
    free_insert(off, len);
    pthread_mutex_unlock(&g_mu);
}

void memfile_decref(uint64_t off, uint64_t len)
{
    uint64_t run = 0, run_len = 0;
    for (uint64_t p = 0; p < len; p += PAGE_SIZE) {
        if (__atomic_sub_fetch(ref_of(off + p), 1, __ATOMIC_ACQ_REL) == 0) {
            if (run_len && run + run_len == off + p) {
                run_len += PAGE_SIZE;
            } else {
                if (run_len)
                    release_run(run, run_len);
                run = off + p;
                run_len = PAGE_SIZE;
            }
        }
    }
    if (run_len)
        release_run(run, run_len);
}

uint32_t memfile_refs(uint64_t off)
{
    return __atomic_load_n(ref_of(off), __ATOMIC_RELAXED);
}
