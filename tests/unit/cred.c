/* Credentials (sentry/kernel/cred.c) and the permission check built on them
 * (vfs_permission): supplementary groups, commoncap's uid fixups, and which
 * capability overrides which mode bits. Pure functions: no tasks, no platform. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/securebits.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

#include "sentry/kernel/cred.h"
#include "sentry/vfs/vfs.h"

#define FS_CAPS (CRED_CAP(CAP_CHOWN) | CRED_CAP(CAP_DAC_OVERRIDE) |                    \
                 CRED_CAP(CAP_DAC_READ_SEARCH) | CRED_CAP(CAP_FOWNER) |                \
                 CRED_CAP(CAP_FSETID) | CRED_CAP(CAP_LINUX_IMMUTABLE) |                \
                 CRED_CAP(CAP_MKNOD) | CRED_CAP(CAP_MAC_OVERRIDE))

Test(cred, init_root_and_user)
{
    struct creds c;
    cred_init(&c, 0, 0);
    cr_assert_eq(c.cap_effective, CRED_CAP_FULL);
    cr_assert_eq(c.cap_permitted, CRED_CAP_FULL);
    cr_assert_eq(c.cap_bset, CRED_CAP_FULL);
    cr_assert_eq(CRED_CAP_FULL, 0x1ffffffffffULL);
    cred_init(&c, 1000, 100);
    cr_assert_eq(c.cap_effective, 0);
    cr_assert_eq(c.cap_permitted, 0);
    cr_assert_eq(c.cap_bset, CRED_CAP_FULL);
    cr_assert_eq(c.fsuid, 1000);
    cr_assert_eq(c.sgid, 100);
}

Test(cred, groups_sorted_and_searched)
{
    uint32_t gids[] = { 50, 7, 3000, 7, 12 };
    struct group_list *g = cred_groups_new(gids, 5);
    cr_assert_not_null(g);
    uint32_t want[] = { 7, 7, 12, 50, 3000 };
    cr_assert_arr_eq(g->gids, want, sizeof(want));
    struct creds c;
    cred_init(&c, 1000, 100);
    c.groups = g;
    cr_assert(cred_in_group(&c, 100));     /* the fsgid */
    cr_assert(cred_in_group(&c, 7));
    cr_assert(cred_in_group(&c, 3000));
    cr_assert(!cred_in_group(&c, 8));
    cr_assert(!cred_in_group(&c, 0));
    struct creds copy;
    cred_copy(&copy, &c);
    cr_assert_eq(g->refs, 2);
    cred_release(&copy);
    cr_assert_eq(g->refs, 1);
    cred_release(&c);
    cr_assert_null(cred_groups_new(gids, 0));
    cr_assert_null(cred_groups_new(gids, CRED_NGROUPS_MAX + 1));
}

/* root_with: credentials with the given uids, all capabilities. */
static struct creds root_with(uint32_t r, uint32_t e, uint32_t s)
{
    struct creds c;
    cred_init(&c, 0, 0);
    c.ruid = r;
    c.euid = c.fsuid = e;
    c.suid = s;
    return c;
}

Test(cred, leaving_root_clears_caps)
{
    struct creds old = root_with(0, 0, 0), c = old;
    c.ruid = c.euid = c.suid = c.fsuid = 1000;
    cred_fix_setuid(&c, &old);
    cr_assert_eq(c.cap_permitted, 0);
    cr_assert_eq(c.cap_effective, 0);
    cr_assert_eq(c.cap_bset, CRED_CAP_FULL);
}

Test(cred, keep_caps_keeps_permitted_only)
{
    struct creds old = root_with(0, 0, 0), c = old;
    c.securebits = SECBIT_KEEP_CAPS;
    c.ruid = c.euid = c.suid = c.fsuid = 1000;
    cred_fix_setuid(&c, &old);
    cr_assert_eq(c.cap_permitted, CRED_CAP_FULL);
    cr_assert_eq(c.cap_effective, 0);
}

Test(cred, euid_swap_keeps_permitted)
{
    /* seteuid(1000) with the saved uid still 0: effective goes, permitted stays */
    struct creds old = root_with(0, 0, 0), c = old;
    c.euid = c.fsuid = 1000;
    cred_fix_setuid(&c, &old);
    cr_assert_eq(c.cap_permitted, CRED_CAP_FULL);
    cr_assert_eq(c.cap_effective, 0);
    /* and back: effective is the permitted set again */
    struct creds back = c;
    back.euid = back.fsuid = 0;
    cred_fix_setuid(&back, &c);
    cr_assert_eq(back.cap_effective, CRED_CAP_FULL);
}

Test(cred, no_setuid_fixup)
{
    struct creds old = root_with(0, 0, 0), c = old;
    c.securebits = SECBIT_NO_SETUID_FIXUP;
    c.ruid = c.euid = c.suid = c.fsuid = 1000;
    cred_fix_setuid(&c, &old);
    cr_assert_eq(c.cap_effective, CRED_CAP_FULL);
}

Test(cred, fsuid_follows_fs_caps)
{
    struct creds old = root_with(0, 0, 0), c = old;
    c.fsuid = 1000;
    cred_fix_setfsuid(&c, &old);
    cr_assert_eq(c.cap_effective, CRED_CAP_FULL & ~FS_CAPS);
    cr_assert(cred_capable(&c, CAP_SETUID));
    cr_assert(!cred_capable(&c, CAP_DAC_OVERRIDE));
    struct creds back = c;
    back.fsuid = 0;
    cred_fix_setfsuid(&back, &c);
    cr_assert_eq(back.cap_effective, CRED_CAP_FULL);
}

Test(cred, access_override)
{
    struct creds c = root_with(1000, 0, 0), o;
    cred_access_override(&c, &o);
    cr_assert_eq(o.fsuid, 1000);
    cr_assert_eq(o.cap_effective, 0);
    c = root_with(0, 1000, 1000);
    c.cap_effective = 0;
    cred_access_override(&c, &o);
    cr_assert_eq(o.fsuid, 0);
    cr_assert_eq(o.cap_effective, CRED_CAP_FULL);
}

/* ---- vfs_permission ---- */

static struct inode *node(uint32_t mode, uint32_t uid, uint32_t gid)
{
    static struct inode ino;
    memset(&ino, 0, sizeof(ino));
    pthread_mutex_init(&ino.mu, NULL);
    ino.mode = mode;
    ino.uid = uid;
    ino.gid = gid;
    return &ino;
}

static struct creds user(uint32_t uid, uint32_t gid)
{
    struct creds c;
    cred_init(&c, uid, gid);
    return c;
}

Test(cred, permission_mode_bits)
{
    struct creds u = user(1000, 100);
    cr_assert_eq(vfs_permission(&u, node(S_IFREG | 0600, 1000, 0), MAY_READ | MAY_WRITE), 0);
    cr_assert_eq(vfs_permission(&u, node(S_IFREG | 0600, 0, 0), MAY_READ), -EACCES);
    cr_assert_eq(vfs_permission(&u, node(S_IFREG | 0640, 0, 100), MAY_READ), 0);
    cr_assert_eq(vfs_permission(&u, node(S_IFREG | 0640, 0, 100), MAY_WRITE), -EACCES);
    cr_assert_eq(vfs_permission(&u, node(S_IFREG | 0604, 0, 0), MAY_READ), 0);
    /* the owner's bits decide for the owner, even if others may */
    cr_assert_eq(vfs_permission(&u, node(S_IFREG | 0066, 1000, 0), MAY_READ), -EACCES);
    /* a supplementary group counts */
    uint32_t g = 55;
    u.groups = cred_groups_new(&g, 1);
    cr_assert_eq(vfs_permission(&u, node(S_IFREG | 0060, 0, 55), MAY_READ | MAY_WRITE), 0);
    cred_release(&u);
}

Test(cred, permission_capabilities)
{
    struct creds root = user(0, 0);
    cr_assert_eq(vfs_permission(&root, node(S_IFREG | 0000, 1000, 1000),
                                MAY_READ | MAY_WRITE), 0);
    /* exec needs some x bit even for CAP_DAC_OVERRIDE */
    cr_assert_eq(vfs_permission(&root, node(S_IFREG | 0600, 1000, 1000), MAY_EXEC), -EACCES);
    cr_assert_eq(vfs_permission(&root, node(S_IFREG | 0001, 1000, 1000), MAY_EXEC), 0);
    cr_assert_eq(vfs_permission(&root, node(S_IFDIR | 0000, 1000, 1000), MAY_EXEC), 0);

    /* uid 0 without capabilities is an ordinary user */
    struct creds bare = root;
    bare.cap_effective = 0;
    cr_assert_eq(vfs_permission(&bare, node(S_IFREG | 0600, 1000, 1000), MAY_READ), -EACCES);
    cr_assert_eq(vfs_permission(&bare, node(S_IFREG | 0600, 0, 0), MAY_READ), 0);

    /* CAP_DAC_READ_SEARCH: reading files and searching directories, no writing */
    struct creds rs = bare;
    rs.cap_effective = CRED_CAP(CAP_DAC_READ_SEARCH);
    cr_assert_eq(vfs_permission(&rs, node(S_IFREG | 0000, 1000, 1000), MAY_READ), 0);
    cr_assert_eq(vfs_permission(&rs, node(S_IFREG | 0000, 1000, 1000), MAY_WRITE), -EACCES);
    cr_assert_eq(vfs_permission(&rs, node(S_IFDIR | 0000, 1000, 1000), MAY_READ | MAY_EXEC), 0);
    cr_assert_eq(vfs_permission(&rs, node(S_IFDIR | 0000, 1000, 1000),
                                MAY_WRITE | MAY_EXEC), -EACCES);
}
