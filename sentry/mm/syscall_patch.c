/* Syscall patching (see syscall_patch.h). The set of patched sites is a fixed-size
 * open-addressing table per address space: sites are only ever added (an exec starts
 * a new address space), so readers need no lock; writers hold the table's mutex.
 * A site goes into the set before its bytes change: another thread may run the new
 * instruction the moment it is written, and must find it. */
#include "sentry/mm/syscall_patch.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "platform/platform.h"
#include "sentry/mm/mm.h"

/* Distinct syscall sites a process runs are few (tens; glibc has a few hundred in
 * all); past 3/4 of the table the rest keep trapping the slow way. */
#define SITES_CAP 1024
#define SITES_MAX (SITES_CAP * 3 / 4)

struct syscall_sites {
    pthread_mutex_t mu;     /* writers */
    unsigned n;             /* under mu */
    uint64_t slot[SITES_CAP];   /* 0 = empty; atomic loads and stores */
};

static unsigned hash(uint64_t site) { return (unsigned)((site * 0x9e3779b97f4a7c15ULL) >> 54); }

static struct syscall_sites *sites_new(void)
{
    struct syscall_sites *s = calloc(1, sizeof(*s));
    if (s)
        pthread_mutex_init(&s->mu, NULL);
    return s;
}

void syscall_sites_free(struct syscall_sites *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int syscall_site_patched(const struct mm *mm, uint64_t site)
{
    const struct syscall_sites *s = __atomic_load_n(&mm->syscall_sites, __ATOMIC_ACQUIRE);
    if (!s || site == 0)
        return 0;
    for (unsigned i = hash(site), probes = 0; probes < SITES_CAP; i = (i + 1) % SITES_CAP, probes++) {
        uint64_t v = __atomic_load_n(&s->slot[i], __ATOMIC_ACQUIRE);
        if (v == site)
            return 1;
        if (v == 0)
            return 0;
    }
    return 0;
}

/* add: 1 if site is (now) in the set, 0 if the set is full. s->mu held. */
static int add(struct syscall_sites *s, uint64_t site)
{
    unsigned i = hash(site);
    while (s->slot[i] != 0) {
        if (s->slot[i] == site)
            return 1;
        i = (i + 1) % SITES_CAP;
    }
    if (s->n >= SITES_MAX)
        return 0;
    __atomic_store_n(&s->slot[i], site, __ATOMIC_RELEASE);
    s->n++;
    return 1;
}

static struct syscall_sites *sites_of(struct mm *mm)
{
    struct syscall_sites *s = __atomic_load_n(&mm->syscall_sites, __ATOMIC_ACQUIRE);
    if (s)
        return s;
    struct syscall_sites *fresh = sites_new();
    if (!fresh)
        return NULL;
    if (__atomic_compare_exchange_n(&mm->syscall_sites, &s, fresh, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return fresh;
    syscall_sites_free(fresh);   /* another thread was first: s is its table */
    return s;
}

void syscall_patch_site(struct mm *mm, uint64_t site)
{
    const uint8_t *insn = g_plat->syscall_patch ? g_plat->syscall_patch() : NULL;
    if (!insn || site == 0)
        return;
    struct syscall_sites *s = sites_of(mm);
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    int in_set = add(s, site);
    pthread_mutex_unlock(&s->mu);
    if (!in_set)
        return;
    static const uint8_t syscall_insn[2] = { 0x0f, 0x05 };
    int r = mm_patch_insn2(mm, site, syscall_insn, insn);
    /* a refusal leaves the site in the set, which is harmless: the set only matters
     * for the platform's instruction, and the site still holds `syscall` */
    if (r < 0 && r != -EACCES)
        log_debug("syscall patch at %#llx: %d", (unsigned long long)site, r);
}

struct syscall_sites *syscall_sites_fork(struct mm *parent, int *err)
{
    struct syscall_sites *p = __atomic_load_n(&parent->syscall_sites, __ATOMIC_ACQUIRE);
    if (!p)
        return NULL;
    struct syscall_sites *s = sites_new();
    if (!s) {
        *err = -ENOMEM;
        return NULL;
    }
    pthread_mutex_lock(&p->mu);
    memcpy(s->slot, p->slot, sizeof(s->slot));
    s->n = p->n;
    pthread_mutex_unlock(&p->mu);
    return s;
}
