/* lwIP's heap: mem_malloc, mem_calloc, mem_free and mem_trim replace the library's
 * (liblwip calls them through its PLT; see stack.c).
 *
 * Debian's lwIP takes all its memory from malloc (MEM_LIBC_MALLOC), including the
 * data of every segment: 32 KiB blocks on loopback, allocated by the sending thread
 * and freed by the reading one. glibc serves blocks that size from the allocating
 * thread's arena, so each free from the other thread takes that arena's lock
 * (contended: the sender is allocating), and a burst of frees lets the arena trim
 * its top, which the next allocations fault back in. perf put the three at about a
 * fifth of the Sentry's samples in bulk TCP. So blocks above BIG_MIN are kept, once
 * freed, on per-size free lists under one short-held lock, up to CACHE_MAX bytes;
 * smaller ones go to malloc, whose per-thread caches handle them well.
 *
 * Every block has a header with its size class (0: plain malloc). mem_trim stays a
 * no-op as in the library: blocks never shrink. */
#include "netstack/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/mem.h"

#define BIG_MIN 4096               /* smaller requests go to malloc */
#define CLASS_SIZE 4096            /* class c holds blocks of c * CLASS_SIZE bytes */
#define NCLASS 18                  /* up to 72 KiB: the largest pbuf (64 KiB of data
                                    * plus headers) */
#define CACHE_MAX (8u << 20)       /* bytes kept on the free lists at most */

struct hdr {
    size_t cls;                    /* size class, 0 for a plain malloc block */
    union {
        struct hdr *next;          /* on a free list */
        max_align_t align;         /* keeps the data after us 16-byte aligned */
    };
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct hdr *g_free[NCLASS + 1];  /* g_mu */
static size_t g_cached;                 /* g_mu: bytes on the lists */

void *mem_malloc(mem_size_t size)
{
    size_t need = size + sizeof(struct hdr);
    if (size < BIG_MIN || need > (size_t)NCLASS * CLASS_SIZE) {
        struct hdr *h = malloc(need);
        if (!h)
            return NULL;
        h->cls = 0;
        return h + 1;
    }
    size_t cls = (need + CLASS_SIZE - 1) / CLASS_SIZE;
    pthread_mutex_lock(&g_mu);
    struct hdr *h = g_free[cls];
    if (h) {
        g_free[cls] = h->next;
        g_cached -= cls * CLASS_SIZE;
    }
    pthread_mutex_unlock(&g_mu);
    if (!h && !(h = malloc(cls * CLASS_SIZE)))
        return NULL;
    h->cls = cls;
    return h + 1;
}

void *mem_calloc(mem_size_t count, mem_size_t size)
{
    if (size && count > (size_t)-1 / 2 / size)
        return NULL;
    void *p = mem_malloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void mem_free(void *mem)
{
    if (!mem)
        return;
    struct hdr *h = (struct hdr *)mem - 1;
    size_t cls = h->cls;
    if (cls) {
        pthread_mutex_lock(&g_mu);
        int keep = g_cached + cls * CLASS_SIZE <= CACHE_MAX;
        if (keep) {
            h->next = g_free[cls];
            g_free[cls] = h;
            g_cached += cls * CLASS_SIZE;
        }
        pthread_mutex_unlock(&g_mu);
        if (keep)
            return;
    }
    free(h);
}

void *mem_trim(void *mem, mem_size_t size)
{
    (void)size;
    return mem;
}

size_t ns_mem_cached(void)
{
    pthread_mutex_lock(&g_mu);
    size_t n = g_cached;
    pthread_mutex_unlock(&g_mu);
    return n;
}
