/* tmpfs mount options, as Linux's shmem parses and shows them: size= (bytes with a
 * k/m/g suffix or a % of memory, rounded up to pages) and nr_blocks= limit the file
 * data (writes past it fail with ENOSPC); nr_inodes= is accepted and shown; mode=,
 * uid= and gid= set the root directory at mount time (a remount ignores them);
 * huge=, mpol=, inode32, inode64 and noswap are accepted. Anything else is EINVAL. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/util.h"
#include "sentry/fs/fstypes.h"
#include "sentry/fs/tmpfs.h"
#include "sentry/fs/tmpfs_priv.h"
#include "sentry/mm/memfile.h"

/* What an option string asks for. */
struct tmpfs_params {
    unsigned given;            /* TMPFS_GIVEN_* */
    uint64_t max_blocks, max_inodes;
    int has_mode, has_uid, has_gid;
    uint32_t mode, uid, gid;
};

static int parse_u32(const char *val, int base, uint32_t *out)
{
    if (!val || !*val)
        return -EINVAL;
    char *end;
    unsigned long v = strtoul(val, &end, base);
    if (*end || v > UINT32_MAX || val[0] == '-')
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

static int tmpfs_option(const char *key, const char *val, void *arg)
{
    struct tmpfs_params *p = arg;
    if (strcmp(key, "size") == 0 || strcmp(key, "nr_blocks") == 0) {
        uint64_t v;
        const char *rest;
        if (!val || fs_parse_size(val, &v, &rest) < 0)
            return -EINVAL;
        if (key[0] == 's') {
            if (*rest == '%') {
                /* a share of the memory the sandbox may use */
                v = v > 100 ? memfile_max() / 100 * v : memfile_max() * v / 100;
                rest++;
            }
            v = v / PAGE_SIZE + (v % PAGE_SIZE != 0);
        }
        if (*rest)
            return -EINVAL;
        p->max_blocks = v;
        p->given |= TMPFS_GIVEN_SIZE;
        return 0;
    }
    if (strcmp(key, "nr_inodes") == 0) {
        if (!val || fs_parse_size(val, &p->max_inodes, NULL) < 0)
            return -EINVAL;
        p->given |= TMPFS_GIVEN_INODES;
        return 0;
    }
    if (strcmp(key, "mode") == 0) {
        p->has_mode = 1;
        int err = parse_u32(val, 8, &p->mode);
        p->mode &= 07777;
        return err;
    }
    if (strcmp(key, "uid") == 0) {
        p->has_uid = 1;
        return parse_u32(val, 10, &p->uid) < 0 || p->uid == UINT32_MAX ? -EINVAL : 0;
    }
    if (strcmp(key, "gid") == 0) {
        p->has_gid = 1;
        return parse_u32(val, 10, &p->gid) < 0 || p->gid == UINT32_MAX ? -EINVAL : 0;
    }
    if (strcmp(key, "huge") == 0) {
        static const char *const huge[] = { "never", "always", "within_size", "advise" };
        for (size_t i = 0; val && i < sizeof(huge) / sizeof(huge[0]); i++)
            if (strcmp(val, huge[i]) == 0)
                return 0;
        return -EINVAL;
    }
    if (strcmp(key, "mpol") == 0)
        return val ? 0 : -EINVAL;
    if (!val && (strcmp(key, "inode32") == 0 || strcmp(key, "inode64") == 0 ||
                 strcmp(key, "noswap") == 0))
        return 0;
    return -EINVAL;
}

static void apply_limits(struct tmpfs_sb *ts, const struct tmpfs_params *p)
{
    if (p->given & TMPFS_GIVEN_SIZE)
        __atomic_store_n(&ts->max_blocks, p->max_blocks, __ATOMIC_RELAXED);
    if (p->given & TMPFS_GIVEN_INODES)
        __atomic_store_n(&ts->max_inodes, p->max_inodes, __ATOMIC_RELAXED);
    __atomic_or_fetch(&ts->given, p->given, __ATOMIC_RELAXED);
}

struct superblock *tmpfs_mount(const char *data, int readonly, uint32_t uid, uint32_t gid,
                               struct inode **root, int *err)
{
    struct tmpfs_params p = { .mode = 01777, .uid = uid, .gid = gid };
    int ro = readonly;
    if ((*err = fs_parse_options(data, &ro, tmpfs_option, &p)) < 0)
        return NULL;
    struct superblock *sb = tmpfs_new("tmpfs", S_IFDIR | p.mode, p.uid, p.gid, root, err);
    if (!sb)
        return NULL;
    apply_limits(TSB(sb), &p);
    if (ro)
        sb->flags |= SB_RDONLY;
    return sb;
}

static int tmpfs_reconfigure(struct superblock *sb, const char *data)
{
    struct tmpfs_params p = { 0 };
    int ro = 0;
    int err = fs_parse_options(data, &ro, tmpfs_option, &p);
    if (err < 0)
        return err;
    struct tmpfs_sb *ts = TSB(sb);
    /* as Linux: a limit below what is in use is refused */
    if ((p.given & TMPFS_GIVEN_SIZE) && p.max_blocks &&
        p.max_blocks < __atomic_load_n(&ts->used_blocks, __ATOMIC_RELAXED))
        return -EINVAL;
    if ((p.given & TMPFS_GIVEN_INODES) && p.max_inodes &&
        p.max_inodes < __atomic_load_n(&ts->live, __ATOMIC_RELAXED))
        return -EINVAL;
    apply_limits(ts, &p);
    return 0;
}

static void tmpfs_show_options(struct superblock *sb, char *buf, size_t size)
{
    struct tmpfs_sb *ts = TSB(sb);
    unsigned given = __atomic_load_n(&ts->given, __ATOMIC_RELAXED);
    size_t at = 0;
    buf[0] = '\0';
#define PUT(...)                                                        \
    do {                                                                \
        if (at < size)                                                  \
            at += (size_t)snprintf(buf + at, size - at, __VA_ARGS__);   \
    } while (0)
    if (given & TMPFS_GIVEN_SIZE)
        PUT(",size=%lluk", (unsigned long long)__atomic_load_n(&ts->max_blocks,
                                                               __ATOMIC_RELAXED) *
                               (PAGE_SIZE / 1024));
    if (given & TMPFS_GIVEN_INODES)
        PUT(",nr_inodes=%llu",
            (unsigned long long)__atomic_load_n(&ts->max_inodes, __ATOMIC_RELAXED));
    if (ts->mode != 01777)
        PUT(",mode=%03o", ts->mode);
    if (ts->uid != 0)
        PUT(",uid=%u", ts->uid);
    if (ts->gid != 0)
        PUT(",gid=%u", ts->gid);
#undef PUT
}

const struct super_ops tmpfs_super_ops = {
    .show_options = tmpfs_show_options,
    .reconfigure = tmpfs_reconfigure,
};

void tmpfs_charge(struct superblock *sb, int64_t delta)
{
    if (delta)
        __atomic_add_fetch(&TSB(sb)->used_blocks, (uint64_t)delta, __ATOMIC_RELAXED);
}

int tmpfs_full(struct superblock *sb, uint64_t adding)
{
    struct tmpfs_sb *ts = TSB(sb);
    uint64_t max = __atomic_load_n(&ts->max_blocks, __ATOMIC_RELAXED);
    return max && __atomic_load_n(&ts->used_blocks, __ATOMIC_RELAXED) + adding > max;
}
