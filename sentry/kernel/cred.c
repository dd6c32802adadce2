/* Credentials (see cred.h): the rules of kernel/cred.c's commit_creds, commoncap's
 * uid fixups and exec transformation, and the permission predicates built on them. */
#include "sentry/kernel/cred.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/kernel/task.h"

/* The capabilities that follow the fsuid (commoncap's CAP_FS_SET). */
#define CAP_FS_SET (CRED_CAP(CAP_CHOWN) | CRED_CAP(CAP_DAC_OVERRIDE) |              \
                    CRED_CAP(CAP_DAC_READ_SEARCH) | CRED_CAP(CAP_FOWNER) |          \
                    CRED_CAP(CAP_FSETID) | CRED_CAP(CAP_LINUX_IMMUTABLE) |          \
                    CRED_CAP(CAP_MKNOD) | CRED_CAP(CAP_MAC_OVERRIDE))

void cred_init(struct creds *c, uint32_t uid, uint32_t gid)
{
    memset(c, 0, sizeof(*c));
    c->ruid = c->euid = c->suid = c->fsuid = uid;
    c->rgid = c->egid = c->sgid = c->fsgid = gid;
    c->cap_bset = CRED_CAP_FULL;
    if (uid == 0)
        c->cap_permitted = c->cap_effective = CRED_CAP_FULL;
}

void cred_copy(struct creds *dst, const struct creds *src)
{
    *dst = *src;
    if (dst->groups)
        __atomic_add_fetch(&dst->groups->refs, 1, __ATOMIC_RELAXED);
}

void cred_release(struct creds *c)
{
    cred_groups_put(c->groups);
    c->groups = NULL;
}

void cred_snapshot(struct task *t, struct creds *out)
{
    pthread_mutex_lock(&t->mu);
    cred_copy(out, &t->cred);
    pthread_mutex_unlock(&t->mu);
}

void cred_prepare(struct task *t, struct creds *out)
{
    /* only t changes t->cred, and t is the caller: no lock to read it */
    cred_copy(out, &t->cred);
}

void cred_commit(struct task *t, struct creds *c)
{
    const struct creds *old = &t->cred;
    int changed = old->euid != c->euid || old->egid != c->egid ||
                  old->fsuid != c->fsuid || old->fsgid != c->fsgid ||
                  (c->cap_permitted & ~old->cap_permitted) != 0;
    if (changed) {
        /* as commit_creds: set_dumpable(suid_dumpable = 0), pdeath_signal = 0 */
        __atomic_store_n(&t->tg->dumpable, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&t->pdeath_signal, 0, __ATOMIC_RELAXED);
    }
    pthread_mutex_lock(&t->mu);
    struct group_list *old_groups = t->cred.groups;
    t->cred = *c;
    pthread_mutex_unlock(&t->mu);
    /* t's old reference (when c kept the same list, c's reference replaced it) */
    cred_groups_put(old_groups);
    c->groups = NULL;
}

int cred_capable(const struct creds *c, int cap)
{
    return cap >= 0 && cap <= CRED_CAP_LAST && (c->cap_effective & CRED_CAP(cap)) != 0;
}

int cred_in_group(const struct creds *c, uint32_t gid)
{
    if (c->fsgid == gid)
        return 1;
    const struct group_list *g = c->groups;
    if (!g)
        return 0;
    int lo = 0, hi = g->count;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (g->gids[mid] == gid)
            return 1;
        if (g->gids[mid] < gid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static int cmp_gid(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

struct group_list *cred_groups_new(const uint32_t *gids, int count)
{
    if (count <= 0 || count > CRED_NGROUPS_MAX)
        return NULL;
    struct group_list *g = malloc(sizeof(*g) + (size_t)count * sizeof(uint32_t));
    if (!g)
        return NULL;
    g->refs = 1;
    g->count = count;
    memcpy(g->gids, gids, (size_t)count * sizeof(uint32_t));
    qsort(g->gids, (size_t)count, sizeof(uint32_t), cmp_gid);
    return g;
}

void cred_groups_put(struct group_list *g)
{
    if (g && __atomic_sub_fetch(&g->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(g);
}

void cred_fix_setuid(struct creds *c, const struct creds *old)
{
    if (c->securebits & SECBIT_NO_SETUID_FIXUP)
        return;
    int old_root = old->ruid == 0 || old->euid == 0 || old->suid == 0;
    int new_root = c->ruid == 0 || c->euid == 0 || c->suid == 0;
    if (old_root && !new_root) {
        if (!(c->securebits & SECBIT_KEEP_CAPS))
            c->cap_permitted = c->cap_effective = 0;
        c->cap_ambient = 0;
    }
    if (old->euid == 0 && c->euid != 0)
        c->cap_effective = 0;
    if (old->euid != 0 && c->euid == 0)
        c->cap_effective = c->cap_permitted;
}

void cred_fix_setfsuid(struct creds *c, const struct creds *old)
{
    if (c->securebits & SECBIT_NO_SETUID_FIXUP)
        return;
    if (old->fsuid == 0 && c->fsuid != 0)
        c->cap_effective &= ~CAP_FS_SET;
    if (old->fsuid != 0 && c->fsuid == 0)
        c->cap_effective |= c->cap_permitted & CAP_FS_SET;
}

int cred_exec(struct task *t)
{
    struct creds c;
    cred_prepare(t, &c);
    /* cap_bprm_creds_from_file with no file capabilities: root's "file" has every
     * capability, so its permitted set becomes the bounding set (plus the
     * inheritable one); for anyone else only the ambient set (empty) survives */
    int root = !(c.securebits & SECBIT_NOROOT) && (c.ruid == 0 || c.euid == 0);
    if (root) {
        c.cap_permitted = (c.cap_inheritable | c.cap_bset) & CRED_CAP_FULL;
        c.cap_effective = c.euid == 0 ? c.cap_permitted : 0;
    } else {
        c.cap_permitted = c.cap_ambient;
        c.cap_effective = c.cap_ambient;
    }
    c.securebits &= ~(unsigned)SECBIT_KEEP_CAPS;
    int secure = c.euid != c.ruid || c.egid != c.rgid;
    /* the saved ids and fs ids follow the effective ones across exec */
    c.suid = c.fsuid = c.euid;
    c.sgid = c.fsgid = c.egid;
    cred_commit(t, &c);
    /* begin_new_exec: dumpable unless the exec is secure, and then no parent-death
     * signal either */
    __atomic_store_n(&t->tg->dumpable, secure ? 0 : 1, __ATOMIC_RELAXED);
    if (secure)
        __atomic_store_n(&t->pdeath_signal, 0, __ATOMIC_RELAXED);
    return secure;
}

void cred_access_override(const struct creds *c, struct creds *out)
{
    *out = *c;
    out->fsuid = c->ruid;
    out->fsgid = c->rgid;
    if (!(c->securebits & SECBIT_NO_SETUID_FIXUP))
        out->cap_effective = c->ruid == 0 ? c->cap_permitted : 0;
}

int cred_may_signal(struct task *sender, struct task *target, int sig)
{
    if (sender->tg == target->tg)
        return 0;
    const struct creds *me = &sender->cred;
    pthread_mutex_lock(&target->mu);
    uint32_t tuid = target->cred.ruid, tsuid = target->cred.suid;
    pthread_mutex_unlock(&target->mu);
    if (me->euid == tsuid || me->euid == tuid || me->ruid == tsuid || me->ruid == tuid ||
        cred_capable(me, CAP_KILL))
        return 0;
    if (sig == SIGCONT && sender->tg->sid == target->tg->sid)
        return 0;
    return -EPERM;
}

int cred_may_inspect(struct task *caller, struct task *target)
{
    if (caller->tg == target->tg)
        return 0;
    const struct creds *me = &caller->cred;
    if (cred_capable(me, CAP_SYS_PTRACE))
        return 0;
    struct creds tc;
    cred_snapshot(target, &tc);
    int same = me->ruid == tc.ruid && me->ruid == tc.euid && me->ruid == tc.suid &&
               me->rgid == tc.rgid && me->rgid == tc.egid && me->rgid == tc.sgid;
    cred_release(&tc);
    if (!same || !__atomic_load_n(&target->tg->dumpable, __ATOMIC_RELAXED))
        return -EPERM;
    return 0;
}
