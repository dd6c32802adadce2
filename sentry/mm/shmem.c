/* Anonymous shared memory objects (see shmem.h): a page cache whose pages are the
 * storage, and a size beyond which faults are SIGBUS, as for a file. */
#include "sentry/mm/shmem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sysmacros.h>

#include "lib/util.h"
#include "sentry/mm/mm.h"
#include "sentry/mm/pagecache.h"

struct shmem {
    struct mappable m;
    int refs;                 /* atomic */
    uint64_t pages;           /* immutable */
    uint64_t ino;             /* what /proc/PID/maps shows */
    struct pagecache *pc;
};

static uint64_t g_next_ino = 1;

static struct shmem *shm(struct mappable *m) { return (struct shmem *)m; }

static int64_t shmem_get_page(struct mappable *m, uint64_t idx, int write)
{
    (void)write;   /* the pages are the storage: nothing to write back */
    struct shmem *s = shm(m);
    if (idx >= s->pages)
        return -ENXIO;
    return pc_get(s->pc, idx, NULL, NULL);
}

static void shmem_hold(struct mappable *m)
{
    __atomic_add_fetch(&shm(m)->refs, 1, __ATOMIC_RELAXED);
}

static void shmem_drop(struct mappable *m)
{
    struct shmem *s = shm(m);
    if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    pc_free(s->pc);
    free(s);
}

/* describe: as Linux shows a shared anonymous mapping: the deleted /dev/zero of the
 * kernel's internal shmem mount (device 00:01). */
static void shmem_describe(struct mappable *m, uint64_t *dev, uint64_t *ino, char *path,
                           size_t size)
{
    *dev = makedev(0, 1);
    *ino = shm(m)->ino;
    snprintf(path, size, "/dev/zero (deleted)");
}

static const struct mappable_ops g_shmem_ops = {
    .get_page = shmem_get_page,
    .hold = shmem_hold,
    .drop = shmem_drop,
    .describe = shmem_describe,
};

struct mappable *shmem_new(uint64_t len)
{
    struct shmem *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->pc = pc_new();
    if (!s->pc) {
        free(s);
        return NULL;
    }
    s->m.ops = &g_shmem_ops;
    s->refs = 1;
    s->pages = len >> PAGE_SHIFT;
    s->ino = __atomic_fetch_add(&g_next_ino, 1, __ATOMIC_RELAXED);
    return &s->m;
}
