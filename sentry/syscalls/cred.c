/* Credential system calls: the setuid family, fsuid/fsgid, supplementary groups and
 * capget/capset, with Linux's permission checks (kernel/sys.c, kernel/groups.c,
 * kernel/capability.c). What follows a change (the capability fixups, clearing the
 * parent-death signal) is sentry/kernel/cred.c's. Every change builds a new set with
 * cred_prepare and publishes it with cred_commit; a refused one releases it. */
#include <errno.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/kernel/cred.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"

/* (uid_t)-1: "leave this id alone", and never a valid id. */
#define NO_ID ((uint32_t)-1)

/* ---- user ids ---- */

long sys_setuid(struct task *t, const struct syscall_args *a)
{
    uint32_t uid = arg_uint(a, 0);
    if (uid == NO_ID)
        return -EINVAL;
    const struct creds *old = &t->cred;
    if (!cred_capable(old, CAP_SETUID) && uid != old->ruid && uid != old->suid)
        return -EPERM;
    struct creds c;
    cred_prepare(t, &c);
    if (cred_capable(old, CAP_SETUID))
        c.ruid = c.suid = uid;
    c.euid = c.fsuid = uid;
    cred_fix_setuid(&c, old);
    cred_commit(t, &c);
    return 0;
}

long sys_setreuid(struct task *t, const struct syscall_args *a)
{
    uint32_t ruid = arg_uint(a, 0), euid = arg_uint(a, 1);
    const struct creds *old = &t->cred;
    int cap = cred_capable(old, CAP_SETUID);
    if (ruid != NO_ID && ruid != old->ruid && ruid != old->euid && !cap)
        return -EPERM;
    if (euid != NO_ID && euid != old->ruid && euid != old->euid && euid != old->suid &&
        !cap)
        return -EPERM;
    struct creds c;
    cred_prepare(t, &c);
    if (ruid != NO_ID)
        c.ruid = ruid;
    if (euid != NO_ID)
        c.euid = euid;
    /* the saved uid follows the effective one when the real one is set or the
     * effective one leaves the real one */
    if (ruid != NO_ID || (euid != NO_ID && euid != old->ruid))
        c.suid = c.euid;
    c.fsuid = c.euid;
    cred_fix_setuid(&c, old);
    cred_commit(t, &c);
    return 0;
}

/* is_new_id: id is set and is none of the three the caller already has. */
static int is_new_id(uint32_t id, uint32_t r, uint32_t e, uint32_t s)
{
    return id != NO_ID && id != r && id != e && id != s;
}

long sys_setresuid(struct task *t, const struct syscall_args *a)
{
    uint32_t ruid = arg_uint(a, 0), euid = arg_uint(a, 1), suid = arg_uint(a, 2);
    const struct creds *old = &t->cred;
    if ((ruid == NO_ID || ruid == old->ruid) &&
        (euid == NO_ID || (euid == old->euid && euid == old->fsuid)) &&
        (suid == NO_ID || suid == old->suid))
        return 0;
    if ((is_new_id(ruid, old->ruid, old->euid, old->suid) ||
         is_new_id(euid, old->ruid, old->euid, old->suid) ||
         is_new_id(suid, old->ruid, old->euid, old->suid)) &&
        !cred_capable(old, CAP_SETUID))
        return -EPERM;
    struct creds c;
    cred_prepare(t, &c);
    if (ruid != NO_ID)
        c.ruid = ruid;
    if (euid != NO_ID)
        c.euid = euid;
    if (suid != NO_ID)
        c.suid = suid;
    c.fsuid = c.euid;
    cred_fix_setuid(&c, old);
    cred_commit(t, &c);
    return 0;
}

long sys_setfsuid(struct task *t, const struct syscall_args *a)
{
    uint32_t uid = arg_uint(a, 0);
    const struct creds *old = &t->cred;
    long prev = old->fsuid;
    /* always the old fsuid, whether the change was made or refused */
    if (uid == NO_ID || uid == old->fsuid)
        return prev;
    if (uid != old->ruid && uid != old->euid && uid != old->suid &&
        !cred_capable(old, CAP_SETUID))
        return prev;
    struct creds c;
    cred_prepare(t, &c);
    c.fsuid = uid;
    cred_fix_setfsuid(&c, old);
    cred_commit(t, &c);
    return prev;
}

long sys_getresuid(struct task *t, const struct syscall_args *a)
{
    uint32_t ids[3] = { t->cred.ruid, t->cred.euid, t->cred.suid };
    for (int i = 0; i < 3; i++)
        if (mm_copy_out(t->mm, arg_u64(a, i), &ids[i], 4, 0) < 0)
            return -EFAULT;
    return 0;
}

/* ---- group ids ---- */

long sys_setgid(struct task *t, const struct syscall_args *a)
{
    uint32_t gid = arg_uint(a, 0);
    if (gid == NO_ID)
        return -EINVAL;
    const struct creds *old = &t->cred;
    if (!cred_capable(old, CAP_SETGID) && gid != old->rgid && gid != old->sgid)
        return -EPERM;
    struct creds c;
    cred_prepare(t, &c);
    if (cred_capable(old, CAP_SETGID))
        c.rgid = c.sgid = gid;
    c.egid = c.fsgid = gid;
    cred_commit(t, &c);
    return 0;
}

long sys_setregid(struct task *t, const struct syscall_args *a)
{
    uint32_t rgid = arg_uint(a, 0), egid = arg_uint(a, 1);
    const struct creds *old = &t->cred;
    int cap = cred_capable(old, CAP_SETGID);
    if (rgid != NO_ID && rgid != old->rgid && rgid != old->egid && !cap)
        return -EPERM;
    if (egid != NO_ID && egid != old->rgid && egid != old->egid && egid != old->sgid &&
        !cap)
        return -EPERM;
    struct creds c;
    cred_prepare(t, &c);
    if (rgid != NO_ID)
        c.rgid = rgid;
    if (egid != NO_ID)
        c.egid = egid;
    if (rgid != NO_ID || (egid != NO_ID && egid != old->rgid))
        c.sgid = c.egid;
    c.fsgid = c.egid;
    cred_commit(t, &c);
    return 0;
}

long sys_setresgid(struct task *t, const struct syscall_args *a)
{
    uint32_t rgid = arg_uint(a, 0), egid = arg_uint(a, 1), sgid = arg_uint(a, 2);
    const struct creds *old = &t->cred;
    if ((rgid == NO_ID || rgid == old->rgid) &&
        (egid == NO_ID || (egid == old->egid && egid == old->fsgid)) &&
        (sgid == NO_ID || sgid == old->sgid))
        return 0;
    if ((is_new_id(rgid, old->rgid, old->egid, old->sgid) ||
         is_new_id(egid, old->rgid, old->egid, old->sgid) ||
         is_new_id(sgid, old->rgid, old->egid, old->sgid)) &&
        !cred_capable(old, CAP_SETGID))
        return -EPERM;
    struct creds c;
    cred_prepare(t, &c);
    if (rgid != NO_ID)
        c.rgid = rgid;
    if (egid != NO_ID)
        c.egid = egid;
    if (sgid != NO_ID)
        c.sgid = sgid;
    c.fsgid = c.egid;
    cred_commit(t, &c);
    return 0;
}

long sys_setfsgid(struct task *t, const struct syscall_args *a)
{
    uint32_t gid = arg_uint(a, 0);
    const struct creds *old = &t->cred;
    long prev = old->fsgid;
    if (gid == NO_ID || gid == old->fsgid)
        return prev;
    if (gid != old->rgid && gid != old->egid && gid != old->sgid &&
        !cred_capable(old, CAP_SETGID))
        return prev;
    struct creds c;
    cred_prepare(t, &c);
    c.fsgid = gid;
    cred_commit(t, &c);
    return prev;
}

long sys_getresgid(struct task *t, const struct syscall_args *a)
{
    uint32_t ids[3] = { t->cred.rgid, t->cred.egid, t->cred.sgid };
    for (int i = 0; i < 3; i++)
        if (mm_copy_out(t->mm, arg_u64(a, i), &ids[i], 4, 0) < 0)
            return -EFAULT;
    return 0;
}

/* ---- supplementary groups ---- */

long sys_getgroups(struct task *t, const struct syscall_args *a)
{
    int size = arg_int(a, 0);
    if (size < 0)
        return -EINVAL;
    const struct group_list *g = t->cred.groups;
    int count = g ? g->count : 0;
    if (size == 0)
        return count;   /* just the count */
    if (count > size)
        return -EINVAL;
    if (count && mm_copy_out(t->mm, arg_u64(a, 1), g->gids,
                             (size_t)count * sizeof(uint32_t), 0) < 0)
        return -EFAULT;
    return count;
}

long sys_setgroups(struct task *t, const struct syscall_args *a)
{
    int size = arg_int(a, 0);
    if (!cred_capable(&t->cred, CAP_SETGID))
        return -EPERM;
    if ((unsigned)size > CRED_NGROUPS_MAX)
        return -EINVAL;
    struct group_list *g = NULL;
    if (size > 0) {
        /* at most NGROUPS_MAX * 4 = 256 KiB, bounded above */
        uint32_t *gids = malloc((size_t)size * sizeof(uint32_t));
        if (!gids)
            return -ENOMEM;
        if (mm_copy_in(t->mm, gids, arg_u64(a, 1), (size_t)size * sizeof(uint32_t)) < 0) {
            free(gids);
            return -EFAULT;
        }
        for (int i = 0; i < size; i++) {
            if (gids[i] == NO_ID) {
                free(gids);
                return -EINVAL;
            }
        }
        g = cred_groups_new(gids, size);
        free(gids);
        if (!g)
            return -ENOMEM;
    }
    struct creds c;
    cred_prepare(t, &c);
    cred_groups_put(c.groups);
    c.groups = g;
    cred_commit(t, &c);
    return 0;
}

/* ---- capabilities ---- */

/* The guest's struct __user_cap_data_struct, one per 32 capabilities. */
struct cap_data {
    uint32_t effective, permitted, inheritable;
};

/* cap_version: reads the header's version and says how many cap_data words it
 * moves (1 for version 1, 2 for versions 2 and 3). An unknown version gets the
 * preferred one (3) written back: -EINVAL, or -EFAULT. */
static int cap_version(struct task *t, uint64_t hdr, unsigned *words)
{
    uint32_t version;
    if (mm_copy_in(t->mm, &version, hdr, sizeof(version)) < 0)
        return -EFAULT;
    switch (version) {
    case _LINUX_CAPABILITY_VERSION_1:
        *words = _LINUX_CAPABILITY_U32S_1;
        return 0;
    case _LINUX_CAPABILITY_VERSION_2:
    case _LINUX_CAPABILITY_VERSION_3:
        *words = _LINUX_CAPABILITY_U32S_3;
        return 0;
    default:
        version = _LINUX_CAPABILITY_VERSION_3;
        if (mm_copy_out(t->mm, hdr, &version, sizeof(version), 0) < 0)
            return -EFAULT;
        return -EINVAL;
    }
}

long sys_capget(struct task *t, const struct syscall_args *a)
{
    uint64_t hdr = arg_u64(a, 0), data = arg_u64(a, 1);
    unsigned words = 0;
    int r = cap_version(t, hdr, &words);
    /* a NULL data pointer with a wrong version is how programs ask for the version */
    if (!data || r < 0)
        return (!data && r == -EINVAL) ? 0 : r;
    int32_t pid;
    if (mm_copy_in(t->mm, &pid, hdr + 4, sizeof(pid)) < 0)
        return -EFAULT;
    if (pid < 0)
        return -EINVAL;
    struct creds c;
    if (pid == 0 || pid == t->tid) {
        cred_copy(&c, &t->cred);
    } else {
        pthread_mutex_lock(&g_kernel.mu);
        struct task *x = kernel_find_task(pid);
        if (x)
            cred_snapshot(x, &c);
        pthread_mutex_unlock(&g_kernel.mu);
        if (!x)
            return -ESRCH;
    }
    struct cap_data d[2];
    for (unsigned i = 0; i < 2; i++) {
        d[i].effective = (uint32_t)(c.cap_effective >> (32 * i));
        d[i].permitted = (uint32_t)(c.cap_permitted >> (32 * i));
        d[i].inheritable = (uint32_t)(c.cap_inheritable >> (32 * i));
    }
    cred_release(&c);
    if (mm_copy_out(t->mm, data, d, words * sizeof(d[0]), 0) < 0)
        return -EFAULT;
    return 0;
}

/* subset: every bit of a is in b. */
static int subset(uint64_t a, uint64_t b) { return (a & ~b) == 0; }

long sys_capset(struct task *t, const struct syscall_args *a)
{
    uint64_t hdr = arg_u64(a, 0), data = arg_u64(a, 1);
    unsigned words = 0;
    int r = cap_version(t, hdr, &words);
    if (r < 0)
        return r;
    int32_t pid;
    if (mm_copy_in(t->mm, &pid, hdr + 4, sizeof(pid)) < 0)
        return -EFAULT;
    /* only the caller's own capabilities may be set */
    if (pid != 0 && pid != t->tid)
        return -EPERM;
    struct cap_data d[2];
    memset(d, 0, sizeof(d));
    if (mm_copy_in(t->mm, d, data, words * sizeof(d[0])) < 0)
        return -EFAULT;
    uint64_t eff = 0, prm = 0, inh = 0;
    for (unsigned i = 0; i < words; i++) {
        eff |= (uint64_t)d[i].effective << (32 * i);
        prm |= (uint64_t)d[i].permitted << (32 * i);
        inh |= (uint64_t)d[i].inheritable << (32 * i);
    }
    eff &= CRED_CAP_FULL;
    prm &= CRED_CAP_FULL;
    inh &= CRED_CAP_FULL;
    /* cap_capset: the inheritable set grows only within permitted (without
     * CAP_SETPCAP) and the bounding set; permitted only shrinks; effective stays
     * within the new permitted */
    const struct creds *old = &t->cred;
    if (!cred_capable(old, CAP_SETPCAP) &&
        !subset(inh, old->cap_inheritable | old->cap_permitted))
        return -EPERM;
    if (!subset(inh, old->cap_inheritable | old->cap_bset))
        return -EPERM;
    if (!subset(prm, old->cap_permitted))
        return -EPERM;
    if (!subset(eff, prm))
        return -EPERM;
    struct creds c;
    cred_prepare(t, &c);
    c.cap_effective = eff;
    c.cap_permitted = prm;
    c.cap_inheritable = inh;
    c.cap_ambient &= prm & inh;
    cred_commit(t, &c);
    return 0;
}
