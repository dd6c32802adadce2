/* tmpfs directories: the name → inode table and getdents over it (see tmpfs_priv.h
 * for the layout and why positions are cookies). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/fs/tmpfs_priv.h"

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;   /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

struct tdir *tdir_new(uint64_t parent_ino)
{
    struct tdir *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->nbuckets = 16;
    d->buckets = calloc(d->nbuckets, sizeof(d->buckets[0]));
    if (!d->buckets) {
        free(d);
        return NULL;
    }
    pthread_rwlock_init(&d->rw, NULL);
    d->next_cookie = 2;
    d->parent_ino = parent_ino;
    return d;
}

void tdir_free(struct tdir *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nslots; i++) {
        if (d->slots[i].d) {
            inode_put(d->slots[i].d->ino);
            free(d->slots[i].d);
        }
    }
    free(d->slots);
    free(d->buckets);
    pthread_rwlock_destroy(&d->rw);
    free(d);
}

struct dent *tdir_find(struct tdir *d, const char *name)
{
    uint32_t h = name_hash(name);
    for (struct dent *e = d->buckets[h & (d->nbuckets - 1)]; e; e = e->hnext)
        if (e->hash == h && strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

/* grow_buckets: doubles the hash table when it gets crowded (failure is harmless:
 * chains just get longer). */
static void grow_buckets(struct tdir *d)
{
    size_t n = d->nbuckets * 2;
    struct dent **b = calloc(n, sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i < d->nbuckets; i++) {
        struct dent *e = d->buckets[i];
        while (e) {
            struct dent *next = e->hnext;
            e->hnext = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(d->buckets);
    d->buckets = b;
    d->nbuckets = n;
}

/* compact: squeezes removed slots out once they are the majority. Positions are
 * cookies, not indexes, so readers are unaffected. */
static void compact(struct tdir *d)
{
    size_t j = 0;
    for (size_t i = 0; i < d->nslots; i++)
        if (d->slots[i].d)
            d->slots[j++] = d->slots[i];
    d->nslots = j;
    d->ndead = 0;
}

int tdir_add(struct tdir *d, const char *name, struct inode *ino)
{
    size_t len = strlen(name);
    if (d->nslots == d->capslots) {
        if (d->ndead > d->nslots / 4) {
            compact(d);
        } else {
            size_t cap = d->capslots ? d->capslots * 2 : 8;
            struct slot *s = realloc(d->slots, cap * sizeof(*s));
            if (!s)
                return -ENOMEM;
            d->slots = s;
            d->capslots = cap;
        }
    }
    struct dent *e = malloc(sizeof(*e) + len + 1);
    if (!e)
        return -ENOMEM;
    memcpy(e->name, name, len + 1);
    e->len = (uint32_t)len;
    e->hash = name_hash(name);
    e->ino = ino;
    inode_get(ino);
    e->cookie = d->next_cookie++;
    d->slots[d->nslots++] = (struct slot){ e->cookie, e };
    size_t b = e->hash & (d->nbuckets - 1);
    e->hnext = d->buckets[b];
    d->buckets[b] = e;
    if (++d->count > d->nbuckets)
        grow_buckets(d);
    return 0;
}

/* slot_at: the index of the first slot with cookie >= pos. */
static size_t slot_at(const struct tdir *d, uint64_t pos)
{
    size_t lo = 0, hi = d->nslots;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->slots[mid].cookie < pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void tdir_remove(struct tdir *d, struct dent *e)
{
    struct dent **pp = &d->buckets[e->hash & (d->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    size_t i = slot_at(d, e->cookie);
    d->slots[i].d = NULL;
    d->ndead++;
    d->count--;
    if (d->ndead > 32 && d->ndead * 2 > d->nslots)
        compact(d);
    inode_put(e->ino);
    free(e);
}

static unsigned dt_type(uint32_t mode)
{
    return (mode & S_IFMT) >> 12;   /* DT_* are the S_IFMT bits shifted */
}

int tdir_iterate(struct inode *dir, struct file *f, struct dir_emit *e)
{
    struct tdir *d = TN(dir)->dir;
    pthread_rwlock_rdlock(&d->rw);
    if (d->dead)
        goto out;
    if (f->pos == 0) {
        if (e->emit(e, ".", 1, dir->ino, DT_DIR, 1))
            goto out;
        f->pos = 1;
    }
    if (f->pos == 1) {
        if (e->emit(e, "..", 2, d->parent_ino, DT_DIR, 2))
            goto out;
        f->pos = 2;
    }
    for (size_t i = slot_at(d, (uint64_t)f->pos); i < d->nslots; i++) {
        struct dent *de = d->slots[i].d;
        if (!de)
            continue;
        /* the type bits of mode never change, so no inode lock is needed */
        if (e->emit(e, de->name, de->len, de->ino->ino, dt_type(de->ino->mode),
                    (int64_t)de->cookie + 1))
            break;
        f->pos = (int64_t)de->cookie + 1;
    }
out:
    pthread_rwlock_unlock(&d->rw);
    return 0;
}
