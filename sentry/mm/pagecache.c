/* The page cache (see pagecache.h): a sorted array of (page index, memory-file
 * offset). Files are mostly filled in order, so inserts are appends; lookups bisect. */
#include "sentry/mm/pagecache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "sentry/mm/memfile.h"

struct pc_entry {
    uint64_t idx;
    uint64_t off;
    int dirty;
};

struct pagecache {
    pthread_mutex_t mu;
    struct pc_entry *e;   /* sorted by idx */
    size_t n, cap;
};

struct pagecache *pc_new(void)
{
    struct pagecache *pc = calloc(1, sizeof(*pc));
    if (pc)
        pthread_mutex_init(&pc->mu, NULL);
    return pc;
}

void pc_free(struct pagecache *pc)
{
    if (!pc)
        return;
    for (size_t i = 0; i < pc->n; i++)
        memfile_decref(pc->e[i].off, PAGE_SIZE);
    free(pc->e);
    pthread_mutex_destroy(&pc->mu);
    free(pc);
}

/* lower: the first entry with index >= idx. mu held. */
static size_t lower(const struct pagecache *pc, uint64_t idx)
{
    if (pc->n && pc->e[pc->n - 1].idx < idx)
        return pc->n;   /* the common append */
    size_t lo = 0, hi = pc->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pc->e[mid].idx < idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int64_t pc_find(struct pagecache *pc, uint64_t idx)
{
    pthread_mutex_lock(&pc->mu);
    size_t i = lower(pc, idx);
    int64_t off = (i < pc->n && pc->e[i].idx == idx) ? (int64_t)pc->e[i].off : -1;
    pthread_mutex_unlock(&pc->mu);
    return off;
}

int64_t pc_get(struct pagecache *pc, uint64_t idx, pc_fill_fn fill, void *arg)
{
    pthread_mutex_lock(&pc->mu);
    size_t i = lower(pc, idx);
    if (i < pc->n && pc->e[i].idx == idx) {
        uint64_t off = pc->e[i].off;
        memfile_incref(off, PAGE_SIZE);
        pthread_mutex_unlock(&pc->mu);
        return (int64_t)off;
    }
    pthread_mutex_unlock(&pc->mu);

    /* fill outside the lock: it may be a Gofer round trip */
    int64_t off = memfile_alloc(PAGE_SIZE);
    if (off < 0)
        return off;
    if (fill) {
        int err = fill(arg, idx, memfile_ptr((uint64_t)off));
        if (err < 0) {
            memfile_decref((uint64_t)off, PAGE_SIZE);
            return err;
        }
    }

    pthread_mutex_lock(&pc->mu);
    i = lower(pc, idx);
    if (i < pc->n && pc->e[i].idx == idx) {
        /* someone else filled it meanwhile: use theirs */
        memfile_decref((uint64_t)off, PAGE_SIZE);
        off = (int64_t)pc->e[i].off;
    } else {
        if (pc->n == pc->cap) {
            size_t cap = pc->cap ? pc->cap * 2 : 16;
            struct pc_entry *e = realloc(pc->e, cap * sizeof(*e));
            if (!e) {
                pthread_mutex_unlock(&pc->mu);
                memfile_decref((uint64_t)off, PAGE_SIZE);
                return -ENOMEM;
            }
            pc->e = e;
            pc->cap = cap;
        }
        memmove(&pc->e[i + 1], &pc->e[i], (pc->n - i) * sizeof(pc->e[0]));
        pc->e[i] = (struct pc_entry){ idx, (uint64_t)off, 0 };
        pc->n++;
    }
    memfile_incref((uint64_t)off, PAGE_SIZE);   /* the caller's; the cache keeps one */
    pthread_mutex_unlock(&pc->mu);
    return off;
}

void pc_truncate(struct pagecache *pc, uint64_t idx, uint64_t tail_from)
{
    pthread_mutex_lock(&pc->mu);
    size_t i = lower(pc, idx);
    for (size_t j = i; j < pc->n; j++)
        memfile_decref(pc->e[j].off, PAGE_SIZE);
    pc->n = i;
    if (tail_from && i > 0 && pc->e[i - 1].idx == idx - 1) {
        size_t in_page = tail_from & (PAGE_SIZE - 1);
        if (in_page)
            memset((char *)memfile_ptr(pc->e[i - 1].off) + in_page, 0,
                   PAGE_SIZE - in_page);
    }
    pthread_mutex_unlock(&pc->mu);
}

void pc_drop(struct pagecache *pc, uint64_t idx)
{
    pthread_mutex_lock(&pc->mu);
    size_t i = lower(pc, idx);
    if (i < pc->n && pc->e[i].idx == idx) {
        memfile_decref(pc->e[i].off, PAGE_SIZE);
        memmove(&pc->e[i], &pc->e[i + 1], (pc->n - i - 1) * sizeof(pc->e[0]));
        pc->n--;
    }
    pthread_mutex_unlock(&pc->mu);
}

void pc_mark_dirty(struct pagecache *pc, uint64_t idx)
{
    pthread_mutex_lock(&pc->mu);
    size_t i = lower(pc, idx);
    if (i < pc->n && pc->e[i].idx == idx)
        pc->e[i].dirty = 1;
    pthread_mutex_unlock(&pc->mu);
}

int64_t pc_next_dirty(struct pagecache *pc, uint64_t idx)
{
    pthread_mutex_lock(&pc->mu);
    int64_t ret = -1;
    for (size_t i = lower(pc, idx); i < pc->n; i++) {
        if (pc->e[i].dirty) {
            pc->e[i].dirty = 0;
            ret = (int64_t)pc->e[i].idx;
            break;
        }
    }
    pthread_mutex_unlock(&pc->mu);
    return ret;
}

uint64_t pc_pages(struct pagecache *pc)
{
    pthread_mutex_lock(&pc->mu);
    uint64_t n = pc->n;
    pthread_mutex_unlock(&pc->mu);
    return n;
}

int64_t pc_next_present(struct pagecache *pc, uint64_t idx)
{
    pthread_mutex_lock(&pc->mu);
    size_t i = lower(pc, idx);
    int64_t ret = i < pc->n ? (int64_t)pc->e[i].idx : -1;
    pthread_mutex_unlock(&pc->mu);
    return ret;
}
