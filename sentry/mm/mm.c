/* Address spaces: the VMA set, the PMA set, and the platform mappings that mirror
 * them. See mm.h for the contract.
 *
 * Invariants (under mm->mu):
 *  - every PMA lies inside a VMA; pages are backed lazily, a chunk at a time;
 *  - the platform maps a page only where a PMA exists, with the VMA's protection
 *    (minus PROT_WRITE while the PMA is copy-on-write);
 *  - each PMA page holds one memory-file reference for this mm. */
#include "sentry/mm/mm.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/log.h"
#include "lib/util.h"
#include "platform/platform.h"
#include "sentry/mm/shmem.h"
#include "sentry/mm/memfile.h"
#include "sentry/mm/syscall_patch.h"

/* Backing is allocated this much at a time around a fault: memory-file space is cheap
 * (pages are only committed when touched) and every fault costs a platform round trip. */
#define FAULT_CHUNK (2ULL << 20)
/* A read fault on a file mapping also maps the other pages of its aligned window this
 * size (Linux's fault-around): loading a program touches most pages of its text once,
 * and each fault is a platform round trip while mapping one more page is not. */
#define FAULT_AROUND (256ULL << 10)
/* Where searches for free address space start, below the stack's reservation. */
#define STACK_RESERVE (8ULL << 20)
#define STACK_GAP (128ULL << 20)

struct mm *mm_create(int *err)
{
    struct mm *mm = calloc(1, sizeof(*mm));
    if (!mm) {
        *err = -ENOMEM;
        return NULL;
    }
    mm->as = g_plat->as_create(err);
    if (!mm->as) {
        free(mm);
        return NULL;
    }
    pthread_mutex_init(&mm->mu, NULL);
    rm_init(&mm->vmas, RM_VMA);
    rm_init(&mm->pmas, RM_PMA);
    mm->stack_top = page_down(g_plat->user_max) - 16 * PAGE_SIZE;
    while (g_plat->reserved(mm->stack_top - STACK_RESERVE, STACK_RESERVE))
        mm->stack_top -= FAULT_CHUNK;
    mm->mmap_base = mm->stack_top - STACK_RESERVE - STACK_GAP;
    mm->users = 1;
    return mm;
}

void mm_get(struct mm *mm) { __atomic_add_fetch(&mm->users, 1, __ATOMIC_RELAXED); }

void mm_put(struct mm *mm)
{
    if (__atomic_sub_fetch(&mm->users, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    for (size_t i = 0; i < mm->pmas.n; i++)
        memfile_decref(mm->pmas.r[i].pma.off, mm->pmas.r[i].end - mm->pmas.r[i].start);
    for (size_t i = 0; i < mm->vmas.n; i++)
        if (mm->vmas.r[i].vma.obj)
            mm->vmas.r[i].vma.obj->ops->drop(mm->vmas.r[i].vma.obj);
    if (mm->exe)
        mm->exe->ops->drop(mm->exe);
    syscall_sites_free(mm->syscall_sites);
    if (mm->as)
        g_plat->as_destroy(mm->as);
    rm_free(&mm->vmas);
    rm_free(&mm->pmas);
    pthread_mutex_destroy(&mm->mu);
    free(mm);
}

static struct range *back_page(struct mm *mm, struct range *v, uint64_t addr, int *err,
                               int *fresh);

/* The protection the platform gives a page: COW pages are read-only until copied. */
static int plat_prot(const struct vma *v, const struct pma *p)
{
    return p->cow ? (v->prot & ~PROT_WRITE) : v->prot;
}

int mm_activate(struct mm *mm)
{
    int err = 0;
    if (mm->as)
        return 0;
    mm->as = g_plat->as_create(&err);
    return mm->as ? 0 : err;
}

struct mm *mm_fork(struct mm *parent, int *err)
{
    struct mm *mm = calloc(1, sizeof(*mm));
    if (!mm) {
        *err = -ENOMEM;
        return NULL;
    }
    pthread_mutex_init(&mm->mu, NULL);
    rm_init(&mm->vmas, RM_VMA);
    rm_init(&mm->pmas, RM_PMA);
    mm->users = 1;
    pthread_mutex_lock(&parent->mu);
    /* under parent->mu: a site goes into the set before its bytes change, and they
     * change under parent->mu, so every patched byte the child inherits is a site
     * in its copy (a patch after this breaks copy-on-write: not the child's) */
    *err = 0;
    mm->syscall_sites = syscall_sites_fork(parent, err);
    if (*err < 0) {
        pthread_mutex_unlock(&parent->mu);
        rm_free(&mm->vmas);
        rm_free(&mm->pmas);
        free(mm);
        return NULL;
    }
    if (rm_reserve(&mm->vmas, parent->vmas.n) < 0 ||
        rm_reserve(&mm->pmas, parent->pmas.n) < 0) {
        pthread_mutex_unlock(&parent->mu);
        rm_free(&mm->vmas);
        rm_free(&mm->pmas);
        syscall_sites_free(mm->syscall_sites);
        free(mm);
        *err = -ENOMEM;
        return NULL;
    }
    if (parent->vmas.n)  /* an empty map has no array: memcpy(NULL, ...) is UB */
        memcpy(mm->vmas.r, parent->vmas.r, parent->vmas.n * sizeof(struct range));
    mm->vmas.n = parent->vmas.n;
    for (size_t i = 0; i < mm->vmas.n; i++)
        if (mm->vmas.r[i].vma.obj)
            mm->vmas.r[i].vma.obj->ops->hold(mm->vmas.r[i].vma.obj);
    for (size_t i = 0; i < parent->pmas.n; i++) {
        struct range *p = &parent->pmas.r[i];
        struct range *v = rm_find(&parent->vmas, p->start);
        /* private pages become copy-on-write in both; shared ones stay shared */
        if (!v || !(v->vma.flags & VMA_SHARED))
            p->pma.cow = 1;
        memfile_incref(p->pma.off, p->end - p->start);
        mm->pmas.r[i] = *p;
    }
    mm->pmas.n = parent->pmas.n;
    /* the parent may no longer write its private pages in place; only backed runs
     * are mapped, and mprotect stops at the first hole, so go run by run */
    for (size_t i = 0; i < parent->pmas.n; i++) {
        struct range *p = &parent->pmas.r[i];
        uint64_t s = p->start;
        while (s < p->end) {
            struct range *v = rm_find(&parent->vmas, s);
            if (!v)
                break;
            uint64_t e = MIN(v->end, p->end);
            if ((v->vma.prot & PROT_WRITE) && !(v->vma.flags & VMA_SHARED))
                g_plat->protect(parent->as, gva(s), e - s, v->vma.prot & ~PROT_WRITE);
            s = e;
        }
    }
    mm->brk_start = parent->brk_start;
    mm->brk_cur = parent->brk_cur;
    mm->mmap_base = parent->mmap_base;
    mm->stack_top = parent->stack_top;
    mm->arg_start = parent->arg_start;
    mm->arg_end = parent->arg_end;
    mm->env_start = parent->env_start;
    mm->env_end = parent->env_end;
    mm->auxv_start = parent->auxv_start;
    mm->auxv_end = parent->auxv_end;
    mm->exe = parent->exe;
    if (mm->exe)
        mm->exe->ops->hold(mm->exe);
    pthread_mutex_unlock(&parent->mu);
    return mm;
}

int mm_futex_key(struct mm *mm, uint64_t addr, uint64_t key[2])
{
    pthread_mutex_lock(&mm->mu);
    int ret = -EFAULT;
    struct range *v = rm_find(&mm->vmas, addr);
    if (!v)
        goto out;
    if (v->vma.flags & VMA_SHARED) {
        int fresh;
        if (rm_reserve(&mm->pmas, 3) < 0) {
            ret = -ENOMEM;
            goto out;
        }
        struct range *p = back_page(mm, v, addr, &ret, &fresh);
        if (!p)
            goto out;
        key[0] = 0;
        key[1] = p->pma.off + (addr - p->start);
    } else {
        key[0] = (uint64_t)(uintptr_t)mm;
        key[1] = addr;
    }
    ret = 0;
out:
    pthread_mutex_unlock(&mm->mu);
    return ret;
}

/* in_user_range: [start, end) is an address range a guest may map. */
static int in_user_range(uint64_t start, uint64_t len)
{
    return start >= MMAP_MIN_ADDR && !add_overflows(start, len) &&
           start + len <= g_plat->user_max && !g_plat->reserved(start, len);
}

/* drop_pmas: releases backing of [start, end), unmapping it from the platform. */
static void drop_pmas(struct mm *mm, uint64_t start, uint64_t end)
{
    size_t i = rm_lower(&mm->pmas, start);
    if (i >= mm->pmas.n || mm->pmas.r[i].start >= end)
        return;
    long first = rm_isolate(&mm->pmas, start, end);
    if (first < 0)
        return;  /* cannot happen: isolate only fails to grow, and reserve did */
    size_t j = (size_t)first;
    uint64_t lo = end, hi = start;
    while (j < mm->pmas.n && mm->pmas.r[j].start < end) {
        struct range *r = &mm->pmas.r[j];
        memfile_decref(r->pma.off, r->end - r->start);
        lo = MIN(lo, r->start);
        hi = MAX(hi, r->end);
        j++;
    }
    rm_remove_at(&mm->pmas, (size_t)first, j);
    if (lo < hi)
        g_plat->unmap(mm->as, gva(lo), hi - lo);
}

/* unmap_locked: removes VMAs and backing in [start, end). */
static int unmap_locked(struct mm *mm, uint64_t start, uint64_t end)
{
    if (rm_reserve(&mm->vmas, 2) < 0 || rm_reserve(&mm->pmas, 2) < 0)
        return -ENOMEM;
    long i = rm_isolate(&mm->vmas, start, end);
    size_t j = (size_t)i;
    while (j < mm->vmas.n && mm->vmas.r[j].start < end) {
        struct vma *v = &mm->vmas.r[j].vma;
        if (v->obj) {
            if ((v->flags & VMA_SHARED) && v->obj->ops->sync)
                v->obj->ops->sync(v->obj, v->pgoff,
                                  (mm->vmas.r[j].end - mm->vmas.r[j].start) >> PAGE_SHIFT);
            v->obj->ops->drop(v->obj);
        }
        j++;
    }
    rm_remove_at(&mm->vmas, (size_t)i, j);
    drop_pmas(mm, start, end);
    return 0;
}

int64_t mm_mmap(struct mm *mm, uint64_t addr, uint64_t len, int prot, int flags)
{
    const int all = PROT_READ | PROT_WRITE | PROT_EXEC;
    int type = flags & MAP_TYPE;
    if (type != MAP_SHARED && type != MAP_SHARED_VALIDATE)
        return mm_mmap_object(mm, addr, len, prot, flags, NULL, 0, all);
    /* shared: one object, so the mapping's pages are the same in every process that
     * inherits it, however late they are first touched */
    uint64_t size = page_up(len);
    if (len == 0 || size == 0 || size > g_plat->user_max)
        return len == 0 ? -EINVAL : -ENOMEM;
    struct mappable *obj = shmem_new(size);
    if (!obj)
        return -ENOMEM;
    int64_t r = mm_mmap_object(mm, addr, len, prot, flags & ~MAP_ANONYMOUS, obj, 0, all);
    obj->ops->drop(obj);
    return r;
}

int64_t mm_mmap_object(struct mm *mm, uint64_t addr, uint64_t len, int prot, int flags,
                       struct mappable *obj, uint64_t pgoff, int maxprot)
{
    if (len == 0)
        return -EINVAL;
    uint64_t size = page_up(len);
    if (size == 0 || size > g_plat->user_max)
        return -ENOMEM;
    int type = flags & MAP_TYPE;
    if (type != MAP_PRIVATE && type != MAP_SHARED && type != MAP_SHARED_VALIDATE)
        return -EINVAL;
    if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN | PROT_GROWSUP))
        return -EINVAL;
    int fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
    if (fixed && !page_aligned(addr))
        return -EINVAL;

    if (obj && pgoff + (size >> PAGE_SHIFT) < pgoff)
        return -EOVERFLOW;
    struct range r = { .vma = {
        .prot = prot & (PROT_READ | PROT_WRITE | PROT_EXEC),
        .maxprot = maxprot,
        .flags = (type == MAP_PRIVATE ? 0 : VMA_SHARED) |
                 ((flags & MAP_GROWSDOWN) ? VMA_GROWSDOWN : 0),
        .obj = obj,
        .pgoff = pgoff,
    } };

    pthread_mutex_lock(&mm->mu);
    int64_t ret;
    if (fixed) {
        if (!in_user_range(addr, size)) {
            ret = -ENOMEM;
            goto out;
        }
        if (rm_overlaps(&mm->vmas, addr, addr + size)) {
            if (flags & MAP_FIXED_NOREPLACE) {
                ret = -EEXIST;
                goto out;
            }
            if ((ret = unmap_locked(mm, addr, addr + size)) < 0)
                goto out;
        }
        r.start = addr;
    } else {
        uint64_t hint = page_down(addr);
        if (hint && in_user_range(hint, size) &&
            !rm_overlaps(&mm->vmas, hint, hint + size)) {
            r.start = hint;
        } else {
            r.start = rm_gap_down(&mm->vmas, size, MMAP_MIN_ADDR, mm->mmap_base,
                                  g_plat->reserved);
            if (!r.start) {
                ret = -ENOMEM;
                goto out;
            }
        }
    }
    r.end = r.start + size;
    if ((ret = rm_insert(&mm->vmas, &r)) < 0)
        goto out;
    if (obj)
        obj->ops->hold(obj);
    ret = (int64_t)r.start;
out:
    pthread_mutex_unlock(&mm->mu);
    return ret;
}

int mm_munmap(struct mm *mm, uint64_t addr, uint64_t len)
{
    if (!page_aligned(addr) || len == 0)
        return -EINVAL;
    uint64_t size = page_up(len);
    if (size == 0 || add_overflows(addr, size) || addr + size > g_plat->user_max)
        return -EINVAL;
    pthread_mutex_lock(&mm->mu);
    int ret = unmap_locked(mm, addr, addr + size);
    pthread_mutex_unlock(&mm->mu);
    return ret;
}

/* covered: [start, end) is entirely inside VMAs. */
static int covered(struct mm *mm, uint64_t start, uint64_t end)
{
    size_t i = rm_lower(&mm->vmas, start);
    uint64_t at = start;
    for (; i < mm->vmas.n && at < end; i++) {
        if (mm->vmas.r[i].start > at)
            return 0;
        at = mm->vmas.r[i].end;
    }
    return at >= end;
}

/* replatform: re-applies protections of [start, end) to the platform's mappings. */
static void replatform(struct mm *mm, uint64_t start, uint64_t end)
{
    size_t i = rm_lower(&mm->pmas, start);
    for (; i < mm->pmas.n && mm->pmas.r[i].start < end; i++) {
        struct range *p = &mm->pmas.r[i];
        uint64_t s = MAX(p->start, start), e = MIN(p->end, end);
        while (s < e) {
            struct range *v = rm_find(&mm->vmas, s);
            uint64_t ve = v ? MIN(v->end, e) : e;
            if (v)
                g_plat->protect(mm->as, gva(s), ve - s, plat_prot(&v->vma, &p->pma));
            s = ve;
        }
    }
}

int mm_mprotect(struct mm *mm, uint64_t addr, uint64_t len, int prot)
{
    if (!page_aligned(addr))
        return -EINVAL;
    if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN | PROT_GROWSUP))
        return -EINVAL;
    if (len == 0)
        return 0;
    uint64_t size = page_up(len);
    if (size == 0 || add_overflows(addr, size))
        return -ENOMEM;
    uint64_t end = addr + size;
    prot &= PROT_READ | PROT_WRITE | PROT_EXEC;
    pthread_mutex_lock(&mm->mu);
    int ret = -ENOMEM;
    if (!covered(mm, addr, end))
        goto out;
    long i = rm_isolate(&mm->vmas, addr, end);
    if (i < 0)
        goto out;
    size_t j;
    for (j = (size_t)i; j < mm->vmas.n && mm->vmas.r[j].start < end; j++) {
        if (prot & ~mm->vmas.r[j].vma.maxprot) {
            ret = -EACCES;
            goto out;
        }
    }
    for (j = (size_t)i; j < mm->vmas.n && mm->vmas.r[j].start < end; j++)
        mm->vmas.r[j].vma.prot = prot;
    replatform(mm, addr, end);
    /* merge back what the split separated, so repeated mprotects do not fragment */
    for (j = (size_t)i; j < mm->vmas.n && mm->vmas.r[j].start <= end; j++)
        j = rm_try_merge(&mm->vmas, j);
    if ((size_t)i > 0)
        rm_try_merge(&mm->vmas, (size_t)i - 1);
    ret = 0;
out:
    pthread_mutex_unlock(&mm->mu);
    return ret;
}

/* move_range: moves VMAs and backing of [old, old+len) to new_addr, which is free. */
static int move_range(struct mm *mm, uint64_t old, uint64_t len, uint64_t new_addr)
{
    uint64_t end = old + len;
    int64_t delta = (int64_t)(new_addr - old);
    if (rm_reserve(&mm->vmas, 4) < 0 || rm_reserve(&mm->pmas, 4) < 0)
        return -ENOMEM;
    long i = rm_isolate(&mm->vmas, old, end);
    size_t j = (size_t)i;
    while (j < mm->vmas.n && mm->vmas.r[j].start < end)
        j++;
    size_t nv = j - (size_t)i;
    struct range *vs = malloc((nv ? nv : 1) * sizeof(*vs));
    if (!vs)
        return -ENOMEM;
    memcpy(vs, &mm->vmas.r[i], nv * sizeof(*vs));
    rm_remove_at(&mm->vmas, (size_t)i, j);

    long pi = rm_isolate(&mm->pmas, old, end);
    size_t pj = (size_t)pi;
    while (pj < mm->pmas.n && mm->pmas.r[pj].start < end)
        pj++;
    size_t np = pj - (size_t)pi;
    struct range *ps = malloc((np ? np : 1) * sizeof(*ps));
    if (!ps) {
        free(vs);
        return -ENOMEM;
    }
    memcpy(ps, &mm->pmas.r[pi], np * sizeof(*ps));
    rm_remove_at(&mm->pmas, (size_t)pi, pj);
    g_plat->unmap(mm->as, gva(old), len);

    for (size_t k = 0; k < nv; k++) {
        vs[k].start += delta;
        vs[k].end += delta;
        rm_insert(&mm->vmas, &vs[k]);   /* room reserved; the target is free */
    }
    for (size_t k = 0; k < np; k++) {
        ps[k].start += delta;
        ps[k].end += delta;
        rm_insert(&mm->pmas, &ps[k]);
        /* the guest will fault the moved pages back in; nothing is copied */
    }
    free(vs);
    free(ps);
    return 0;
}

/* extend_obj: n grows the mapping v at what was address orig: for a mapped object it
 * continues at the matching page (and takes its own reference). */
static void extend_obj(struct range *n, const struct range *v, uint64_t orig)
{
    if (!v->vma.obj)
        return;
    n->vma.pgoff = v->vma.pgoff + ((orig - v->start) >> PAGE_SHIFT);
    v->vma.obj->ops->hold(v->vma.obj);
}

int64_t mm_mremap(struct mm *mm, uint64_t old, uint64_t old_len, uint64_t new_len,
                  int flags, uint64_t new_addr)
{
    if (!page_aligned(old))
        return -EINVAL;
    if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP))
        return -EINVAL;
    if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))
        return -EINVAL;
    if (flags & MREMAP_DONTUNMAP)
        return -EINVAL;  /* not supported yet: only for private anonymous moves */
    old_len = page_up(old_len);
    uint64_t size = page_up(new_len);
    if (size == 0)
        return -EINVAL;
    if (add_overflows(old, old_len))
        return -EINVAL;

    pthread_mutex_lock(&mm->mu);
    int64_t ret;
    struct range *v = rm_find(&mm->vmas, old);
    if (!v || (old_len && old + old_len > v->end)) {
        ret = -EFAULT;
        goto out;
    }
    if (old_len == 0) {
        ret = -EINVAL;  /* duplicating a shared mapping: not supported yet */
        goto out;
    }
    struct range vcopy = *v;

    if (flags & MREMAP_FIXED) {
        if (!page_aligned(new_addr) || !in_user_range(new_addr, size)) {
            ret = -EINVAL;
            goto out;
        }
        if (new_addr < old + old_len && old < new_addr + size) {
            ret = -EINVAL;
            goto out;
        }
        if ((ret = unmap_locked(mm, new_addr, new_addr + size)) < 0)
            goto out;
        if (size < old_len) {
            if ((ret = unmap_locked(mm, old + size, old + old_len)) < 0)
                goto out;
            old_len = size;
        }
        if ((ret = move_range(mm, old, old_len, new_addr)) < 0)
            goto out;
        if (size > old_len) {
            struct range n = vcopy;
        extend_obj(&n, &vcopy, old + old_len);
            n.start = new_addr + old_len;
            n.end = new_addr + size;
            if ((ret = rm_insert(&mm->vmas, &n)) < 0)
                goto out;
        }
        ret = (int64_t)new_addr;
        goto out;
    }
    if (size <= old_len) {
        if (size < old_len && (ret = unmap_locked(mm, old + size, old + old_len)) < 0)
            goto out;
        ret = (int64_t)old;
        goto out;
    }
    /* grow in place when the space after it is free */
    uint64_t grow = size - old_len;
    if (in_user_range(old + old_len, grow) &&
        !rm_overlaps(&mm->vmas, old + old_len, old + size)) {
        struct range n = vcopy;
        extend_obj(&n, &vcopy, old + old_len);
        n.start = old + old_len;
        n.end = old + size;
        if ((ret = rm_insert(&mm->vmas, &n)) < 0)
            goto out;
        rm_try_merge(&mm->vmas, rm_lower(&mm->vmas, n.start));
        ret = (int64_t)old;
        goto out;
    }
    if (!(flags & MREMAP_MAYMOVE)) {
        ret = -ENOMEM;
        goto out;
    }
    uint64_t to = rm_gap_down(&mm->vmas, size, MMAP_MIN_ADDR, mm->mmap_base,
                              g_plat->reserved);
    if (!to) {
        ret = -ENOMEM;
        goto out;
    }
    if ((ret = move_range(mm, old, old_len, to)) < 0)
        goto out;
    struct range n = vcopy;
    extend_obj(&n, &vcopy, old + old_len);
    n.start = to + old_len;
    n.end = to + size;
    if ((ret = rm_insert(&mm->vmas, &n)) < 0)
        goto out;
    rm_try_merge(&mm->vmas, rm_lower(&mm->vmas, n.start));
    ret = (int64_t)to;
out:
    pthread_mutex_unlock(&mm->mu);
    return ret;
}

int mm_madvise(struct mm *mm, uint64_t addr, uint64_t len, int advice)
{
    if (!page_aligned(addr))
        return -EINVAL;
    uint64_t size = page_up(len);
    if (add_overflows(addr, size))
        return -EINVAL;
    switch (advice) {
    case MADV_NORMAL: case MADV_RANDOM: case MADV_SEQUENTIAL: case MADV_WILLNEED:
    case MADV_DONTNEED: case MADV_FREE: case MADV_DONTFORK: case MADV_DOFORK:
    case MADV_MERGEABLE: case MADV_UNMERGEABLE: case MADV_HUGEPAGE:
    case MADV_NOHUGEPAGE: case MADV_DONTDUMP: case MADV_DODUMP: case MADV_WIPEONFORK:
    case MADV_KEEPONFORK: case MADV_COLD: case MADV_PAGEOUT:
        break;
    default:
        return -EINVAL;
    }
    if (size == 0)
        return 0;
    uint64_t end = addr + size;
    pthread_mutex_lock(&mm->mu);
    int ret = covered(mm, addr, end) ? 0 : -ENOMEM;
    if (advice == MADV_DONTNEED) {
        if (rm_reserve(&mm->pmas, 2) < 0) {
            ret = -ENOMEM;
            goto out;
        }
        /* private pages are dropped (they read back as zeroes); shared ones keep
         * their contents, as on Linux */
        size_t i = rm_lower(&mm->vmas, addr);
        for (; i < mm->vmas.n && mm->vmas.r[i].start < end; i++) {
            struct range *v = &mm->vmas.r[i];
            uint64_t s = MAX(v->start, addr), e = MIN(v->end, end);
            if (!(v->vma.flags & VMA_SHARED))
                drop_pmas(mm, s, e);
        }
    }
out:
    pthread_mutex_unlock(&mm->mu);
    return ret;
}

int mm_mincore(struct mm *mm, uint64_t addr, uint64_t len, unsigned char *vec)
{
    if (!page_aligned(addr))
        return -EINVAL;
    uint64_t size = page_up(len);
    if (add_overflows(addr, size))
        return -ENOMEM;
    uint64_t end = addr + size;
    pthread_mutex_lock(&mm->mu);
    int ret = -ENOMEM;
    if (!covered(mm, addr, end))
        goto out;
    for (uint64_t a = addr; a < end; a += PAGE_SIZE) {
        struct range *p = rm_find(&mm->pmas, a);
        unsigned char in = 0;
        if (p) {
            /* a backed page is resident once its memory-file page has been touched */
            if (mincore(memfile_ptr(p->pma.off + (a - p->start)), PAGE_SIZE, &in) < 0)
                in = 0;
            in &= 1;
        }
        vec[(a - addr) >> PAGE_SHIFT] = in;
    }
    ret = 0;
out:
    pthread_mutex_unlock(&mm->mu);
    return ret;
}

void mm_set_brk_start(struct mm *mm, uint64_t start)
{
    pthread_mutex_lock(&mm->mu);
    mm->brk_start = mm->brk_cur = start;
    pthread_mutex_unlock(&mm->mu);
}

uint64_t mm_brk(struct mm *mm, uint64_t want)
{
    pthread_mutex_lock(&mm->mu);
    uint64_t cur = mm->brk_cur;
    if (want < mm->brk_start || want > g_plat->user_max)
        goto out;
    uint64_t old_end = page_up(cur), new_end = page_up(want);
    if (new_end > old_end) {
        if (!in_user_range(old_end, new_end - old_end) ||
            rm_overlaps(&mm->vmas, old_end, new_end) || new_end > mm->mmap_base)
            goto out;
        struct range r = { .start = old_end, .end = new_end, .vma = {
            .prot = PROT_READ | PROT_WRITE, .maxprot = PROT_READ | PROT_WRITE | PROT_EXEC,
            .flags = VMA_HEAP } };
        if (rm_insert(&mm->vmas, &r) < 0)
            goto out;
        rm_try_merge(&mm->vmas, rm_lower(&mm->vmas, old_end));
    } else if (new_end < old_end) {
        if (unmap_locked(mm, new_end, old_end) < 0)
            goto out;
    }
    mm->brk_cur = cur = want;
out:
    pthread_mutex_unlock(&mm->mu);
    return cur;
}

/* back_page: makes sure addr (inside VMA v) has a PMA, allocating a chunk around it
 * when it has none. Returns the PMA or an error pointer-free NULL with *err. */
static struct range *back_page(struct mm *mm, struct range *v, uint64_t addr, int *err,
                               int *fresh)
{
    struct range *p = rm_find(&mm->pmas, addr);
    *fresh = 0;
    if (p)
        return p;
    if (v->vma.obj) {
        /* a page of a mapped object: shared mappings use the object's page itself,
         * private ones start with it copy-on-write */
        uint64_t page = page_down(addr);
        uint64_t idx = v->vma.pgoff + ((page - v->start) >> PAGE_SHIFT);
        int shared = v->vma.flags & VMA_SHARED;
        int64_t off = v->vma.obj->ops->get_page(v->vma.obj, idx,
                                                shared && (v->vma.prot & PROT_WRITE));
        if (off < 0) {
            *err = (int)off;
            return NULL;
        }
        struct range r = { .start = page, .end = page + PAGE_SIZE,
                           .pma = { .off = (uint64_t)off, .cow = !shared } };
        int e = rm_insert(&mm->pmas, &r);
        if (e < 0) {
            memfile_decref((uint64_t)off, PAGE_SIZE);
            *err = e;
            return NULL;
        }
        *fresh = 1;
        return rm_find(&mm->pmas, addr);
    }
    uint64_t start = MAX(v->start, addr & ~(FAULT_CHUNK - 1));
    uint64_t end = MIN(v->end, (addr & ~(FAULT_CHUNK - 1)) + FAULT_CHUNK);
    size_t i = rm_lower(&mm->pmas, addr);
    if (i > 0 && mm->pmas.r[i - 1].end > start)
        start = mm->pmas.r[i - 1].end;
    if (i < mm->pmas.n && mm->pmas.r[i].start < end)
        end = mm->pmas.r[i].start;
    int64_t off = memfile_alloc(end - start);
    if (off < 0) {
        *err = (int)off;
        return NULL;
    }
    struct range r = { .start = start, .end = end, .pma = { .off = (uint64_t)off } };
    int e = rm_insert(&mm->pmas, &r);
    if (e < 0) {
        memfile_decref((uint64_t)off, end - start);
        *err = e;
        return NULL;
    }
    *fresh = 1;
    return rm_find(&mm->pmas, addr);
}

/* break_cow: gives the page at addr a private copy if its PMA is copy-on-write. */
static struct range *break_cow(struct mm *mm, struct range *p, uint64_t addr, int *err)
{
    uint64_t page = page_down(addr);
    uint64_t off = p->pma.off + (page - p->start);
    if (memfile_refs(off) == 1) {
        /* we are the last user: the page is ours already */
        if (rm_isolate(&mm->pmas, page, page + PAGE_SIZE) < 0) {
            *err = -ENOMEM;
            return NULL;
        }
        p = rm_find(&mm->pmas, page);
        p->pma.cow = 0;
        return p;
    }
    int64_t copy = memfile_alloc(PAGE_SIZE);
    if (copy < 0) {
        *err = (int)copy;
        return NULL;
    }
    memcpy(memfile_ptr((uint64_t)copy), memfile_ptr(off), PAGE_SIZE);
    if (rm_isolate(&mm->pmas, page, page + PAGE_SIZE) < 0) {
        memfile_decref((uint64_t)copy, PAGE_SIZE);
        *err = -ENOMEM;
        return NULL;
    }
    p = rm_find(&mm->pmas, page);
    memfile_decref(p->pma.off, PAGE_SIZE);
    p->pma.off = (uint64_t)copy;
    p->pma.cow = 0;
    return p;
}

/* prot_allows: whether a VMA's protection permits the access (x86 rules: any
 * readable-or-writable page is readable). */
static int prot_allows(int prot, unsigned access)
{
    if ((access & FAULT_WRITE) && !(prot & PROT_WRITE))
        return 0;
    if ((access & FAULT_EXEC) && !(prot & PROT_EXEC))
        return 0;
    if ((access & FAULT_READ) && !(prot & (PROT_READ | PROT_WRITE | PROT_EXEC)))
        return 0;
    return 1;
}

/* fault_around: backs and maps the unbacked pages of addr's FAULT_AROUND window inside
 * file VMA v, as back_page would one by one (private pages copy-on-write; the caller
 * skips shared writable mappings so that write faults still mark pages dirty). The
 * end of the file stops it; failures only mean fewer pages are mapped. */
static void fault_around(struct mm *mm, struct range *v, uint64_t addr)
{
    uint64_t ws = MAX(v->start, addr & ~(FAULT_AROUND - 1));
    uint64_t we = MIN(v->end, (addr & ~(FAULT_AROUND - 1)) + FAULT_AROUND);
    const struct vma *vma = &v->vma;   /* stays put: only the PMA array changes */
    uint64_t run_va = 0, run_off = 0, run_len = 0;
    int cow = !(vma->flags & VMA_SHARED);
    int prot = plat_prot(vma, &(struct pma){ .cow = cow });

    if (rm_reserve(&mm->pmas, (we - ws) >> PAGE_SHIFT) < 0)
        return;
    for (uint64_t page = ws; page < we; page += PAGE_SIZE) {
        if (rm_find(&mm->pmas, page))
            continue;
        uint64_t idx = vma->pgoff + ((page - v->start) >> PAGE_SHIFT);
        int64_t off = vma->obj->ops->get_page(vma->obj, idx, 0);
        if (off < 0)
            break;
        struct range r = { .start = page, .end = page + PAGE_SIZE,
                           .pma = { .off = (uint64_t)off, .cow = cow } };
        if (rm_insert(&mm->pmas, &r) < 0) {
            memfile_decref((uint64_t)off, PAGE_SIZE);
            break;
        }
        if (run_len && run_va + run_len == page && run_off + run_len == (uint64_t)off) {
            run_len += PAGE_SIZE;   /* one platform call for a contiguous run */
            continue;
        }
        if (run_len)
            g_plat->map(mm->as, gva(run_va), run_len, prot, run_off);
        run_va = page, run_off = (uint64_t)off, run_len = PAGE_SIZE;
    }
    if (run_len)
        g_plat->map(mm->as, gva(run_va), run_len, prot, run_off);
}

int mm_handle_fault(struct mm *mm, uint64_t addr, unsigned access, int present,
                    int *si_code)
{
    pthread_mutex_lock(&mm->mu);
    int ret = -EFAULT;
    *si_code = SEGV_MAPERR;
    struct range *v = rm_find(&mm->vmas, addr);
    if (!v)
        goto out;
    *si_code = SEGV_ACCERR;
    if (v->vma.prot == PROT_NONE || !prot_allows(v->vma.prot, access))
        goto out;
    int err = 0, fresh;
    if (rm_reserve(&mm->pmas, 3) < 0) {
        ret = -ENOMEM;
        goto out;
    }
    struct range *p = back_page(mm, v, addr, &err, &fresh);
    if (!p) {
        ret = err == -ENXIO ? -ENXIO : err;
        goto out;
    }
    if (present && !fresh) {
        /* the page was mapped and still faulted: a write to a COW page is the only
         * case the guest may retry; anything else is a protection violation */
        if (!(p->pma.cow && (v->vma.prot & PROT_WRITE)))
            goto out;
        p = break_cow(mm, p, addr, &err);
        if (!p) {
            ret = err;
            goto out;
        }
    }
    /* map the whole PMA run inside this VMA: one platform call covers the chunk */
    uint64_t s = MAX(p->start, v->start), e = MIN(p->end, v->end);
    ret = g_plat->map(mm->as, gva(s), e - s, plat_prot(&v->vma, &p->pma),
                      p->pma.off + (s - p->start));
    if (ret == 0 && fresh && v->vma.obj && !(access & FAULT_WRITE) &&
        !((v->vma.flags & VMA_SHARED) && (v->vma.prot & PROT_WRITE)))
        fault_around(mm, v, addr);
out:
    pthread_mutex_unlock(&mm->mu);
    return ret;
}

/* for_each_run: walks [addr, addr+n) page run by page run, backing pages as needed,
 * and calls fn(host pointer, length, file offset, arg) for each run. Stops at the
 * first inaccessible byte: returns the bytes walked, or -EFAULT if none. mm->mu held. */
typedef void (*run_fn)(char *host, size_t len, uint64_t off, void *arg);
static long for_each_run(struct mm *mm, uint64_t addr, size_t n, unsigned access,
                         int force, run_fn fn, void *arg, size_t max_runs)
{
    size_t done = 0, runs = 0;
    if (add_overflows(addr, n))
        n = ~addr;
    while (done < n && runs < max_runs) {
        uint64_t a = addr + done;
        struct range *v = rm_find(&mm->vmas, a);
        if (!v || (!force && !prot_allows(v->vma.prot, access)) ||
            (!force && v->vma.prot == PROT_NONE))
            break;
        if (rm_reserve(&mm->pmas, 3) < 0)
            break;
        int err, fresh;
        struct range *p = back_page(mm, v, a, &err, &fresh);
        if (!p)
            break;
        if (p->pma.cow && (access & FAULT_WRITE)) {
            uint64_t page = page_down(a);
            p = break_cow(mm, p, a, &err);
            if (!p)
                break;
            /* the old mapping still shows the shared page: unmap so it refaults */
            if (mm->as)
                g_plat->unmap(mm->as, gva(page), PAGE_SIZE);
        }
        uint64_t run_end = MIN(MIN(p->end, v->end), addr + n);
        size_t len = run_end - a;
        uint64_t off = p->pma.off + (a - p->start);
        fn(memfile_ptr(off), len, off, arg);
        done += len;
        runs++;
    }
    return done ? (long)done : -EFAULT;
}

struct copy_arg { char *buf; };

static void copy_in_run(char *host, size_t len, uint64_t off, void *arg)
{
    struct copy_arg *c = arg;
    (void)off;
    memcpy(c->buf, host, len);
    c->buf += len;
}

static void copy_out_run(char *host, size_t len, uint64_t off, void *arg)
{
    struct copy_arg *c = arg;
    (void)off;
    memcpy(host, c->buf, len);
    c->buf += len;
}

int mm_copy_in(struct mm *mm, void *dst, uint64_t src, size_t n)
{
    if (n == 0)
        return 0;
    struct copy_arg c = { dst };
    pthread_mutex_lock(&mm->mu);
    long r = for_each_run(mm, src, n, FAULT_READ, 0, copy_in_run, &c, SIZE_MAX);
    pthread_mutex_unlock(&mm->mu);
    return r == (long)n ? 0 : -EFAULT;
}

int mm_copy_out(struct mm *mm, uint64_t dst, const void *src, size_t n, int force)
{
    if (n == 0)
        return 0;
    struct copy_arg c = { (char *)src };
    pthread_mutex_lock(&mm->mu);
    long r = for_each_run(mm, dst, n, FAULT_WRITE, force, copy_out_run, &c, SIZE_MAX);
    pthread_mutex_unlock(&mm->mu);
    return r == (long)n ? 0 : -EFAULT;
}

struct patch_arg { uint16_t old, new; int result; };

static void patch_compare_run(char *host, size_t len, uint64_t off, void *arg)
{
    struct patch_arg *p = arg;
    (void)off;
    uint16_t cur;
    memcpy(&cur, host, sizeof(cur));
    p->result = len == 2 && cur == p->old ? 0 : -EAGAIN;
}

static void patch_store_run(char *host, size_t len, uint64_t off, void *arg)
{
    struct patch_arg *p = arg;
    (void)off;
    uint16_t cur;
    memcpy(&cur, host, sizeof(cur));
    if (len != 2 || cur != p->old) {
        p->result = -EAGAIN;
        return;
    }
    /* one 16-bit store inside a cache line, which x86 makes atomic: a thread
     * running these bytes sees the old instruction or the new one, never half */
    *(volatile uint16_t *)(void *)host = p->new;
    p->result = 0;
}

int mm_patch_insn2(struct mm *mm, uint64_t addr, const uint8_t old[2], const uint8_t new[2])
{
    if ((addr & 63) == 63)
        return -EACCES;
    struct patch_arg a = { .result = -EAGAIN };
    memcpy(&a.old, old, 2);
    memcpy(&a.new, new, 2);
    pthread_mutex_lock(&mm->mu);
    struct range *v = rm_find(&mm->vmas, addr);
    int ret = -EACCES;
    if (v && addr + 2 <= v->end && v->vma.obj && !(v->vma.flags & VMA_SHARED) &&
        (v->vma.prot & (PROT_EXEC | PROT_WRITE)) == PROT_EXEC) {
        /* compare first: the store pass copies the page, which only a patch may cost */
        ret = for_each_run(mm, addr, 2, FAULT_READ, 1, patch_compare_run, &a, 1) == 2
                  ? a.result : -EFAULT;
        if (ret == 0)
            ret = for_each_run(mm, addr, 2, FAULT_WRITE, 1, patch_store_run, &a, 1) == 2
                      ? a.result : -EFAULT;
    }
    pthread_mutex_unlock(&mm->mu);
    return ret;
}

struct str_arg { char *buf; size_t at; int found; };

static void string_run(char *host, size_t len, uint64_t off, void *arg)
{
    struct str_arg *s = arg;
    (void)off;
    if (s->found)
        return;
    char *nul = memchr(host, 0, len);
    size_t take = nul ? (size_t)(nul - host) + 1 : len;
    memcpy(s->buf + s->at, host, take);
    s->at += take;
    s->found = nul != NULL;
}

long mm_copy_string_in(struct mm *mm, uint64_t src, char *buf, size_t max)
{
    if (max == 0)
        return -ENAMETOOLONG;
    struct str_arg s = { buf, 0, 0 };
    pthread_mutex_lock(&mm->mu);
    /* walk page by page so the string may end just before an unmapped page */
    while (!s.found && s.at < max) {
        uint64_t a = src + s.at;
        size_t chunk = MIN(PAGE_SIZE - (a & (PAGE_SIZE - 1)), max - s.at);
        long r = for_each_run(mm, a, chunk, FAULT_READ, 0, string_run, &s, 1);
        if (r < 0)
            break;
    }
    pthread_mutex_unlock(&mm->mu);
    if (s.found)
        return (long)s.at - 1;
    return s.at >= max ? -ENAMETOOLONG : -EFAULT;
}

static void io_run(char *host, size_t len, uint64_t off, void *arg)
{
    struct mm_io *io = arg;
    if (io->n > 0 && (char *)io->iov[io->n - 1].iov_base + io->iov[io->n - 1].iov_len ==
                         host) {
        io->iov[io->n - 1].iov_len += len;
    } else {
        io->iov[io->n].iov_base = host;
        io->iov[io->n].iov_len = len;
        io->offs[io->n] = off;
        io->n++;
    }
    io->size += len;
    /* pin whole pages: the run may start or end mid-page */
    uint64_t first = page_down(off), last = page_up(off + len);
    memfile_incref(first, last - first);
}

long mm_io_acquire(struct mm *mm, uint64_t addr, size_t len, unsigned access,
                   struct mm_io *io)
{
    io->n = 0;
    io->size = 0;
    if (len == 0)
        return 0;
    pthread_mutex_lock(&mm->mu);
    long r = for_each_run(mm, addr, len, access, 0, io_run, io, MM_IO_MAXIOV);
    pthread_mutex_unlock(&mm->mu);
    return r;
}

void mm_io_release(struct mm_io *io)
{
    /* references were taken per run; iovecs may have merged runs, so release by
     * walking each iovec page by page from its first offset */
    for (int i = 0; i < io->n; i++) {
        uint64_t off = io->offs[i];
        uint64_t first = page_down(off);
        uint64_t last = page_up(off + io->iov[i].iov_len);
        memfile_decref(first, last - first);
    }
    io->n = 0;
    io->size = 0;
}

int mm_msync(struct mm *mm, uint64_t addr, uint64_t len, int flags)
{
    if (!page_aligned(addr))
        return -EINVAL;
    if (flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE))
        return -EINVAL;
    if ((flags & MS_ASYNC) && (flags & MS_SYNC))
        return -EINVAL;
    uint64_t size = page_up(len);
    if (add_overflows(addr, size))
        return -ENOMEM;
    uint64_t end = addr + size;
    /* collect the shared object ranges first: write-back may block on the Gofer and
     * must not hold mm->mu */
    struct todo { struct mappable *obj; uint64_t idx, n; } *todo = NULL;
    size_t ntodo = 0;
    pthread_mutex_lock(&mm->mu);
    int ret = covered(mm, addr, end) ? 0 : -ENOMEM;
    for (size_t i = rm_lower(&mm->vmas, addr); i < mm->vmas.n && mm->vmas.r[i].start < end;
         i++) {
        struct range *v = &mm->vmas.r[i];
        if (!v->vma.obj || !(v->vma.flags & VMA_SHARED) || !v->vma.obj->ops->sync)
            continue;
        struct todo *t = realloc(todo, (ntodo + 1) * sizeof(*todo));
        if (!t)
            break;
        todo = t;
        uint64_t s = MAX(v->start, addr), e = MIN(v->end, end);
        todo[ntodo].obj = v->vma.obj;
        todo[ntodo].idx = v->vma.pgoff + ((s - v->start) >> PAGE_SHIFT);
        todo[ntodo].n = (e - s) >> PAGE_SHIFT;
        v->vma.obj->ops->hold(v->vma.obj);
        ntodo++;
    }
    pthread_mutex_unlock(&mm->mu);
    for (size_t i = 0; i < ntodo; i++) {
        int e = todo[i].obj->ops->sync(todo[i].obj, todo[i].idx, todo[i].n);
        if (e < 0 && ret == 0)
            ret = e;
        todo[i].obj->ops->drop(todo[i].obj);
    }
    free(todo);
    return ret;
}

uint64_t mm_rss(struct mm *mm)
{
    uint64_t rss = 0;
    pthread_mutex_lock(&mm->mu);
    for (size_t i = 0; i < mm->pmas.n; i++)
        rss += mm->pmas.r[i].end - mm->pmas.r[i].start;
    pthread_mutex_unlock(&mm->mu);
    return rss;
}

size_t mm_dump_maps(struct mm *mm, char *buf, size_t size)
{
    size_t at = 0;
    pthread_mutex_lock(&mm->mu);
    for (size_t i = 0; i < mm->vmas.n && at < size; i++) {
        struct range *r = &mm->vmas.r[i];
        int n = snprintf(buf + at, size - at, "%012llx-%012llx %c%c%c%c\n",
                         (unsigned long long)r->start, (unsigned long long)r->end,
                         (r->vma.prot & PROT_READ) ? 'r' : '-',
                         (r->vma.prot & PROT_WRITE) ? 'w' : '-',
                         (r->vma.prot & PROT_EXEC) ? 'x' : '-',
                         (r->vma.flags & VMA_SHARED) ? 's' : 'p');
        if (n < 0)
            break;
        at += (size_t)n;
    }
    pthread_mutex_unlock(&mm->mu);
    return MIN(at, size);
}
